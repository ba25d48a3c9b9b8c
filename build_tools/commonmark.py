"""Report text as CommonMark (markdown-it-py), with each citation placed as ready inline HTML.

Reports are LLM output: raw HTML in them is shown as text (`html: False`), links are limited to
markdown-it's safe schemes, and code (fenced, indented, inline) stays literal — a citation inside
code is not a citation (`code_ranges` tells the cite stage where code is). Rendering is linear in
the text: a paragraph of 20,000 citations costs per citation what a paragraph of ten does
(Python-Markdown's inline pass was quadratic in the number of inline HTML elements).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .messages import PERMALINK
from .paths import heading_anchor

_BACKTICKS = re.compile(r"`+")
_SLOT = re.compile("\ue000(\\d+)\ue001")  # a citation's place in the text given to markdown-it
HEADING_SHIFT = 2  # a report's own `#` heading sits under the page's section headings (h1 → h3)


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _offset(starts: list[int], line: int, text: str) -> int:
    return starts[line] if line < len(starts) else len(text)


def code_spans(segment: str, base: int) -> list[tuple[int, int]]:
    """Inline code spans in a paragraph's source: a run of n backticks up to the next run of exactly
    n (CommonMark); a run with no partner is literal text. A backslash before a run escapes one tick."""
    runs = []
    for match in _BACKTICKS.finditer(segment):
        start = match.start()
        if start and segment[start - 1] == "\\":
            start += 1
        if start < match.end():
            runs.append((start, match.end()))
    spans = []
    i = 0
    while i < len(runs):
        length = runs[i][1] - runs[i][0]
        closing = next((j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == length), None)
        if closing is None:
            i += 1
            continue
        spans.append((base + runs[i][0], base + runs[closing][1]))
        i = closing + 1
    return spans


def code_ranges(text: str) -> list[tuple[int, int]]:
    """Where `text` holds code (character ranges, in order): fenced and indented blocks, inline spans."""
    starts = _line_starts(text)
    ranges: list[tuple[int, int]] = []
    for token in parser().parse(text):
        if token.map is None:
            continue
        start, end = (_offset(starts, line, text) for line in token.map)
        if token.type in ("fence", "code_block"):
            ranges.append((start, end))
        elif token.type == "inline" and any(child.type == "code_inline" for child in token.children or []):
            ranges.extend(code_spans(text[start:end], start))
    return sorted(ranges)


def inside(ranges: Sequence[tuple[int, int]], position: int) -> bool:
    """Whether `position` falls in one of the sorted, non-overlapping `ranges`."""
    low, high = 0, len(ranges)
    while low < high:
        middle = (low + high) // 2
        if ranges[middle][1] <= position:
            low = middle + 1
        else:
            high = middle
    return low < len(ranges) and ranges[low][0] <= position


def _place_citations(children: list[Token], html: Sequence[str]) -> list[Token]:
    """Text tokens with citation slots split into text and inline-HTML tokens; never inside an
    attribute (citations in an image's alt text are placed after the image)."""
    placed: list[Token] = []
    for child in children:
        if child.type == "image":  # alt text is an attribute: its citations follow the image
            moved = [int(n) for grand in child.children or [] for n in _SLOT.findall(grand.content)]
            for grand in child.children or []:
                grand.content = _SLOT.sub("", grand.content)
            placed.append(child)
            placed.extend(Token("html_inline", "", 0, content=html[n]) for n in moved)
            continue
        if child.type != "text" or "\ue000" not in child.content:
            if child.children:
                child.children = _place_citations(child.children, html)
            placed.append(child)
            continue
        cursor = 0
        for match in _SLOT.finditer(child.content):
            if match.start() > cursor:
                placed.append(Token("text", "", 0, content=child.content[cursor : match.start()]))
            placed.append(Token("html_inline", "", 0, content=html[int(match.group(1))]))
            cursor = match.end()
        if cursor < len(child.content):
            placed.append(Token("text", "", 0, content=child.content[cursor:]))
    return placed


@dataclass(frozen=True)
class Heading:
    """A report heading as rendered: its level on the page, anchor, text (citations left out), line."""

    level: int
    anchor: str
    title: str
    line: int  # 0-based line of the report text where it starts


def _parse(text: str, citations: Sequence[tuple[int, int, str]], section: str) -> tuple[list[Token], list[Heading]]:
    """Tokens of `text` with each citation span reduced to a slot (its HTML placed afterwards),
    and the headings, moved down HEADING_SHIFT levels with anchors from `paths.heading_anchor`."""
    html = [markup for _, _, markup in citations]
    slotted = replace_spans(
        text.replace("\ue000", "\ufffd"),
        [(start, end) for start, end, _ in citations],
        lambda n, start, end: f"\ue000{n}\ue001",
    )
    tokens = parser().parse(slotted)
    headings: list[Heading] = []
    taken = {section}
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"
        if token.type == "heading_open":
            children = tokens[index + 1].children or []
            title = _SLOT.sub("", "".join(c.content for c in children if c.type in ("text", "code_inline"))).strip()
            anchor = heading_anchor(section, title, taken)
            token.attrSet("id", anchor)
            children.append(
                Token("html_inline", "", 0, content=f'<a class="headerlink" href="#{anchor}" title="{PERMALINK}">¶</a>')
            )
            headings.append(Heading(int(token.tag[1]), anchor, title, token.map[0]))
        elif token.type == "inline" and token.children:
            token.children = _place_citations(token.children, html)
    return tokens, headings


def replace_spans(text: str, spans: Sequence[tuple[int, int]], fill: Callable[[int, int, int], str]) -> str:
    """`text` with the n-th of its sorted, disjoint (start, end) spans replaced by fill(n, start, end)."""
    out, cursor = [], 0
    for n, (start, end) in enumerate(spans):
        out += [text[cursor:start], fill(n, start, end)]
        cursor = end
    return "".join(out) + text[cursor:]


def disjoint(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Citation spans in order, each once, a span overlapping an earlier one left out."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def render(text: str, citations: Sequence[tuple[int, int, str]], section: str) -> str:
    """HTML of `text` with each (start, end, html) citation span replaced by its HTML. Headings move
    down HEADING_SHIFT levels (under the page's own section headings) with readable anchors."""
    md = parser()
    tokens, _ = _parse(text, citations, section)
    return md.renderer.render(tokens, md.options, {})


def headings(text: str, citations: Sequence[tuple[int, int]], section: str) -> list[Heading]:
    """The headings `render` gives the same text and citation spans: anchors agree by construction."""
    return _parse(text, [(start, end, "") for start, end in citations], section)[1]
