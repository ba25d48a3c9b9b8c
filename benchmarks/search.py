"""Search benchmark: our prebuilt index against Material's default worker and Pagefind, same site, same run.

    python -m benchmarks.search KB_FOLDER [--queries 1000] [--engine browser|python]

Builds the knowledge base twice (CITEKB_SEARCH=prebuilt and =material), generates known-item
queries from its chunks (2–4 consecutive jieba words; English phrases of 2–3 words), and runs
both real workers in Debian's chromium through Material's worker protocol: a page served beside
the site runs them and posts what it measured back, with no automation attached to the browser
(Playwright's DevTools instrumentation, as the tests use it, slows every fetch a worker makes).
A result counts as a hit when it is a chunk whose text contains the query verbatim (chunks
overlap, so the phrase can be in two); Material, which indexes our source pages whole, also
scores on the page. Pagefind then indexes the site built for ours and runs the same queries
through its own JavaScript API (benchmarks/search_pagefind.py: what it indexes, and how its
results map to chunks). Each engine's bytes fetched are what the bench's server sent while it ran
(index, worker and the result pages it reads), raw and as gzip would send them. Needs chromium.
`--engine python` measures our index alone with build_tools' Searcher, no browser or site build
(tests/test_search.py proves it ranks as the worker does; the chunks' texts stand in for their
pages): quick, for tuning at 40,000 chunks, and it reports the share of queries that read past
the first `checked` results' pages; `--set name=value` tries a `SearchSettings` value.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path

from benchmarks import search_pagefind
from benchmarks.browser import SEARCH_WORKER, BenchFailed, run_in_chromium, script, transfer_sizes, worker_url
from build_tools.analysis import TermCache, fold
from build_tools.documents import chunk_docs, search_docs
from build_tools.index import (
    SETTINGS,
    SITE_FOLDER,
    SearchDoc,
    SearchSettings,
    build_index,
    byte_sizes,
    index_files,
    write_index,
)
from build_tools.knowledge_base import build
from build_tools.search import Searcher

REPO = Path(__file__).resolve().parent.parent
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_ENGLISH = re.compile(r"\b[A-Za-z]{3,}(?: [A-Za-z]{3,}){1,2}\b")


def make_queries(chunks: list[SearchDoc], count: int, seed: int = 0) -> list[dict]:
    """Known-item queries: Chinese from jieba words of one chunk, English phrases from another.
    `chunks` are whole (`chunk_docs(kb, whole=True)`): queries are drawn from and judged against
    what a reader sees, whatever part of a chunk the index holds."""
    import jieba

    rng = random.Random(seed)
    texts = {d.location: fold(d.text) for d in chunks}
    queries: list[dict] = []
    for doc in rng.sample(chunks, min(len(chunks), count * 3)):
        if len([q for q in queries if q["lang"] == "zh"]) < count // 2:
            words = list(jieba.cut(doc.text))
            for _ in range(10):
                start, size = rng.randrange(max(1, len(words))), rng.randint(2, 4)
                window = words[start : start + size]
                if len(window) == size and all(_HAN.match(w) for w in window) and len("".join(window)) >= 4:
                    queries.append({"lang": "zh", "query": "".join(window), "from": doc.location})
                    break
        if len([q for q in queries if q["lang"] == "en"]) < count // 2:
            phrases = _ENGLISH.findall(doc.text)
            if phrases:
                queries.append({"lang": "en", "query": rng.choice(phrases), "from": doc.location})
    for q in queries:
        needle = fold(q["query"])
        q["relevant"] = sorted(location for location, text in texts.items() if needle in text)
    return queries


def score(queries: list[dict], results: list[list[str]], page_level: bool = False) -> dict:
    """recall@5 and MRR@10 per language; `page_level` also counts the page holding a relevant chunk
    (Material indexes our source pages as whole pages, so it is given that leniency)."""

    def hit(location: str, relevant: list[str]) -> bool:
        return location in relevant or (
            page_level and location.endswith("/") and any(r.startswith(location + "#") for r in relevant)
        )

    out = {}
    for lang in ("zh", "en"):
        pairs = [(q, r) for q, r in zip(queries, results) if q["lang"] == lang]
        if not pairs:
            continue
        recall = sum(any(hit(loc, q["relevant"]) for loc in r[:5]) for q, r in pairs) / len(pairs)
        mrr = sum(
            next((1 / rank for rank, loc in enumerate(r[:10], 1) if hit(loc, q["relevant"])), 0) for q, r in pairs
        )
        out[lang] = {"queries": len(pairs), "recall_at_5": round(recall, 3), "mrr": round(mrr / len(pairs), 3)}
    return out


def build_variant(kb_root: Path, site: Path, variant: str) -> None:
    env = {**os.environ, "CITEKB_SOURCES": str(kb_root), "CITEKB_SEARCH": variant, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )


def measure(
    site: Path, files: list[Path], function: str, arguments: list, queries: list[dict], page_level: bool
) -> dict:
    """One engine in chromium (`function(arguments)`, returning its ready time, query times and
    results, and its ranked pages where it ranks pages first): its index's sizes, the bytes it
    fetched, its speed and its quality. A tab that fails (e.g. out of memory) is a result, not a
    bench failure."""
    sizes = dict(zip(("bytes", "gzip_bytes"), byte_sizes(files)))
    try:
        measured, served = run_in_chromium(site, function, arguments)
    except BenchFailed as error:
        return {**sizes, "error": str(error)}
    return {
        **sizes,
        **dict(zip(("fetched_bytes", "fetched_gzip_bytes"), transfer_sizes(served))),
        "ready_ms": measured["ready_ms"] and round(measured["ready_ms"], 1),
        **percentiles(measured["latencies"]),
        "quality": score(queries, measured["results"], page_level) if measured["results"] else None,
        # an engine that ranks pages before their sections (Pagefind) is also judged by its pages, as Material is
        **({"page_quality": score(queries, measured["pages"], page_level=True)} if "pages" in measured else {}),
    }


def run(kb_root: Path, count: int, timeout_s: float, progress=print) -> dict:
    kb = build(kb_root)
    queries = make_queries(chunk_docs(kb, whole=True), count)
    texts = [q["query"] for q in queries]
    progress(f"bench-search: {len(queries)} queries over {sum(map(len, kb.chunks.values()))} chunks")
    work = Path(tempfile.mkdtemp(prefix="citekb-bench-search-"))
    report: dict = {"chunks": sum(map(len, kb.chunks.values())), "queries": len(queries)}
    try:
        for variant in ("prebuilt", "material"):
            site = work / variant
            progress(f"bench-search: building with {variant} search")
            build_variant(kb_root, site, variant)
            if variant == "prebuilt":
                files = index_files(site)
                setup = None
            else:
                files = [site / "search" / "search_index.json"]
                setup = "search/search_index.json"
            progress(f"bench-search: running {variant} worker in chromium")
            worker = [worker_url(site), setup and f"/{setup}", texts, timeout_s * 1000, 10]
            report[variant] = measure(site, files, script(SEARCH_WORKER), worker, queries, variant == "material")
        site = work / "prebuilt"
        progress("bench-search: indexing the same site with Pagefind, then running its search in chromium")
        try:
            indexed = search_pagefind.index_site(site)
        except BenchFailed as error:
            report["pagefind"] = {"error": str(error)}
        else:
            files = search_pagefind.bundle_files(site)
            pagefind = measure(
                site, files, script(search_pagefind.SCRIPT), search_pagefind.arguments(texts), queries, False
            )
            report["pagefind"] = {**indexed, **pagefind}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for engine in ("prebuilt", "material", "pagefind"):
        if "error" in report[engine]:
            progress(f"bench-search: {engine} failed: {report[engine]['error']}")
    return report


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2) if ordered else None,
    }


def run_python(kb_root: Path, count: int, progress=print, settings: SearchSettings = SETTINGS) -> dict:
    """Our index and ranking without a browser: the same files, read by Searcher."""
    import time

    kb = build(kb_root)
    chunks = chunk_docs(kb, whole=True)
    queries = make_queries(chunks, count)
    progress(f"bench-search: {len(queries)} queries over {sum(map(len, kb.chunks.values()))} chunks (python)")
    work = Path(tempfile.mkdtemp(prefix="citekb-bench-search-"))
    try:
        folder = work / SITE_FOLDER
        started = time.monotonic()
        docs = search_docs(kb)
        built = build_index(docs, TermCache(None), settings, progress)
        write_index(built, folder)
        seconds = time.monotonic() - started
        texts = {d.location: d.text for d in docs} | {d.location: d.text for d in chunks}  # as pages show them
        read: list[str] = []  # the results read from their "pages" for the current query
        searcher = Searcher(folder, lambda location: read.append(location) or texts.get(location, ""))
        results, latencies, read_on = [], [], 0
        for query in queries:
            read.clear()
            clock = time.perf_counter()
            results.append([item["location"] for item in searcher.search(query["query"], 10)])
            latencies.append((time.perf_counter() - clock) * 1000)
            read_on += len(read) > settings.checked
        return {
            "chunks": sum(map(len, kb.chunks.values())),
            "queries": len(queries),
            "python": {
                **dict(zip(("bytes", "gzip_bytes"), byte_sizes(index_files(work)))),
                "build_seconds": round(seconds, 1),
                "terms": built.terms,
                "postings": built.postings,
                "stop_words": built.stop_words,
                **percentiles(latencies),
                "read_on_share": round(read_on / len(queries), 3) if queries else None,
                "quality": score(queries, results),
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search", description=__doc__.splitlines()[0])
    parser.add_argument("sources", help="a knowledge-base folder (e.g. sources, or one made by kb import / kb bench)")
    parser.add_argument(
        "--queries",
        type=int,
        default=1000,
        help="known-item queries, half Chinese, half English (1,000: recall ± 0.01)",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a worker may take per message")
    parser.add_argument(
        "--engine",
        choices=("browser", "python"),
        default="browser",
        help="browser: ours, Material's worker and Pagefind in chromium (default); python: our index alone, no browser",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --engine python: a SearchSettings value tried instead of its default, e.g. join_share=0.004",
    )
    args = parser.parse_args(argv)
    names = [field.name for field in fields(SearchSettings)]
    changes: dict[str, int | float] = {}
    for setting in args.set:
        if args.engine != "python":
            parser.error("--set needs --engine python (the browser engine builds the site in another process)")
        name, _, value = setting.partition("=")
        try:
            if name not in names:
                raise ValueError(name)
            changes[name] = type(getattr(SETTINGS, name))(value)
        except ValueError:
            parser.error(f"--set {setting}: expected name=value for a numeric setting, one of {', '.join(names)}")
    progress = lambda line: print(line, file=sys.stderr)  # noqa: E731
    report = (
        run(Path(args.sources).resolve(), args.queries, args.timeout, progress)
        if args.engine == "browser"
        else run_python(Path(args.sources).resolve(), args.queries, progress, replace(SETTINGS, **changes))
    )
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
