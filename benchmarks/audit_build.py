"""The audit's share of a cold build (issue 27, point 7): `mkdocs build -q` of the project over a
knowledge-base folder with the audit on (`CITEKB_AUDIT=true`) and off, in turn, each from a cold
start (`scale.cold_start`: no term cache, stored pages, kept audits or site), after a warm-up of
each; the figures of each side (median and range) and, pair by pair, on over off. The pairs
alternate which side goes first (on, off; off, on; …): this machine speeds up or slows down by a
quarter within a set, and a fixed order counted that drift against the side built first.

    .venv/bin/python -m benchmarks.audit_build KB [--pairs 3] [--work DIR] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from benchmarks.scale import REPO, BuildRun, cold_start, run_build, summarize


def user_seconds(run: BuildRun) -> float:
    """CPU time outside the kernel: the work itself, without the file writes' system time, which
    varies more from build to build than the audit costs."""
    return run.cpu_seconds - run.system_seconds


FIGURES: dict[str, Callable[[BuildRun], float]] = {
    "seconds": lambda run: run.seconds,
    "cpu_seconds": lambda run: run.cpu_seconds,
    "user_seconds": user_seconds,
}


def ratios(pairs: list[tuple[BuildRun, BuildRun]], figure: str) -> dict:
    """Each pair's on / off of one figure (`FIGURES`): their median and [min, max]."""
    of = FIGURES[figure]
    found = [of(on) / of(off) for on, off in pairs if of(off)]
    if not found:
        return {}
    return {"median": round(statistics.median(found), 3), "range": [round(min(found), 3), round(max(found), 3)]}


def measure(kb: Path, pairs: int, work: Path, timeout: float) -> dict:
    cache, site = work / "terms.marshal", work / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)]
    env = {**os.environ, "CITEKB_SOURCES": str(kb), "CITEKB_CACHE": str(cache), "NO_MKDOCS_2_WARNING": "1"}

    def cold(audit: bool) -> BuildRun:
        cold_start(kb, cache, site)
        return run_build(command, {**env, "CITEKB_AUDIT": "true" if audit else "false"}, timeout)

    for audit in (True, False):  # the warm-ups: the interpreter's and the disk's caches
        cold(audit)
    runs = []
    for number in range(1, pairs + 1):
        print(f"audit_build: pair {number} of {pairs}", file=sys.stderr)
        if number % 2:
            on = cold(True)
            runs.append((on, cold(False)))
        else:
            off = cold(False)
            runs.append((cold(True), off))
    return {
        "kb": str(kb),
        "pairs": pairs,
        "on": summarize([asdict(on) for on, _ in runs]),
        "off": summarize([asdict(off) for _, off in runs]),
        "on_over_off": {figure: ratios(runs, figure) for figure in FIGURES},
        "each": [[on.seconds, off.seconds] for on, off in runs],  # wall seconds, pair by pair: to pool runs
        "order": "on first in odd pairs, off first in even ones",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--work", type=Path, help="where the site and term cache go (default: a new temporary folder)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds, per build")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="citekb-audit-build-"))
    work.mkdir(parents=True, exist_ok=True)
    result = measure(args.kb.resolve(), args.pairs, work, args.timeout)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0 if result["on"]["ok"] and result["off"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
