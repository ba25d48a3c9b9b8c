"""The audit's CPU cost over a knowledge base (issue 27, point 7).

Builds the knowledge base, warms the term cache (the search index's segmentation, which a rebuild
finds cached), then audits every report in this process (`parallel=False`) a few times, each from
a clean start (the per-process memos of claims emptied, as in a new build), and prints the CPU
seconds of each run, their minimum, and the number of citations audited; and, of those seconds,
what finding each chunk's index terms takes (`chunk_analyses`: a build hands the audit the terms
it has just made for the search index instead). CPU seconds, not wall time: a build runs the audit
beside its pages, so what it costs the build is the CPU it takes. `--parallel` also measures an
audit by forked workers, as a large build runs it (this process's CPU and its workers').
`--dump FILE` writes every audit as JSON (report slug → audits), to compare two versions of the
code; `--profile` prints the top of a cProfile of one run.

    .venv/bin/python -m benchmarks.audit_cost KB [--cache FILE] [--runs 3] [--parallel] [--dump FILE] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import pstats
import resource
import tempfile
import time
from pathlib import Path

from build_tools.analysis import TermCache
from build_tools.audit import audit_kb, chunk_analyses, claims
from build_tools.knowledge_base import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--cache", type=Path, help="term cache file (default: a new temporary one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dump", type=Path, help="write every audit as JSON here")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--parallel", action="store_true", help="also: the CPU of an audit by forked workers (this process and theirs)"
    )
    args = parser.parse_args()
    cache_path = args.cache or Path(tempfile.mkdtemp(prefix="audit-cost-")) / "terms"
    kb = build(args.kb)
    cache = TermCache(cache_path)
    started = time.process_time()
    audits = audit_kb(kb, cache, parallel=False)  # segments every chunk once, if the cache is cold
    first = time.process_time() - started
    cache.save()
    runs = []
    for _ in range(args.runs):  # as a build with the term cache warm: the chunks' segmentation cached
        forget()
        started = time.process_time()
        audit_kb(kb, cache, parallel=False)
        runs.append(round(time.process_time() - started, 2))
    started = time.process_time()
    chunk_analyses(kb, set(kb.chunks), cache)
    handed = round(time.process_time() - started, 2)  # what a build hands the audit instead (`by_source`)
    forked = None
    if args.parallel:
        forget()
        before = cpu_with_children()
        audit_kb(kb, cache, parallel=True)
        forked = round(cpu_with_children() - before, 2)
    audited = sum(a is not None for found in audits.values() for a in found)
    print(
        json.dumps(
            {
                "sources": len(kb.chunks),
                "chunks": sum(map(len, kb.chunks.values())),
                "reports": len(audits),
                "audited": audited,
                "first_cpu_s": round(first, 2),
                "cpu_s": runs,
                "min_cpu_s": min(runs) if runs else None,
                "chunk_analyses_cpu_s": handed,
                **({"forked_cpu_s": forked} if forked is not None else {}),
            }
        )
    )
    if args.dump:
        rows = {slug: [dataclasses.asdict(a) if a else None for a in found] for slug, found in audits.items()}
        args.dump.write_text(json.dumps(rows, ensure_ascii=False, indent=0, sort_keys=True))
    if args.profile:
        forget()
        profile = cProfile.Profile()
        profile.runcall(audit_kb, kb, cache, parallel=False)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def cpu_with_children() -> float:
    """User and system seconds of this process and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def forget() -> None:
    """Empties the audit's per-process memos (each claim's segmentation, numerals): a build starts
    without them."""
    for value in vars(claims).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()


if __name__ == "__main__":
    main()
