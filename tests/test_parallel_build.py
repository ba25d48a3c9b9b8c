"""A build uses both cores (the search index is made in a forked process while the pages render)
and writes the same bytes as a one-process build (`extra.citekb.parallel: false`, or
CITEKB_PARALLEL=0): the shipped site, the imported pipeline, and a 1k synthetic base (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, Build, build_site

from benchmarks.scale import synthesize
from build_tools import forked

MADE_BESIDE = "search index made in a second process while the pages rendered"
pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="needs fork and two cores")


def one_process_build(sources: Path, site: Path, monkeypatch) -> Build:
    with monkeypatch.context() as patch:
        patch.setenv("CITEKB_PARALLEL", "0")
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
