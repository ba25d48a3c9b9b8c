"""A build uses both cores (the search index is made in a forked process while the pages render)
and writes the same bytes as a one-process build (`extra.citekb.parallel: false`, or
CITEKB_PARALLEL=0): the shipped site, the imported pipeline, and a 1k synthetic base (slow); and
the same bytes whatever the process's hash seed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import BETA, make_sample_kb
from helpers import REPO, Build, build_site, build_with_hook

from benchmarks.scale import synthesize
from build_tools import forked

MADE_BESIDE = "search index made in a second process while the pages rendered"
pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="needs fork and two cores")


def one_process_build(sources: Path, site: Path, monkeypatch) -> Build:
    """Every page rendered in one process (none written from the last build's output)."""
    with monkeypatch.context() as patch:
        patch.setenv("CITEKB_PARALLEL", "0")
        patch.setenv("CITEKB_REUSE", "0")
        built = build_site(sources, site)
    assert built.returncode == 0, built.log
    assert MADE_BESIDE not in built.log
    return built


def same_bytes(first: Path, second: Path) -> None:
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) > 20 and any(f.parts[:2] == ("search", "citekb") for f in files)
    assert [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()] == []


def test_the_shipped_site_is_the_same_from_one_process(shipped, tmp_path, monkeypatch):
    assert MADE_BESIDE in shipped.log  # the default build made its index in a second process
    alone = one_process_build(REPO / "sources", tmp_path / "site", monkeypatch)
    same_bytes(shipped.site, alone.site)


@pytest.mark.pipeline
def test_the_imported_pipeline_is_the_same_from_one_process(imported, tmp_path, monkeypatch):
    assert MADE_BESIDE in imported.log
    alone = one_process_build(imported.site.parent / "kb", tmp_path / "site", monkeypatch)
    same_bytes(imported.site, alone.site)


@pytest.mark.slow
def test_a_1k_base_is_the_same_from_one_process(tmp_path, monkeypatch):
    synthesize(tmp_path / "kb", 1000, 100)
    both = build_site(tmp_path / "kb", tmp_path / "both")
    assert both.returncode == 0 and MADE_BESIDE in both.log, both.log
    alone = one_process_build(tmp_path / "kb", tmp_path / "alone", monkeypatch)
    same_bytes(both.site, alone.site)


# A hook after ours puts a script into every page: the policy's warning names each page, in
# whichever process wrote it, and a strict build counts them all.
SCRIPT_HOOK = """
def on_page_content(html, page, config, files):
    return html + '<script>window.pwned = 1</script>'
"""
FOREIGN = re.compile(r"WARNING\s+-\s+citekb: (\S+): 1 inline script\(s\) the theme did not write")


@pytest.mark.parametrize("strict", [False, True])
def test_warnings_from_the_second_process_are_the_builds(tmp_path, strict):
    make_sample_kb(tmp_path / "kb")
    runs = {}
    for parallel in (True, False):
        (tmp_path / str(parallel)).mkdir()
        runs[parallel] = build_with_hook(
            tmp_path / "kb", tmp_path / str(parallel), SCRIPT_HOOK, strict=strict, parallel=parallel
        )
    both, alone = runs[True], runs[False]
    assert "generated pages written by a second process" in both.log
    assert both.returncode == alone.returncode == (1 if strict else 0), both.log
    warned = sorted(FOREIGN.findall(both.log))
    assert warned == sorted(FOREIGN.findall(alone.log)) and len(warned) > 8  # every page, each said once
    assert "Page skipped" not in both.log
    if strict:
        aborted = re.compile(r"Aborted with (\d+) warnings in strict mode")
        assert aborted.findall(both.log) == aborted.findall(alone.log) == [str(len(warned))]


def test_a_second_process_that_gives_no_answer_is_done_in_the_build(tmp_path, monkeypatch, caplog):
    """Both forked processes (the search index, half the pages) end without an answer: the build
    makes the index and writes those pages itself, the same bytes as a one-process build."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    make_sample_kb(tmp_path / "kb")
    monkeypatch.setenv("CITEKB_SOURCES", str(tmp_path / "kb"))
    monkeypatch.setenv("CITEKB_CACHE", str(tmp_path / "terms.marshal"))
    monkeypatch.setattr(forked, "_answer", lambda work, pipe: os._exit(1))
    children: list[bool] = []
    result = forked.Forked.result

    def waited(self):
        children.append(self.pid is not None)  # a child was forked, and is waited for here
        return result(self)

    monkeypatch.setattr(forked.Forked, "result", waited)
    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True)
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    finally:
        config.plugins.on_shutdown()
    assert children == [True, True]  # the pages' process, then the index's
    assert "written by a second process" not in caplog.text and "made in a second process" not in caplog.text
    assert "Page skipped" not in caplog.text
    alone = one_process_build(tmp_path / "kb", tmp_path / "alone", monkeypatch)
    same_bytes(tmp_path / "site", alone.site)


def test_the_process_ends_without_walking_what_the_build_left():
    """Once a build has started, the interpreter's exit does not collect the cycles left (a last
    walk over every object: 0.9 s after a 10,000-source site was written); before the exit, the
    collector works as ever (a process that builds and goes on, as gh-deploy, is untouched)."""
    script = """
import gc, sys
sys.path.insert(0, "hooks")
from citekb_plugin import CitekbPlugin
class Left:
    def __del__(self):
        print("collected", flush=True)
def cycle():
    left = Left()
    left.me = left
CitekbPlugin().on_startup(command="build", dirty=False)
cycle()
gc.collect()
cycle()
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["collected"]  # the first cycle, collected while the process went on


def test_a_build_writes_the_same_bytes_whatever_the_hash_seed(tmp_path, monkeypatch):
    """Python orders a set of texts by their hashes, which change from one process to the next
    (PYTHONHASHSEED): nothing a page shows may follow that order (a claim's numbers beside its
    citation did, session 31). Each build from its own copy of the folder: nothing kept is reused."""
    sites = []
    for seed in ("1", "2"):
        kb = make_sample_kb(tmp_path / f"kb{seed}")
        folder = kb / "reports" / "numbers"
        folder.mkdir()
        (folder / "report.yaml").write_text("corpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
        claim = "该领域在2019年有12家、2021年有35家、2023年有78家机构发布开源模型"
        (folder / "final_report.md").write_text(
            f'# 数字\n\n{claim}[long_context: "{BETA}", chunk 0]。\n', encoding="utf-8"
        )
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        built = build_site(kb, tmp_path / f"site{seed}")
        assert built.returncode == 0, built.log
        sites.append(built.site)
    page = (sites[0] / "reports" / "numbers" / "index.html").read_text(encoding="utf-8")
    assert "2019" in page and "78" in page
    same_bytes(*sites)
