"""Find every citation the pipeline writes in a report, including broken ones.

A citation we cannot read is returned with `error` set (malformed), never dropped or raised on:
the reader must see it as unresolved. No citation's text ever contains another citation's
opening: a bracket ends at the first opening of the next one on its line, so one broken
citation cannot swallow a valid one after it.

Forms (prefix names are case-insensitive; `:` or `：`):
    [long_context: "T", chunk 1]        also `chunks 1, 2`, `chunk 0-1`, `chunk 1, chunk 2`
    [long_context: "A", chunk 0; long_context: "B", chunk 3]   also `, long_context: "B"…`
    [文档: a.docx; 图片: b.png]  [long_context: "A", chunk 0; 文档: a.pdf]   items of any kinds
    [long_context: "T", chunk 1][chunk 2]   a follow-on `[chunk N]` cites the title before it
    [long_context: "T"] / [long_context: "x.pdf", page 3] / [长期文档: "x.pdf", chunk 2]
    [文档: x.pdf, page 2]  [Doc: …]  [图片: …]  [Image: …]  [视频: …]  [Video: …]
    [x.pdf, 页 8]  [x.pptx, slides 6、10]      a bare file name with a known extension
    [a.pdf、b.png]  [a.pdf, page 2 和 b.pdf]   several files, as in a prefixed bracket
    ［…］ 【…】                           full-width brackets, as `[…]`
    [Web: https://…]  [网页: …]  [https://…]
    [RAG-3]                             through the report's `[RAG-3] title` reference list
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, replace

from ..messages import Reason
from ..models import Citation

KINDS = {
    "long_context": "long_context",
    "长期文档": "long_context",
    "文档": "document",
    "doc": "document",
    "document": "document",
    "文件": "document",
    "图片": "image",
    "image": "image",
    "图像": "image",
    "视频": "video",
    "video": "video",
    "web": "web",
    "网页": "web",
}
FILE_EXTENSIONS = {
    "pdf": "document",
    "doc": "document",
    "docx": "document",
    "ppt": "document",
    "pptx": "document",
    "xls": "document",
    "xlsx": "document",
    "csv": "document",
    "txt": "document",
    "md": "document",
    "html": "document",
    "htm": "document",
    "json": "document",
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "gif": "image",
    "webp": "image",
    "svg": "image",
    "mp4": "video",
    "webm": "video",
    "mov": "video",
    "avi": "video",
    "mkv": "video",
}
MAX_RANGE = 50  # `chunk 0-3` expands; a huge range is a typo, not 10,000 citations
MAX_RAW = 300
MAX_DIGITS = 4300  # Python converts no longer number (sys.get_int_max_str_digits): not a number to us

_PREFIXES = "|".join(sorted(map(re.escape, KINDS), key=len, reverse=True))
# Possessive white space (`\s*+`) wherever what follows cannot be white space: the same matches,
# without re-reading a run of spaces once per position the engine backtracks to.
_OPENING = re.compile(rf"\[\s*+(?P<prefix>{_PREFIXES})\s*+(?P<colon>[:：])?", re.IGNORECASE)


def _follow_on(words: str) -> re.Pattern:
    """A follow-on bracket whose place starts with one of `words` and a number: right after the
    citation, or after a list mark (`…chunk 1]、[chunk 2]`)."""
    return re.compile(
        rf"[ \t]*+(?:[、，,][ \t]*+)?(?P<bracket>\[\s*+(?P<spec>(?:{words})\s*+\d[^\[\]\n]{{0,40}}?)\s*+\])",
        re.IGNORECASE,
    )


_FOLLOW_ON = _follow_on(r"chunks?")  # `[chunk 2]` after a long_context citation
_PLACE_WORDS = r"pages?|pp?\.?|slides?|第|页"  # what a page's or slide's number follows
_PLACE_FOLLOW_ON = _follow_on(_PLACE_WORDS)  # `[page 3]`, `[slide 4]`, `[第5页]` after a file's
# Where the next citation may begin: a bracket ends before it.
_ANY_OPENING = re.compile(rf"\[\s*+(?:(?:{_PREFIXES})\s*+[:：\]]|chunks?\s*+\d|RAG-\d|https?://)", re.IGNORECASE)
_QUOTES_OPEN = "\"“”'‘’「『＂"
_QUOTES_CLOSE = "\"“”'‘’」』＂"
_CLOSE = "];；"  # what ends an item: the bracket, or `;` before the next item (or `_ITEM_COMMA`)
_COMMA = ",，"
_SPACE = re.compile(r"\s*")
_QUOTE_CLOSE = re.compile(f"[{_QUOTES_CLOSE}]")
_COMMAS = re.compile(f"[{_COMMA}]")
# A comma before the next item's prefix ends an item too: `[long_context: "A", chunk 1, long_context: "B", chunk 2]`.
_NEXT_PREFIX = rf"\s*+(?:{_PREFIXES})\s*+[:：]"
_ITEM_COMMA = re.compile(rf"[{_COMMA}](?={_NEXT_PREFIX})", re.IGNORECASE)
# A long_context item ends at such a comma, and at one before another quoted title and its chunk:
# `[long_context: "A", chunk 1, "B", chunk 2]` (read as one title, `A", chunk 1, "B`). The title is
# looked at for at most a line's worth of characters past each comma.
_NEXT_QUOTED_CHUNK = (
    rf"[{_COMMA}](?=\s*+[{_QUOTES_OPEN}][^\n]{{1,300}}?[{_QUOTES_CLOSE}]\s*+[{_COMMA}]\s*+chunks?\s*+\d)"
)
_TITLE_ITEM_COMMA = re.compile(rf"{_ITEM_COMMA.pattern}|{_NEXT_QUOTED_CHUNK}", re.IGNORECASE)
# A bare title, and a quoted title's locator, hold none of these; a bare title's locator none of the next.
_TITLE_STOP = re.compile(rf'[\[\]\n;；"“”]|{_TITLE_ITEM_COMMA.pattern}', re.IGNORECASE)
_LOCATOR_STOP = re.compile(rf"[\[\]\n;；]|{_TITLE_ITEM_COMMA.pattern}", re.IGNORECASE)
# A file name, an address and their locator run to the bracket's end or the next item: a `;`, or a
# comma before a prefix (an address's own `;` and `,` stay in it unless an item follows them).
# A list mark before another file's name ends one too (`[文档: a.pdf, page 2, b.pptx, slide 3]`,
# `[文档: a.pdf、b.pptx]`: the second file was read as a place in the first, and lost), and so does a
# conjunction right after a whole file's name, or a space after it (`[文档: a.pdf 和 b.pptx]`,
# `a.pdf and b.xlsx`: read as one name, found nowhere); `报告和附录.pdf` is one name.
_FILE_AHEAD = rf"(?=\s*+[^\[\]\n,，、;；:：]{{1,200}}?\.(?:{'|'.join(FILE_EXTENSIONS)})(?![A-Za-z0-9]))"
_AFTER_FILE = "|".join(rf"(?<=\.{extension})|(?<=\.{extension}[ \t])" for extension in FILE_EXTENSIONS)
_CONJUNCTION = r"[和与及&]|and(?=\s)"
_AND_FILE = rf"(?={_CONJUNCTION})(?:{_AFTER_FILE})(?:{_CONJUNCTION}){_FILE_AHEAD}"  # the conjunction looked for first
# …and a conjunction after a place's number (`[文档: a.pdf, page 2 和 b.pdf]`, `第5页与b.pdf`): the
# place is the file's before it, not a second file named `page 2 和 b.pdf` (`_file_item` reads on
# where what comes before is no file's name and place: `2023和2024年报.pdf`).
_PLACE_AND_FILE = rf"(?<=[0-9页张])[ \t]*+(?:{_CONJUNCTION}){_FILE_AHEAD}"
_NEXT_FILE = (  # a list mark before another file's name, not before a place and a conjunction
    rf"[,，、](?!\s*+(?:{_PLACE_WORDS})\s*+\d++[^\[\]\n,，、;；]{{0,20}}?[ \t]*+(?:{_CONJUNCTION})){_FILE_AHEAD}"
)
_FILE_STOP = re.compile(rf"[\];；]|{_ITEM_COMMA.pattern}|{_NEXT_FILE}|{_AND_FILE}|{_PLACE_AND_FILE}", re.IGNORECASE)
_WEB_STOP = re.compile(rf"\]|[;；,，](?={_NEXT_PREFIX}|\s*+https?://)", re.IGNORECASE)
_LOCATOR_WORD = re.compile(r"chunks?|pages?|p\.?|第|页|slides?", re.IGNORECASE)
_NEXT_ITEM = re.compile(rf"\s*+(?:(?P<prefix>{_PREFIXES})\s*+[:：]\s*+)?", re.IGNORECASE)
_RAG = re.compile(r"\[RAG-(\d{1,6}(?:\s*+[,，;；、]\s*+(?:RAG-)?\d{1,6}){0,49})\]", re.IGNORECASE)  # `[RAG-1, RAG-2]`
_RAG_NUMBER = re.compile(r"\d+")
# What comes between a file's name and its place: a comma, or only white space before a place word
# and a number (`report.pdf p.3`, `deck.pptx slide 2`, `report.pdf 第3页`).
_PLACE_MARK = r"(?:[,，]\s*|(?<=\s)(?=(?:pp?\.?|pages?|slides?|第)\s*+\d))"
# A bare bracket: a file's name and place, found here and read as a prefixed bracket's items.
_BARE_FILE = re.compile(
    r"\[\s*[^\[\]\n:：,，]{1,200}?\.(?:" + "|".join(FILE_EXTENSIONS) + r")\s*+"
    rf"(?:{_PLACE_MARK}[^\[\]\n]{{1,100}}?)?\s*+\]",
    re.IGNORECASE,
)
_BARE_URL = re.compile(r"\[\s*+(?P<url>https?://[^\s\[\]]{1,500})\s*+\]", re.IGNORECASE)
_FILE_WITH_LOCATOR = re.compile(
    rf"^(?P<name>.+?\.[A-Za-z0-9]{{1,5}})\s*(?:{_PLACE_MARK}(?P<locator>.*))?$", re.IGNORECASE
)
# A file's name in quotes (`"report.pdf", page 3`): the name is what the quotes hold.
_QUOTED_FILE = re.compile(
    rf"^[{_QUOTES_OPEN}](?P<name>[^{_QUOTES_CLOSE}]+)[{_QUOTES_CLOSE}]\s*+(?:[,，]\s*+(?P<locator>.*))?$"
)
# White space before a separator is taken only from where it starts (`(?<!\s)`): a run of spaces is
# read once, not once per position in it. A separator right after the last one's trailing spaces
# still starts at its mark (`0, ,` is 0, an empty token and another, as `\s*[,，、]\s*` splits it).
_NUMBER_SEPARATOR = re.compile(r"(?:(?<!\s)\s+)?[,，、]\s*(?:and\s+)?|(?<!\s)\s+and\s+|(?:(?<!\s)\s+)?[和&]\s*")
_CHUNK_WORD = re.compile(r"^chunks?\s*", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+$")
# The marks between two numbers of a range (`5-7`, `3至5`) and of a list (`2、3`, `9 and 14`, `3 & 4`, `9, 14, and 20`), as
# `parse_numbers` splits them; `NUMBER_LIST` is a list of numbers, ranges among them, read once
# (possessive: a mark with no number after it ends the list, and is not read again). The audit
# reads the pages a claim names with the same list (`audit.claims`).
RANGE_MARK = r"(?:-{1,2}|[–—~～至到])"
NUMBER_LIST = rf"\d++(?:\s*+(?:{RANGE_MARK}|[,，、](?:\s*+and(?=\s))?|[和&])\s*+\d++|\s++and\s++\d++)*+"
_NUMBER_RUN = rf"\d++(?:\s*+(?:{RANGE_MARK}|[和&])\s*+\d++|\s++and\s++\d++)*+"  # …up to its first comma
_OF_ALL = r"(?:\s++of\s++\d++)?"  # `page 3 of 5`: page 3 (of the file's 5)
_RANGE = re.compile(rf"^(\d+)\s*{RANGE_MARK}\s*(\d+)$")


@dataclass(frozen=True)
class Locator:
    """A place named after a citation's title: chunk numbers, pages, slides, a sheet, or other text."""

    kind: str  # chunk | page | slide | sheet | other
    numbers: tuple[int, ...] = ()
    name: str | None = None


