"""Citation parsing and resolution: every form, hostile text, and the `kb cites` interface."""

from __future__ import annotations

import json
import unicodedata

import pytest
from helpers import kb, need_pipeline

from build_tools.chunk import chunk_text
from build_tools.cite.parse import Locator, parse_citations, parse_locator, rag_references
from build_tools.cite.resolve import Scope, Titles, file_key, resolve
from build_tools.knowledge_base import build
from build_tools.messages import STATUS_LABELS
from build_tools.models import FilePart, FileSource, Source
from build_tools.paths import anchor_text


def parsed(text: str) -> list[tuple]:
    return [(c.kind, c.title, c.chunk, c.file, c.locator, c.error is not None) for c in parse_citations(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            '[long_context: "OpenAI 开源模型重磅回归", chunk 1]',
            [("long_context", "OpenAI 开源模型重磅回归", 1, None, None, False)],
        ),
        ("[long_context: “弯引号标题”, chunk 2]", [("long_context", "弯引号标题", 2, None, None, False)]),
        ('[long_context:   "空格"  ，  chunk   4 ]', [("long_context", "空格", 4, None, None, False)]),
        (
            '[long_context: "T", chunk 1, 2]',
            [("long_context", "T", 1, None, None, False), ("long_context", "T", 2, None, None, False)],
        ),
        (
            '[long_context: "T", chunk 0-1]',
            [("long_context", "T", 0, None, None, False), ("long_context", "T", 1, None, None, False)],
        ),
        (
            '[long_context: "A", chunk 0; long_context: "B", chunk 3]',
            [("long_context", "A", 0, None, None, False), ("long_context", "B", 3, None, None, False)],
        ),
        ("[文档: gpt-4 technical report.pdf]", [("document", None, None, "gpt-4 technical report.pdf", None, False)]),
        ("[Doc: paper.pdf, Table 7]", [("document", None, None, "paper.pdf", "Table 7", False)]),
        ("[文档: paper.pdf, 第3节]", [("document", None, None, "paper.pdf", "第3节", False)]),
        (
            "[图片:logo.png][Image: image0.png]",
            [("image", None, None, "logo.png", None, False), ("image", None, None, "image0.png", None, False)],
        ),
        (
            "[视频: demo.mp4] [Video: b.webm]",
            [("video", None, None, "demo.mp4", None, False), ("video", None, None, "b.webm", None, False)],
        ),
        ("[Web: https://huggingface.co/]", [("web", "https://huggingface.co/", None, None, None, False)]),
        ("见[RAG-3]。", [("rag", None, None, None, "3", False)]),
        # a second file after a list mark is a second citation (it was read as a place in the first)
        (
            "[文档: report.pdf, page 2, deck.pptx, slide 3]",
            [
                ("document", None, None, "report.pdf", "page 2", False),
                ("document", None, None, "deck.pptx", "slide 3", False),
            ],
        ),
        (
            "[文档: report.pdf、deck.pptx]",
            [("document", None, None, "report.pdf", None, False), ("document", None, None, "deck.pptx", None, False)],
        ),
        # …and so is a second file after a conjunction (it was one name, found nowhere)
        (
            "[文档: report.pdf 和 deck.pptx]",
            [("document", None, None, "report.pdf", None, False), ("document", None, None, "deck.pptx", None, False)],
        ),
        (
            "[文档: a.pdf和b.xlsx与c.csv]",
            [("document", None, None, f, None, False) for f in ("a.pdf", "b.xlsx", "c.csv")],
        ),
        (
            "[Doc: report.pdf and deck.pptx, slide 3]",
            [
                ("document", None, None, "report.pdf", None, False),
                ("document", None, None, "deck.pptx", "slide 3", False),
            ],
        ),
        (
            "[图片: a.PNG & b.jpg]",
            [("image", None, None, "a.PNG", None, False), ("image", None, None, "b.jpg", None, False)],
        ),
        # …and after a place (it was a file named `page 2 和 b.pdf`, and a.pdf's page lost)
        (
            "[文档: a.pdf, page 2 和 b.pdf]",
            [("document", None, None, "a.pdf", "page 2", False), ("document", None, None, "b.pdf", None, False)],
        ),
        (
            "[文档: a.pdf, 第5页与b.pptx, slide 3]",
            [("document", None, None, "a.pdf", "第5页", False), ("document", None, None, "b.pptx", "slide 3", False)],
        ),
        ("[文档: 2023和2024年报.pdf]", [("document", None, None, "2023和2024年报.pdf", None, False)]),  # a name's
        ("[文档: v1.2和b.pdf]", [("document", None, None, "v1.2和b.pdf", None, False)]),
        # a name's own comma, then a conjunction of a word (it was `Smith, Jones.pdf an`)
        (
            "[文档: Smith, Jones.pdf and b.pdf]",
            [("document", None, None, "Smith, Jones.pdf", None, False), ("document", None, None, "b.pdf", None, False)],
        ),
        # a bare bracket's files, as a prefixed one's, each of its extension's kind (one name found
        # nowhere, or the second file read as a place in the first)
        (
            "[a.pdf, deck.pptx]",
            [("document", None, None, "a.pdf", None, False), ("document", None, None, "deck.pptx", None, False)],
        ),
        (
            "[a.pdf 和 b.pdf]",
            [("document", None, None, "a.pdf", None, False), ("document", None, None, "b.pdf", None, False)],
        ),
        (
            "[a.pdf、b.png]",
            [("document", None, None, "a.pdf", None, False), ("image", None, None, "b.png", None, False)],
        ),
        (
            "[a.pdf, page 2, deck.pptx, slide 3]",
            [
                ("document", None, None, "a.pdf", "page 2", False),
                ("document", None, None, "deck.pptx", "slide 3", False),
            ],
        ),
        # two addresses after a comma are two (they were one, found nowhere)
        (
            "[Web: https://a.org/x, https://b.org/y]",
            [("web", "https://a.org/x", None, None, None, False), ("web", "https://b.org/y", None, None, None, False)],
        ),
        # a follow-on place after a file citation, as a follow-on chunk after a long_context one
        (
            "[文档: x.pdf, page 2][page 3]",
            [("document", None, None, "x.pdf", "page 2", False), ("document", None, None, "x.pdf", "page 3", False)],
        ),
        (
            "[文档: deck.pptx, slide 2]、[slides 5、6]",
            [("document", None, None, "deck.pptx", f"slide {n}", False) for n in (2, 5, 6)],
        ),
        (
            "[x.pdf, 页 8][页 9]",
            [("document", None, None, "x.pdf", "页 8", False), ("document", None, None, "x.pdf", "页 9", False)],
        ),
        (
            "[文档: x.pdf][第5页]",
            [("document", None, None, "x.pdf", None, False), ("document", None, None, "x.pdf", "第5页", False)],
        ),
        ('[long_context: "T", chunk 1][page 2]', [("long_context", "T", 1, None, None, False)]),  # no chunk's page
        ("[page 3]", []),  # after nothing: text
        ("[文档: x.pdf][page 2](https://x.org)", [("document", None, None, "x.pdf", None, False)]),  # a link's text
        ('[long_context: "T", chunk 1][chunk 2](https://x.org)', [("long_context", "T", 1, None, None, False)]),
        # …but a name's own comma or conjunction is the name's
        ("[文档: Smith, Jones 2020.pdf]", [("document", None, None, "Smith, Jones 2020.pdf", None, False)]),
        ("[文档: 报告和附录.pdf]", [("document", None, None, "报告和附录.pdf", None, False)]),
        ("[文档: Q&A and notes.pdf]", [("document", None, None, "Q&A and notes.pdf", None, False)]),
        ("[文档: report.pdfx 和 deck.pptx]", [("document", None, None, "report.pdfx 和 deck.pptx", None, False)]),
        # several references in one bracket, each a citation (they were text, neither linked nor counted)
        ("[RAG-1, RAG-2]", [("rag", None, None, None, "1", False), ("rag", None, None, None, "2", False)]),
        ("[RAG-3；4]", [("rag", None, None, None, "3", False), ("rag", None, None, None, "4", False)]),
        ("[rag-5]", [("rag", None, None, None, "5", False)]),
        # an item that is only chunks is the item before's document's (it was malformed: no chunk number)
        (
            '[long_context: "T", chunk 1; chunks 2, 3]',
            [("long_context", "T", n, None, None, False) for n in (1, 2, 3)],
        ),
        # a follow-on chunk after a list mark is the same document's (it was text)
        (
            '[long_context: "T", chunk 1]、[chunk 2]，[chunk 3]',
            [("long_context", "T", n, None, None, False) for n in (1, 2, 3)],
        ),
        ("[paper.pdf, page 3]", [("document", None, None, "paper.pdf", "page 3", False)]),
        ("[long_context]", [("long_context", None, None, None, None, True)]),
        ("[文档]", [("document", None, None, None, None, True)]),
        ('[long_context: "no chunk"]', [("long_context", "no chunk", None, None, None, False)]),
        ('[long_context: "T", chunk -1]', [("long_context", None, None, None, None, True)]),
        ('[long_context: "T", chunk 9-2]', [("long_context", None, None, None, None, True)]),
        # a page named after the chunk is no second chunk (it read as chunk 2, a wrong link)
        ('[long_context: "T", chunk 3, page 2]', [("long_context", None, None, None, None, True)]),
        ('[long_context: "unclosed", chunk 1 and the line goes on', [("long_context", None, None, None, None, True)]),
        ('[long_context: "a]b", chunk 1]', [("long_context", "a]b", 1, None, None, False)]),
        ('[long_context: "say "hi" <script>", chunk 2]', [("long_context", 'say "hi" <script>', 2, None, None, False)]),
        ("[1] [0] [] [start:end] [Document type] plain text", []),
        # Forms seen in the pipeline's other tasks.
        (
            '[long_context: "T", chunk 1][chunk 2]',
            [("long_context", "T", 1, None, None, False), ("long_context", "T", 2, None, None, False)],
        ),
        (
            '[long_context: "T", chunk 0] [chunk 3, 4]',
            [
                ("long_context", "T", 0, None, None, False),
                ("long_context", "T", 3, None, None, False),
                ("long_context", "T", 4, None, None, False),
            ],
        ),
        ("[chunk 2] alone", []),
        (
            '[long_context: "A"] then [long_context: "B", chunk 2]',
            [("long_context", "A", None, None, None, False), ("long_context", "B", 2, None, None, False)],
        ),
        (
            '[long_context: "broken then [文档: a.pdf]',
            [("long_context", None, None, None, None, True), ("document", None, None, "a.pdf", None, False)],
        ),
        (
            '[long_context: "T", chunk 1, chunk 2]',
            [("long_context", "T", 1, None, None, False), ("long_context", "T", 2, None, None, False)],
        ),
        (
            '[long_context: "T", chunks 5, 6]',
            [("long_context", "T", 5, None, None, False), ("long_context", "T", 6, None, None, False)],
        ),
        ('[long_context: "x.pdf", chunk 3]', [("long_context", "x.pdf", 3, None, None, False)]),
        ('[long_context: "x.pdf", page 1]', [("long_context", "x.pdf", None, None, "page 1", False)]),
        ('[长期文档: "x.pdf", chunk 2]', [("long_context", "x.pdf", 2, None, None, False)]),
        ('[long_context: "x.pdf", 第4536-4541页]', [("long_context", "x.pdf", None, None, "第4536-4541页", False)]),
        ("[x.pdf, 页 8]", [("document", None, None, "x.pdf", "页 8", False)]),
        # A place after a file's name with no comma (these were text, neither linked nor counted).
        ("[report.pdf p.3]", [("document", None, None, "report.pdf", "p.3", False)]),
        ("[report.pdf 第3页]", [("document", None, None, "report.pdf", "第3页", False)]),
        ("[文档: deck.pptx slide 2]", [("document", None, None, "deck.pptx", "slide 2", False)]),
        (
            "[annual report.pdf pp. 3-4]",
            [
                ("document", None, None, "annual report.pdf", "page 3", False),
                ("document", None, None, "annual report.pdf", "page 4", False),
            ],
        ),
        ("[文档: a.b page.pdf]", [("document", None, None, "a.b page.pdf", None, False)]),  # a word, no number
        (  # one citation a slide, as one a chunk (slide 10 was dropped before)
            "[deck.pptx, slides 6、10]",
            [
                ("document", None, None, "deck.pptx", "slide 6", False),
                ("document", None, None, "deck.pptx", "slide 10", False),
            ],
        ),
        (
            "[文档: data.xlsx, sheet 销量; sheet 备注]",  # a place alone: another place of the same file
            [
                ("document", None, None, "data.xlsx", "sheet 销量", False),
                ("document", None, None, "data.xlsx", "sheet 备注", False),
            ],
        ),
        ("[ data.csv ]", [("document", None, None, "data.csv", None, False)]),
        (
            '[long_context: "发布会"十五五"关键词", chunk 1]',
            [("long_context", '发布会"十五五"关键词', 1, None, None, False)],
        ),
        (
            '[long_context: "[新闻直播间]世卫组织", chunk 0]',
            [("long_context", "[新闻直播间]世卫组织", 0, None, None, False)],
        ),
        ("[Web: https://example.org/a]", [("web", "https://example.org/a", None, None, None, False)]),
        ("[https://example.org/a]", [("web", "https://example.org/a", None, None, None, False)]),
        ("[网页: http://www.example.org/]", [("web", "http://www.example.org/", None, None, None, False)]),
        # Full-width brackets, as writers type them in Chinese (dropped before: no link, no count).
        ('见［long_context: "T", chunk 1］。', [("long_context", "T", 1, None, None, False)]),
        ("【long_context：“T”，chunk 2】", [("long_context", "T", 2, None, None, False)]),
        (
            "［文档：x.pdf，page 3］【图片: a.png】",
            [("document", None, None, "x.pdf", "page 3", False), ("image", None, None, "a.png", None, False)],
        ),
        ("【重要】正文【注意】", []),
        ("见【a.pdf】(附件)", [("document", None, None, "a.pdf", None, False)]),  # no Markdown link: not ASCII
        ("见[a.pdf](files/a.pdf)", []),  # a Markdown link
        # Items of several kinds in one bracket: each its own (all but the last were lost before).
        (
            "[文档: report.docx; 文档: slides.pptx, slide 1]",
            [
                ("document", None, None, "report.docx", None, False),
                ("document", None, None, "slides.pptx", "slide 1", False),
            ],
        ),
        (
            "[文档: report.docx；slides.pptx]",
            [
                ("document", None, None, "report.docx", None, False),
                ("document", None, None, "slides.pptx", None, False),
            ],
        ),
        (
            "[图片: chart.png; 文档: report.docx]",
            [("image", None, None, "chart.png", None, False), ("document", None, None, "report.docx", None, False)],
        ),
        (
            '[文档: report.docx; long_context: "T", chunk 1]',
            [("document", None, None, "report.docx", None, False), ("long_context", "T", 1, None, None, False)],
        ),
        (
            '[long_context: "T", chunk 1; 文档: report.docx]',
            [("long_context", "T", 1, None, None, False), ("document", None, None, "report.docx", None, False)],
        ),
        (  # a comma before the next item's prefix ends an item (one garbled title before)
            '[long_context: "A", chunk 1, long_context: "B", chunk 2]',
            [("long_context", "A", 1, None, None, False), ("long_context", "B", 2, None, None, False)],
        ),
        (
            "[long_context: A, chunk 1，long_context: B, chunk 2]",
            [("long_context", "A", 1, None, None, False), ("long_context", "B", 2, None, None, False)],
        ),
        (  # and one before another quoted title and its chunk (one garbled title before: `A", chunk 1, "B`)
            '[long_context: "A", chunk 1, "B", chunk 2]',
            [("long_context", "A", 1, None, None, False), ("long_context", "B", 2, None, None, False)],
        ),
        (
            '[long_context: "A, B", chunk 1，“C”，chunks 2-3]',
            [
                ("long_context", "A, B", 1, None, None, False),
                ("long_context", "C", 2, None, None, False),
                ("long_context", "C", 3, None, None, False),
            ],
        ),
        (
            '[long_context: A, chunk 1, "B", chunk 2]',
            [("long_context", "A", 1, None, None, False), ("long_context", "B", 2, None, None, False)],
        ),
        (  # a title's own comma and quotes, with no chunk after them, stay in it
            '[long_context: "He said, "hi"", chunk 1]',
            [("long_context", 'He said, "hi"', 1, None, None, False)],
        ),
        (
            "[文档: a.pdf, page 2, 文档: b.pdf]",
            [("document", None, None, "a.pdf", "page 2", False), ("document", None, None, "b.pdf", None, False)],
        ),
        ("[文档: a.pdf; ]", [("document", None, None, "a.pdf", None, False)]),  # an empty item names nothing
        ("[Web: https://a.org/x;y=1]", [("web", "https://a.org/x;y=1", None, None, None, False)]),  # its own `;`
        (
            "[Web: https://a.org/x; https://b.org/]",
            [("web", "https://a.org/x", None, None, None, False), ("web", "https://b.org/", None, None, None, False)],
        ),
        ("[文档: a.pdf; b.pdf", [("document", None, None, None, None, True)]),  # unclosed: the bracket as written
    ],
)
def test_parse_forms(text, expected):
    assert parsed(text) == expected


