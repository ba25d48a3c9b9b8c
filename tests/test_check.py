"""Every link and #anchor resolves: `kb check` and the independent linkchecker agree."""

from __future__ import annotations

import shutil

import pytest
from helpers import kb, kb_check, linkchecker


def test_shipped_site_has_no_broken_links(shipped):
    """`kb check` here; linkchecker over the same site in the next test, whose exact findings (the
    two planted breaks and nothing else) say the rest of the site is whole for it too."""
    report = kb_check(shipped.site)
    assert report["broken"] == [] and report["pages"] >= 10


@pytest.mark.pipeline
def test_imported_pipeline_has_no_broken_links(imported):
    report = kb_check(imported.site)
    assert report["broken"] == [] and report["pages"] > 250


@pytest.mark.slow  # 90 s: the second checker over every page of the pipeline; the shipped site's run stays in the suite
def test_linkchecker_agrees_on_the_imported_pipeline(imported):
    assert linkchecker(imported.site) == []


def test_both_checkers_catch_a_broken_file_and_a_broken_fragment(shipped, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(shipped.site, site)
    (site / "broken").mkdir()
    (site / "broken" / "index.html").write_text(
        '<html><body><a href="../sources/no-such-source/">gone</a>'
        '<a href="../sources/openai-success-lessons/#chunk-999">no such chunk</a>'
        '<a href="../sources/openai-success-lessons/#chunk-1">fine</a></body></html>',
        encoding="utf-8",
    )
    index = site / "index.html"
    index.write_text(
        index.read_text(encoding="utf-8").replace("</body>", '<a href="broken/">x</a></body>'), encoding="utf-8"
    )
    broken = {(b["page"], b["target"], b["text"]) for b in kb_check(site)["broken"]}
    assert broken == {
        ("broken/index.html", "../sources/no-such-source/", "gone"),
        ("broken/index.html", "../sources/openai-success-lessons/#chunk-999", "no such chunk"),
    }
    found = {(row["urlname"], row["name"]) for row in linkchecker(site)}
    assert found == {
        ("../sources/no-such-source/", "gone"),
        ("../sources/openai-success-lessons/#chunk-999", "no such chunk"),
    }


def test_check_refuses_a_folder_that_is_not_a_site(tmp_path):
    done = kb("check", str(tmp_path), check=False)
    assert done.returncode == 1 and "not a built site" in done.stderr
