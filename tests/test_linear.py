"""Issue 26, point 4: every reader of report and scraped text is linear in time, on adversarial
shapes (tests/doubling.py), and the citation parser's linear rewrite reads exactly what the
regular expressions it replaces read (compared on generated text)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from doubling import Shape, assert_linear
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from build_tools import commonmark, export
from build_tools.audit import SETTINGS as AUDIT_SETTINGS
from build_tools.audit import CorpusTerms, Facts, chunk_numbers, claim_facts, claim_numbers, folded_chunk, name_places
from build_tools.audit.claims import chinese_share, holds_run
from build_tools.audit.verdicts import best_place
from build_tools.chunk import chunk_text
from build_tools.cite import parse
from build_tools.cite.parse import parse_citations, parse_locator, parse_numbers, rag_references
from build_tools.cite.resolve import Scope, resolve
from build_tools.clean import cleaned, find_boilerplate
from build_tools.corpus_json import corpus_document, corpus_items
from build_tools.knowledge_base import HINTS_AT_LEAST, HINTS_PER_CHARACTER, CitedReport, Sentences, report_citations
from build_tools.metadata import split_front_matter
from build_tools.models import FilePart, FileSource, Report, Resolved, Source
from build_tools.render.changes import text_diff_html
from build_tools.render.sources import chunk_html
from build_tools.report_text import parse_comparison, parse_report_markdown
from build_tools.simplified import simplified
from build_tools.stats import failed
from build_tools.validation import RepairCandidates, citation_diff, validation_changes

LONG = "long_context"
CITE = '[long_context: "T", chunk 1]'
WINDOW = parse.MAX_RAW + 900  # inside the bound one citation may read

CITATION_SHAPES = [
    Shape(f"[{LONG}: a", " ", "b", cap=WINDOW, line=True),  # cubic before: 9 KB took > 25 s
    Shape(f"[{LONG}: a", "\t", "b", cap=WINDOW, line=True),
    Shape(f"[{LONG}: a", " \u3000", ", chunk 1", cap=WINDOW, line=True),
    Shape(f'[{LONG}: "a', " ", '", chunk 1', cap=WINDOW, line=True),
    Shape(f'[{LONG}: "a", chunk 1', " ", "x", cap=WINDOW, line=True),
    Shape(f"[{LONG}: ", '"', cap=WINDOW, line=True),
    Shape(f"[{LONG}: ", "'a', ", cap=WINDOW, line=True),
    Shape(f"[{LONG}: ", "a, chunk 1;", cap=WINDOW, line=True),
    Shape(f"[{LONG}: a, chunk ", "1, ", cap=WINDOW, line=True),
    Shape(f"[{LONG}: a", ",", cap=WINDOW, line=True),
    Shape(f"[{LONG}: ", "[", cap=WINDOW, line=True),
    Shape(f"[{LONG}: a, chunk 1", "9"),
    Shape("", "["),
    Shape("[", " "),
    Shape("[", "\n"),
    Shape("", "\n"),
    Shape("", "x"),  # one line of n characters
    Shape("", f"[{LONG}:"),
    Shape("", f"[{LONG}: a;"),
    Shape(CITE, "[chunk 1]"),
    Shape("", "chunk "),
    Shape("", f"{CITE} [RAG-1] [a.pdf] [https://x.org] "),  # free() was quadratic in mixed kinds
    Shape("", f"{CITE}[RAG-1]"),
    Shape("[文档: ", "a.pdf; ", "]", cap=WINDOW, line=True),  # items of a file bracket
    Shape("[文档: a", ", 文档: b", "]", cap=WINDOW, line=True),
    Shape("[文档: a", ",  ", "]", cap=WINDOW, line=True),  # each comma looks past its spaces for a prefix
    Shape(f"[{LONG}: a", ", ", "]", cap=WINDOW, line=True),
    Shape(f"[{LONG}: a", f", {LONG}: b, chunk 1", "]", cap=WINDOW, line=True),
    Shape("[Web: https://a", ";  ", "]", cap=WINDOW, line=True),
    Shape("", f"［{LONG}: a, chunk 1］【文档: x.pdf】"),
    Shape("[a.pdf", " ", "x"),
    Shape("[a.pdf, x", " ", "y"),
    Shape("[https://", "a"),
    Shape("", "[a.pdf "),
    Shape("", "[文档: x.pdf, page 1"),
    Shape("[文档: a.pdf", " ", "x]", cap=WINDOW, line=True),
    Shape('[long_context: "T", chunk 1]', "、[chunk 1]"),  # follow-ons after a list mark
    Shape("[RAG-1", ", RAG-1", "]"),
    Shape("", "[RAG-1, "),
    Shape("[文档: ", "a.b ", "]", cap=WINDOW, line=True),
    Shape("[文档: a", ".1", "]", cap=WINDOW, line=True),
    Shape("[sheet ", " ", "]", cap=WINDOW, line=True),
    Shape(f'[{LONG}: "a", chunk 1', ', "b', "]", cap=WINDOW, line=True),  # each comma looks ahead for a title
    Shape(f'[{LONG}: "a", chunk 1', ', "b', '", chunk 2]', cap=WINDOW, line=True),
    Shape("[文档: a.pdf", " p", ".1]", cap=WINDOW, line=True),  # a place after white space alone
    Shape("", "[a.pdf p.1 "),
    Shape("[文档: ", "a.pdf 和 ", "]", cap=WINDOW, line=True),  # files joined by a conjunction
    Shape("[文档: a.pdf", " 和", "]", cap=WINDOW, line=True),
    Shape("[文档: ", "a.pdf和" + "b" * 150, "]", cap=WINDOW, line=True),  # each looks ahead for a name
    Shape("[文档: x.pdf]", "[page 1]"),  # follow-on places
    Shape("[x.pdf]", "、[p.1]"),
    Shape("[x.pdf]", "[page 1 y.pdf]"),
    Shape("[文档: a.pdf", ", page 1 和 b.pdf", "]", cap=WINDOW, line=True),  # a conjunction after a place
    Shape("[文档: ", "1和", "b.pdf]", cap=WINDOW, line=True),  # …after a number that is a name's
    Shape("[文档: a", ", page 1 " + "x" * 15, " 和 b.pdf]", cap=WINDOW, line=True),  # each mark looks past a place
    Shape("", "[a.pdf, b.pdf 和 c.png] "),  # bare brackets of several files
    Shape("[", "x, ", "a.pdf]", cap=WINDOW, line=True),  # a bare name's commas, read on
]


@pytest.mark.parametrize("shape", CITATION_SHAPES, ids=repr)
def test_parse_citations_is_linear(shape):
    assert_linear(parse_citations, shape)


@pytest.mark.parametrize(
    "shape",
    [
        Shape("", "\n"),  # quadratic before: `^\s*` (MULTILINE) crossed every blank line
        Shape("[RAG-1]", "\n"),
        Shape("[RAG-1] a", " ", "b"),
        Shape("[RAG-1]:", " "),
        Shape("- [RAG-1]", " ", "\n"),
        Shape("", "[RAG-1]\n"),
        Shape("", "- "),
        Shape("", " \n"),
        Shape("- ", "[RAG-1]", " t\n"),  # several numbers for one title
        Shape("- [RAG-1]", "、 [RAG-1]", "\n"),
        Shape("- [RAG-1]", " ", "x"),
    ],
    ids=repr,
)
def test_rag_references_is_linear(shape):
    assert_linear(rag_references, shape)


@pytest.mark.parametrize(
    "shape",
    [
        Shape("page 1", " ", "x"),  # cubic before
        Shape("slide 1", " ", "x"),
        Shape("第1", " ", "页x"),
        Shape("page ", "1 "),
        Shape("page 1", ", ", "x"),
        Shape("page 1", ", 1"),  # a list of pages, read whole
        Shape("slide 1", ", slide 1", "x"),  # the kind written again
        Shape("page 1", ",", " p. 1"),
        Shape("page 1", ", 1", " x"),  # the whole list, then again to its first comma
        Shape("page 1", " and 1", ", 1 x"),
        Shape("page 1", ", and", " 1"),
        Shape("第1页", "、第1页", "x"),
        Shape("page 1", " and page 1", " x"),
        Shape("p1", "-p1 & 1", ", x"),
        Shape("page 1 of", " ", "1 x"),
        Shape("page 1", " 页", ", 1"),
        Shape("p", "1"),
        Shape("sheet ", " "),
        Shape("chunk 1", " ", "x"),
    ],
    ids=repr,
)
def test_parse_locator_is_linear(shape):
    assert_linear(parse_locator, shape)


@pytest.mark.parametrize(
    "shape", [Shape("1", " ", "x"), Shape("", "1 and "), Shape("", "1和"), Shape("", "1 ,"), Shape("1", "\t")], ids=repr
)
def test_parse_numbers_is_linear(shape):
    assert_linear(parse_numbers, shape)


# The regular expressions the linear readers replaced: what they read is what the readers must read.
_QUOTES_OPEN = "\"“”'‘’「『＂"
_QUOTES_CLOSE = "\"“”'‘’」』＂"
OLD_QUOTED_ITEM = re.compile(
    rf"[{_QUOTES_OPEN}](?P<title>.*?)[{_QUOTES_CLOSE}]\s*(?:[,，]\s*(?P<locator>[^\[\]\n;；\"“”]*?))?\s*(?P<close>[\];；])"
)
OLD_BARE_ITEM = re.compile(
    r"(?P<title>[^\[\]\n;；\"“”]*?)\s*(?:[,，]\s*(?P<locator>(?:chunks?|pages?|p\.?|第|页|slides?)[^\[\]\n;；]*?))?"
    r"\s*(?P<close>[\];；])",
    re.IGNORECASE,
)
OLD_RAG_REFERENCE = re.compile(  # with several numbers for one title (`[RAG-4][RAG-6] title`), all of them
    r"^\s*(?:[-*•]\s*)?(\[RAG-\d{1,6}\](?:[ \t]*[,，、]?[ \t]*\[RAG-\d{1,6}\])*+)\s*[:：]?\s*(.+?)\s*$", re.MULTILINE
)
OLD_SEPARATOR = re.compile(r"\s*[,，、]\s*(?:and\s+)?|\s+and\s+|\s*[和&]\s*")
OLD_RANGE_MARK = r"(?:-{1,2}|[–—~～至到])"
OLD_NUMBER_LIST = rf"\d+(?:\s*(?:{OLD_RANGE_MARK}|[,，、](?:\s*and(?=\s))?|[和&])\s*\d+|\s+and\s+\d+)*"
OLD_OF_ALL = r"(?:\s+of\s+\d+)?"
OLD_LOCATORS = [
    ("chunk", re.compile(r"^chunks?\s*(?P<spec>\d.*)$", re.IGNORECASE)),
    (
        "slide",
        re.compile(rf"^(?:slides?|幻灯片|第)\s*(?P<spec>{OLD_NUMBER_LIST})\s*(?:张|页)?\s*(?:幻灯片)?$", re.IGNORECASE),
    ),
    # every page of the list, then a description that starts with no number (`page 9, 14, Table 2`) …
    (
        "page",
        re.compile(
            rf"^(?:pages?|pp?\.?|页|第)\s*(?P<spec>{OLD_NUMBER_LIST}){OLD_OF_ALL}\s*页?(?:\s*[,，、](?!\s*(?:and\s+)?\d).*)?$",
            re.IGNORECASE,
        ),
    ),
    (  # … else the pages up to the first comma, and a description (`page 9, 14 x`: page 9)
        "page",
        re.compile(
            rf"^(?:pages?|pp?\.?|页|第)\s*(?P<spec>\d+(?:\s*(?:{OLD_RANGE_MARK}|[和&])\s*\d+|\s+and\s+\d+)*){OLD_OF_ALL}"
            r"\s*页?(?:\s*[,，、].*)?$",
            re.IGNORECASE,
        ),
    ),
    ("page", re.compile(rf"^(?P<spec>\d+(?:\s*{OLD_RANGE_MARK}\s*\d+)?)\s*页?$")),
]
PIECES = [
    *"[]\"“”'‘’「」『』＂,，;；:：-*•0125ſK",
    *[" ", "  ", "\t", "\n", "\u3000", "\x0b", "\x85"],
    *[
        "a",
        "x",
        "chunk",
        "chunks",
        "Chunk ",
        "page",
        "pages",
        "p",
        "p.",
        "第",
        "页",
        "slide",
        "slides",
        "张",
        "幻灯片",
        "、",
        "至",
        "—",
    ],
    *[
        "和",
        "and",
        LONG,
        "长期文档",
        "文档",
        "图片",
        "web",
        "RAG-",
        "RAG-1",
        "https://",
        ".pdf",
        ".png",
        "sheet",
        "工作表",
    ],
    *[f"[{LONG}: ", CITE, "[chunk 2]", "[RAG-1]", "- ", " " * 40, "a" * 60],
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
one_line = st.lists(st.sampled_from([p for p in PIECES if "\n" not in p and "\x85" not in p]), max_size=14).map("".join)


def old_item(text: str, position: int, limit: int) -> tuple | None:
    match = OLD_QUOTED_ITEM.match(text, position, limit) or OLD_BARE_ITEM.match(text, position, limit)
    return match and (match.group("title"), match.group("locator"), match.group("close"), match.end())


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts, st.data())
def test_items_are_read_as_the_regular_expressions_read_them(text, data):
    """Any position, up to any limit within its line (as `_limit` gives): the same title, locator,
    close and end as `_QUOTED_ITEM.match(…) or _BARE_ITEM.match(…)`."""
    position = data.draw(st.integers(0, len(text)))
    line_end = text.find("\n", position)
    limit = data.draw(st.integers(position, len(text) if line_end == -1 else line_end))
    item = parse._quoted_item(text, position, limit) or parse._bare_item(text, position, limit)
    assert (item and (item.title, item.locator, item.close, item.end)) == old_item(text, position, limit)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts)
def test_rag_references_are_read_as_the_regular_expression_reads_them(text):
    expected: dict[str, str] = {}
    for match in OLD_RAG_REFERENCE.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            expected.setdefault(number, match.group(2))
    assert rag_references(text) == expected


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(one_line)
@example("0, ,")  # a separator right after the last one's trailing space (found by hypothesis)
@example("page 9, 14")
@example("p. 3 ,  5 页")
@example("page 9, 14, Table 2")
@example("page 9, 14 of 30")
@example("page 3 and page 5")
@example("p3-p5 & 7")
@example("pages 9, 14, and 20")
@example("第3页、第5页")
@example("chunk 3, page 2")
def test_locators_and_numbers_are_read_as_the_regular_expressions_read_them(text):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_LOCATORS", OLD_LOCATORS)
        patch.setattr(parse, "_NUMBER_SEPARATOR", OLD_SEPARATOR)
        expected = parse_locator(text), parse_numbers(text)
    assert (parse_locator(text), parse_numbers(text)) == expected


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts)
def test_citation_spans_lie_in_the_text_in_order_and_apart(text):
    """Brackets never overlap (the items of one bracket share its span) and each is its text."""
    spans = sorted({(c.start, c.end) for c in parse_citations(text)})
    for (start, end), following in zip(spans, spans[1:] + [(len(text), len(text))]):
        assert 0 <= start < end <= following[0]
    for citation in parse_citations(text):
        assert text[citation.start : citation.end] == citation.raw


# Every other reader of report and scraped text.


def report_claims(text: str) -> list[str]:
    """What the audit and the backlinks read around each citation of a report."""
    items = [Resolved(c, "resolved", None) for c in report_citations(text)]
    sentences = Sentences(text, (i.citation for i in items))
    return [
        sentences.claim(i.citation.start, i.citation.end) + sentences.around(i.citation.start, i.citation.end)
        for i in items
    ]


def report_markdown(text: str) -> str:
    """A report's text as its page shows it, each citation placed."""
    return commonmark.render(text, [(c.start, c.end, "<a></a>") for c in report_citations(text)], "final")


