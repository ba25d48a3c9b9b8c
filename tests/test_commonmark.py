"""Report text in, HTML out (in-process): CommonMark, code kept literal, citations placed safely."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup
from doubling import assert_linear
from helpers import kb

from build_tools.commonmark import headings, parser, render
from build_tools.knowledge_base import report_citations

CITE = '[long_context: "T", chunk 0]'


def cited(text: str) -> list[tuple[int, int, str]]:
    """Each citation outside code, replaced by a marker element."""
    return [(c.start, c.end, f'<a class="cite" data-raw="{c.raw}">C</a>') for c in report_citations(text)]


def html_of(text: str) -> BeautifulSoup:
    return BeautifulSoup(render(text, cited(text), "final"), "html.parser")


@pytest.mark.parametrize(
    "text, code",
    [
        (f"```\ncode {CITE} <b>\n```\n", 'code [long_context: "T", chunk 0] <b>\n'),
        (f"~~~python\n{CITE}\n~~~\n", f"{CITE}\n"),
        (f"para\n\n    indented {CITE} <b>\n", f"indented {CITE} <b>\n"),
        (f"inline `{CITE} <b>` after", f"{CITE} <b>"),
        (f"double ``a ` {CITE}`` after", f"a ` {CITE}"),
        (f"> quoted `{CITE}`", CITE),
        (f"- item `{CITE}`", CITE),
    ],
)
def test_code_stays_literal_and_holds_no_citation(text, code):
    soup = html_of(text)
    assert soup.select_one("code").get_text() == code
    assert soup.select(".cite") == []
    assert report_citations(text) == []


@pytest.mark.parametrize(
    "text",
    [
        f"a `span` then {CITE}",
        f"unpaired ` backtick {CITE}",
        f"escaped \\`{CITE}\\`",
        f"```\nfence\n```\n\n{CITE}",
        f"| a | b |\n|---|---|\n| `x` | {CITE} |\n",
    ],
)
def test_citations_outside_code_are_citations(text):
    assert len(report_citations(text)) == 1
    assert len(html_of(text).select("a.cite")) == 1


def test_raw_html_and_unsafe_links_are_text():
    soup = html_of(f'<img src=x onerror="alert(1)"> <b id="x">b</b> [x](javascript:alert(1)) {CITE}')
    assert soup.select("img, b, a[href]") == []
    assert "<img src=x" in soup.get_text() and soup.select("a.cite")


def test_citation_in_alt_text_never_enters_an_attribute():
    soup = html_of(f"![logo {CITE}](logo.png)")
    image = soup.select_one("img")
    assert image.attrs == {"src": "logo.png", "alt": "logo "}
    assert image.find_next_sibling("a")["class"] == ["cite"]  # placed after the image, not lost


def test_headings_move_under_the_page_sections_with_readable_ids():
    text = f"# 报告 {CITE}\n\n## 第一节\n\n###### 深\n\n## 第一节\n"
    soup = html_of(text)
    assert [(h.name, h["id"]) for h in soup.select("h3, h4, h5, h6")] == [
        ("h3", "final-报告"),
        ("h4", "final-第一节"),
        ("h6", "final-深"),
        ("h4", "final-第一节-2"),
    ]
    assert soup.select_one("h3 a.cite") and soup.select_one('h3 a.headerlink[href="#final-报告"]')
    found = headings(text, [(c.start, c.end) for c in report_citations(text)], "final")
    assert [(h.level, h.anchor, h.title, h.line) for h in found] == [
        (3, "final-报告", "报告", 0),
        (4, "final-第一节", "第一节", 2),
        (6, "final-深", "深", 4),
        (4, "final-第一节-2", "第一节", 6),
    ]


@pytest.mark.parametrize(
    "forged, shown",
    [
        ("\ue0000\ue001", "\ue0000\ue001"),
        ("&#xE000;0&#xE001;", "\ue0000\ue001"),  # an entity is a character to markdown-it
        ("<https://a.com/%EE%80%800%EE%80%81>", "https://a.com/\ue0000\ue001"),  # an autolink's text is decoded
        ("<https://a.com/%EE%80%8099%EE%80%81>", "https://a.com/\ue00099\ue001"),  # no citation 99: no crash
    ],
)
def test_private_use_markers_in_the_text_cannot_forge_a_citation(forged, shown):
    soup = html_of(f"forged {forged} and {CITE}")
    assert len(soup.select("a.cite")) == 1
    assert soup.get_text().strip() == f"forged {shown} and C"  # the text as written, nothing placed into it


@pytest.mark.parametrize(
    "text, link, after",
    [
        (f"[x](https://a.com/{CITE}) y", {"href": "https://a.com/"}, "x"),
        (f"[x]({CITE})", {}, "x"),
        (f"[x](<{CITE}>)", {}, "x"),
        (f'[x](u "t {CITE}")', {"href": "u", "title": "t "}, "x"),
        (f"<https://a.com/{CITE}>", {"href": "https://a.com/"}, "https://a.com/"),
        (f"[see {CITE} **b**](https://x)", {"href": "https://x"}, "see  b"),
        (f"[ref]: https://a.com/{CITE}\n\n[x][ref] and [y][ref]", {"href": "https://a.com/"}, "x"),
        (f"[x](javas{CITE}cript:alert(1))", {"href": "javas"}, "x"),
    ],
)
def test_a_citation_in_a_link_is_placed_after_it_and_never_in_an_attribute(text, link, after):
    soup = html_of(text)
    first = soup.select_one("a:not(.cite)")
    assert {k: v for k, v in first.attrs.items() if k != "rel"} == link and first.get_text() == after
    assert [c["class"] for c in soup.select("a.cite")] == [["cite"]]  # once, though a reference is used twice
    assert first.find_next_sibling("a") is soup.select_one("a.cite") and not first.select("a")
    assert "\ue000" not in str(soup) and "%EE%80%80" not in str(soup)


def test_a_citation_in_an_image_source_or_title_follows_the_image():
    soup = html_of(f'![alt {CITE}]({CITE} "t {CITE}")')
    assert soup.select_one("img").attrs == {"alt": "alt ", "title": "t "}
    assert len(soup.select("img ~ a.cite")) == 3 and "\ue000" not in str(soup)


def test_a_citation_in_an_unused_link_definition_is_still_shown():
    soup = html_of(f"[ref]: https://a.com/{CITE}\n\ntext")
    assert soup.select("a.cite") and "\ue000" not in str(soup)


def test_a_footnote_keeps_its_words_and_its_citations_where_written():
    """Footnotes are not enabled: `[^2]: 见[cite]` was a link definition, its words gone and the
    reference `[^2]` a link to "见" (a broken relative link). It is a paragraph now; a reference
    definition still defines."""
    soup = html_of(f"说法[^1]，另一说法[^2]。\n\n[^1]: {CITE}\n[^2]: 见{CITE}\n\n[r]: https://a.com/\n\n[x][r]")
    notes = soup.select("p")[1]
    assert notes.get_text() == "[^1]: C\n[^2]: 见C" and len(notes.select("a.cite")) == 2
    assert "[^1]" in soup.p.get_text() and [a["href"] for a in soup.select("a[href]")] == ["https://a.com/"]


@pytest.mark.parametrize(
    "text, count",
    [
        (f"`a` x `b` {CITE}\n\n```\n{CITE}\n```\n", 1),
        (f"行内 `{CITE}` 和 {CITE}", 1),
        (f"    {CITE}\n", 0),  # an indented code block
        (f"\t{CITE}\n", 0),  # …indented by a tab, with no backtick anywhere in the report
        (f"\t{CITE}\n\n`x`\n", 0),
        (f"```{CITE}\nx\n```\n", 0),  # a fence's info string
        # What the page reads as text is cited, wherever a backtick without its pair stands (these
        # were paired with a backtick past them and neither placed nor counted):
        (f"| a | b |\n|---|---|\n| 命令 `ls | {CITE} 参见` | `pip` |\n", 1),  # cells end a code span
        (f"[a](http://x/`) {CITE} `y`", 1),  # a link's destination holds no code
        (f"<http://a.com/`> {CITE} `x`", 1),  # nor an autolink
        (f"\\`{CITE}` x", 1),  # an escaped backtick opens nothing
        (f"\\\\`{CITE}`", 0),  # an escaped backslash before it: code
    ],
)
def test_a_citation_is_code_exactly_where_the_page_shows_it_literally(text, count):
    assert len(report_citations(text)) == count
    assert len(html_of(text).select("a.cite")) == count


def test_kb_cites_leaves_out_citations_in_code(tmp_path):
    report = tmp_path / "r.md"
    report.write_text(f"真的 {CITE}\n\n```\n示例 {CITE}\n```\n\n行内 `{CITE}`\n", encoding="utf-8")
    rows = json.loads(kb("cites", str(report)).stdout)
    assert [r["raw"] for r in rows] == [CITE]


def test_lists_nest_as_commonmark_means_them():
    soup = html_of(f"1. 第一\n   - 子项 {CITE}\n   - 子项二\n2. 第二\n")
    assert [li.get_text(" ", strip=True)[:2] for li in soup.select("ol > li")] == ["第一", "第二"]
    assert len(soup.select("ol > li > ul > li")) == 2 and soup.select_one("ol > li > ul a.cite")


@pytest.mark.parametrize(
    "destination, linked",
    [
        ("https://a.com/x", True),
        ("HTTP://a.com", True),
        ("mailto:a@b.c", True),
        ("../x/", True),
        ("#part", True),
        ("data:image/png;base64,AAAA", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt&colon;alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("data:image/svg+xml,<svg onload=alert(1)>", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("ms-msdt:/id", False),
        ("search-ms:query=x", False),
        ("intent://x#Intent;end", False),
    ],
)
def test_a_report_links_only_to_the_web_mail_and_its_own_site(destination, linked):
    soup = html_of(f"[x]({destination}) ![y]({destination})")
    assert bool(soup.select("a[href]")) == linked
    assert all(a["href"] == destination for a in soup.select("a[href]"))
    assert bool(soup.select("img")) == (linked and not destination.lower().startswith("http"))


def test_a_remote_image_is_a_link_and_external_links_send_no_referrer():
    soup = html_of("![logo](https://tracker.example/p.png) [x](//a.com/) [![in](https://t.example/i.png)](https://y)")
    assert soup.select("img") == []
    links = soup.select("a")
    assert [(a.get_text(), a["href"], a["rel"]) for a in links] == [
        ("logo", "https://tracker.example/p.png", ["noopener", "noreferrer"]),
        ("x", "//a.com/", ["noopener", "noreferrer"]),
        ("in", "https://y", ["noopener", "noreferrer"]),
    ]


def test_a_citation_holding_a_backtick_opens_no_code_span():
    """A citation is read before the Markdown around it, as one piece: the backticks in its title
    open no code span (they opened one up to the next citation's, which then was no citation, and
    that one's up to the last backtick, over CITE). Three links; the lone backtick is text."""
    text = f'[long_context: "`x", chunk 0] [long_context: "`y", chunk 0] {CITE} z`'
    soup = html_of(text)
    assert "\ue000" not in str(soup) and len(soup.select("a.cite")) == 3
    assert not soup.select("code") and soup.get_text().strip().endswith(" z`")


@pytest.mark.parametrize(("text", "nuls"), [("\t[文档: \x00.pdf, page 1] a\x00b", 2), ("`[文档: \x00.pdf]` a", 1)])
def test_a_citation_shown_as_written_in_code_reads_nul_as_the_rest_of_the_text_does(text, nuls):
    """CommonMark reads U+0000 as U+FFFD, and so does the parser everywhere else; a citation in code
    is put back as written, where a NUL stayed NUL (found by the export's any-input property test:
    the exported Markdown, parsed again, read U+FFFD there)."""
    code = html_of(text).select_one("code").get_text()
    assert "\x00" not in code and code.count("\ufffd") == nuls


@pytest.mark.parametrize(
    "make",
    [
        lambda n: f"[x](https://a.com/{CITE}) " * n,  # citations in link destinations
        lambda n: f"<https://a.com/{CITE}> " * n,  # in autolinks: held twice each
        lambda n: f"[r]: https://a.com/{CITE}\n\n" + "[x][r] " * n,  # one definition, used n times
        lambda n: f'[long_context: "`a", chunk 0] {CITE} ' * n,  # backticks that move code spans
    ],
)
def test_placing_citations_is_linear(make):
    """Rendering with the citations placed (parsed again each run, itself linear: test_linear), by
    doubling.py's check: a busy machine measured again before it is called super-linear."""
    assert_linear(lambda text: render(text, cited(text), "final"), make)


@pytest.mark.parametrize(
    "text",
    [
        "".join("  " * i + f"- 第{i}层\n" for i in range(30)),  # an ordinary list nested 30 deep
        "".join(">" * i + f" 第{i}层\n" for i in range(1, 60)),
        "".join("> " * i + f"- 第{i}层\n" for i in range(200)),  # past DEEPEST_PREFIX: read flat
        ">" * 5000 + " 第5000层\n",
    ],
    ids=["list 30", "quote 59", "mixed 200", "quote 5000"],
)
def test_nothing_nested_deep_is_lost(text):
    """markdown-it dropped the rest of a block nested past 20 levels (a list nested 10 deep), with
    its citations' context: every line's words, and what follows, are on the page."""
    rendered = BeautifulSoup(render(text + '\n尾巴 [long_context: "T", chunk 1]。\n', [], "final"), "html.parser")
    shown = rendered.get_text()
    assert all(line in shown for line in re.findall(r"第\d+层", text))
    assert "尾巴" in shown


def test_inline_marks_nested_deep_look_ahead_a_bounded_depth_and_stay_text(monkeypatch):
    """A hostile report of nested `![`: each bracket looks ahead through INLINE_NESTING levels at
    most (through the blocks' MAX_NESTING, 100,000 of them took 130 s to build), and what is nested
    deeper is shown as text, not dropped."""
    inline = parser().inline
    skip, looked = inline.skipToken, []

    def counted(state):
        looked.append(state.pos)
        skip(state)

    monkeypatch.setattr(inline, "skipToken", counted)
    n = 200  # below MAX_NESTING, and Python's recursion limit with `counted` between the levels
    shown = BeautifulSoup(render("![" * n + "x" + "]" * n + " 尾巴", [], "final"), "html.parser").get_text()
    assert shown.count("![") == shown.count("]") == n and "尾巴" in shown
    assert len(looked) <= 8 * 20 * n  # 80 a bracket measured; 1,192 through all 200 levels


def backtick_runs(n: int) -> str:
    """Runs of backticks of every length from 3 on, none with a partner, then `a` pairs and a
    citation, about n characters: each unpaired run was compared with every run after it."""
    runs, size = [], 0
    while size < n // 2:
        runs.append("`" * (len(runs) + 3) + " a ")
        size += len(runs) + 5
    return "".join(runs) + "` a ` " * (n // 12) + CITE


def test_finding_the_code_around_citations_is_linear():
    assert_linear(report_citations, backtick_runs)
