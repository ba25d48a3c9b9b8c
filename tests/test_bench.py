"""`kb bench` smoke run and the search bench's parts (the real numbers come from the benches
themselves, never from timed tests)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, corpus_files, kb, need_pipeline

from benchmarks import search_pagefind
from benchmarks.browser import chromium, run_in_chromium, script
from benchmarks.scale import LENGTH_QUANTILES, TOKEN_STATISTICS, synthesize, token_statistics
from build_tools.chunk import chunk_text
from build_tools.corpus_json import read_corpus
from build_tools.ingest import load
from build_tools.knowledge_base import build


def test_synthetic_corpus_has_the_pipeline_length_statistics(tmp_path):
    made = synthesize(tmp_path / "kb", 300, 5)
    loaded = load(tmp_path / "kb")
    assert loaded.problems == [] and len(loaded.sources) == made["sources"] == 300
    median = statistics.median(len(s.body) for s in loaded.sources.values())
    target = dict(LENGTH_QUANTILES)[0.5]
    assert 0.8 * target < median < 1.25 * target
    assert len(loaded.reports) == 5


def test_bench_smoke_run(tmp_path):
    done = kb("bench", "--sources", "40", "--reports", "4", "--json", "--work", str(tmp_path))
    result = json.loads(done.stdout)
    assert result["sources"] == 40 and result["reports"] == 4 and result["chunks"] >= 40
    assert result["cold"]["ok"] and result["warm"]["ok"] and result["plain"]["ok"]
    assert result["serve"]["ok"]  # both edits were seen while serving
    assert result["serve"]["edit_visible_seconds"] > 0 and result["serve"]["next_edit_visible_seconds"] > 0
    assert result["pages"] >= 44 and result["search_index_gzip_bytes"] > 0
    assert result["cold"]["peak_rss_mb"] > 10 and result["plain_over_citekb"] > 0


def close_to_targets(measured: dict[str, float], tolerance: float) -> None:
    for name, target in TOKEN_STATISTICS.items():
        assert abs(measured[name] - target) <= tolerance * target, (name, measured[name], target)


def test_token_statistics_are_the_pipeline_corpora():
    """The targets were derived from the real corpora: deriving them again gives the same numbers."""
    pipeline = need_pipeline()
    texts = [
        chunk.text
        for path in corpus_files()
        for entry in read_corpus(path, pipeline)[0]
        if entry
        for chunk in chunk_text(entry.text)
    ]
    assert len(texts) > 1000
    close_to_targets(token_statistics(texts), 0.03)


def test_synthetic_chunks_have_the_pipeline_token_statistics(tmp_path):
    synthesize(tmp_path / "kb", 300, 0)
    knowledge = build(tmp_path / "kb")
    close_to_targets(token_statistics([c.text for chunks in knowledge.chunks.values() for c in chunks]), 0.12)


def python_bench(kb_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m benchmarks.search KB --engine python ARGS…` (the browser-free search bench)."""
    command = [sys.executable, "-m", "benchmarks.search", str(kb_dir), "--engine", "python", *args]
    return subprocess.run(command, capture_output=True, text=True, check=check)


def test_search_bench_python_engine_finds_known_items(tmp_path):
    """The browser-free search bench over a small synthetic corpus: known-item queries come back."""
    synthesize(tmp_path / "kb", 60, 3)
    result = json.loads(python_bench(tmp_path / "kb", "--queries", "40").stdout)["python"]
    assert result["gzip_bytes"] > 0 and result["postings"] > 1000 and 0 <= result["read_on_share"] < 0.5
    assert result["quality"]["zh"]["queries"] == 20 and result["quality"]["zh"]["recall_at_5"] >= 0.9


def test_search_bench_tries_an_index_setting(tmp_path):
    """`--set` changes a SearchSettings value for that run (every pair of words joined: more terms); a
    name that is not one is refused."""
    synthesize(tmp_path / "kb", 60, 3)

    def terms(*extra: str) -> int:
        return json.loads(python_bench(tmp_path / "kb", "--queries", "10", *extra).stdout)["python"]["terms"]

    assert terms("--set", "join_share=0", "--set", "join_min_share=0") > terms()
    for wrong in ("SITE_FOLDER=x", "JOIN_SHARE=0", "no_such=1", "join_share=many", "checked=1.5"):
        refused = python_bench(tmp_path / "kb", "--set", wrong, check=False)
        assert refused.returncode == 2 and "numeric setting" in refused.stderr, wrong


def test_pagefind_side_finds_a_phrase_in_the_chunk_that_holds_it(shipped, tmp_path):
    """Pagefind indexes the shipped site by chunk (the chunk ids moved onto their headings) and
    its results map to our chunk locations: its first result for a phrase found in one chunk is
    that chunk, and a Chinese phrase (segmented by the site's language) finds the chunks holding it."""
    if not chromium():
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    if not importlib.util.find_spec("pagefind_bin_extended"):
        pytest.skip("the pagefind extended binary is not installed (pip install -e '.[test]')")
    site = tmp_path / "site"
    shutil.copytree(shipped.site, site)
    assert search_pagefind.index_site(site)["pages"] == len(list(site.glob("sources/*/index.html"))) + len(
        list(site.glob("reports/*/index.html"))
    )
    knowledge = build(REPO / "sources")

    def holding(phrase: str) -> set[str]:
        return {
            f"sources/{slug}/#chunk-{chunk.index}"
            for slug, chunks in knowledge.chunks.items()
            for chunk in chunks
            if phrase.lower() in chunk.text.lower()
        }

    english, chinese = "Cognitive Services", "梯度下降"
    measured, served = run_in_chromium(
        site, script(search_pagefind.SCRIPT), search_pagefind.arguments([english, chinese])
    )
    assert [measured["results"][0][0]] == sorted(holding(english))
    assert len(measured["results"][1]) >= 2 and set(measured["results"][1]) <= holding(chinese)
    assert any(path.suffix == ".pf_fragment" for path in served)  # the pages' data came from Pagefind's own files