def test_a_citation_in_full_width_brackets_is_shown_as_written():
    text = '正文【long_context: "T", chunk 1】。'
    [citation] = parse_citations(text)
    assert citation.raw == '【long_context: "T", chunk 1】' == text[citation.start : citation.end]


def test_huge_chunk_number_is_parsed_not_crashed():
    (citation,) = parse_citations('[long_context: "T", chunk 99999999999]')
    assert citation.chunk == 99999999999


def scope(*bodies: tuple[str, str], files: tuple[FileSource, ...] = ()) -> Scope:
    sources = [Source(f"s{i}", title, body) for i, (title, body) in enumerate(bodies)]
    return Scope(
        sources,
        {s.slug: len(chunk_text(s.text)) for s in sources},
        files={file_key(f.name): f for f in files},
        files_folder="files/003",
    )


def resolved(text: str, where: Scope) -> list[tuple]:
    return [
        (r.status, r.target, r.suggestion and str(r.suggestion))
        for r in (resolve(c, where) for c in parse_citations(text))
    ]


LONG_TITLE = "OpenAI 开源模型重磅回归：技术突破与行业范式的双重革命，以及它对全球开源社区的长期影响-今日头条"


def test_resolution_statuses():
    where = scope(
        (LONG_TITLE, "正文" * 1000),
        ("Hugging Face – The AI community", "短文。"),
        files=(FileSource("f1", "logo.png", "files/003/logo.png", "image"),),
    )
    cut = LONG_TITLE[:50]
    assert resolved(f'[long_context: "{cut}", chunk 1]', where) == [("resolved", "sources/s0/#chunk-1", None)]
    assert resolved('[long_context: "Hugging Face – The AI community", chunk 0]', where)[0][:2] == (
        "resolved",
        "sources/s1/#chunk-0",
    )
    assert resolved('[long_context: "Hugging Face – The AI community", chunk 5]', where)[0][0] == "chunk_out_of_range"
    assert resolved('[long_context: "T", chunk 99999999999]', where)[0][0] == "unknown_source"
    near = resolved('[long_context: "Hugging Face – The AI comunity", chunk 0]', where)
    assert near[0][0] == "unknown_source" and near[0][1] is None and "Hugging Face – The AI community" in near[0][2]
    assert resolved('[long_context: "Hugging", chunk 0]', where)[0][0] == "unknown_source"  # too short to be a cut
    assert resolved("[图片: LOGO.png]", where) == [("resolved", "sources/f1/", None)]
    assert resolved("[文档: gpt-4 technical report.pdf]", where)[0][0] == "missing_file"
    # prose before a file's name: the name is found where a word starts, never inside one
    assert resolved("[公式详解见logo.png, p9]", where) == [("resolved", "sources/f1/", None)]
    assert resolved("[详见 logo.png]", where) == [("resolved", "sources/f1/", None)]
    assert resolved("[biglogo.png]", where)[0][0] == "missing_file"
    # …only after a word that points to the file: another file's name ending in its name is not it
    assert resolved("[see logo.png] [图片: 参考：logo.png]", where) == [("resolved", "sources/f1/", None)] * 2
    for other in ("[图片: final logo.png]", "[图片: 旧版logo.png]", "[图片: 新logo.png, page 2]"):
        assert resolved(other, where)[0][:2] == ("missing_file", None), other
    for hostile in ("[文档: ../../etc/passwd]", "[图片: ..\\logo.png]", "[文档: .hidden]"):
        assert resolved(hostile, where)[0][:2] == ("malformed", None)