CLAIM_FACTS = Facts.of(
    "OpenAI 的 GPT-4 o 与 Hugging Face 在 2024 年发布了 gpt oss 模型 a a a",
    CorpusTerms([("s", 0)], {("s", 0): 0}),
    AUDIT_SETTINGS,
)


def exported_mirrored(text: str) -> list[str]:
    """The Markdown export of `text`, "x", `text` reversed: `***…` makes styles nested as deep
    as it is long (each a pair the export checks against its neighbours)."""
    blocks = export.report_blocks(commonmark.citation_tokens(text + "x" + text[::-1], []), {}, lambda k: [])
    return [export.md_inline(block.inline) for block in blocks if block.inline]


def facts_in_chunk(text: str) -> tuple:
    """What the audit reads of a cited chunk for a claim's facts: its best window and what it holds."""
    chunk = folded_chunk(text)
    return chunk.best(CLAIM_FACTS), CLAIM_FACTS.found(chunk.text, chunk.numbers)


def facts_in_file(text: str) -> tuple:
    """What the audit reads of a whole file for a claim: its place stating most (pages of 2,000
    characters), and how much of it is Chinese (whether the claim's Chinese words can be read)."""
    places = [folded_chunk(text[at : at + 2000]) for at in range(0, len(text), 2000)]
    return best_place(CLAIM_FACTS, places)[0], chinese_share(text)


