"""Render in-process (text in, HTML out): the validation diff and the health page, no site build."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from bs4 import BeautifulSoup
from fixtures import report_over_two_sources
from helpers import unisolated

from build_tools import render
from build_tools.documents import search_docs
from build_tools.ingest import Loaded, load_file
from build_tools.knowledge_base import MAX_CITATIONS, assemble
from build_tools.messages import CHANGES_TABLE, KIND_LABELS
from build_tools.models import Audit, Citation, Corpus, Report, Resolved, Source
from build_tools.render import changes, citations, reports, sources
from build_tools.validation import citation_diff

A, B = "开源模型的崛起", "闭源模型的护城河"
BODY = "第一段落的内容。" * 100


def knowledge(final: str, original: str | None):
    return report_over_two_sources(final, original, (A, B), BODY)


def page(final: str, original: str | None) -> BeautifulSoup:
    kb = knowledge(final, original)
    return BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda target: target), "html.parser")


def cell(row, column: str):
    """A row's cell of the citation-changes table, by its column's name."""
    return row.select_one(f'td[data-label="{CHANGES_TABLE[column]}"]')


def test_reworded_paragraph_shows_its_changed_words_in_place():
    html = changes.text_diff_html(
        "甲乙丙。\n\n模型很快地发展。\n\n结尾。", "甲乙丙。\n\n模型飞快地发展。\n\n新增一段。\n\n结尾。"
    )
    soup = BeautifulSoup(html, "html.parser")
    changed = soup.select_one(".citekb-diff-changed")
    assert changed.select_one("del").get_text() == "很" and changed.select_one("ins").get_text() == "飞"
    assert changed.get_text() == "模型很飞快地发展。"
    assert [i.get_text() for i in soup.select(".citekb-diff > ins")] == ["新增一段。"]
    assert [d.get_text() for d in soup.select(".citekb-diff-same")] == ["… 1 段未改动 …", "… 1 段未改动 …"]


def test_unchanged_report_says_so_and_is_not_shown_or_indexed_twice():
    text = f'结论一 [long_context: "{A}", chunk 0]。'
    soup = page(text, text + "\n")
    assert "验证没有改动这份报告" in soup.get_text()
    assert "{#original}" not in str(soup) and "{#text-diff}" not in str(soup)  # headings still Markdown here
    assert soup.select("[id^=cite-original]") == []
    anchors = [d.anchor for d in search_docs(knowledge(text, text)) if d.page.startswith("reports/")]
    assert "final" in anchors and not any(a.startswith("original") for a in anchors)


def test_citation_changes_link_to_both_versions_and_rewording_is_not_a_move():
    original = f'模型发展很快 [long_context: "{A}", chunk 0]。另一句 [long_context: "{B}", chunk 0]。'
    final = (
        f'模型发展非常快 [long_context: "{A}", chunk 0]。'
        f'完全不同的论断放在这里 [long_context: "{B}", chunk 0]。新的 [long_context: "{B}", chunk 1]。'
    )
    kb = knowledge(final, original)
    diff = citation_diff(kb.cited["r"])
    assert [key[1:] for key, _ in diff["added"]] == [(B, 1)] and diff["removed"] == []
    assert [key[1:] for key, _ in diff["moved"]] == [(B, 0)]  # reworded A is not moved; B's sentence is new
    rows = {cell(tr, "source").get_text(): tr for tr in page(final, original).select("table.citekb-changes tbody tr")}
    kind, chunk = KIND_LABELS["long_context"], CHANGES_TABLE["chunk"]
    assert [a["href"] for a in rows[f"{kind}{B} · {chunk.format(chunk=0)}"].select("td:last-child a")] == [
        "#cite-final-1",
        "#cite-original-1",
    ]
    assert [a["href"] for a in rows[f"{kind}{B} · {chunk.format(chunk=1)}"].select("td:last-child a")] == [
        "#cite-final-2"
    ]


def test_boilerplate_of_one_rule_in_a_row_is_one_block():
    pieces = [
        ("正文", None),
        ("相关1\n", "related_list"),
        ("\n", None),
        ("相关2\n", "related_list"),
        ("面包屑", "breadcrumb"),
        ("正文", None),
    ]
    assert sources.hidden_blocks(pieces) == [
        ("正文", None),
        ("相关1\n\n相关2\n", "related_list"),
        ("面包屑", "breadcrumb"),
        ("正文", None),
    ]


def test_the_chunk_bar_marks_the_cited_chunks():
    kb = knowledge(f'论断 [long_context: "{A}", chunk 1]。', None)
    soup = BeautifulSoup(render.source_page(kb, kb.loaded.sources["s0"], lambda t: t), "html.parser")
    cited = [a.get_text() for a in soup.select("nav.citekb-chunk-nav a.citekb-cited")]
    assert cited == ["1"] and len(soup.select("nav.citekb-chunk-nav a")) == len(kb.chunks["s0"])


def test_a_report_title_is_its_page_heading_as_written():
    """The report page is HTML, not Markdown (MkDocs' Markdown step is skipped for it): a title
    holding Markdown's marks, a line break or closing `#`s is its heading's text, as written."""
    title = "C# 的 *结论*\n- 列表 [x](y) {#id} ##"
    kb = knowledge("正文。", None)
    kb.cited["r"].report.title = title
    soup = BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda target: target), "html.parser")
    assert [h.get_text() for h in soup.select("h1")] == [title] and not soup.select("ul, hr, em, h1 a")


def test_an_svg_is_shown_from_its_bytes_once_per_report_section(tmp_path):
    """An SVG is published as text (it would run its script opened from the site): its page and
    previews show it as a data: URI, which a report citing it a thousand times would repeat."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>'
    (tmp_path / "files" / "t").mkdir(parents=True)
    (tmp_path / "files" / "t" / "图.svg").write_text(svg, encoding="utf-8")
    (tmp_path / "files" / "t" / "big.svg").write_text(svg + " " * citations.SVG_PREVIEW_BYTES, encoding="utf-8")
    loaded = Loaded(tmp_path)
    files = [load_file(tmp_path / "files" / "t" / name, tmp_path) for name in ("图.svg", "big.svg")]
    assert [problems for _, problems in files] == [[], []]
    loaded.files = {file.path: file for file, _ in files}
    final = "图 [图片: 图.svg]。" * 50 + "大图 [图片: big.svg]。"
    loaded.reports["r"] = Report("r", "报告", "reports/r", final, None, task="t", files="files/t")
    kb = assemble(loaded)
    soup = BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda target: target), "html.parser")
    thumbnails = [img["src"] for img in soup.select("img.citekb-thumb")]
    assert len(thumbnails) == 1 and base64.b64decode(thumbnails[0].split(",", 1)[1]).decode() == svg
    assert len(soup.select(".citekb-cite")) == 51  # the others (and the one too large) show the name
    page = BeautifulSoup(render.file_page(kb, files[1][0], lambda target: target), "html.parser")
    assert page.select_one("img.citekb-image")["src"].startswith("data:image/svg+xml;base64,")  # up to 1 MiB