TITLED = [
    Source(f"s{i}", title, "")
    for i, title in enumerate(["大模型生态-知乎", "OpenAI 开源模型重磅回归", "大模型生态-知乎", "ＧＰＴ-4 技术报告"])
]


@pytest.mark.parametrize(
    ("cited", "slugs"),
    [
        ("大模型生态-知乎", ["s0", "s2"]),  # every exact match, in the corpus's order
        ("OpenAI 开源模型", ["s1"]),  # a cut title (8 characters or more) names what it starts
        ("大模型生态", []),  # shorter than MIN_PREFIX: only a whole title
        ("GPT-4 技术报告", ["s3"]),  # NFKC on both sides
        ("OpenAI 开源模型重磅回归！", []),  # longer than the title: no match
        ("开源模型重磅回归", []),  # the middle of a title is not a cut
    ],
)
def test_one_title_rule(cited, slugs):
    assert [s.slug for s in Titles(TITLED).match(cited)] == slugs


def test_a_title_as_long_as_the_pipelines_cut_names_every_title_it_begins():
    """The pipeline writes a title cut to 50 characters: a title of exactly 50 and a longer one
    starting with it are cited alike, so such a citation names both (ambiguous), where it named the
    exact one silently. A shorter exact title still wins over longer ones."""
    fifty, longer = "甲" * 50, "甲" * 50 + "乙" * 10
    titles = Titles([Source("s0", longer, ""), Source("s1", fifty, ""), Source("s2", "甲" * 20, "")])
    assert [s.slug for s in titles.match(fifty)] == ["s0", "s1"]
    assert [s.slug for s in titles.match("甲" * 20)] == ["s2"]