# A page or slide list is what follows the kind word up to `页`, `张` or the end, or, for pages, a
# comma and a description (`page 9, 14, Table 2`: pages 9 and 14); a list with anything else after
# it is read as far as a comma a description follows (`page 9, 14 x`: page 9). `of N` after a
# page's number is the file's page count (`page 3 of 5`).
_LOCATORS = [  # (kind, pattern holding the numbers as `spec`), tried in order
    ("chunk", re.compile(r"^chunks?\s*+(?P<spec>\d.*)$", re.IGNORECASE)),
    (
        "slide",
        re.compile(rf"^(?:slides?|幻灯片|第)\s*+(?P<spec>{NUMBER_LIST})\s*+(?:张|页)?\s*+(?:幻灯片)?$", re.IGNORECASE),
    ),
    (
        "page",
        re.compile(
            rf"^(?:pages?|pp?\.?|页|第)\s*+(?P<spec>{NUMBER_LIST}){_OF_ALL}\s*+页?(?:\s*+[,，、].*+)?$", re.IGNORECASE
        ),
    ),
    (
        "page",
        re.compile(
            rf"^(?:pages?|pp?\.?|页|第)\s*+(?P<spec>{_NUMBER_RUN}){_OF_ALL}\s*+页?(?:\s*+[,，、].*+)?$", re.IGNORECASE
        ),
    ),
    ("page", re.compile(rf"^(?P<spec>\d++(?:\s*+{RANGE_MARK}\s*+\d++)?)\s*+页?$")),
]
# A page or slide named again after a list or range mark (`slide 2, slide 3`, `page 9, p14`,
# `page 3 and page 5`, `p3-p5`, `第3页、第5页`): the kind word before the number and `页` or `张`
# after it are left out before matching.
_KIND_AGAIN = re.compile(
    r"(?:(?<=[,，、&和\-–—~～至到])|(?<=\sand))\s*+(?:slides?|pages?|pp?\.?|第)\s*+(?=\d)"
    r"|(?<=\d)\s*+[页张](?=\s*+(?:[,，、&和\-–—~～至到]|and\s))",
    re.IGNORECASE,
)
# `sheet 销量`, `工作表：销量`; a default name such as `Sheet1` is the sheet's whole name.
_SHEET = re.compile(r"^(?:(?:sheet|工作表)(?:\s*[:：]\s*|\s+)(?P<name>.+)|(?P<whole>sheet\d+))$", re.IGNORECASE)


