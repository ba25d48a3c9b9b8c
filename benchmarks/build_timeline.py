"""Where a cold build's CPU goes over time: every half second, how many of the machine's cores are
busy and what share of a core each process of the build took (the build's main process, its
forked children: the claims, the segmentation and audit workers, the search index, the page
writers), then each process's span and CPU, and the core-seconds left idle. What an A/B of wall
times cannot say: which work runs beside which, and where a core waits (issue 27, point 7: the
audit's workers share both cores with the pages and the index, so what they cost the build is
their CPU, unless they run where a core is idle).

    .venv/bin/python -m benchmarks.build_timeline KB [--audit true|false] [--work DIR] [--every 0.5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.scale import REPO, cold_start

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Seen:
    """One process of the build, as sampled: its number in order of first sight, when it was first
    and last seen (seconds from the start), and its CPU seconds at the last sample."""

    number: int
    first: float
    last: float
    cpu: float


def busy_jiffies() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (/proc/stat's first line), in clock ticks."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)  # idle and iowait are not busy


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system, its own) of `root` and every process descended from it."""
    parents: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:  # bytes: any process's name may be any bytes, not UTF-8
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()  # after the command name, which may hold spaces
        parents[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, (parent, _) in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return {pid: parents[pid][1] for pid in tree if pid in parents}


def timeline(command: list[str], env: dict[str, str], every: float) -> tuple[list[str], dict[int, Seen], float, float]:
    """Runs `command`, sampling it every `every` seconds: the table's lines, the processes seen,
    the wall time and the idle core-seconds."""
    cores = os.cpu_count() or 1
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started, (busy, total) = time.monotonic(), busy_jiffies()
    seen: dict[int, Seen] = {}
    lines, idle = [], 0.0
    while process.poll() is None:
        time.sleep(every)
        now = time.monotonic() - started
        new_busy, new_total = busy_jiffies()
        share = cores * (new_busy - busy) / max(1, new_total - total)
        busy, total = new_busy, new_total
        idle += max(0.0, cores - share) * every
        parts = []
        for pid, cpu in sorted(tree_cpu(process.pid).items()):
            known = seen.setdefault(pid, Seen(len(seen), now, now, 0.0))
            used = (cpu - known.cpu) / every
            known.last, known.cpu = now, cpu
            if used >= 0.05:
                parts.append(f"p{known.number} {used:.1f}")
        lines.append(f"{now:6.1f} s  busy {share:.1f}  " + "  ".join(parts))
    return lines, seen, time.monotonic() - started, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--audit", choices=("true", "false"), default="true")
    parser.add_argument("--work", type=Path, help="where the site and term cache go (default: a new temporary folder)")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between samples")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="citekb-timeline-"))
    kb, cache, site = args.kb.resolve(), work / "terms.marshal", work / "site"
    cold_start(kb, cache, site)
    command = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)]
    env = {
        **os.environ,
        "CITEKB_SOURCES": str(kb),
        "CITEKB_CACHE": str(cache),
        "CITEKB_AUDIT": args.audit,
        "NO_MKDOCS_2_WARNING": "1",
    }
    lines, seen, wall, idle = timeline(command, env, args.every)
    print("\n".join(lines))
    print(f"wall {wall:.1f} s, CPU {sum(p.cpu for p in seen.values()):.1f} s, idle core-seconds {idle:.1f}")
    for pid, process in sorted(seen.items(), key=lambda item: item[1].number):
        print(f"p{process.number} (pid {pid}): {process.first:.1f}–{process.last:.1f} s, CPU {process.cpu:.1f} s")


if __name__ == "__main__":
    main()
