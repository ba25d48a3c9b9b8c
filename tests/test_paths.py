"""Every site path and anchor, table-driven (Quartz's path.test.ts is the model)."""

from __future__ import annotations

import re

import pytest

from build_tools.models import FilePart
from build_tools.paths import (
    Anchors,
    chunk_path,
    file_download_path,
    heading_anchor,
    part_anchor,
    relative_href,
    report_page_uri,
    report_path,
    source_page_uri,
    source_path,
    stats_anchor,
    stats_path,
    stats_task_anchor,
)


@pytest.mark.parametrize(
    "made, expected",
    [
        (source_path("lc-1a2b"), "sources/lc-1a2b/"),
        (source_path("x", "page-2"), "sources/x/#page-2"),
        (chunk_path("lc-1a2b", 3), "sources/lc-1a2b/#chunk-3"),
        (report_path("r"), "reports/r/"),
        (report_path("r", "final"), "reports/r/#final"),
        (source_page_uri("x"), "sources/x.md"),
        (report_page_uri("r"), "reports/r.md"),
        (file_download_path("f", "paper.PDF"), "sources/f/file.pdf"),
        (file_download_path("f", "notes.md"), "sources/f/file.md.txt"),  # not a page for MkDocs
        (file_download_path("f", "README"), "sources/f/file.bin"),
        (file_download_path("f", "x.tar.gz"), "sources/f/file.gz"),
        (file_download_path("f", "报告.文档"), "sources/f/file.bin"),
        (file_download_path("f", "page.HTML"), "sources/f/file.html.txt"),  # would run in the site's origin
        (file_download_path("f", "page.htm"), "sources/f/file.htm.txt"),
        (file_download_path("f", "page.xhtml"), "sources/f/file.xhtml.txt"),
        (file_download_path("f", "figure.svg"), "sources/f/file.svg.txt"),
        (file_download_path("f", "feed.xml"), "sources/f/file.xml.txt"),
        (file_download_path("f", "style.xsl"), "sources/f/file.xsl.txt"),
        (file_download_path("f", "app.js"), "sources/f/file.js.txt"),
        (file_download_path("f", "app.mjs"), "sources/f/file.mjs.txt"),
        (file_download_path("f", "x.svgz"), "sources/f/file.svgz.txt"),
        (file_download_path("f", "x.shtml"), "sources/f/file.shtml.txt"),
        (file_download_path("f", "x.h tml"), "sources/f/file.html.txt"),  # what a host would read as .html
        (file_download_path("f", "x.unknown"), "sources/f/file.unknown.txt"),  # allowlist: unknown is text
        (file_download_path("f", "logo.png"), "sources/f/file.png"),
        (file_download_path("f", "clip.MP4"), "sources/f/file.mp4"),
        (file_download_path("f", "sheet.xlsx"), "sources/f/file.xlsx"),
        (file_download_path("f", "data.json"), "sources/f/file.json"),
        (part_anchor(FilePart("page", 2, "")), "page-2"),
        (part_anchor(FilePart("slide", 5, "")), "slide-5"),
        (part_anchor(FilePart("sheet", 1, "", name="销量2024")), "sheet-销量2024"),
        (part_anchor(FilePart("text", 1, "")), "text"),
        (stats_path(), "stats/"),
        (stats_path("task-003"), "stats/#task-003"),
        (stats_anchor("results_32k/gpt4.1"), "cfg-results_32k-gpt4.1"),
        (stats_anchor("bench_case1114", "status-unknown_source"), "cfg-bench_case1114-status-unknown_source"),
        (stats_task_anchor("003"), "task-003"),
    ],
)
def test_paths(made, expected):
    assert made == expected


def test_anchors_made_of_names_keep_names_apart():
    """Names that differ only where an anchor cannot hold them (white space, `#`, `/`…) had one
    anchor: every link to the comparison page's `a-b` model landed on `a b`'s section, and a sheet
    `销量-2024` on the sheet `销量 2024`. Readable still, with a digest where a name was changed."""
    models = [stats_anchor(f"results_32k/{model}", "status-unknown_source") for model in ("a b", "a-b", "a#b")]
    tasks = [stats_task_anchor(task) for task in ("0 02", "0-02", "#", "?")]
    sheets = [
        part_anchor(FilePart("sheet", n, "", name=name)) for n, name in enumerate(["销量 2024", "销量-2024", "", "#?"])
    ]
    for anchors in (models, tasks, sheets):
        assert len(set(anchors)) == len(anchors)
        assert all(re.fullmatch(r"[^\s#%\"'<>`\\/?&]+", anchor) for anchor in anchors)
    assert models[1] == "cfg-results_32k-a-b-status-unknown_source" and models[0].startswith("cfg-results_32k-a-b-")
    assert tasks[1] == "task-0-02" and sheets[0].startswith("sheet-销量-2024-")


@pytest.mark.parametrize(
    "titles, expected",
    [
        (["市场概况"], ["final-市场概况"]),
        (["1. 市场概况：规模与增长！"], ["final-1-市场概况规模与增长"]),
        (
            ["Open Models", "open models", "OPEN   MODELS"],
            ["final-open-models", "final-open-models-2", "final-open-models-3"],
        ),
        (["", "？！"], ["final-2", "final-3"]),  # "final" is the section's own anchor
        (["A", "A 2", "A", "A"], ["final-a", "final-a-2", "final-a-3", "final-a-4"]),
        (["ＧＰＴ－４ 报告"], ["final-gpt-4-报告"]),
        (["很" * 60], ["final-" + "很" * 40]),
    ],
)
def test_heading_anchors_are_readable_and_unique(titles, expected):
    taken = Anchors("final")
    assert [heading_anchor("final", title, taken) for title in titles] == expected
    assert taken.taken == {"final", *expected}


@pytest.mark.parametrize(
    "target, page, expected",
    [
        ("sources/lc-1/#chunk-3", "reports/r/", "../../sources/lc-1/#chunk-3"),
        ("sources/lc-1/#chunk-3", "sources/lc-1/", "./#chunk-3"),
        ("sources/lc-2/", "sources/lc-1/", "../lc-2/"),
        ("sources/f/file.pdf", "sources/f/", "file.pdf"),
        ("reports/r/#cite-final-0", "health/", "../reports/r/#cite-final-0"),
        ("stats/#cfg-x", "", "stats/#cfg-x"),  # from the home page
        ("#final", "reports/r/", "#final"),  # a fragment alone stays on the page
        ("", "reports/r/", ""),
    ],
)
def test_relative_href(target, page, expected):
    assert relative_href(target, page) == expected


def test_relative_href_is_mkdocs_rule_for_every_page_pair():
    """The rule MkDocs applies (`get_relative_url`, directory URLs), on every pair of typical pages."""
    from mkdocs.utils import get_relative_url

    pages = ["", "sources/", "reports/", "sources/lc-1/", "reports/r/", "stats/", "sources/f/file.pdf"]
    for page in pages[:-1]:
        for target in pages:
            path = target
            expected = get_relative_url(path, page) if path else ""
            expected += "/" if path.endswith("/") and not expected.endswith("/") else ""
            assert relative_href(target + "#a", page) == expected + "#a", (target, page)