def test_invisible_characters_and_width_do_not_break_matching():
    where = scope(
        ("ＧＰＴ－４ 技术报告\u200b解读", "正文。"),
    )
    assert resolved('[long_context: "GPT-4 技术报告解读", chunk 0]', where)[0][0] == "resolved"


def test_rag_references_resolve_through_the_reference_list():
    where = scope(
        ("Deep Research类产品深度测评：下一个大模型产品跃迁点到来了吗？-网易", "正文。"),
    )
    where.rag_titles = {"1": "Deep Research类产品深度测评：下一个大模型产品跃迁点到来了吗？-网易"}
    assert resolved("见[RAG-1]与[RAG-2]", where) == [("resolved", "sources/s0/", None), ("unknown_source", None, None)]


def test_a_reference_entry_of_several_numbers_gives_each_its_title():
    """`- [RAG-4][RAG-6] title` (the pipeline's bench_case1114 reports: one line for a document
    retrieved twice): RAG-4's title was `[RAG-6] title`, found nowhere, and RAG-6 had no entry."""
    text = "见[RAG-6][RAG-4]。\n\n## 参考\n- [RAG-4][RAG-6] 北大腾讯突破奖励模型瓶颈！-太平洋科技\n- [RAG-7]、[RAG-8]：标题\n"
    title = "北大腾讯突破奖励模型瓶颈！-太平洋科技"
    assert rag_references(text) == {"4": title, "6": title, "7": "标题", "8": "标题"}
    where = scope((title, "正文。"))
    where.rag_titles = rag_references(text)
    assert resolved("见[RAG-6][RAG-4]", where) == [("resolved", "sources/s0/", None)] * 2