def names_in(text: str) -> list:
    return [list(name_places(name, text)) for name in ("gpt-4 o", "a a a", "hugging face")]


def page_of(text: str) -> list:
    """A scraped page as the build shows and indexes it: each chunk's kept text (search) and its
    HTML with boilerplate collapsed (the source page)."""
    removals = find_boilerplate(text)
    chunks = chunk_text(text)
    pairs = zip([None, *chunks], chunks, [*chunks[1:], None])
    return [(cleaned(text, c.start, c.end, removals), chunk_html(text, c, (b, a), removals)) for b, c, a in pairs]


def diffed(text: str) -> str:
    """The validation's paragraph diff of a report against itself with its first and last lines
    changed: the alike lines between are matched by difflib with each other (quadratic before)."""
    return text_diff_html(f"甲\n{text}\n乙", f"丙\n{text}\n丁")


def runs_held(text: str) -> bool:
    """Whether a text holds a word an eighth its length as one of its runs: found again and again
    inside longer runs (`Pairs.share`'s Latin words)."""
    return holds_run(text, "a" * max(1, len(text) // 8))


def read_corpus_text(text: str) -> list:
    return [corpus_document(item, i, "c.json", line) for i, (line, item) in enumerate(corpus_items(text))]


READERS = [
    (find_boilerplate, Shape("", "\n")),
    (find_boilerplate, Shape("", " \n")),
    (find_boilerplate, Shape("相关文章\n", "短标题\n")),
    (find_boilerplate, Shape("", "相关文章\n")),
    (find_boilerplate, Shape("", "首页 > 新闻\n")),
    (find_boilerplate, Shape("标题行重复\n", "标题行重复\n")),
    (find_boilerplate, Shape("", "上一篇 ", "\n")),
    (find_boilerplate, Shape("", "x")),
    (page_of, Shape("", "版权所有\n")),  # quadratic before: each chunk looked through every boilerplate line
    (page_of, Shape("正文。\n", "上一篇：甲\n下一篇：乙\n", "正文。")),
    (chunk_text, Shape("", "a")),
    (chunk_text, Shape("", "\n")),
    (chunk_text, Shape("", " ")),
    (chunk_text, Shape("", "。")),
    (chunk_text, Shape("", ". ")),
    (chunk_text, Shape("", "a" * 201 + "\n\n")),
    (chunk_text, Shape("", "a" * 1299 + "\n\n")),
    (report_claims, Shape("", f"a {CITE}。")),  # quadratic before: a copy of the later spans per citation
    (report_claims, Shape("", CITE)),
    (report_claims, Shape("| ", f"{CITE} ")),  # quadratic before: the whole row read per citation
    (report_claims, Shape("", f"| a {CITE} |\n")),
    (report_claims, Shape("", f"{CITE}\n")),
    (report_claims, Shape("`x` ", f"**a** {CITE}, ")),
    (chunk_numbers, Shape("1.", "1")),  # quadratic before (and InvalidOperation past 28 places)
    (chunk_numbers, Shape("", "万")),  # ValueError before: a 4,300-digit value cannot be printed
    (chunk_numbers, Shape("", "1.25 ")),
    (chunk_numbers, Shape("", "1,000,")),
    (claim_numbers, Shape("", "1) ")),
    (claim_numbers, Shape("第1", "、1", "x")),  # a page list that never ends in 页
    (claim_numbers, Shape("page 1", ", 1", "x")),
    (claim_numbers, Shape("第1", " 至 1", "x")),
    (claim_numbers, Shape("pages 1", ", and 1", ", and x")),
    (claim_facts.__wrapped__, Shape("", "a b ")),  # a long run of Latin words is prose: its words
    (claim_facts.__wrapped__, Shape("", "gpt-4-")),
    (claim_facts.__wrapped__, Shape("", "开源模型，")),
    (names_in, Shape("", "a ")),  # every occurrence of a name's first part followed
    (names_in, Shape("", "gpt-4 ")),
    (names_in, Shape("gpt", " ", "4 o")),  # one run of separators between two parts
    (names_in, Shape("", "a")),
    (names_in, Shape("", "hugging -")),
    (facts_in_chunk, Shape("", "gpt-4 o。")),
    (facts_in_chunk, Shape("", "hugging face 发布模型")),
    (facts_in_chunk, Shape("", "2024。")),
    (facts_in_chunk, Shape("", "a a ")),
    (facts_in_file, Shape("", "gpt-4 o。")),  # every page holds the claim's facts: each one scored
    (facts_in_file, Shape("", "hugging face 发布模型")),
    (facts_in_file, Shape("", "a中 ")),
    (exported_mirrored, Shape("", "*")),  # quadratic before: a walk to the nearest text from each delimiter
    (parse_report_markdown, Shape("", "## x\n")),
    (parse_report_markdown, Shape("## Report\n", "\n")),
    (parse_report_markdown, Shape("", "## Report\n")),
    (parse_comparison, Shape("REPORT COMPARISON\nFINAL REPORT\n", "=" * 20 + "\nX\n")),
    (parse_comparison, Shape("", "=")),
    (parse_comparison, Shape("", "=" * 30, " x\n")),
    (split_front_matter, Shape("---\n", "a: b\n", "---\nbody")),
    (split_front_matter, Shape("---\r\n", "-\r\n")),
    (read_corpus_text, Shape("[", '{"title": "a"}, ', '{"title": "b"}]')),
    (read_corpus_text, Shape("[", " ", "]")),
    (read_corpus_text, Shape('[{"title": "', "\\ud800", '"}]')),
    (read_corpus_text, Shape('[{"title": [', "[1], ", "1]}]")),
    (failed, Shape("no ", "word ", "generated")),
    (report_markdown, Shape("", "# h\n")),  # quadratic before: each heading alike numbered from 2 again
    (report_markdown, Shape("", f"## h {CITE}\n")),
    (diffed, Shape("", "- 同一行\n")),  # 8,000 alike lines took 4.6 s
    (diffed, Shape("", "一\n二\n")),
    (report_markdown, Shape("", ">", " x\n\n尾巴")),  # a deep line read flat (`shallow`)
    (report_markdown, Shape("", "> - ", " x\n")),
    (runs_held, Shape("", "a")),
    (runs_held, Shape("", "ab ")),
    (runs_held, Shape("", "aab")),
    (simplified, Shape("", "開源模型")),  # every character folded, the text rebuilt
    (simplified, Shape("", "\ud800\udc00開")),  # lone surrogates in a row: rebuilt by str.translate
]


@pytest.mark.parametrize(("reader", "shape"), READERS, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_every_reader_is_linear(reader, shape):
    assert_linear(reader, shape)


def test_numbers_of_any_length_are_read():
    """π to 35 places in a scraped page raised decimal.InvalidOperation when its chunk was audited."""
    assert {"3.1416", "3.14", "3"} <= chunk_numbers("圆周率约为 3.14159265358979323846264338327950288")
    assert chunk_numbers("一" + "万" * 1200) == frozenset()


def invented_titles(text: str) -> list:
    """A report of len(text) // 60 invented titles over a corpus of as many titles: each "did you
    mean" compares the cited title with every title of the corpus."""
    count = len(text) // 60
    sources = [Source(f"s{i}", f"一个真实存在的文档标题 number {i:07d}", "b") for i in range(count)]
    report = "".join(f'[long_context: "一个虚构的文档标题 number {i:07d}", chunk 0]' for i in range(count))
    scope = Scope(sources, {s.slug: 1 for s in sources}, hint_budget=HINTS_PER_CHARACTER * len(report) + HINTS_AT_LEAST)
    return [resolve(c, scope) for c in parse_citations(report)]


def shared_prefix(text: str) -> list:
    """len(text) // 60 titles sharing their first 20 characters, each cited by that prefix."""
    count = len(text) // 60
    sources = [Source(f"s{i}", f"二十个字符长的同一个共同标题前缀啊 {i:07d}", "b") for i in range(count)]
    scope = Scope(sources, {s.slug: 1 for s in sources})
    return [
        resolve(c, scope)
        for c in parse_citations('[long_context: "二十个字符长的同一个共同标题前缀啊", chunk 0]' * count)
    ]


FILES = {"x.pdf": FileSource("file-x", "x.pdf", "files/t/x.pdf", "pdf", "t", [FilePart("page", 1, "p")])}
TITLES = [Source(f"s{i}", f"一个真实存在的文档标题 number {i:04d}", "b") for i in range(200)]


def resolve_report(text: str) -> list:
    """A report's citations resolved against 200 titles and a task file (locators, prose names)."""
    scope = Scope(TITLES, {s.slug: 3 for s in TITLES}, FILES, "files/t", hint_budget=4 * len(text) + 100_000)
    return [resolve(c, scope) for c in parse_citations(text)]


@pytest.mark.parametrize(
    "shape",
    [
        Shape("[文档: x.pdf, page 1", " ", "x]", cap=WINDOW, line=True),
        Shape("[文档: x.pdf, slide 1", " ", "]", cap=WINDOW, line=True),
        Shape("[文档: x.pdf, sheet ", " ", "a]", cap=WINDOW, line=True),
        Shape("[文档: ", "a ", "b.pdf]", cap=WINDOW, line=True),
        Shape("[x.pdf, p", "1", "]", cap=WINDOW, line=True),
        Shape('[long_context: "', "a", '", chunk 1]', cap=WINDOW, line=True),
        Shape("", '[long_context: "一个真实存在的文档标题 number 0001", chunk 9]'),
    ],
    ids=repr,
)
def test_resolving_is_linear(shape):
    assert_linear(resolve_report, shape)


@pytest.mark.parametrize("resolving", [invented_titles, shared_prefix])
def test_resolving_is_linear_in_the_report_and_the_corpus_together(resolving):
    """Both grow: comparing each cited title with each title was quadratic."""
    assert_linear(resolving, Shape("", "x"), start=6000)


def validated(original: str, final: str, before: str) -> CitedReport:
    """A report's two texts, the final's citations resolved, the original's of status `before`."""
    return CitedReport(
        Report("r", "r", "reports/r", final, original),
        [Resolved(c, "resolved") for c in report_citations(final)],
        [Resolved(c, before) for c in report_citations(original)],
    )


def validation_moves(text: str) -> dict:
    """len(text) // 40 sentences in each version citing one chunk, each reworded a little: every
    sentence of the final text was compared with every sentence of the original (quadratic)."""
    count = len(text) // 40
    original = "".join(f"第{i:06d}号模型的参数规模很大 {CITE}。" for i in range(count))
    final = "".join(f"第{i:06d}号模型参数规模很大 {CITE}。" for i in range(count))
    return citation_diff(validated(original, final, "resolved"))


def validation_repairs(text: str) -> list:
    """len(text) // 40 invented titles in the original, each replaced by a real one in the final
    text, each in its own sentence: every removed citation scanned every added one (quadratic)."""
    count = len(text) // 40
    original = "".join(f'第{i:06d}句 [long_context: "编造{i:06d}", chunk 0]。' for i in range(count))
    final = "".join(f'第{i:06d}句 [long_context: "真实{i:06d}", chunk 0]。' for i in range(count))
    return validation_changes(validated(original, final, "unknown_source"))


@pytest.mark.parametrize("reader", [validation_moves, validation_repairs], ids=lambda reader: reader.__name__)
def test_what_validation_moved_and_repaired_is_found_in_linear_time(reader):
    assert_linear(reader, Shape("", "x"), start=4000)


def test_repairs_are_the_first_candidates_a_scan_of_the_added_citations_finds():
    """`RepairCandidates.take` gives what the scan it replaced gave: the first added citation (in order),
    not yet taken, of the same kind, with the same title or one of the same sentences."""
    import random

    rng = random.Random(27)
    for _ in range(300):
        keys = list({(rng.choice("ab"), rng.choice("wxyz"), rng.randint(0, 3)) for _ in range(rng.randint(0, 12))})
        rng.shuffle(keys)
        after = {k: Counter(rng.sample("STUVW", rng.randint(1, 3))) for k in keys}
        olds = [((rng.choice("ab"), rng.choice("wxyz"), None), Counter(rng.sample("STUVW", 2))) for _ in range(8)]
        taken: set = set()
        scanned = []
        for old, sentences in olds:
            new = next(
                (
                    k
                    for k in keys
                    if k not in taken and k[0] == old[0] and (k[1] == old[1] or set(after[k]) & set(sentences))
                ),
                None,
            )
            if new is not None:
                taken.add(new)
            scanned.append(new)
        candidates = RepairCandidates(keys, after)
        assert [candidates.take(old, sentences) for old, sentences in olds] == scanned
