"""Stage 2: find scraped boilerplate so pages and search can hide it.

Rules return spans of the document text instead of editing it: the chunk table must keep the
pipeline's offsets, and a hidden span stays on the page (collapsed) so nothing is lost.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator

from .models import Removal

Line = tuple[int, int, str]  # start offset, end offset (including the newline), stripped text
Rule = Callable[[list[Line]], Iterator[tuple[int, int]]]

_BREADCRUMB_LABEL = re.compile(r"^(当前位置|您的位置|你的位置|您现在的位置|现在位置|所在位置|位置)\s*[:：]")
_BREADCRUMB_TRAIL = re.compile(r"^(首页|主页|网站首页|home)\s*(>|›|»|/|＞|→)", re.IGNORECASE)
_RELATED_HEADING = re.compile(
    r"^(相关文章|相关阅读|相关推荐|相关新闻|相关资讯|推荐阅读|延伸阅读|更多阅读|猜你喜欢|热门文章|热门推荐|热门阅读"
    r"|related (articles|posts|stories|reading)|you may also like|read more)\s*[:：]?$",
    re.IGNORECASE,
)
_NAVIGATION = re.compile(  # at a line's start
    r"上一篇|下一篇|上一页|下一页|返回顶部|返回首页|返回列表|分享到|点击阅读原文|阅读原文|扫一扫|扫码关注|关注我们"
    r"|版权所有|版权声明|copyright\b|©|打印本页|关闭窗口|责任编辑|举报|previous post|next post|back to top"
    r"|share (this|on)\b",
    re.IGNORECASE,
)
_REGISTRATION = re.compile(r"icp备|icp证|公网安备", re.IGNORECASE)  # anywhere in a line; each holds 备 or 证
_WORD = re.compile(r"\w")
_BULLET = re.compile(r"^([•·▪●○◦\-*+]|\d{1,3}[.、)）])\s*")
MAX_TITLE_LINE = 150
MIN_TITLE_WORD_CHARS = 4  # "……", "有效" or "│ │" repeated in a table are content, not titles
MAX_LIST_ITEM = 80
MAX_NAVIGATION_LINE = 100


def split_lines(text: str) -> list[Line]:
    lines: list[Line] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        lines.append((offset, offset + len(raw), raw.strip()))
        offset += len(raw)
    return lines


def breadcrumb(lines: list[Line]) -> Iterator[tuple[int, int]]:
    """`当前位置: 首页 > news >正文` and `首页 > 科技 > 正文` lines."""
    for start, end, stripped in lines:
        if len(stripped) <= MAX_NAVIGATION_LINE and (
            _BREADCRUMB_LABEL.match(stripped) or _BREADCRUMB_TRAIL.match(stripped)
        ):
            yield start, end


def repeated_title(lines: list[Line]) -> Iterator[tuple[int, int]]:
    """A title-like line that repeats the first line (the title) or the line just before it."""
    title = next((s for _, _, s in lines if s), "")
    previous = None
    seen_title = False
    for start, end, stripped in lines:
        if not stripped:
            continue
        is_title = stripped == title
        repeats = (is_title and seen_title) or stripped == previous  # cheap test first: most lines fail it
        if repeats and (
            not stripped.startswith("|")  # a repeated table row is data
            and len(stripped) <= MAX_TITLE_LINE
            and len(_WORD.findall(stripped)) >= MIN_TITLE_WORD_CHARS
        ):
            yield start, end
        seen_title = seen_title or is_title
        previous = stripped


def related_list(lines: list[Line]) -> Iterator[tuple[int, int]]:
    """A `相关文章:` heading followed by a list of short unrelated headlines."""
    i = 0
    while i < len(lines):
        start, end, stripped = lines[i]
        if not _RELATED_HEADING.match(stripped):
            i += 1
            continue
        items, last_end, j = 0, end, i + 1
        while j < len(lines):
            _, item_end, item = lines[j]
            if item:
                if len(_BULLET.sub("", item)) > MAX_LIST_ITEM:
                    break
                items += 1
                last_end = item_end
            j += 1
        if items >= 2:
            yield start, last_end
        i = j


def navigation(lines: list[Line]) -> Iterator[tuple[int, int]]:
    """Footer and navigation lines: previous/next links, share buttons, copyright, ICP numbers."""
    for start, end, stripped in lines:
        if (
            stripped
            and len(stripped) <= MAX_NAVIGATION_LINE
            and (
                _NAVIGATION.match(stripped)
                # searched only in a line holding 备 or 证: the search tried every place of every
                # line, 0.7 of the 1.2 s that finding boilerplate took over 10,000 sources
                or (("备" in stripped or "证" in stripped) and _REGISTRATION.search(stripped))
            )
        ):
            yield start, end


RULES: dict[str, Rule] = {
    "breadcrumb": breadcrumb,
    "repeated_title": repeated_title,
    "related_list": related_list,
    "navigation": navigation,
}


def find_boilerplate(text: str) -> list[Removal]:
    """Non-overlapping boilerplate spans of `text`, in order; overlapping hits are merged."""
    lines = split_lines(text)
    hits = sorted(
        (Removal(start, end, name) for name, rule in RULES.items() for start, end in rule(lines)),
        key=lambda r: (r.start, -r.end),
    )
    merged: list[Removal] = []
    for hit in hits:
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            if hit.end > last.end:
                merged[-1] = Removal(last.start, hit.end, last.rule)
            continue
        merged.append(hit)
    return merged


def segments(text: str, start: int, end: int, removals: list[Removal]) -> list[tuple[str, str | None]]:
    """`text[start:end]` cut into (piece, rule) pairs; rule is None for text that is kept
    (`removed_within`)."""
    pieces: list[tuple[str, str | None]] = []
    cursor = start
    for hidden_start, hidden_end, rule in removed_within(start, end, removals):
        if hidden_start > cursor:
            pieces.append((text[cursor:hidden_start], None))
        pieces.append((text[hidden_start:hidden_end], rule))
        cursor = hidden_end
    if cursor < end:
        pieces.append((text[cursor:end], None))
    return pieces


def removed_within(start: int, end: int, removals: list[Removal]) -> Iterator[tuple[int, int, str]]:
    """The removals' (`find_boilerplate`'s: in order, disjoint) parts within [start, end), as (start,
    end, rule). Those ending before `start` are skipped by bisection: a page's chunks each looking
    through all of them was quadratic in its boilerplate lines."""
    for at in range(bisect_right(removals, start, key=lambda removal: removal.end), len(removals)):
        removal = removals[at]
        if removal.start >= end:
            return
        yield max(removal.start, start), min(removal.end, end), removal.rule


def cleaned(text: str, start: int, end: int, removals: list[Removal]) -> str:
    """The kept text of `text[start:end]`: what search indexes."""
    return "".join(piece for piece, rule in segments(text, start, end, removals) if rule is None)
