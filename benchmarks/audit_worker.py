"""The audit as a cold build's workers run it, in one process, for measuring cuts of its CPU (issue
27, point 7): the claims found and remembered as the build's claims child hands them over, each
chunk's claim words picked as the build's segmentation picks them (from the term cache, filled on
the first run), then every corpus audited as a worker's `_audit_job` does, digests included.

`--timed` prints each stage's native seconds, calls and microseconds a call. `--callgrind` runs the
same under valgrind's callgrind with instrumentation switched on only for the audit and prints its
instruction count: the same to about 0.1% from run to run, where the CPU time of one process moves
by a tenth on this machine (BENCHMARKS.md, sessions 35 and 36). `--gate FILE` waits before the audit
until FILE is removed, for another profiler to attach (py-spy).

    .venv/bin/python -m benchmarks.audit_worker KB [--cache FILE] [--timed | --callgrind] [--gate FILE]
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from build_tools import documents
from build_tools.analysis import TermCache
from build_tools.audit import claims, verdicts, workers
from build_tools.knowledge_base import KnowledgeBase, build
from build_tools.models import Audit

Audits = dict[str, list[Audit | None]]


def prepare(kb: KnowledgeBase, cache: TermCache) -> workers._Worker:
    """What a build's audit workers inherit when they fork: the claims remembered, each source's
    chunk terms and picked claim words. The picks are made from the cached terms as
    `analysis.analyze_picking` makes them (the claim words among a text's terms), so that a warm
    cache stands in for the cold segmentation."""
    found = workers.loaded_claims(kb.loaded)
    chunks = documents.chunk_docs(kb)
    analyses = cache.analyses([doc.text for doc in chunks])
    cache.save()
    words = workers.source_words(kb, found.words)
    picks = [
        "\n".join(held.intersection(analysis[0].split("\n"))) if held else ""
        for held, analysis in zip(workers.doc_words(chunks, words), analyses)
    ]
    slugs = set(kb.chunks)
    workers.remember_claims(found)
    return (
        kb,
        workers.by_source(chunks, analyses, slugs),
        workers.SETTINGS,
        workers.picked_by_source(chunks, picks, words, slugs),
    )


def audit_all(state: workers._Worker) -> Audits:
    """Every corpus audited as a worker audits it (`_audit_job`, its digests made)."""
    kb = state[0]
    workers._start_worker(state)
    jobs: dict[str, list[str]] = {}
    for slug, cited in kb.cited.items():
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if any(workers.auditable(item, kb) for item in cited.final):
            jobs.setdefault(corpus.key if corpus else "", []).append(slug)
    audits: Audits = {}
    try:
        for key, reports in jobs.items():
            audits.update(workers._audit_job((key, reports, True))[2])
    finally:
        gc.enable()  # `_start_worker` turned it off, for a worker's life
    return audits


# The stages `--timed` times: (module, name), as the audit calls them
TIMED = [
    (workers, "audit_citations"),
    (verdicts, "_audit"),
    (workers, "corpus_terms"),
    (workers, "claim_terms"),
    (workers, "digests"),
    (verdicts, "_scored"),
    (verdicts, "best_rival"),
    (verdicts, "proposals"),
]


@contextmanager
def timed() -> Iterator[collections.Counter]:
    """Each of TIMED, and `Facts.of`, timed (inclusive) while inside: seconds by name, calls by
    "name calls"."""
    spent: collections.Counter = collections.Counter()
    saved = [(module, name, getattr(module, name)) for module, name in TIMED]
    made = claims.Facts.__dict__["of"]

    def timing(label: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started
                spent[label + " calls"] += 1

        return run

    try:
        for module, name, function in saved:
            setattr(module, name, timing(name, function))
        claims.Facts.of = classmethod(timing("Facts.of", made.__func__))  # type: ignore[method-assign]
        yield spent
    finally:
        for module, name, function in saved:
            setattr(module, name, function)
        claims.Facts.of = made  # type: ignore[method-assign]


def stages(spent: collections.Counter) -> dict[str, dict[str, float]]:
    return {
        name: {
            "seconds": round(spent[name], 3),
            "calls": spent[name + " calls"],
            "us_each": round(1e6 * spent[name] / spent[name + " calls"], 1),
        }
        for name in sorted((n for n in spent if not n.endswith(" calls")), key=lambda n: -spent[n])
    }


def callgrind(kb: Path, cache: Path) -> dict:
    """The audit's instructions: this script under callgrind, instrumentation switched on at the gate."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("audit_worker: --callgrind needs valgrind (Debian: apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="audit-worker-"))
    gate, out = work / "gate", work / "callgrind.out"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command += [sys.executable, "-m", "benchmarks.audit_worker", str(kb), "--cache", str(cache), "--gate", str(gate)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same sets' order, the same instructions
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    while not gate.exists() and run.poll() is None:
        time.sleep(0.2)
    if run.poll() is None:
        subprocess.run(["callgrind_control", "-i", "on", str(run.pid)], check=True, capture_output=True)
        gate.unlink()
    output, _ = run.communicate()
    counted = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE) if out.exists() else None
    if run.returncode or counted is None:
        raise SystemExit(f"audit_worker: the run under callgrind failed ({run.returncode})")
    return {**json.loads(output), "instructions": int(counted.group(1))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--cache", type=Path, help="term cache file (default: a new temporary one)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--timed", action="store_true", help="each stage's seconds and calls")
    how.add_argument("--callgrind", action="store_true", help="the audit's instruction count")
    parser.add_argument("--gate", type=Path, help="made before the audit, which waits until it is removed")
    args = parser.parse_args(argv)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="audit-worker-")) / "terms.marshal"
    if args.callgrind:
        print(json.dumps(callgrind(args.kb.resolve(), cache.resolve())))
        return 0
    kb = build(args.kb)
    state = prepare(kb, TermCache(cache))
    if args.gate:
        args.gate.write_text("waiting")
        while args.gate.exists():
            time.sleep(0.05)
    started = time.process_time()
    with timed() if args.timed else nullcontext() as spent:
        audits = audit_all(state)
    result = {
        "audited": sum(audit is not None for found in audits.values() for audit in found),
        "cpu_s": round(time.process_time() - started, 2),
    }
    if spent is not None:
        result["stages"] = stages(spent)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