def parse_numbers(spec: str) -> tuple[list[int], Reason | None]:
    """`1`, `1, 2`, `0-1`, `chunk 1, chunk 2`, `6、10` → numbers; anything else is an error message."""
    numbers: list[int] = []
    for token in _NUMBER_SEPARATOR.split(spec.strip()):
        token = _CHUNK_WORD.sub("", token)
        if len(token) > MAX_DIGITS:
            return [], Reason.of("chunk_not_number", token=token[:20] + "…")
        if _NUMBER.match(token):
            numbers.append(int(token))
        elif match := _RANGE.match(token):
            low, high = int(match.group(1)), int(match.group(2))
            if high < low or high - low >= MAX_RANGE:
                return [], Reason.of("chunk_range", token=token)
            numbers.extend(range(low, high + 1))
        else:
            return [], Reason.of("chunk_not_number", token=token)
    return (numbers, None) if numbers else ([], Reason.of("chunk_no_number"))


def parse_locator(text: str | None) -> Locator | None:
    """What a locator names: `chunk 2`, `page 9, 14`, `pages 5-7`, `p064`, `第3页`, `页 8`,
    `slide 3`, `slides 6、10`, `sheet 销量`; anything else (`Section 4.1`) is kind "other"."""
    text = (text or "").strip()
    if not text:
        return None
    if "\n" in text:  # parse_citations finds locators within one line
        return Locator("other", name=text)
    numbered = _KIND_AGAIN.sub(lambda kind: " " if kind.group()[:1].isspace() else "", text)  # `slide 2, 3`
    slide_words = re.search(r"^(?:slides?|幻灯片)|张幻灯片$|张$", numbered, re.IGNORECASE)
    for kind, pattern in _LOCATORS:
        if kind == "slide" and not slide_words:
            continue
        match = pattern.match(text if kind == "chunk" else numbered)  # `chunk 3, page 2` is no chunk 2
        if match:
            numbers, error = parse_numbers(match.group("spec"))
            if not error:
                return Locator(kind, tuple(numbers))
    if match := _SHEET.match(text):
        name = (match.group("name") or match.group("whole")).strip()
        return Locator(
            "sheet",
            name=name[1:-1] if len(name) > 2 and name[0] in _QUOTES_OPEN and name[-1] in _QUOTES_CLOSE else name,
        )
    return Locator("other", name=text)


