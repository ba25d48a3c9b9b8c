"""Issue 28, point 8: the checked report taken out. The DOCX has a real footnote per citation (opened
with python-docx and read from its footnotes part, and by LibreOffice where installed), the Markdown
a GFM footnote per citation, the citation table one row per citation; unresolved, unsupported and
partly supported citations are marked in the text; whatever the input holds stays text."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from itertools import cycle
from pathlib import Path

import docx
import pytest
from bs4 import BeautifulSoup
from doubling import assert_linear
from fixtures import make_sample_kb
from helpers import build_site, kb, kb_check, plugin_module, post_build_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from markdown_it import MarkdownIt
from test_escaping import knowledge_bases

from build_tools.export import FIELDS, csv_cell, export, md_text
from build_tools.ingest import Loaded
from build_tools.knowledge_base import KnowledgeBase, assemble
from build_tools.models import Audit, Corpus, FilePart, FileSource, Report, Source

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HOSTILE = (
    '开源模型发展报告（测试） ]] [^1] <b>粗</b> | =HYPERLINK("http://evil.example","点我")\n第二行 `x` *y* _z_ # h'
)
HOSTILE_SHOWN = HOSTILE.replace("\n", " ")  # a footnote is one line
PLAIN = "闭源模型商业化路线研究"
OPEN_URL = "https://example.org/open-models"
REPORT = f"""# 测试报告

开源模型可以本地部署 [long_context: "开源模型发展报告（测试）", chunk 0]。
闭源模型按调用收费 [long_context: "{PLAIN}", chunk 0]，也有人说免费 [long_context: "{PLAIN}", chunk 0]。