@pytest.mark.pipeline
def test_kb_cites_targets_hold_the_reference_chunk_text():
    pipeline = need_pipeline()
    report = pipeline / "results/bench_case1114/003_2025-12-03_19-51-33_comparison.txt"
    corpus = pipeline / "datasets/003/long_context_sampled_60.json"
    rows = json.loads(kb("cites", str(report), "--corpus", str(corpus), "--files", str(corpus.parent)).stdout)
    assert rows and all(set(r) >= {"kind", "raw", "title", "chunk", "status", "target"} for r in rows)
    table = [
        json.loads(line)
        for line in (pipeline / "reference_chunks/003/long_context_sampled_60.chunks.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    done = [r for r in rows if r["kind"] == "long_context" and r["status"] == "resolved"]
    assert len(done) >= 10
    page_of_title: dict[str, str] = {}
    for row in done:
        titles = {t["title"] for t in table if t["title"].startswith(row["title"])}
        assert len(titles) == 1, row  # cited titles are cut prefixes of exactly one document
        (title,) = titles
        assert any(t["title"] == title and t["chunk_index"] == row["chunk"] for t in table)
        page_of_title.setdefault(title, row["target"].split("#")[0])
        assert row["target"] == f"{page_of_title[title]}#chunk-{row['chunk']}"
    assert len(set(page_of_title.values())) == len(page_of_title)  # one page per document
    statuses = {r["status"] for r in rows}
    assert statuses <= set(STATUS_LABELS)
    logo = [r for r in rows if r["kind"] == "image"]
    assert logo and all(r["status"] == "resolved" for r in logo)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("chunk 2", Locator("chunk", (2,))),
        ("page 9, 14", Locator("page", (9, 14))),
        ("page 9, Table 2", Locator("page", (9,))),
        ("p. 3, 5", Locator("page", (3, 5))),
        ("第 3 页", Locator("page", (3,))),
        ("pages 5-7", Locator("page", (5, 6, 7))),
        ("pages 5--7", Locator("page", (5, 6, 7))),
        ("p064", Locator("page", (64,))),
        ("p. 3", Locator("page", (3,))),
        ("第3页", Locator("page", (3,))),
        ("页 8", Locator("page", (8,))),
        ("第4536-4541页", Locator("page", tuple(range(4536, 4542)))),
        ("12-14页", Locator("page", (12, 13, 14))),
        ("1-8", Locator("page", tuple(range(1, 9)))),
        ("slide 3", Locator("slide", (3,))),
        ("slides 6、10", Locator("slide", (6, 10))),
        ("slide 2, slide 3", Locator("slide", (2, 3))),
        ("page 9, p. 14", Locator("page", (9, 14))),
        ("page 9, p14", Locator("page", (9, 14))),
        ("page 9, 14, Table 2", Locator("page", (9, 14))),  # every page listed, then a description
        ("page 9, 14 x", Locator("page", (9,))),  # a list with words after it: to its first comma
        ("page 3 of 5", Locator("page", (3,))),  # of the file's five: it was linked to the file and
        ("page 3 and page 5", Locator("page", (3, 5))),  # the audit then labelled another page ✓
        ("pages 3 & 4", Locator("page", (3, 4))),
        ("p3-p5", Locator("page", (3, 4, 5))),
        ("slides 2 & 3", Locator("slide", (2, 3))),
        ("第3页至第5页", Locator("page", (3, 4, 5))),
        ("pages 9, 14, and 20", Locator("page", (9, 14, 20))),
        ("第3页、第5页", Locator("page", (3, 5))),
        ("第3至5页", Locator("page", (3, 4, 5))),
        ("slides 2—4", Locator("slide", (2, 3, 4))),
        ("第3张、第5张", Locator("slide", (3, 5))),
        ("chunk 3, page 2", Locator("other", name="chunk 3, page 2")),  # no chunk 2: a page is named
        ("pages 1, section 2", Locator("page", (1,))),
        ("Section 1, page 2", Locator("other", name="Section 1, page 2")),  # shown as written
        ("第2张幻灯片", Locator("slide", (2,))),
        ("sheet 销量", Locator("sheet", name="销量")),
        ("工作表：Sheet1", Locator("sheet", name="Sheet1")),
        ("Sheet2", Locator("sheet", name="Sheet2")),  # a default sheet name is the whole name
        ("Section 4.1", Locator("other", name="Section 4.1")),
        ("all pages", Locator("other", name="all pages")),
        ("", None),
    ],
)
def test_locators(text, expected):
    assert parse_locator(text) == expected