def test_the_audit_build_bench_times_cold_builds_with_the_audit_on_and_off(tmp_path):
    """`python -m benchmarks.audit_build`: pairs of cold builds, audit on and off, each from a cold
    start (the off build finds no audits kept by the on build before it, and keeps none)."""
    from fixtures import make_sample_kb

    from benchmarks.audit_build import measure
    from benchmarks.scale import REPO
    from build_tools.audit import stored

    kb = make_sample_kb(tmp_path / "kb")
    result = measure(kb, 1, tmp_path / "work", 300)
    assert result["on"]["ok"] and result["off"]["ok"] and result["on"]["runs"] == result["off"]["runs"] == 1
    assert not stored.kept_file(REPO, kb).exists()
    ratio = result["on_over_off"]["seconds"]
    assert ratio["median"] == round(result["on"]["seconds"] / result["off"]["seconds"], 3) == ratio["range"][0]


def test_the_audit_build_bench_alternates_which_side_is_built_first(tmp_path, monkeypatch):
    """A machine that drifts faster or slower during a set would count against the side always
    built first: the pairs go on, off; off, on; on, off; and each is still recorded as (on, off)."""
    import benchmarks.audit_build as audit_build
    from benchmarks.scale import BuildRun

    built: list[str] = []

    def run_build(command, env, timeout):
        built.append(env["CITEKB_AUDIT"])
        on = env["CITEKB_AUDIT"] == "true"
        # the same system time both ways: the user time is 5.0 against 2.0
        cpu = (6.0, 3.0)[not on]
        return BuildRun(2.0 if on else 1.0, 1.0, True, "", cpu_seconds=cpu, system_seconds=1.0)

    monkeypatch.setattr(audit_build, "run_build", run_build)
    monkeypatch.setattr(audit_build, "cold_start", lambda *paths: None)
    result = audit_build.measure(tmp_path, 3, tmp_path / "work", 10)
    assert built[2:] == ["true", "false", "false", "true", "true", "false"]  # after the two warm-ups
    assert result["each"] == [[2.0, 1.0]] * 3 and result["on_over_off"]["seconds"]["median"] == 2.0
    figures = result["on_over_off"]
    assert figures["cpu_seconds"]["median"] == 2.0 and figures["user_seconds"]["median"] == 2.5


def test_the_build_timeline_sees_each_process_of_the_command_and_its_cpu():
    """`python -m benchmarks.build_timeline`: a parent spinning, then a child it forks spinning; the
    timeline names both, the child first seen after the parent, each with the CPU it spun for, and
    the child with a page fault for each page of the memory it filled."""
    from benchmarks.build_timeline import timeline

    spin = (
        "import os, time\ndef spin(s):\n    end = time.process_time() + s\n    while time.process_time() < end: pass\n"
    )
    # the child also fills 80 MB of fresh memory in pages of 4 KB (not huge ones, which a machine
    # may hand out by itself): 20,480 pages, each a page fault
    touch = "m = mmap.mmap(-1, 80 << 20); m.madvise(mmap.MADV_NOHUGEPAGE); m[::4096] = bytes(80 << 8)"
    code = "import mmap\n" + spin + f"spin(0.8)\nif os.fork() == 0:\n    {touch}; spin(0.8); os._exit(0)\nos.wait()"
    lines, seen, wall, idle = timeline([sys.executable, "-c", code], dict(os.environ), 0.1)
    parent, child = sorted(seen.values(), key=lambda p: p.number)[:2]
    assert len(seen) == 2 and parent.first < child.first
    # each seen last up to a sample (0.1 s, longer on a busy machine) before it ended
    assert 0.55 <= parent.usage.cpu < 1.2 and 0.55 <= child.usage.cpu < 1.2, (parent, child)
    assert child.usage.faults >= 20_000 > parent.usage.faults and 0 <= child.usage.system <= child.usage.cpu
    assert len(lines) >= 10 and all(" busy " in line for line in lines) and wall >= 1.6 and idle >= 0


def test_the_build_timeline_reads_a_process_whose_name_is_not_utf8():
    """Every process's /proc stat is read (to find the build's): a name of any bytes is no error."""
    from benchmarks.build_timeline import tree_usage

    code = "import ctypes, time\nctypes.CDLL(None).prctl(15, b'\\xff\\xfeodd', 0, 0, 0)\ntime.sleep(3)"
    named = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 3
        while b"\xff" not in Path(f"/proc/{named.pid}/stat").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert named.pid in tree_usage(named.pid)
    finally:
        named.kill()
        named.wait()
