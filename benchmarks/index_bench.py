"""The search index's own CPU cost (issue 29): `index.build_index` over a knowledge base's search
documents with every text's analysis already in a term cache (so segmentation is left out), and
segmentation cold (`analysis.analyze_all`, on every core as a build runs it) apart.

    python -m benchmarks.index_bench KB --cache FILE [--runs 3] [--segment] [--json]

`--cache FILE` is a term cache of this bench's own (made on the first run if absent; never a
build's). Figures are CPU seconds of this process (time.process_time; the index is built in one
process) and, for segmentation, also its wall time and the CPU of its worker processes: medians of
`--runs` runs, so a machine shared with other work changes them little.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from build_tools.analysis import TermCache, analyze_all
from build_tools.documents import search_docs
from build_tools.index import build_index
from build_tools.knowledge_base import build


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def index_seconds(docs, cache: TermCache, runs: int) -> list[float]:
    """CPU seconds of `build_index` per run, every analysis in `cache` already."""
    seconds = []
    for _ in range(runs):
        start = time.process_time()
        build_index(docs, cache)
        seconds.append(time.process_time() - start)
        cache.used = set()
    return seconds


def segmentation(texts: list[str], runs: int) -> dict:
    """Cold segmentation of every text as a build does it: wall seconds, and CPU seconds of this
    process and of its workers, per run."""
    figures: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(runs):
        wall, own, workers = time.perf_counter(), time.process_time(), children_cpu()
        analyze_all(texts)
        figures["wall"].append(time.perf_counter() - wall)
        figures["cpu"].append(time.process_time() - own + children_cpu() - workers)
    return figures


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", type=Path, help="a knowledge-base folder")
    parser.add_argument("--cache", type=Path, required=True, help="this bench's own term cache file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--segment", action="store_true", help="also time cold segmentation of every text")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    docs = search_docs(build(args.kb))
    cache = TermCache(args.cache, note=lambda line: print(line, file=sys.stderr))
    cache.analyses([d.text for d in docs])
    cache.save()
    figures: dict = {"documents": len(docs), "cores": os.cpu_count(), "runs": args.runs}
    figures["index_cpu_seconds"] = summary(index_seconds(docs, cache, args.runs))
    if args.segment:
        seg = segmentation([d.text for d in docs], args.runs)
        figures["segmentation_wall_seconds"] = summary(seg["wall"])
        figures["segmentation_cpu_seconds"] = summary(seg["cpu"])
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