def _limit(text: str, start: int) -> int:
    """A citation opened at `start` ends before the next citation opening on its line, and within
    a bounded window (so a line of 20,000 citations is not rescanned for each one)."""
    window = min(len(text), start + MAX_RAW + 1000)
    line_end = text.find("\n", start, window)
    line_end = window if line_end == -1 else line_end
    following = _ANY_OPENING.search(text, start + 1, line_end)
    return following.start() if following else line_end


def _malformed(kind: str, text: str, start: int, limit: int, error: Reason) -> Citation:
    """A broken citation runs to the next `]` before `limit` (or to `limit`)."""
    close = text.find("]", start + 1, limit)
    end = min(close + 1 if close != -1 else limit, start + MAX_RAW)
    return Citation(kind, text[start:end].rstrip(), start, start + len(text[start:end].rstrip()), error=error)


@dataclass(frozen=True)
class _Item:
    """One item of a bracket as written: a long_context item's title and locator, or a file's name
    and place (`title`); the first character of what ends it (`]`, `;`, a comma, a conjunction:
    `close`), where that starts (`stop`) and where it ends (`end`)."""

    title: str
    locator: str | None
    close: str
    stop: int
    end: int


class _Stops:
    """The first position at or after `position` where `pattern` matches (or `limit`), asked for
    positions that only grow: each stretch of the text is searched once, however many times the
    same stop is asked for."""

    def __init__(self, pattern: re.Pattern, text: str, limit: int):
        self.pattern, self.text, self.limit = pattern, text, limit
        self.asked, self.found = -1, -1

    def __call__(self, position: int) -> int:
        if not self.asked <= position <= self.found:
            match = self.pattern.search(self.text, position, self.limit)
            self.found = match.start() if match else self.limit
        self.asked = position
        return self.found