def test_an_untitled_empty_document_shows_the_pipelines_chunk_and_a_title():
    """A corpus item with neither title nor text is the pipeline's one chunk "[Empty Document]"
    (its page showed an empty chunk and an empty heading), and a citation of an untitled source
    by its address has a label (it had none: nothing after the claim)."""
    loaded = Loaded(Path("/kb"))
    empty, bare = Source("s0", "", ""), Source("s1", "", "没有标题的正文。")
    bare.meta["origin"] = "https://ex.org/a"
    loaded.sources = {"s0": empty, "s1": bare}
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", ["s0", "s1"])
    loaded.reports["r"] = Report(
        "r", "报告", "reports/r", "论断 [Web: https://ex.org/a]。", None, task="t", corpus="corpora/t/c"
    )
    kb = assemble(loaded)
    page = BeautifulSoup(render.source_page(kb, empty, lambda t: t), "html.parser")
    assert page.select_one("h1").get_text(strip=True) == "(无标题)"
    assert [div.get_text() for div in page.select(".citekb-text")] == ["[Empty Document]"]
    report = BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda t: t), "html.parser")
    assert report.select_one(".citekb-cite-label").get_text() == "(无标题)"


def test_an_unresolved_item_of_a_bracket_of_several_shows_its_own_text():
    """`[… A …; … 不存在 …]`: the resolved item is a link, the other a marked failure showing its own
    item (it showed the whole bracket, the resolved title too)."""
    soup = page(f'论断[long_context: "{A}", chunk 1; long_context: "不存在", chunk 2]。', None)
    labels = [label.get_text() for label in soup.select(".citekb-cite .citekb-cite-label")]
    assert labels[0].endswith(f"{A} · 块 1") and labels[1] == '⚠ [long_context: "不存在", chunk 2]'


def test_a_place_that_cannot_be_checked_is_said_in_the_preview(tmp_path):
    """`[文档: notes.txt, page 5]`: a text file has no pages; the link goes to the file, unflagged
    (the file is there), and its preview says page 5 could not be checked."""
    (tmp_path / "files" / "t").mkdir(parents=True)
    (tmp_path / "files" / "t" / "notes.txt").write_text("会议纪要：开源模型的发布时间。", encoding="utf-8")
    loaded = Loaded(tmp_path)
    file, problems = load_file(tmp_path / "files" / "t" / "notes.txt", tmp_path)
    assert problems == []
    loaded.files = {file.path: file}
    loaded.reports["r"] = Report(
        "r", "报告", "reports/r", "见纪要 [文档: notes.txt, page 5]。", None, task="t", files="files/t"
    )
    kb = assemble(loaded)
    soup = BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda target: target), "html.parser")
    [cite] = soup.select("a.citekb-cite")
    assert "citekb-flagged" not in cite["class"] and cite["data-status"] == "resolved"
    assert "无法核对「page 5」；链接到整个文件" in unisolated(cite.select_one(".citekb-preview").get_text())