def pdf(name: str, pages: int) -> FileSource:
    return FileSource(
        f"f-{name}",
        name,
        f"files/t/{name}",
        "pdf",
        parts=[FilePart("page", n, f"page {n}") for n in range(1, pages + 1)],
    )


def test_task_file_cited_as_corpus_document_links_to_the_file():
    where = scope(("十五五规划", "正文。" * 10), files=(pdf("plan.pdf", 3),))
    rows = [
        (r.status, r.target)
        for r in (
            resolve(c, where)
            for c in parse_citations(
                '[long_context: "plan.pdf", chunk 3] [long_context: "plan.pdf", page 2] [长期文档: "Plan.PDF"] '
                '[long_context: "plan.pdf", 第4536-4541页]'
            )
        )
    ]
    assert rows == [
        ("file_as_chunk", "sources/f-plan.pdf/"),
        ("file_as_chunk", "sources/f-plan.pdf/#page-2"),
        ("file_as_chunk", "sources/f-plan.pdf/"),
        ("file_as_chunk", "sources/f-plan.pdf/"),
    ]
    first, *_, last = (
        resolve(c, where)
        for c in parse_citations('[long_context: "plan.pdf", chunk 3] [long_context: "plan.pdf", 第4536-4541页]')
    )
    assert "chunk 3 is not a place in the file" in str(first.reason)
    assert "page 4536 does not exist" in str(last.reason) and "没有第 4536 页" in last.reason.chinese()


@pytest.mark.parametrize(
    "cited, status",
    [
        ('[long_context: "GPT-4 Technical Report", chunk 3]', "file_as_chunk"),  # the name without .pdf
        ('[long_context: "ＧＰＴ－４ technical report", chunk 0]', "file_as_chunk"),  # NFKC and case folded
        ('[long_context: "gpt-4 technical report.PDF", chunk 1]', "file_as_chunk"),
        ('[long_context: "Doc: gpt-4 technical report.pdf", chunk 2]', "file_as_chunk"),  # a file prefix inside
        ('[long_context: "文档：gpt-4 technical report", chunk 2]', "file_as_chunk"),
        ('[long_context: "gpt-4 technical", chunk 1]', "unknown_source"),  # a part of a name is no name
        ('[long_context: "notes", chunk 1]', "unknown_source"),  # notes.pdf and notes.docx: which one?
    ],
)
def test_a_task_file_cited_as_a_document_by_its_name_with_or_without_its_extension(cited, status):
    """Issue 28: task 007's PDF was cited 34 times by its name without `.pdf` and counted as an
    invented title; it is the file, cited as a corpus document."""
    files = (pdf("gpt-4 technical report.pdf", 2), pdf("notes.pdf", 1), pdf("notes.docx", 1))
    (item,) = [resolve(c, scope(("十五五规划", "正文。" * 10), files=files)) for c in parse_citations(cited)]
    assert item.status == status
    if status == "file_as_chunk":
        assert item.target == "sources/f-gpt-4 technical report.pdf/"


def test_locators_land_on_their_page_slide_or_sheet_and_missing_ones_are_flagged():
    deck = FileSource(
        "f-deck",
        "deck.pptx",
        "files/t/deck.pptx",
        "pptx",
        parts=[FilePart("slide", n, f"slide {n}") for n in (1, 2, 3)],
    )
    book = FileSource(
        "f-book",
        "data.xlsx",
        "files/t/data.xlsx",
        "xlsx",
        parts=[FilePart("sheet", 1, "", name="销量 2024"), FilePart("sheet", 2, "", name="成本")],
    )
    where = scope(
        files=(pdf("paper.pdf", 10), deck, book, FileSource("f-logo", "logo.png", "files/t/logo.png", "image"))
    )
    assert resolved(
        "[paper.pdf, p064] [paper.pdf, pages 5-7] [文档: paper.pdf, 第3页] [paper.pdf, Section 4.1]", where
    ) == [
        ("locator_out_of_range", "sources/f-paper.pdf/", None),
        ("resolved", "sources/f-paper.pdf/#page-5", None),  # pages 5-7: one citation a page
        ("resolved", "sources/f-paper.pdf/#page-6", None),
        ("resolved", "sources/f-paper.pdf/#page-7", None),
        ("resolved", "sources/f-paper.pdf/#page-3", None),
        ("resolved", "sources/f-paper.pdf/", None),
    ]
    assert resolved("[deck.pptx, slides 2、3] [deck.pptx, slide 9] [deck.pptx, 第3页] [deck.pptx, page 4]", where) == [
        ("resolved", "sources/f-deck/#slide-2", None),
        ("resolved", "sources/f-deck/#slide-3", None),
        ("locator_out_of_range", "sources/f-deck/", None),
        ("resolved", "sources/f-deck/#slide-3", None),  # a deck's 第3页 is its third slide
        ("locator_out_of_range", "sources/f-deck/", None),
    ]
    assert resolved(
        "[文档: data.xlsx, sheet 成本] [文档: data.xlsx, sheet 销量 2024] [文档: data.xlsx, sheet 利润]", where
    ) == [
        ("resolved", "sources/f-book/#sheet-成本", None),
        ("resolved", f"sources/f-book/#sheet-{anchor_text('销量 2024')}", None),
        ("locator_out_of_range", "sources/f-book/", None),
    ]
    # A sheet named alone, as the workbook names it (it linked to the whole workbook); another word does.
    assert resolved("[文档: data.xlsx, 成本] [文档: data.xlsx, 销量 2024] [文档: data.xlsx, 利润表]", where) == [
        ("resolved", "sources/f-book/#sheet-成本", None),
        ("resolved", f"sources/f-book/#sheet-{anchor_text('销量 2024')}", None),
        ("resolved", "sources/f-book/", None),
    ]
    assert resolved("[paper.pdf, 成本]", where) == [("resolved", "sources/f-paper.pdf/", None)]
    assert resolved("[图片: logo.png, page 2]", where) == [("resolved", "sources/f-logo/", None)]
    # A name or a sheet in quotes, a name without its extension (they were missing files, a missing sheet)
    assert resolved('[文档: "paper.pdf", page 3] [文档: paper] [文档: data.xlsx, sheet “成本”]', where) == [
        ("resolved", "sources/f-paper.pdf/#page-3", None),
        ("resolved", "sources/f-paper.pdf/", None),
        ("resolved", "sources/f-book/#sheet-成本", None),
    ]
    # A deck shared as a PDF: its slide 3 is its page 3. A workbook has sheets, not pages: said so.
    assert resolved("[paper.pdf, slide 3] [paper.pdf, slide 12]", where) == [
        ("resolved", "sources/f-paper.pdf/#page-3", None),
        ("locator_out_of_range", "sources/f-paper.pdf/", None),
    ]
    (unchecked,) = (resolve(c, where) for c in parse_citations("[文档: data.xlsx, page 2]"))
    assert (unchecked.status, unchecked.target) == ("resolved", "sources/f-book/")
    assert unchecked.reason.chinese() == "「data.xlsx」按工作表读出，不分页或幻灯片，无法核对「page 2」；链接到整个文件"
    # A workbook nothing could be read from: whether its sheet exists cannot be known (it was flagged).
    broken = scope(files=(FileSource("f-broken", "broken.xlsx", "files/t/broken.xlsx", "xlsx"),))
    assert resolved("[文档: broken.xlsx, sheet 1]", broken) == [("resolved", "sources/f-broken/", None)]