- 编造的来源 [long_context: "不存在的标题", chunk 2]，模型自己写的 [^1] 不是脚注
- 文件的第二页 [文档: 报告.pdf, page 2]
"""
# Each citation's footnote, in order, as a reader must see it (`〔…〕` marks what is not clean).
NOTES = [
    f"《{HOSTILE_SHOWN}》，块 0。原文：“开源模型可以本地部署。”原始网址：{OPEN_URL}。证据判定：有依据。",
    f"〔◐ 依据不全〕《{PLAIN}》，块 0。原文：“闭源模型按调用收费”。原始网址：javascript:alert(1)。证据判定：依据不全；缺少：2024。",
    f"〔✗ 无依据〕《{PLAIN}》，块 0。被引用处没有找到支持这句话的原文。原始网址：javascript:alert(1)。证据判定：无依据；缺少：免费。",
    '〔⚠ 未知来源〕原文引用：[long_context: "不存在的标题", chunk 2]。原因：报告的语料中没有这个标题的来源。',
    "文档《报告.pdf》，第 2 页。证据判定：未核查。",
]
MARKS = {2: "〔◐ 依据不全〕", 3: "〔✗ 无依据〕", 4: "〔⚠ 未知来源〕"}


def sample(report: str = REPORT) -> KnowledgeBase:
    """Two sources (one titled with markup, a footnote, a formula and a line break), a PDF, the
    report above; audits as the verdict engine gives them: supported, partial, unsupported."""
    loaded = Loaded(Path("/nonexistent-knowledge-base"))
    bodies = {"s0": "开源模型可以本地部署。开源社区贡献活跃。", "s1": "闭源模型按调用收费，价格逐年下降。"}
    loaded.sources["s0"] = Source("s0", HOSTILE, bodies["s0"], ["corpora/t/c.json"], {"origin": OPEN_URL})
    loaded.sources["s1"] = Source("s1", PLAIN, bodies["s1"], ["corpora/t/c.json"], {"origin": "javascript:alert(1)"})
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", ["s0", "s1"])
    pdf = FileSource(
        "f0", "报告.pdf", "files/t/报告.pdf", "pdf", "t", [FilePart("page", 1, "一"), FilePart("page", 2, "二")]
    )
    loaded.files = {pdf.path: pdf}
    loaded.reports["r"] = Report("r", "测试报告", "reports/r", report, None, "", "t", "corpora/t/c", "files/t")
    knowledge = assemble(loaded)
    chunk0, chunk1 = knowledge.chunks["s0"][0].text, knowledge.chunks["s1"][0].text
    at0, at1 = chunk0.index("开源模型可以本地部署。"), chunk1.index("闭源模型按调用收费")
    verdicts = cycle(  # in turn, for every resolved long_context citation
        [
            Audit("supported", 1.0, "开源模型可以本地部署", (at0, at0 + 11), verdict="supported"),
            Audit("weak", 0.5, "闭源模型按调用收费", (at1, at1 + 9), ("2024",), verdict="partial"),
            Audit("weak", 0.0, "也有人说免费", None, ("免费",), verdict="unsupported"),
        ]
    )
    knowledge.audits["r"] = [
        next(verdicts) if item.status == "resolved" and item.citation.kind == "long_context" else None
        for item in knowledge.cited["r"].final
    ]
    return knowledge


def exported(knowledge: KnowledgeBase, format: str, slug: str = "r") -> bytes:
    return export(knowledge, knowledge.cited[slug], knowledge.audits.get(slug), format)


def docx_parts(data: bytes) -> tuple[docx.document.Document, etree._Element]:
    """The document as python-docx opens it, and its footnotes part (found by its relationship)."""
    document = docx.Document(io.BytesIO(data))
    rels = [rel for rel in document.part.rels.values() if rel.reltype.endswith("/footnotes")]
    assert len(rels) == 1
    return document, etree.fromstring(rels[0].target_part.blob)


def text_of(element: etree._Element) -> str:
    return "".join(t.text or "" for t in element.iter(W + "t"))


def test_the_docx_has_a_footnote_per_citation_with_what_it_cites():
    data = exported(sample(), "docx")
    document, footnotes = docx_parts(data)
    notes = {int(n.get(W + "id")): n for n in footnotes.iter(W + "footnote")}
    assert sorted(notes) == [-1, 0, 1, 2, 3, 4, 5]  # Word's two separators, then one per citation
    assert [notes[n].get(W + "type") for n in (-1, 0)] == ["separator", "continuationSeparator"]
    for n, expected in enumerate(NOTES, 1):
        assert text_of(notes[n]).strip() == expected
        assert len(notes[n].findall(f".//{W}footnoteRef")) == 1  # the number, drawn by Word
    body = document.element.body
    references = [int(r.get(W + "id")) for r in body.iter(W + "footnoteReference")]
    assert references == [1, 2, 3, 4, 5]
    for n, mark in MARKS.items():  # marked in the text, in red, just before the reference
        reference = next(r for r in body.iter(W + "footnoteReference") if r.get(W + "id") == str(n))
        before = reference.getparent().getprevious()
        assert text_of(before) == mark
        assert before.find(f"{W}rPr/{W}color").get(W + "val") == "C00000"
    paragraphs = [p.text for p in document.paragraphs]
    assert "编造的来源 〔⚠ 未知来源〕，模型自己写的 [^1] 不是脚注" in paragraphs and paragraphs[0] == "测试报告"
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        types = package.read("[Content_Types].xml").decode()
        settings_xml = package.read("word/settings.xml").decode()
        assert 'PartName="/word/footnotes.xml"' in types and "wordprocessingml.footnotes+xml" in types
        assert re.search(
            r'<w:footnotePr><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>\s*<w:compat>', settings_xml
        )
        everything = b"".join(package.read(name) for name in package.namelist() if name.endswith(".xml"))
    assert b"instrText" not in everything and b"fldSimple" not in everything  # no field, so no HYPERLINK()
    links = [
        rel.target_ref
        for part in document.part.package.iter_parts()
        for rel in part.rels.values()
        if rel.reltype.endswith("/hyperlink")
    ]
    assert links == [OPEN_URL]  # javascript: stays text


def test_the_same_report_makes_the_same_docx():
    assert exported(sample(), "docx") == exported(sample(), "docx")


def test_libreoffice_reads_the_footnotes(tmp_path):
    """A Word-compatible reader other than python-docx: LibreOffice converts the DOCX to PDF, and
    every footnote's words are in it."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    from pdfminer.high_level import extract_text

    (tmp_path / "r.docx").write_bytes(exported(sample(), "docx"))
    profile = (tmp_path / "profile").as_uri()  # its own profile: another LibreOffice running is no matter
    done = subprocess.run(
        [
            office,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "r.docx"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0 and (tmp_path / "r.pdf").is_file(), done.stderr
    words = lambda text: re.sub(r"[\s✗◐⚠]+", "", text)  # noqa: E731  (a fallback font's glyph lands apart)
    text = words(extract_text(str(tmp_path / "r.pdf")))
    for expected in NOTES:
        assert words(expected) in text


_REFERENCE = re.compile(r"\[\^(\d+)\]")


def footnote_reference(state, silent: bool) -> bool:
    """A GFM footnote reference `[^N]`, as markdown-it's footnote plugin reads it: tried before
    links, so an escaped bracket (taken by the escape rule) or code (by backticks) is none."""
    match = _REFERENCE.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        state.push("footnote_ref", "", 0).meta = {"n": int(match.group(1))}
    state.pos = match.end()
    return True


def footnoted(markdown: str) -> tuple[list, dict[int, str]]:
    """The Markdown's body parsed as CommonMark (GFM tables, strikethrough, footnote references),
    raw HTML on as a permissive viewer has it; and each footnote's definition, by number."""
    body, found, notes = markdown.partition("\n[^1]: ")
    definitions = dict(re.findall(r"^\[\^(\d+)\]: (.*)$", found.lstrip("\n") + notes, re.MULTILINE))
    return footnote_parser().parse(body), {int(n): text for n, text in definitions.items()}


def footnote_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parser.inline.ruler.before("link", "footnote_ref", footnote_reference)
    return parser


def references(tokens) -> list[int]:
    return [child.meta["n"] for child in inline_children(tokens) if child.type == "footnote_ref"]


def inline_children(tokens) -> list:
    return [child for token in tokens if token.type == "inline" for child in token.children or []]


def test_the_markdown_has_a_footnote_per_citation_and_marks():
    markdown = exported(sample(), "md").decode("utf-8")
    tokens, definitions = footnoted(markdown)
    children = inline_children(tokens)
    assert references(tokens) == [1, 2, 3, 4, 5]
    parser = footnote_parser()
    for n, expected in enumerate(NOTES, 1):
        shown = inline_children(parser.parse(definitions[n]))
        assert "".join(c.content for c in shown if c.type == "text") == expected
        assert not [c for c in shown if c.type not in ("text", "link_open", "link_close")]
    assert [c.attrGet("href") for c in inline_children(parser.parse(definitions[1])) if c.type == "link_open"] == [
        OPEN_URL
    ]
    text = page_text(tokens)
    assert "开源模型可以本地部署 [^1]。" in text and "编造的来源 〔⚠ 未知来源〕[^4]，模型自己写的 [^1] 不是脚注" in text
    assert "也有人说免费 〔✗ 无依据〕[^3]" in text and "按调用收费 〔◐ 依据不全〕[^2]" in text
    assert not [t for t in tokens + children if t.type.startswith("html")]


def test_the_citation_table_has_a_row_per_citation():
    knowledge = sample()
    data = exported(knowledge, "csv")
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 (the Chinese) only after this mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == FIELDS
    table = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert [r["n"] for r in table] == ["1", "2", "3", "4", "5"]
    assert [r["status"] for r in table] == ["resolved"] * 3 + ["unknown_source", "resolved"]
    assert [r["verdict"] for r in table] == ["supported", "partial", "unsupported", "", ""]
    assert table[0]["title"] == HOSTILE and table[0]["url"] == OPEN_URL and table[0]["chunk"] == "0"
    assert table[0]["span"] == "开源模型可以本地部署。" and table[1]["missing"] == "2024"
    assert table[3]["raw"] == '[long_context: "不存在的标题", chunk 2]' and table[3]["title"] == "不存在的标题"
    assert table[4]["locator"] == "page 2" and table[4]["title"] == "报告.pdf"
    objects = json.loads(exported(knowledge, "json"))
    assert [o["n"] for o in objects] == [1, 2, 3, 4, 5] and list(objects[0]) == list(FIELDS)
    assert objects[0]["title"] == HOSTILE and objects[1]["missing"] == ["2024"] and objects[4]["verdict"] is None
    assert (objects[0]["span_start"], objects[2]["span_start"]) == (int(table[0]["span_start"]), None)


def test_an_audited_file_citation_quotes_the_span_of_the_page_checked():
    """A file citation's audit has its span in the page it checked (`Audit.part`): the table and the
    footnote quote it from there."""
    knowledge = sample()
    items = knowledge.cited["r"].final
    knowledge.audits["r"][-1] = Audit("supported", 1.0, "文件的第二页", (0, 1), verdict="supported", part=2)
    assert items[-1].citation.kind == "document"
    objects = json.loads(exported(knowledge, "json"))
    assert (objects[4]["span"], objects[4]["verdict"]) == ("二", "supported")
    assert "文档《报告.pdf》，第 2 页。原文：“二”" in exported(knowledge, "md").decode()
    whole = sample(REPORT.replace("[文档: 报告.pdf, page 2]", "[文档: 报告.pdf]"))
    whole.audits["r"][-1] = knowledge.audits["r"][-1]  # citing the whole file: the place checked is named
    assert "文档《报告.pdf》（核查的是第 2 页）。原文：“二”" in exported(whole, "md").decode()


def test_no_csv_cell_starts_a_formula():
    """OWASP's CSV injection advice: a cell starting = + - @ (or a tab, CR) starts with `'`."""
    formula = '=HYPERLINK("http://evil.example","点我")'
    report = f'{formula} [long_context: "无此来源一", chunk 0]\n\n+1+1 [long_context: "无此来源二", chunk 0]\n\n[文档: @SUM(1).pdf]\n'
    table = list(csv.DictReader(io.StringIO(exported(sample(report), "csv").decode("utf-8-sig"))))
    assert [r["claim"] for r in table[:2]] == ["'" + formula, "'+1+1"]
    assert table[2]["title"] == "'@SUM(1).pdf" and table[2]["raw"] == "[文档: @SUM(1).pdf]"
    assert [csv_cell(v) for v in ("-2", "\t=1", "\r=1", "a=1", " =1", None, ("x", "y"), "\x00=1", "\ufeff@A1")] == [
        "'-2",
        "'\t=1",
        "'\r=1",
        "a=1",
        " =1",
        "",
        "x; y",
        "'\x00=1",  # behind what a spreadsheet may drop unseen
        "'\ufeff@A1",
    ]
    assert json.loads(exported(sample(report), "json"))[0]["claim"] == formula  # JSON keeps data as is


def page_text(tokens, slot_text: dict[str, str] | None = None) -> str:
    """What a reader reads of parsed Markdown: text, code, line breaks; links by their text (a
    footnote reference as `[^N]`, a citation slot as `slot_text`)."""
    out: list[str] = []
    for token in tokens:
        if token.type in ("fence", "code_block"):
            out.append(token.content.removesuffix("\n") + "\n")
        for child in token.children or [] if token.type == "inline" else []:
            if child.type in ("text", "code_inline"):
                out.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                out.append("\n")
            elif child.type == "image":
                out.append("".join(grand.content for grand in child.children or []))
            elif child.type == "footnote_ref":
                out.append(f"[^{child.meta['n']}]")
            elif child.type == "html_inline" and slot_text is not None:
                out.append(slot_text.get(child.content, ""))
        if token.type.endswith("_close") and token.block:
            out.append("\n")
    return re.sub(r"\n+", "\n", "".join(out)).strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(knowledge_bases(), st.lists(st.sampled_from(["supported", "partial", "unsupported"]), min_size=10, max_size=10))
def test_any_input_stays_text_in_every_format(knowledge, verdicts):
    """Whatever the report and sources hold: the Markdown holds no HTML and no footnote, link or
    markup of the input's own, and reads as the report does on the site (citations as marks and
    references); the DOCX opens with every footnote; the table has a row per citation."""
    from build_tools.commonmark import CITATION_SLOT, citation_tokens, disjoint
    from build_tools.export import read

    audits = knowledge.audits["r0"]
    knowledge.audits["r0"] = [replace(a, verdict=v) if a else None for a, v in zip(audits, verdicts * len(audits))]
    cited = knowledge.cited["r0"]
    markdown = exported(knowledge, "md", "r0").decode("utf-8")
    tokens, definitions = footnoted(markdown)
    children = inline_children(tokens)
    assert not [t for t in tokens + children if t.type.startswith("html")]
    for child in children:
        if child.type == "link_open":
            assert re.match(r"(https?:|mailto:)", child.attrGet("href"), re.IGNORECASE), child.attrGet("href")
    placed = read(knowledge, cited, knowledge.audits["r0"])
    numbers = [note.n for note in placed.notes]
    assert sorted(definitions) == numbers == references(tokens) == list(range(1, len(numbers) + 1))
    parser = footnote_parser()
    for item, row in zip(cited.final, placed.rows):
        if row.n is None:
            continue
        shown = inline_children(parser.parse(definitions[row.n]))
        assert not [c for c in shown if c.type not in ("text", "link_open", "link_close")]
        named = row.title if item.target else row.raw  # what it cites, or what was written
        assert " ".join(named.replace("\x00", "\ufffd").split()) in "".join(
            c.content for c in shown if c.type == "text"
        )
    # The body reads as the page's text, each citation as its marks and footnote references.
    spans = disjoint((i.citation.start, i.citation.end) for i in cited.final)
    at_span: dict[tuple[int, int], str] = {}
    for item, row in zip(cited.final, placed.rows):
        if row.n is not None:
            span = (item.citation.start, item.citation.end)
            at_span[span] = at_span.get(span, "") + placed.notes[row.n - 1].mark + f"[^{row.n}]"
    slots = {CITATION_SLOT.format(k): at_span.get(span, "") for k, span in enumerate(spans)}
    expected = page_text(citation_tokens(cited.report.final, spans), slots)
    assert page_text(tokens).endswith(expected)
    document, footnotes = docx_parts(exported(knowledge, "docx", "r0"))
    assert sorted(int(n.get(W + "id")) for n in footnotes.iter(W + "footnote"))[2:] == numbers
    assert [int(r.get(W + "id")) for r in document.element.body.iter(W + "footnoteReference")] == numbers
    assert (
        len(list(csv.reader(io.StringIO(exported(knowledge, "csv", "r0").decode("utf-8-sig"))))) == len(cited.final) + 1
    )


RICH = """[long_context: "闭源模型商业化路线研究", chunk 0]: 以引用开头的一行
\\- 不是列表
\\+ 也不是
\\===
1\\. 不是编号 [^1] 不是脚注 `` `反引号` `` 和 `  空格  `

# 标题 *强调* [long_context: "闭源模型商业化路线研究", chunk 0]

> 引用段落 **粗体** [long_context: "闭源模型商业化路线研究", chunk 0]
> 第二行
>
> - 引用中的列表 [文档: 报告.pdf, page 1]

1. 第一项
2. 第二项 [long_context: "不存在", chunk 1]
   - 嵌套 `code | pipe` 和 ~~删除~~
   - 另一项\u0020\u0020
     硬换行

- 松散列表

  第二段 [long_context: "闭源模型商业化路线研究", chunk 0]: 冒号

* 紧凑列表

2. 从二开始的列表

| 列一 | 列二 |
|:---|---:|
| `a\\|b` [long_context: "闭源模型商业化路线研究", chunk 0] | [链接](https://example.org/x?a=1&b=2) ![图](https://img.example/x.png) |

```python
print("[long_context: \\"x\\", chunk 1]")
```

    缩进代码

---
最后 <b>不是标签</b> &amp; 实体 [站内](../x/) [坏](javascript:alert(1)) <https://auto.example/>
* * *
+ 加号列表 [long_context: "闭源模型商业化路线研究", chunk 0][long_context: "不存在", chunk 1]
"""


def blocks_of(tokens) -> list[str]:
    """The block structure: each block, list and item opened (an indented code block is a fence)."""
    kinds = [t.type.replace("code_block", "fence") for t in tokens if t.block and t.nesting >= 0]
    return [kind for kind in kinds if kind not in ("paragraph_open", "inline")]


def read_back(report: str) -> tuple[KnowledgeBase, list, dict[int, str], list]:
    """The report's knowledge base, its exported Markdown's tokens and footnotes, and the report's
    own tokens; asserts the Markdown reads as the report, each citation as marks and references."""
    from build_tools.commonmark import CITATION_SLOT, citation_tokens, disjoint
    from build_tools.export import read

    knowledge = sample(report)
    cited = knowledge.cited["r"]
    tokens, definitions = footnoted(exported(knowledge, "md").decode("utf-8"))
    placed = read(knowledge, cited, knowledge.audits["r"])
    spans = disjoint((i.citation.start, i.citation.end) for i in cited.final)
    at_span: dict[tuple[int, int], str] = {}
    for item, row in zip(cited.final, placed.rows):
        span = (item.citation.start, item.citation.end)
        at_span[span] = at_span.get(span, "") + placed.notes[row.n - 1].mark + f"[^{row.n}]"
    original = citation_tokens(report, spans)
    assert page_text(tokens).endswith(
        page_text(original, {CITATION_SLOT.format(k): at_span[s] for k, s in enumerate(spans)})
    )
    return knowledge, tokens, definitions, original


def test_the_markdown_reads_as_the_report():
    """Quotes, lists (tight, loose, nested, starting at 2), tables, code, links: the exported
    Markdown has the report's blocks and reads as its text, each citation as marks and references."""
    knowledge, tokens, definitions, original = read_back(RICH)
    assert blocks_of(tokens)[-len(blocks_of(original)) :] == blocks_of(original)
    assert references(tokens) == sorted(definitions) == list(range(1, 10))
    links = [c.attrGet("href") for c in inline_children(tokens) if c.type == "link_open"]
    assert links == ["https://example.org/x?a=1&b=2", "https://img.example/x.png", "https://auto.example/"]
    docx_parts(exported(knowledge, "docx"))  # opens


@pytest.mark.parametrize(
    ("report", "styled"),
    [
        ("# R\n\n甲[文档: 报告.pdf, page 2]*[文档: 报告.pdf, page 2]*0\n", False),  # found by hypothesis
        ("# R\n\n甲x*[文档: 报告.pdf, page 2] 乙*\n", False),
        ('# R\n\n甲**闭源模型按调用收费[long_context: "闭源模型商业化路线研究", chunk 0]**一\n', False),
        ('# R\n\n*闭源模型按调用收费 [long_context: "闭源模型商业化路线研究", chunk 0]*，一\n', True),
    ],
)
def test_a_style_around_a_citation_reads_as_the_page(report, styled):
    """On the page a citation is a slot, which CommonMark reads as a letter; in the Markdown it is a
    mark and a footnote reference, punctuation at both ends, beside which `*` may no longer open or
    close: such a style is left out, never shown as literal asterisks; one that holds is kept."""
    _, tokens, _, _ = read_back(report)
    assert any(child.type in ("em_open", "strong_open") for child in inline_children(tokens)) == styled


def test_md_text_escapes_what_would_be_markup():
    """Text reads back as that text, in a paragraph or a footnote: no footnote, link, emphasis,
    code, HTML, entity, math or table cell of its own."""
    parser = footnote_parser()
    for text in ("[^1]", "<b>x</b>", "a|b", "*x* _y_ `z`", "~~s~~", "&amp;", "$x$", "\\", "{: .x}", "[a](b) ![c](d)"):
        children = inline_children(parser.parse("x " + md_text(text)))
        assert [c.type for c in children] == ["text"] and children[0].content == "x " + text


def test_export_is_linear_in_citations():
    """A paragraph of n citations: Markdown and DOCX take time in proportion (relationships, runs)."""
    knowledge = sample()
    template = knowledge.loaded.reports["r"]

    def run(text: str) -> None:
        knowledge.loaded.reports["r"] = replace(template, final=text)
        rebuilt = assemble(knowledge.loaded)
        for format in ("md", "docx"):
            export(rebuilt, rebuilt.cited["r"], None, format)

    unit = f'开源 [long_context: "{PLAIN}", chunk 0] 文件 [文档: 报告.pdf, page 1] '
    assert_linear(run, lambda n: unit * max(1, n // len(unit)), start=2048)


# ---------------------------------------------------------------- kb export


def test_kb_export_by_folder_or_slug(tmp_path):
    root = make_sample_kb(tmp_path / "kb")
    folder = kb("export", str(root / "reports" / "demo")).stdout
    by_slug = kb("export", "demo", "--sources", str(root)).stdout
    assert folder == by_slug and "[^1]:" in folder and "〔⚠ 未知来源〕" in folder
    table = json.loads(kb("export", "demo", "--sources", str(root), "--format", "json").stdout)
    assert len(table) == 7 and {row["status"] for row in table} >= {"resolved", "unknown_source", "missing_file"}
    kb("export", str(root / "reports" / "demo"), "--format", "docx", "--out", str(tmp_path / "out" / "demo.docx"))
    _, footnotes = docx_parts((tmp_path / "out" / "demo.docx").read_bytes())
    assert len(list(footnotes.iter(W + "footnote"))) == 2 + 7


def test_kb_export_says_what_is_wrong_in_one_line(tmp_path):
    root = make_sample_kb(tmp_path / "kb")
    cases = [
        (["nope", "--sources", str(root)], "nope: no such report in"),
        (["demo", "--sources", str(root), "--format", "docx"], "--format docx writes a binary file"),
        ([str(root / "corpora")], "not a report folder"),
        (["demo", "--sources", str(tmp_path / "missing")], "no such folder"),
    ]
    (tmp_path / "file").write_text("x")
    cases.append((["demo", "--sources", str(root), "--out", str(tmp_path / "file" / "x.md")], "file: not a folder"))
    for args, said in cases:
        done = kb("export", *args, check=False)
        assert done.returncode == 1 and said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- on the site


def test_each_report_page_offers_its_exports(tmp_path):
    """The build writes each report's Markdown (as .txt: text/plain on any host, never a page) and
    citation table beside its page, the same bytes `kb export` gives; the page links to both (saved
    under the report's name) and names the command for the DOCX; every link lands."""
    root = make_sample_kb(tmp_path / "kb", hostile=True)
    built = build_site(root, tmp_path / "site")
    assert built.returncode == 0, built.log
    for slug in ("demo", "hostile"):
        folder = built.site / "reports" / slug
        assert (folder / "report.txt").read_bytes() == kb("export", slug, "--sources", str(root)).stdout.encode()
        table = kb("export", slug, "--sources", str(root), "--format", "csv").stdout.encode("utf-8")
        assert (folder / "citations.csv").read_bytes().replace(b"\r\n", b"\n") == table.replace(b"\r\n", b"\n")
        page = BeautifulSoup(built.page(f"reports/{slug}"), "html.parser")
        links = {a["href"]: a.get("download") for a in page.select("p.citekb-export a")}
        assert links == {"report.txt": f"{slug}.md", "citations.csv": f"{slug}.csv"}
        assert f"kb export {slug} " in page.select_one("p.citekb-export code").get_text()
    assert [mimetypes.guess_type(f"x/{name}")[0] for name in ("report.txt", "citations.csv")] == [
        "text/plain",
        "text/csv",
    ]
    assert kb_check(built.site)["broken"] == []


@pytest.mark.parametrize(("serving", "elsewhere"), [(False, False), (False, True), (True, False)])
def test_exports_that_cannot_be_written_are_one_line(tmp_path, monkeypatch, caplog, serving, elsewhere):
    """A file where a report page's folder belongs: a build stops with one line naming the file,
    also when that report's exports were left to a forked process; while serving, the background
    writer logs it and the served site goes on."""
    monkeypatch.setattr(plugin_module(), "EXPORTS_ELSEWHERE_FROM", 1 if elsewhere else 10**9)
    monkeypatch.setenv("CITEKB_SOURCES", str(make_sample_kb(tmp_path / "kb")))
    monkeypatch.setenv("CITEKB_CACHE", str(tmp_path / "terms.marshal"))
    (tmp_path / "site" / "reports").mkdir(parents=True)
    (tmp_path / "site" / "reports" / "demo").write_text("a file")
    expected = (
        f"citekb: report exports not written: {tmp_path / 'site' / 'reports' / 'demo' / 'report.txt'}: File exists"
    )
    assert post_build_errors(tmp_path / "site", caplog, serving) == [expected]