def test_a_report_with_nothing_to_judge_says_so_where_the_build_audits():
    """A report citing only through its reference list ([RAG-N]: no chunk to judge against): where
    the build audits, its header counts them 未判定 (it said 已解析 49 and nothing more, as if the
    audit were off); without audits, no verdict line."""
    kb = knowledge(f"论断 [RAG-1]。另一论断 [RAG-1]。\n\n- [RAG-1] {A}\n", None)
    cited = kb.cited["r"]
    assert [i.status for i in cited.final] == ["resolved"] * 3  # the list's own entry too
    audited = BeautifulSoup(reports.checks_html(cited, []), "html.parser").get_text(" ", strip=True)
    plain = BeautifulSoup(reports.checks_html(cited, None), "html.parser").get_text(" ", strip=True)
    assert "未判定 3" in audited and "未判定" not in plain


def test_a_weak_flag_beside_a_cross_with_nothing_to_suggest_is_left_to_the_preview():
    """✗ already says the passage does not state the claim; "⚑ 依据薄弱" beside each such citation
    made a paragraph hard to read. A weak flag with a suggestion, and other flags, stay."""
    kb = knowledge("正文。", None)
    weak = Audit("weak", 0.0, "论断", None, (), verdict="unsupported")
    assert citations.audit_marker(weak, kb, str) == ""
    assert citations.audit_marker(replace(weak, better=("s1", 0)), kb, str).startswith('<span class="citekb-audit"')
    assert citations.audit_marker(replace(weak, status="numbers_missing"), kb, str) != ""
    assert citations.audit_marker(replace(weak, verdict="partial"), kb, str) != ""


def test_beside_a_tick_the_facts_not_found_are_said_to_be_not_there_word_for_word():
    """✓ beside "原文中未找到：…" read as a contradiction to a reader: a supported passage states the
    claim's key facts, perhaps in other words."""
    supported = Audit("supported", 0.3, "论断", None, ("甲", "乙"), verdict="supported", held=("丙",))
    partial = replace(supported, verdict="partial")

    def said(audit: Audit) -> str:
        return BeautifulSoup(citations.facts_html(audit), "html.parser").select_one('[data-facts="missing"]').get_text()

    assert said(supported) == "原文未逐字出现（可能换了说法）：甲、乙"
    assert said(partial) == "原文中未找到：甲、乙"


def test_a_diff_too_costly_to_align_shows_every_paragraph_removed_and_added():
    """Past LINE_DIFF_PAIRS (2,000 alike lines between a changed first and last: 4 million pairs)
    the paragraphs between the common head and tail are shown whole, none left out."""
    middle = "\n".join(f"- 同一行 {n % 3}" for n in range(2000))
    html = BeautifulSoup(
        changes.text_diff_html(f"头\n甲\n{middle}\n乙\n尾", f"头\n丙\n{middle}\n丁\n尾"), "html.parser"
    )
    assert [d.get_text() for d in html.select(".citekb-diff-same")] == ["… 1 段未改动 …"] * 2  # 头, 尾
    removed, added = [d.get_text() for d in html.select("del")], [i.get_text() for i in html.select("ins")]
    assert removed == ["甲", *middle.split("\n"), "乙"] and added == ["丙", *middle.split("\n"), "丁"]


def test_a_report_of_more_citations_than_any_is_cut_with_a_problem_naming_it():
    """A few bytes can cite 50 chunks: a 50 KB report made 344,000 citations and 3 GB. Past
    MAX_CITATIONS the rest are shown as written (not linked), and the report is named."""
    kb = knowledge(f'论断 [long_context: "{A}", chunk 0-9]。' * (MAX_CITATIONS // 10 + 1), None)
    assert len(kb.cited["r"].final) == MAX_CITATIONS
    assert [(p.path, p.message.split(":")[0]) for p in kb.loaded.problems] == [
        ("reports/r", f"{MAX_CITATIONS} citations or more")
    ]


def test_a_citation_of_a_whole_source_previews_the_head_of_its_text():
    """A citation landing on a source, not one of its chunks, previews the source's text (title,
    blank line, body) to PREVIEW_CHARS characters, with "…" only where more follows."""
    long, exact = Source("long", "标题", "甲" * 2000), Source("exact", "", "乙" * citations.PREVIEW_CHARS)
    kb = SimpleNamespace(loaded=SimpleNamespace(sources={"long": long, "exact": exact}), files_by_slug={})
    shown = {}
    for source in (long, exact):
        item = Resolved(
            Citation("web", "[网页: x]", 0, 9, title="x"), "resolved", "sources/x/", source_slug=source.slug
        )
        preview = BeautifulSoup(citations.citation_html(item, kb, lambda target: target), "html.parser")
        preview.select_one(".citekb-preview-head").decompose()
        shown[source.slug] = preview.select_one(".citekb-preview").get_text()
    head = citations.PREVIEW_CHARS - len("标题\n\n")  # of the body, after the title and a blank line
    assert shown["long"].startswith("标题") and shown["long"].count("甲") == head and shown["long"].endswith("甲…")
    assert shown["exact"] == "乙" * citations.PREVIEW_CHARS