def _closes(text: str, at: int, limit: int) -> bool:
    """Whether the character at `at` ends a long_context item: `]`, `;`, or a comma before the next
    item's prefix or before another quoted title and its chunk (`_TITLE_ITEM_COMMA`)."""
    return at < limit and (text[at] in _CLOSE or _TITLE_ITEM_COMMA.match(text, at, limit) is not None)


def _locator(text: str, comma: int, limit: int, stops: _Stops, worded: bool) -> tuple[str, int] | None:
    """The locator after the comma at `comma` and where its item closes, or None when no `]`/`;`
    closes it: its text runs to the first stop after the comma; a bare title's locator must begin
    with a locator word (`chunk`, `page`, `p.`, `第`, `页`, `slide`)."""
    start = _SPACE.match(text, comma + 1, limit).end()
    rest = start
    if worded:
        word = _LOCATOR_WORD.match(text, start, limit)
        if not word:
            return None
        rest = word.end()
    close = stops(rest)
    if not _closes(text, close, limit):
        return None
    return text[start : max(rest, start + len(text[start:close].rstrip()))], close


def _quoted_item(text: str, position: int, limit: int) -> _Item | None:
    """A quoted title: it ends at the first closing quote that is followed (after white space) by
    the item's close, or by a comma, a locator and the close. Titles may hold quotes and brackets
    of their own ("十五五", [新闻直播间]). Each closing quote is tried once, in order."""
    if position >= limit or text[position] not in _QUOTES_OPEN:
        return None
    stops = _Stops(_TITLE_STOP, text, limit)
    for quote in _QUOTE_CLOSE.finditer(text, position + 1, limit):
        after = _SPACE.match(text, quote.end(), limit).end()
        if after >= limit:
            return None
        title = text[position + 1 : quote.start()]
        if _closes(text, after, limit):
            return _Item(title, None, text[after], after, after + 1)
        if text[after] in _COMMA and (found := _locator(text, after, limit, stops, worded=False)):
            return _Item(title, found[0], text[found[1]], found[1], found[1] + 1)
    return None


def _bare_item(text: str, position: int, limit: int) -> _Item | None:
    """An unquoted title: it runs to the first comma followed by a locator word and a locator that
    the item's close ends, else to the close; it holds no bracket, `;` or double quote."""
    stop = _TITLE_STOP.search(text, position, limit)
    title_end = stop.start() if stop else limit
    stops = _Stops(_LOCATOR_STOP, text, limit)
    for comma in _COMMAS.finditer(text, position, title_end):
        if found := _locator(text, comma.start(), limit, stops, worded=True):
            title = text[position : comma.start()].rstrip()
            return _Item(title, found[0], text[found[1]], found[1], found[1] + 1)
    if _closes(text, title_end, limit):
        return _Item(text[position:title_end].rstrip(), None, text[title_end], title_end, title_end + 1)
    return None


