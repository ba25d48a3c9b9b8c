"""Issue 26, point 4: every reader of report and scraped text is linear in time, on adversarial
shapes (tests/doubling.py), and the citation parser's linear rewrite reads exactly what the
regular expressions it replaces read (compared on generated text)."""

from __future__ import annotations

import re

import pytest
from doubling import Shape, assert_linear
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from build_tools.cite import parse
from build_tools.cite.parse import parse_citations, parse_locator, parse_numbers, rag_references

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
    Shape("[a.pdf", " ", "x"),
    Shape("[a.pdf, x", " ", "y"),
    Shape("[https://", "a"),
    Shape("", "[a.pdf "),
    Shape("", "[文档: x.pdf, page 1"),
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
OLD_RAG_REFERENCE = re.compile(r"^\s*(?:[-*•]\s*)?\[RAG-(\d{1,6})\]\s*[:：]?\s*(.+?)\s*$", re.MULTILINE)
OLD_SEPARATOR = re.compile(r"\s*[,，、]\s*|\s+and\s+|\s*和\s*")
OLD_LOCATORS = [
    ("chunk", re.compile(r"^chunks?\s*(?P<spec>\d.*)$", re.IGNORECASE)),
    (
        "slide",
        re.compile(
            r"^(?:slides?|幻灯片|第)\s*(?P<spec>\d[\d\s,，、\-–~和and]*?)\s*(?:张|页)?\s*(?:幻灯片)?$", re.IGNORECASE
        ),
    ),
    (
        "page",
        re.compile(
            r"^(?:pages?|pp?\.?|页|第)\s*(?P<spec>\d[\d\s,，、\-–—~和and]*?)\s*(?:页)?(?:\s*[,，、].*)?$", re.IGNORECASE
        ),
    ),
    ("page", re.compile(r"^(?P<spec>\d+(?:\s*(?:-{1,2}|[–—~])\s*\d+)?)\s*页?$")),
]
PIECES = [
    *"[]\"“”'‘’「」『』＂,，;；:：-*•0125ſK",
    *[" ", "  ", "\t", "\n", "\u3000", "\x0b", "\x85"],
    *["a", "x", "chunk", "chunks", "Chunk ", "page", "pages", "p", "p.", "第", "页", "slide", "slides", "张", "幻灯片"],
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
        expected.setdefault(match.group(1), match.group(2))
    assert rag_references(text) == expected


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(one_line)
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
