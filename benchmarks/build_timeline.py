"""Where a cold build's CPU goes over time: every half second, how many of the machine's cores are
busy and what share of a core each process of the build took (the build's main process, its
forked children: the claims, the segmentation and audit workers, the search index, the page
writers), then each process's span, CPU (with the kernel's share: mostly the site's file writes,
the figure that varies most from build to build) and page faults, and the core-seconds left
idle. What an A/B of wall times cannot say: which work runs beside which, and where a core waits
(issue 27, point 7: the audit's workers share both cores with the pages and the index, so what
they cost the build is their CPU, unless they run where a core is idle).

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


@dataclass(frozen=True)
class Usage:
    """A process's CPU seconds (user + system) so far, how many of them were the kernel's, and its
    minor page faults (a page first touched, or copied on write from a parent's, a forked child's
    or its own)."""

    cpu: float = 0.0
    system: float = 0.0
    faults: int = 0


@dataclass
class Seen:
    """One process of the build, as sampled: its number in order of first sight, when it was first
    and last seen (seconds from the start), and its `Usage` at the last sample."""

    number: int
    first: float
    last: float
    usage: Usage = Usage()


def busy_jiffies() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (/proc/stat's first line), in clock ticks."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)  # idle and iowait are not busy


def tree_usage(root: int) -> dict[int, Usage]:
    """The `Usage` (its own) of `root` and of every process descended from it."""
    parents: dict[int, tuple[int, Usage]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:  # bytes: any process's name may be any bytes, not UTF-8
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()  # after the command name, which may hold spaces
        user, system = int(fields[11]) / _TICK, int(fields[12]) / _TICK
        parents[int(entry)] = (int(fields[1]), Usage(user + system, system, int(fields[7])))
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
        for pid, usage in sorted(tree_usage(process.pid).items()):
            known = seen.setdefault(pid, Seen(len(seen), now, now))
            used = (usage.cpu - known.usage.cpu) / every
            known.last, known.usage = now, usage
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
    used = [p.usage for p in seen.values()]
    cpu, system, faults = sum(u.cpu for u in used), sum(u.system for u in used), sum(u.faults for u in used)
    print(
        f"wall {wall:.1f} s, CPU {cpu:.1f} s (system {system:.1f} s, {faults:,} page faults), idle core-seconds {idle:.1f}"
    )
    for pid, p in sorted(seen.items(), key=lambda item: item[1].number):
        u = p.usage
        print(
            f"p{p.number} (pid {pid}): {p.first:.1f}–{p.last:.1f} s, CPU {u.cpu:.1f} s (system {u.system:.1f} s, {u.faults:,} page faults)"
        )


if __name__ == "__main__":
    main()