def _bracket(kind: str, text: str, start: int, body_start: int) -> list[Citation]:
    """One bracket: its items (`;`-separated, or comma-separated before a prefix), each of the kind
    its own prefix names or else of the item before it (`[文档: a.docx; 图片: b.png]`,
    `[long_context: "A", chunk 1; 文档: a.pdf]`, `[文档: a.docx; b.pptx, slide 2]`): a long_context
    item with its chunks or locator, a file with its locator, an address. An item that cannot be
    read makes the whole bracket malformed (shown unresolved as written)."""
    limit = _limit(text, start)
    items: list[tuple[str, _Item]] = []
    position = body_start
    while True:
        if items:
            following = _NEXT_ITEM.match(text, position, limit)
            kind = KINDS[following.group("prefix").lower()] if following.group("prefix") else kind
            position = following.end()
        else:
            position = _skip_blank(text, position)
        if kind == "long_context":
            item = _quoted_item(text, position, limit) or _bare_item(text, position, limit)
            error = None if item else Reason.of("expected_title_chunk")
        else:
            item = _named_item(text, position, limit, _WEB_STOP) if kind == "web" else _file_item(text, position, limit)
            error = None if item else Reason.of("no_closing_bracket")
        if not item:
            return [_malformed(kind, text, start, limit, error)]
        if kind == "long_context" and not item.title.strip():
            return [_malformed(kind, text, start, limit, Reason.of("empty_title"))]
        items.append((kind, item))
        position = item.end
        if item.close == "]":
            break
    raw, end = text[start:position], position
    citations: list[Citation] = []
    for kind, item in items:
        if kind != "long_context":
            if item.title or len(items) == 1:  # an empty item among others names nothing: no citation
                citations += _named(kind, raw, start, end, item.title, citations[-1] if citations else None)
            continue
        title, locator = item.title.strip(), (item.locator or "").strip() or None
        previous = citations[-1] if citations else None
        chunk_only = _CHUNK_WORD.match(title) and title[-1:].isdigit()
        if locator is None and previous and previous.kind == "long_context" and previous.title and chunk_only:
            title, locator = previous.title, title  # `[long_context: "A", chunk 1; chunk 2]`: A's chunk 2
        where = parse_locator(locator)
        if where and where.kind == "chunk":
            citations += [Citation(kind, raw, start, end, title=title, chunk=n) for n in where.numbers]
        elif locator and locator.lower().startswith("chunk"):
            _, error = parse_numbers(_CHUNK_WORD.sub("", locator))
            return [Citation(kind, raw, start, end, error=error)]
        else:
            citations.append(Citation(kind, raw, start, end, title=title, locator=locator))
    return citations + _follow_ons(text, end, citations[-1] if citations else None)


def _named_item(text: str, position: int, limit: int, stops: re.Pattern) -> _Item | None:
    """A file's name and locator, or an address, as written: to the first of `stops` (None when the
    line or the next citation comes first), the next item after it (past a conjunction's word)."""
    stop = stops.search(text, position, limit)
    if not stop:
        return None
    return _Item(text[position : stop.start()].strip(), None, text[stop.start()], stop.start(), stop.end())


def _file_item(text: str, position: int, limit: int) -> _Item | None:
    """A file's name and place (`_named_item`), read on past a name's own comma or conjunction:
    what a list mark ends is a whole file's name (`Smith, Jones 2020.pdf` is one), and what a
    conjunction after a number ends is a file's name and place (`a.pdf, page 2 和 b.pdf` is two
    items, `2023和2024年报.pdf` one)."""
    item = _named_item(text, position, limit, _FILE_STOP)
    while item and item.close not in _CLOSE and not _whole_file(item):
        following = _named_item(text, item.end, limit, _FILE_STOP)
        item = following and replace(following, title=text[position : following.stop].strip())
    return item


def _whole_file(item: _Item) -> bool:
    """Whether a file item ended by a list mark is a file's name (and place), or one ended by a
    conjunction a file's name of a known extension or a name and place (`v1.2和b.pdf` is one name)."""
    read = _FILE_WITH_LOCATOR.match(item.title)
    if read is None or item.close in "、" + _COMMA:
        return read is not None
    return read.group("locator") is not None or _extension_kind(read.group("name")) is not None


