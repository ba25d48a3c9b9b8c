"""What folding Traditional characters as Simplified costs (`build_tools/simplified.py`): `analysis.fold`
over every chunk of a knowledge base; in two steps (as a short text is folded) with and without it,
and with the plain `str.translate` it stands in for. CPU seconds, the least of `--runs`, one process.

    .venv/bin/python -m benchmarks.fold_bench KB [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from build_tools import analysis
from build_tools.knowledge_base import build
from build_tools.simplified import pairs, simplified


def cpu(work: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return round(best, 3)


def measure(texts: list[str], runs: int) -> dict:
    table = str.maketrans(*pairs())
    analysis.fold("開" * analysis.SHORT)  # the tables made before timing
    # In two steps (full-width characters, then NFKC and lower case, then Traditional ones), as every
    # text short of `analysis.SHORT` is folded: without the last, through it, through str.translate.
    with mock.patch.object(analysis, "SHORT", float("inf")):
        with mock.patch.object(analysis, "simplified", lambda text: text):
            without = cpu(lambda: [analysis.fold(t) for t in texts], runs)
        with mock.patch.object(analysis, "simplified", lambda text: text.translate(table)):
            translated = cpu(lambda: [analysis.fold(t) for t in texts], runs)
        two_steps = cpu(lambda: [analysis.fold(t) for t in texts], runs)
    return {
        "texts": len(texts),
        "characters": sum(map(len, texts)),
        "holding_traditional": sum(simplified(t) != t for t in texts),
        "fold_without": without,
        "fold": cpu(lambda: [analysis.fold(t) for t in texts], runs),
        "fold_in_two_steps": two_steps,
        "fold_with_str_translate": translated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kb = build(args.kb)
    texts = [chunk.text for chunks in kb.chunks.values() for chunk in chunks]
    found = measure(texts, args.runs)
    print(json.dumps(found, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in found.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
