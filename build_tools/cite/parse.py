"""Find every citation the pipeline writes in a report, including broken ones.

A citation we cannot read is returned with `error` set (malformed), never dropped or raised on:
the reader must see it as unresolved.
"""

from __future__ import annotations

import re

from ..models import Citation

KINDS = {
    "long_context": "long_context",
    "文档": "document", "doc": "document", "document": "document", "文件": "document",
    "图片": "image", "image": "image", "图像": "image",
    "视频": "video", "video": "video",
    "web": "web", "网页": "web",
}
FILE_EXTENSIONS = {
    "pdf": "document", "doc": "document", "docx": "document", "ppt": "document", "pptx": "document",
    "xls": "document", "xlsx": "document", "txt": "document", "md": "document",
    "png": "image", "jpg": "image", "jpeg": "image", "gif": "image", "webp": "image", "svg": "image",
    "mp4": "video", "webm": "video", "mov": "video",
}
MAX_RANGE = 50  # `chunk 0-3` expands; a huge range is a typo, not 10,000 citations
MAX_RAW = 300

_OPENING = re.compile(
    r"\[\s*(?P<prefix>long_context|文档|文件|document|doc|图片|图像|image|视频|video|web|网页)\s*(?P<colon>[:：])?",
    re.IGNORECASE,
)
_QUOTES_OPEN = "\"“”'‘’「『"
_QUOTES_CLOSE = "\"“”'‘’」』"
_ITEM = re.compile(
    rf"\s*(?:long_context\s*[:：]\s*)?"
    rf"(?:[{_QUOTES_OPEN}](?P<quoted>.*?)[{_QUOTES_CLOSE}]|(?P<bare>[^\"\]\n;]*?))"
    rf"\s*[,，]\s*chunk\s*(?P<chunks>[^\]\n;]*?)\s*(?=[;\]])",
    re.IGNORECASE,
)
_RAG = re.compile(r"\[RAG-(\d{1,6})\]")
_BARE_FILE = re.compile(
    r"\[(?P<name>[^\[\]\n:：]{1,200}?\.(?P<ext>" + "|".join(FILE_EXTENSIONS) + r"))"
    r"(?:\s*[,，]\s*(?P<locator>[^\[\]\n]{1,100}))?\]",
    re.IGNORECASE,
)
_FILE_WITH_LOCATOR = re.compile(r"^(?P<name>.+?\.[A-Za-z0-9]{1,5})\s*(?:[,，]\s*(?P<locator>.*))?$")
_NUMBER = re.compile(r"^\d+$")
_RANGE = re.compile(r"^(\d+)\s*[-–~]\s*(\d+)$")


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end == -1 else end


def _malformed(kind: str, text: str, start: int, error: str) -> Citation:
    """A broken citation runs to the next `]` on its line (or the line's end)."""
    line_end = _line_end(text, start)
    close = text.find("]", start + 1, line_end)
    end = min(close + 1 if close != -1 else line_end, start + MAX_RAW)
    return Citation(kind, text[start:end], start, end, error=error)


def parse_chunks(spec: str) -> tuple[list[int], str | None]:
    """`1`, `1, 2`, `0-1` → chunk numbers; anything else is an error message."""
    numbers: list[int] = []
    for token in re.split(r"\s*[,，、]\s*|\s+and\s+|\s*和\s*", spec.strip()):
        if _NUMBER.match(token):
            numbers.append(int(token))
        elif match := _RANGE.match(token):
            low, high = int(match.group(1)), int(match.group(2))
            if high < low or high - low >= MAX_RANGE:
                return [], f"chunk range {token!r} is not a small ascending range"
            numbers.extend(range(low, high + 1))
        else:
            return [], f"chunk {token!r} is not a whole number ≥ 0"
    return (numbers, None) if numbers else ([], "no chunk number")


def _long_context(text: str, start: int, body_start: int) -> list[Citation]:
    items: list[tuple[str, list[int]]] = []
    position = body_start
    while True:
        match = _ITEM.match(text, position)
        if not match:
            return [_malformed("long_context", text, start, 'expected "title", chunk N')]
        title = (match.group("quoted") if match.group("quoted") is not None else match.group("bare")).strip()
        numbers, error = parse_chunks(match.group("chunks"))
        if error or not title:
            return [_malformed("long_context", text, start, error or "empty title")]
        items.append((title, numbers))
        position = match.end()
        if text[position] == "]":
            break
        position += 1  # the ";" between two long_context items of one bracket
    raw = text[start : position + 1]
    return [
        Citation("long_context", raw, start, position + 1, title=title, chunk=number)
        for title, numbers in items
        for number in numbers
    ]


def _file(kind: str, text: str, start: int, body_start: int) -> list[Citation]:
    close = text.find("]", body_start, _line_end(text, body_start))
    if close == -1:
        return [_malformed(kind, text, start, "no closing ]")]
    body = text[body_start:close].strip()
    raw = text[start : close + 1]
    if not body:
        return [Citation(kind, raw, start, close + 1, error="no file or address given")]
    if kind == "web":
        return [Citation(kind, raw, start, close + 1, title=body)]
    match = _FILE_WITH_LOCATOR.match(body)
    name, locator = (match.group("name"), match.group("locator")) if match else (body, None)
    return [Citation(kind, raw, start, close + 1, file=name.strip(), locator=(locator or "").strip() or None)]


def parse_citations(text: str) -> list[Citation]:
    """All citations of a report in order of appearance."""
    found: list[Citation] = []
    for match in _OPENING.finditer(text):
        if found and match.start() < found[-1].end:
            continue
        kind = KINDS[match.group("prefix").lower()]
        after = match.end()
        if match.group("colon") is None:
            rest = text[after : after + 1]
            if rest == "]":
                found.append(Citation(kind, text[match.start() : after + 1], match.start(), after + 1,
                                      error=f"[{match.group('prefix')}] names no source"))
            continue
        if kind == "long_context":
            found.extend(_long_context(text, match.start(), after))
        else:
            found.extend(_file(kind, text, match.start(), after))
    for match in _RAG.finditer(text):
        found.append(Citation("rag", match.group(0), match.start(), match.end(), locator=match.group(1)))
    taken = [(c.start, c.end) for c in found]
    for match in _BARE_FILE.finditer(text):
        if any(s < match.end() and match.start() < e for s, e in taken):
            continue
        kind = FILE_EXTENSIONS[match.group("ext").lower()]
        found.append(Citation(kind, match.group(0), match.start(), match.end(), file=match.group("name").strip(),
                              locator=(match.group("locator") or "").strip() or None))
    return sorted(found, key=lambda c: c.start)


def rag_references(text: str) -> dict[str, str]:
    """`- [RAG-1] Title` lines of a report's reference list: number → cited title."""
    refs: dict[str, str] = {}
    for match in re.finditer(r"^\s*(?:[-*•]\s*)?\[RAG-(\d{1,6})\]\s*[:：]?\s*(.+?)\s*$", text, re.MULTILINE):
        refs.setdefault(match.group(1), match.group(2))
    return refs