def _named(kind: str, raw: str, start: int, end: int, body: str, previous: Citation | None) -> list[Citation]:
    """A file item (`x.pdf, page 2`) or an address, read from its text; an item that is only a
    place (`[文档: a.xlsx, sheet 销量; sheet 备注]`) names another place of the file before it."""
    if not body:
        return [Citation(kind, raw, start, end, error=Reason.of("nothing_named"))]
    if kind == "web":
        return [Citation(kind, raw, start, end, title=body)]
    match = _QUOTED_FILE.match(body) or _FILE_WITH_LOCATOR.match(body)
    if match:
        name, locator = match.group("name"), match.group("locator")
    elif previous and previous.kind == kind and previous.file and parse_locator(body).kind != "other":
        name, locator = previous.file, body
    else:
        name, locator = body, None
    return _file_places(kind, raw, start, end, name.strip(), (locator or "").strip() or None)


def _file_places(kind: str, raw: str, start: int, end: int, name: str, locator: str | None) -> list[Citation]:
    """A file citation, one per page or slide where its locator names several (`slides 6、10`,
    `pages 5-7`), as a chunk citation is one per chunk."""
    where = parse_locator(locator)
    if where and where.kind in ("page", "slide") and len(where.numbers) > 1:
        return [Citation(kind, raw, start, end, file=name, locator=f"{where.kind} {n}") for n in where.numbers]
    return [Citation(kind, raw, start, end, file=name, locator=locator)]