def test_retyped_quotes_match_but_nothing_fuzzier_links():
    where = scope(("中共中央召开新闻发布会“十五五”物流行业关键词来了！", "正文。"), ("「引号」与‘单引号’", "正文。"))
    assert resolved('[long_context: "中共中央召开新闻发布会"十五五"物流行业关键词来了！", chunk 0]', where)[0][:2] == (
        "resolved",
        "sources/s0/#chunk-0",
    )
    assert resolved("""[long_context: ""引号"与'单引号'", chunk 0]""", where)[0][:2] == (
        "resolved",
        "sources/s1/#chunk-0",
    )
    near = resolved('[long_context: "中共中央召开新闻发布会十五五物流行业关键词来了！", chunk 0]', where)[0]
    assert near[0] == "unknown_source" and near[1] is None and "十五五" in near[2]


def test_a_title_retyped_in_simplified_names_the_page_written_in_traditional():
    """Writers retype a Traditional title in Simplified characters as they retype quotes: folded on
    both sides (`simplified`), never fuzzier; two pages whose titles differ only so name neither.
    A task file's name and a sheet's are looked up the same way."""
    where = scope(
        ("OpenAI 開源模型重磅回歸：gpt-oss 發佈", "正文。"), ("臺灣AI產業觀察", "正文。"), ("台湾AI产业观察", "正文。")
    )
    assert resolved('[long_context: "OpenAI 开源模型重磅回归：gpt-oss 发布", chunk 0]', where)[0][:2] == (
        "resolved",
        "sources/s0/#chunk-0",
    )
    assert resolved('[long_context: "OpenAI 开源模型重磅回归", chunk 0]', where)[0][:2] == (  # the cut title
        "resolved",
        "sources/s0/#chunk-0",
    )
    [ambiguous] = [resolve(c, where) for c in parse_citations('[long_context: "台湾AI产业观察", chunk 0]')]
    assert (ambiguous.status, ambiguous.target, ambiguous.reason.code) == ("unknown_source", None, "ambiguous_title")
    sheets = (FilePart("sheet", 1, "x", "銷量統計"), FilePart("sheet", 2, "y", "成本"))
    book = scope(files=(FileSource("f-book", "營收報表.xlsx", "files/003/book.xlsx", "xlsx", "003", sheets),))
    assert resolved("[文档: 营收报表.xlsx, sheet 销量统计]", book) == [  # the anchor as the file names the sheet
        ("resolved", "sources/f-book/#sheet-銷量統計", None)
    ]


def test_task_file_names_match_whatever_their_unicode_form():
    nfd = FileSource("f-cafe", unicodedata.normalize("NFD", "café.png"), "files/t/cafe.png", "image")
    wide = FileSource("f-wide", "ＡＩ报告２０２４.png", "files/t/wide.png", "image")
    where = scope(files=(nfd, wide))
    assert resolved("[图片: café.png] [图片: AI报告2024.png] [图片: ＡＩ报告２０２４.png]", where) == [
        ("resolved", "sources/f-cafe/", None),
        ("resolved", "sources/f-wide/", None),
        ("resolved", "sources/f-wide/", None),
    ]


def test_web_citations_resolve_by_normalized_address():
    page = Source("s-web", "Hugging Face Hub", "正文。", meta={"origin": "https://www.huggingface.co/docs/hub/"})
    where = Scope([page], {"s-web": 1})
    assert resolved(
        "[Web: http://huggingface.co/docs/hub] [https://HuggingFace.co/docs/hub/#top] [网页: https://huggingface.co/docs]"
        " [Web: 搜索API记录]",
        where,
    ) == [
        ("resolved", "sources/s-web/", None),
        ("resolved", "sources/s-web/", None),
        ("unknown_source", None, None),
        ("unknown_source", None, None),
    ]


