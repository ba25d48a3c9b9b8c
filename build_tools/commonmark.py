"""Report text as CommonMark (markdown-it-py), with each citation placed as ready inline HTML.

Reports are LLM output: raw HTML in them is shown as text (`html: False`), links go only to the
web, mail or the site itself (`_allowed_link`), a remote image is a link to it (shown, it would
tell its host who reads), and code (fenced, indented, inline) stays literal — a citation inside
code is not a citation (`in_code` tells the cite stage which are in code). Rendering is linear in
the text: a paragraph of 20,000 citations costs per citation what a paragraph of ten does
(Python-Markdown's inline pass was quadratic in the number of inline HTML elements).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock, reference
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from .messages import PERMALINK
from .paths import Anchors, heading_anchor

_CODE = ("code_inline", "code_block", "fence")  # tokens shown literally
HEADING_SHIFT = 2  # a report's own `#` heading sits under the page's section headings (h1 → h3)


_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.IGNORECASE)
LINK_SCHEMES = ("http", "https", "mailto")  # and no scheme: a path or a fragment
_DATA_IMAGE = re.compile(r"data:image/(?:gif|png|jpeg|webp);", re.IGNORECASE)  # markdown-it's own rule
_REMOTE = re.compile(r"(?:https?:)?//", re.IGNORECASE)


# markdown-it drops the rest of a block nested past its `maxNesting` (20 in its commonmark preset:
# an ordinary list nested 10 deep), silently. Ours is higher, and a line opening more containers
# than DEEPEST_PREFIX marks could is read flat (`shallow`), so that limit is never reached.
MAX_NESTING = 300
# Inline marks nested deeper than this are read as text (markdown-it's own limit: nothing is
# dropped). Every `[` looks ahead through as many levels: at MAX_NESTING, a report of 100,000 nested
# `![` took 130 s to build, 15 times as long as at 20 (BENCHMARKS.md, session 40).
INLINE_NESTING = 20
DEEPEST_PREFIX = 100
_DEEP_LINE = re.compile(rf"^[ \t>*+\-.)0-9]{{{DEEPEST_PREFIX},}}", re.MULTILINE)
_FLAT = str.maketrans(">*+-.)", "＞＊＋－．）")


def shallow(text: str) -> str:
    """`text` with the container marks (`>`, list markers) of each line whose leading run of them
    and white space is DEEPEST_PREFIX long or longer replaced one for one by full-width lookalikes:
    the line reads as text where it stands (every offset holds), and nothing nests deeper than
    MAX_NESTING (a container takes at least one mark of its line's lead, and at most two levels)."""
    return _DEEP_LINE.sub(lambda lead: lead.group(0).translate(_FLAT), text) if _DEEP_LINE.search(text) else text


def _reference_unless_footnote(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A link reference definition, but not a footnote's (`[^1]: 见[long_context: …]`, footnotes
    not being enabled): read as one, its words vanished and a reference to it (`[^1]`) became a link
    to them; a footnote is a paragraph, its words and citations shown where they are written."""
    if state.src.startswith("[^", state.bMarks[start] + state.tShift[start]):
        return False
    return reference(state, start, end, silent)


@functools.lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING}).enable(["table", "strikethrough"])
    md.block.ruler.at("reference", _reference_unless_footnote)
    md.core.ruler.at("inline", functools.partial(_inline, view=_InlineView(md)))
    md.normalizeLink = functools.partial(_cut_at_slot, normalize=md.normalizeLink)
    md.validateLink = _allowed_link
    return md


class _InlineView:
    """The parser as the inline rules read it: the same, but for its nesting limit, INLINE_NESTING
    (markdown-it reads one `maxNesting` for blocks and inline marks alike)."""

    def __init__(self, md: MarkdownIt) -> None:
        self.md = md
        self.options = OptionsDict({**md.options, "maxNesting": INLINE_NESTING})

    def __getattr__(self, name: str) -> object:
        return getattr(self.md, name)


def _inline(state: StateCore, view: _InlineView) -> None:
    """markdown-it's core `inline` rule, parsing each inline token's content through `view`."""
    for token in state.tokens:
        if token.type == "inline":
            token.children = token.children or []
            state.md.inline.parse(token.content, view, state.env, token.children)  # type: ignore[arg-type]


def _allowed_link(url: str) -> bool:
    """A link or image destination a report may have: http(s), mailto, a path or a fragment, or an
    inline raster image. An allowlist (markdown-it's own refuses javascript:, vbscript:, file: and
    data:): a report is model output, and a scheme such as `ms-msdt:` or `search-ms:` hands the
    reader's click to a program on their machine."""
    scheme = _SCHEME.match(url.strip())
    return scheme is None or scheme.group(1).lower() in LINK_SCHEMES or bool(_DATA_IMAGE.match(url.strip()))


def in_code(text: str, spans: Sequence[tuple[int, int]]) -> set[int]:
    """Which of the sorted, disjoint citation `spans` markdown-it reads as code (inline, fenced,
    indented), each read as one slot, as `render` reads it: a citation is code exactly where the
    page shows it literally (a backtick pairing of our own disagreed inside table cells, link
    destinations and autolinks, and the citations there were neither placed nor counted)."""
    slot, slotted = _slotted(text, spans)
    found: set[int] = set()
    for token in parser().parse(shallow(slotted)):
        for code in (t for t in [token, *(token.children or [])] if t.type in _CODE):
            found.update(int(n) for n in slot.findall(f"{code.info}\n{code.content}"))
    return found


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


def _slot_key(text: str) -> str:
    """What marks a citation's slot in `text` besides U+E000 … U+E001: a digest of the text itself.

    Input reaches markdown-it's tokens through entities (`&#xE000;`) and percent-decoding (an
    autolink's text) too, so no character alone can mark our own places; a text cannot contain its
    own digest."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _slotted(text: str, spans: Sequence[tuple[int, int]]) -> tuple[re.Pattern, str]:
    """`text` with its n-th sorted, disjoint span replaced by slot n, and the pattern of a slot."""
    key = _slot_key(text)
    slotted = replace_spans(text, spans, lambda n, *_: f"\ue000{key}{n}\ue001")
    return re.compile(f"\ue000{key}(\\d+)\ue001"), slotted


def _cut_at_slot(url: str, normalize: Callable[[str], str]) -> str:
    """markdown-it's normalizeLink with everything from the first U+E000 on kept as it is: a slot
    in a link destination stays readable (percent-encoded, or punycoded in a host name, it would
    not), and `_unslot` cuts the destination there."""
    head, mark, rest = url.partition("\ue000")
    return normalize(head) + mark + rest


def _unslot(token: Token, slot: re.Pattern) -> list[int]:
    """The citations in a link's or image's destination and title, taken out of them: a
    destination ends where a citation (or any U+E000) started, a title loses its citations."""
    found: list[int] = []
    for name in ("href", "src", "title"):
        value = token.attrGet(name)
        if not isinstance(value, str) or "\ue000" not in value:
            continue
        found += [int(n) for n in slot.findall(value)]
        kept = slot.sub("", value) if name == "title" else value[: value.index("\ue000")]
        if kept:
            token.attrSet(name, kept)
        else:
            del token.attrs[name]
    return found


def _remote_image(image: Token, in_link: bool) -> list[Token]:
    """A remote image as a link to it (its alt text, else its address, the link's text), or in a
    link as its alt text: shown, it would tell its host who reads the report, and when."""
    src = image.attrGet("src") or ""
    text = Token("text", "", 0, content="".join(child.content for child in image.children or []) or src)
    if in_link:
        return [text]
    return [
        Token("link_open", "a", 1, attrs={"href": src, "class": "citekb-remote-image", "rel": "noopener noreferrer"}),
        text,
        Token("link_close", "a", -1),
    ]


def _place_citations(children: list[Token], html: Sequence[str], slot: re.Pattern, done: set[int]) -> list[Token]:
    """Text tokens with citation slots split into text and inline-HTML tokens. A citation never
    enters an attribute or a link: one in a link (its text, destination or title) or an image
    (its alt text, source or title) is placed after it. Each is placed once (`done`), where it
    first shows (an autolink holds it twice; a link reference definition, once per use)."""

    def cite(numbers: Iterable[int]) -> list[Token]:
        fresh = [n for n in sorted(set(numbers)) if n not in done]
        done.update(fresh)
        return [Token("html_inline", "", 0, content=html[n]) for n in fresh]

    placed: list[Token] = []
    held: list[int] = []  # citations waiting for the end of the link or image they are in
    depth = 0  # links open
    for child in children:
        if child.type in ("link_open", "image"):
            held += _unslot(child, slot)
        if child.type == "link_open" and _REMOTE.match(child.attrGet("href") or ""):
            child.attrSet("rel", "noopener noreferrer")  # the internal site's addresses stay inside it
        if child.type == "image":
            for grand in child.children or []:
                held += [int(n) for n in slot.findall(grand.content)]
                grand.content = slot.sub("", grand.content)
        if child.type in ("link_open", "link_close"):
            depth += child.nesting
        if child.type == "text" and depth > 0:
            held += [int(n) for n in slot.findall(child.content)]
            child.content = slot.sub("", child.content)
        if child.type == "image" and _REMOTE.match(child.attrGet("src") or ""):
            placed += _remote_image(child, depth > 0)
        elif child.type != "text" or depth > 0:
            placed.append(child)
        else:
            cursor = 0
            for match in slot.finditer(child.content):
                if match.start() > cursor:
                    placed.append(Token("text", "", 0, content=child.content[cursor : match.start()]))
                placed += cite([int(match.group(1))])
                cursor = match.end()
            if cursor < len(child.content):
                placed.append(Token("text", "", 0, content=child.content[cursor:]))
        if depth == 0 and held:
            placed += cite(held)
            held = []
    return placed + cite(held)  # a link left open


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
    slot, slotted = _slotted(text, [(start, end) for start, end, _ in citations])
    tokens = parser().parse(shallow(slotted))
    headings: list[Heading] = []
    taken, done = Anchors(section), set()
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"
        if token.type == "heading_open":
            children = tokens[index + 1].children or []
            title = slot.sub("", "".join(c.content for c in children if c.type in ("text", "code_inline"))).strip()
            anchor = heading_anchor(section, title, taken)
            token.attrSet("id", anchor)
            children.append(
                Token("html_inline", "", 0, content=f'<a class="headerlink" href="#{anchor}" title="{PERMALINK}">¶</a>')
            )
            headings.append(Heading(int(token.tag[1]), anchor, title, token.map[0]))
        elif token.type == "inline" and token.children:
            token.children = _place_citations(token.children, html, slot, done)
    raws = [text[start:end].replace("\x00", "\ufffd") for start, end, _ in citations]  # as the parser reads NUL
    for token in tokens:  # code is literal: a slot there is the citation as written (see below)
        for code in (t for t in [token, *(token.children or [])] if t.type in _CODE):
            code.content = slot.sub(lambda m: raws[int(m.group(1))], code.content)
            code.info = slot.sub(lambda m: raws[int(m.group(1))], code.info)
    missing = [Token("html_inline", "", 0, content=html[n]) for n in range(len(html)) if n not in done]
    if missing:  # in a link definition no link uses, or in code (a citation holding a backtick can
        # move a code span's end once it is a slot): shown at the end, never lost
        tokens += [Token("paragraph_open", "p", 1), Token("inline", "", 0, children=missing)]
        tokens.append(Token("paragraph_close", "p", -1))
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


CITATION_SLOT = "citekb-citation-{}"  # an `html_inline` token `citation_tokens` puts in a citation's place


def citation_tokens(text: str, spans: Sequence[tuple[int, int]]) -> list[Token]:
    """The tokens `render` turns into the page's HTML, for a writer of another format (`export`):
    the n-th of the sorted, disjoint citation `spans` is an `html_inline` token holding
    CITATION_SLOT.format(n), placed as on the page (after a link it was in; at the end when in
    code). Headings carry their permalink (an `html_inline` token too) and are moved down as on
    the page: a heading's own level is its `markup` (`##`, or `=`/`-` underlined)."""
    return _parse(text, [(start, end, CITATION_SLOT.format(n)) for n, (start, end) in enumerate(spans)], "final")[0]


def headings(text: str, citations: Sequence[tuple[int, int]], section: str) -> list[Heading]:
    """The headings `render` gives the same text and citation spans: anchors agree by construction."""
    return _parse(text, [(start, end, "") for start, end in citations], section)[1]