def _skip_blank(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t":
        position += 1
    return position


def _follow_ons(text: str, position: int, last: Citation | None) -> list[Citation]:
    """`[chunk 2]` (and more) right after a long_context citation: the same title, another chunk;
    `[page 3]` (`[slide 4]`, `[第5页]`) right after a file citation: the same file, another place."""
    found: list[Citation] = []
    if last is None or not (last.title if last.kind == "long_context" else last.file):
        return found
    follow_on = _FOLLOW_ON if last.kind == "long_context" else _PLACE_FOLLOW_ON
    while (match := follow_on.match(text, position)) and not text.startswith("(", match.end()):  # not a link's text
        start, end = match.start("bracket"), match.end()
        raw, spec = text[start:end], match.group("spec")
        if last.kind == "long_context":
            numbers, error = parse_numbers(spec)
            found += (
                [Citation("long_context", raw, start, end, error=error)]
                if error
                else [Citation("long_context", raw, start, end, title=last.title, chunk=n) for n in numbers]
            )
        else:
            found += _file_places(last.kind, raw, start, end, last.file or "", spec.strip())
        position = end
    return found


_WIDE_BRACKETS = (("［", "["), ("］", "]"), ("【", "["), ("】", "]"))  # as writers type them in Chinese: one for one


def parse_citations(text: str) -> list[Citation]:
    """All citations of a report in order of appearance; full-width brackets (`［文档：x.pdf］`,
    `【long_context: "T", chunk 1】`) read as `[` and `]`, each citation's `raw` as written."""
    written = text
    for wide, bracket in _WIDE_BRACKETS:  # str.replace: translate's table took 0.2 s over 1,000 reports
        text = text.replace(wide, bracket)
    found = _parse(text, written)
    return found if text == written else [replace(c, raw=written[c.start : c.end]) for c in found]


def _parse(text: str, written: str) -> list[Citation]:
    found: list[Citation] = []
    for match in _OPENING.finditer(text):
        if found and match.start() < found[-1].end:
            continue
        kind = KINDS[match.group("prefix").lower()]
        after = match.end()
        if match.group("colon") is None:
            if text[after : after + 1] == "]":
                found.append(
                    Citation(
                        kind,
                        text[match.start() : after + 1],
                        match.start(),
                        after + 1,
                        error=Reason.of("names_no_source", prefix=match.group("prefix")),
                    )
                )
            continue
        found.extend(_bracket(kind, text, match.start(), after))
    # The brackets read so far, in order and disjoint (one bracket's items share its span):
    # whether a match overlaps one is a look at the last that starts before the match ends.
    starts, ends = [c.start for c in found], [c.end for c in found]

    def free(match: re.Match) -> bool:
        """Outside every bracket read so far, and not a Markdown link's text (`[https://…](https://…)`,
        `[a.pdf](files/a.pdf)`): a link is never a citation."""
        if text.startswith("(", match.end()) and written[match.start()] + written[match.end() - 1] == "[]":
            return False  # `【a.pdf】(…)` is no link: Markdown's brackets are ASCII
        before = bisect_left(starts, match.end()) - 1
        return before < 0 or ends[before] <= match.start()

    for match in _RAG.finditer(text):
        if free(match):
            found += [
                Citation("rag", match.group(0), match.start(), match.end(), locator=number)
                for number in dict.fromkeys(_RAG_NUMBER.findall(match.group(1)))
            ]
    for match in _BARE_URL.finditer(text):
        if free(match):
            found.append(Citation("web", match.group(0), match.start(), match.end(), title=match.group("url")))
    followed = 0  # where the last bare file's follow-ons end: a bracket among them is theirs
    for match in _BARE_FILE.finditer(text):
        if free(match) and match.start() >= followed:
            # Its files and places read as a prefixed bracket's (`[a.pdf、b.png]`, `[a.pdf, b.pptx]`,
            # `[a.pdf 和 b.pdf]`: one name found nowhere, or the second read as a place in the
            # first), each file of the kind its extension names.
            places = [_own_kind(c) for c in _bracket("document", text, match.start(), match.start() + 1)]
            followed = places[-1].end
            found += places
    return sorted(found, key=lambda c: c.start)


def _own_kind(citation: Citation) -> Citation:
    """A bare bracket's file citation of the kind its extension names."""
    kind = _extension_kind(citation.file or "") or citation.kind
    return citation if kind == citation.kind else replace(citation, kind=kind)


def _extension_kind(name: str) -> str | None:
    """The kind of file a name's extension names (`FILE_EXTENSIONS`), None for another extension."""
    return FILE_EXTENSIONS.get(name.rpartition(".")[2].lower())


# An entry may name several numbers of one source (`- [RAG-4][RAG-6] title`: the pipeline writes one
# line for a document it retrieved twice): each is that title's.
_RAG_ENTRY = re.compile(
    r"^[^\S\n]*+(?:[-*•]\s*+)?(?P<marks>\[RAG-\d{1,6}\](?:[ \t]*+[,，、]?[ \t]*+\[RAG-\d{1,6}\])*+)", re.MULTILINE
)
_REFERENCE_COLON = ":："


def rag_references(text: str) -> dict[str, str]:
    """`- [RAG-1] Title` lines of a report's reference list (`- [RAG-4][RAG-6] Title`: both
    numbers'): number → cited title (the first entry of a number wins). The title is the rest of
    the line after an optional colon, stripped, or the next line's when the entry's line holds
    nothing more. Read in one pass: each entry's title and the blank lines after it are read once."""
    refs: dict[str, str] = {}
    position = 0
    while entry := _RAG_ENTRY.search(text, position):
        title, end = _reference_title(text, entry.end())
        if title is None:
            position = entry.start() + 1
            continue
        for number in _RAG_NUMBER.findall(entry.group("marks")):
            refs.setdefault(number, title)
        position = end
    return refs


def _reference_title(text: str, position: int) -> tuple[str | None, int]:
    """The title after a `[RAG-N]` that ends at `position`, and where the entry's match ends (the
    last line break of the blank run after it), as the pattern
    `\\s*[:：]?\\s*(.+?)\\s*$` (MULTILINE) reads it: the first text after white space and an
    optional colon, to its line's last non-space character. Where nothing but white space follows,
    the pattern gives back a single character (a lone colon, or the last white space that is not a
    line break), and so does this."""
    first = _SPACE.match(text, position).end()
    start = first
    if first < len(text) and text[first] in _REFERENCE_COLON:
        start = _SPACE.match(text, first + 1).end()
    if start < len(text):
        line_end = text.find("\n", start)
        line_end = len(text) if line_end == -1 else line_end
        title_end = start + len(text[start:line_end].rstrip())
        after = _SPACE.match(text, title_end).end()
        return text[start:title_end], after if after == len(text) else text.rfind("\n", title_end, after)
    # Only white space (after the colon) to the end of the text: its last character that is not
    # a line break (the colon itself when there is none after it), else no title.
    last = len(text) - 1
    while last >= position and text[last] == "\n":
        last -= 1
    return (text[last] if last >= position else None), len(text)