def test_pages_apart_only_by_their_fragment_are_each_cited_by_it():
    """A single-page site's `#/article/1` and `#/article/2` are two pages: a citation of the second
    linked the first's source (the key dropped the fragment, and the first source kept it)."""
    pages = [
        Source(f"s{n}", f"文章 {n}", "正文。", meta={"origin": f"https://spa.example.com/#/article/{n}"})
        for n in (1, 2)
    ]
    where = Scope(pages, {"s1": 1, "s2": 1})
    assert resolved(
        "[Web: https://spa.example.com/#/article/2] [Web: https://spa.example.com/#/article/1]"
        " [Web: https://spa.example.com/#/article/3] [Web: https://spa.example.com/]",
        where,
    ) == [
        ("resolved", "sources/s2/", None),
        ("resolved", "sources/s1/", None),
        ("unknown_source", None, None),  # no such page: not either of the two
        ("unknown_source", None, None),  # which of them: cannot be told
    ]


def test_corpus_document_without_a_chunk_is_malformed_and_names_the_source():
    where = scope(
        ("Alpha 开源模型新闻报道", "正文。"),
    )
    (row,) = [resolve(c, where) for c in parse_citations('[long_context: "Alpha 开源模型新闻报道"]')]
    assert (row.status, row.target) == ("malformed", None) and "Alpha" in str(row.suggestion)
    assert resolved("[long_context: ...] [long_context: 无]", where) == [("malformed", None, None)] * 2


@pytest.mark.parametrize(
    "text",
    [
        "见 [https://example.org/a](https://example.org/a)。",
        "附件 [plan.pdf](files/plan.pdf) 与 [RAG-1](https://example.org/rag)。",
        "[https://example.org/a](https://example.org/a)[plan.pdf](plan.pdf)",
    ],
)
def test_a_markdown_link_is_never_a_citation(text):
    """Issue 28: `[https://…](https://…)` was an unknown web citation, its `(https://…)` left behind."""
    assert parse_citations(text) == []


def test_a_bare_citation_beside_a_link_is_still_one():
    found = parse_citations("[https://example.org/a] 与 [链接](https://example.org/b) 与 [plan.pdf]")
    assert [(c.kind, c.title or c.file) for c in found] == [("web", "https://example.org/a"), ("document", "plan.pdf")]


def test_kb_cites_resolves_documents_sharing_a_title_as_the_site_does(tmp_path):
    """Two documents titled alike (and two untitled ones) are two pages on the site; `kb cites`
    kept the first of each and called an address of the second unknown (`unknown_source`)."""
    documents = [
        {"title": "重复的标题", "content": "第一篇。", "url": "https://ex.org/dup1"},
        {"title": "重复的标题", "content": "第二篇。", "url": "https://ex.org/dup2"},
        {"title": "", "content": "无题一。", "url": "https://ex.org/bare1"},
        {"title": "", "content": "无题二。", "url": "https://ex.org/bare2"},
    ]
    corpus = tmp_path / "long_context_sampled_60.json"
    corpus.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    report = tmp_path / "final_report.md"
    report.write_text("甲[Web: https://ex.org/dup2]。乙[Web: https://ex.org/bare2]。", encoding="utf-8")
    rows = json.loads(kb("cites", str(report), "--corpus", str(corpus)).stdout)
    assert [(r["status"], r["url"]) for r in rows] == [
        ("resolved", "https://ex.org/dup2"),
        ("resolved", "https://ex.org/bare2"),
    ]
    assert len({r["target"] for r in rows}) == 2


def test_a_place_the_files_text_cannot_show_links_the_whole_file_with_a_note():
    """A docx's text has no pages, a damaged workbook's no sheets: `page 2`, `sheet 1` cannot be
    checked there. The citation links the whole file (resolved: the file is there) and says so (it
    said nothing, as if page 2 had been found)."""
    files = (
        FileSource("f-report", "report.docx", "files/t/report.docx", "docx", parts=[]),
        FileSource("f-broken", "broken.xlsx", "files/t/broken.xlsx", "xlsx"),
        pdf("paper.pdf", 3),
    )
    found = [
        resolve(c, scope(files=files))
        for c in parse_citations(
            "[文档: report.docx, page 2][broken.xlsx, sheet 1][paper.pdf, page 2][paper.pdf, Section 4]"
        )
    ]
    assert [(r.status, r.target, r.reason and r.reason.code) for r in found] == [
        ("resolved", "sources/f-report/", "place_unchecked"),
        ("resolved", "sources/f-broken/", "place_unchecked"),
        ("resolved", "sources/f-paper.pdf/#page-2", None),
        ("resolved", "sources/f-paper.pdf/", None),  # a section may be anywhere: nothing claimed
    ]
    assert (
        found[0].reason.chinese()
        == "「report.docx」读出的文本不分页、幻灯片或工作表，无法核对「page 2」；链接到整个文件"
    )


def test_kb_cites_links_a_task_file_where_the_site_puts_its_page(tmp_path):
    """`kb cites --files KB/files/TASK`: the file's page was named from its path from `/`
    (`sources/file-437a…/`), a page the site, which names it from the knowledge base, never has."""
    (tmp_path / "files" / "t").mkdir(parents=True)
    (tmp_path / "files" / "t" / "notes.txt").write_text("会议纪要。", encoding="utf-8")
    (tmp_path / "reports" / "r").mkdir(parents=True)
    report = tmp_path / "reports" / "r" / "final_report.md"
    report.write_text("# 报告\n\n见纪要 [文档: notes.txt]。\n", encoding="utf-8")
    (tmp_path / "reports" / "r" / "report.yaml").write_text("task: t\nfiles: files/t\n", encoding="utf-8")
    (site_item,) = build(tmp_path).cited["r"].final
    (row,) = json.loads(kb("cites", str(report), "--files", str(tmp_path / "files" / "t")).stdout)
    assert site_item.status == row["status"] == "resolved" and row["target"] == site_item.target
