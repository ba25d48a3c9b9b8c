"""Task files as the research pipeline read them, cut into the places a locator can name.

The pipeline (`input_handler.process_input`) reads a PDF with pdfminer.six's `extract_text`, which
ends every page with a form feed, and office files with MarkItDown, which marks a presentation's
slides `<!-- Slide number: N -->` and gives each sheet of a workbook as `## <name>` and a Markdown
table. Cutting that same text at those marks gives `page 3`, `slide 2` or `sheet 销量` exactly
the text the model saw there. The libraries are pinned to the pipeline's versions (pyproject.toml):
other versions extract other text.

| suffix | parts |
|---|---|
| .pdf | one `page` per page |
| .pptx | one `slide` per slide |
| .xlsx, .xls | one `sheet` per sheet, its table in `rows` |
| .csv | one `text` with the table in `rows` |
| .docx, .html, .htm | one `text` (MarkItDown's Markdown) |
| .md, .txt, .json | one `text` (the file, which must be UTF-8) |

A table's `rows` are its header and at most MAX_ROWS rows under it; `total_rows` counts all rows
under the header. Anything else (images, videos) has no parts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

from .models import FilePart

MAX_ROWS = 200  # table rows shown on a file page: the covid CSVs have 289, the yahoo sheet 1257
_SLIDE = re.compile(r"^<!-- Slide number: (\d+) -->$", re.MULTILINE)
_SHEET = re.compile(r"^## (.*)$", re.MULTILINE)
_RULE = re.compile(r"^\|(?: ?:?-+:? ?\|)+$")  # a Markdown table's header rule: | --- | --- |
_ESCAPED = re.compile(r"\\([*_])")  # markdownify escapes these two in table cells

Table = tuple[tuple[tuple[str, ...], ...], int]  # (header + first MAX_ROWS rows, rows under the header)


def utf8_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(f"not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}, line {line})") from None


@cache
def _markitdown():
    from markitdown import MarkItDown

    return MarkItDown(enable_plugins=True)  # as the pipeline configures it


def markitdown_text(path: Path) -> str:
    return _markitdown().convert(str(path)).text_content


def capped(records: list[tuple[str, ...]]) -> Table:
    """A header and rows under it, cut to MAX_ROWS rows, with how many there were."""
    if not records:
        return (), 0
    return tuple(records[: MAX_ROWS + 1]), len(records) - 1


def markdown_table(text: str) -> Table:
    """The rows of the Markdown table MarkItDown wrote for a sheet (cells split at " | ": a cell
    holding " | " itself cannot be told apart)."""
    lines = [line for line in text.splitlines() if line.startswith("|") and line.endswith("|")]
    lines = [line for n, line in enumerate(lines) if not (n == 1 and _RULE.match(line))]
    return capped([tuple(_ESCAPED.sub(r"\1", cell) for cell in line[2:-2].split(" | ")) for line in lines])


def pdf_pages(path: Path) -> list[FilePart]:
    from pdfminer.high_level import extract_text

    pages = extract_text(path).split("\f")
    if pages[-1] == "":
        pages.pop()  # the form feed that ends the last page
    return [FilePart("page", number, text) for number, text in enumerate(pages, 1)]


def marked_sections(path: Path, marker: re.Pattern, what: str) -> list[tuple[re.Match, str]]:
    """MarkItDown's text of `path` cut at each `marker` (a slide's comment, a sheet's heading): the
    marker and the text up to the next one. Text with no marker at all was not read as `what`."""
    text = markitdown_text(path)
    marks = list(marker.finditer(text))
    if not marks and text.strip():
        raise ValueError(f"not a {what}: MarkItDown read it as plain text")
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return [(mark, text[mark.end() : end].strip()) for mark, end in zip(marks, ends)]


def slides(path: Path) -> list[FilePart]:
    return [FilePart("slide", int(mark.group(1)), body) for mark, body in marked_sections(path, _SLIDE, "presentation")]


def sheets(path: Path) -> list[FilePart]:
    parts = []
    for number, (head, body) in enumerate(marked_sections(path, _SHEET, "workbook"), 1):
        rows, total = markdown_table(body)
        parts.append(FilePart("sheet", number, body, name=head.group(1), rows=rows, total_rows=total))
    return parts


def csv_table(path: Path) -> list[FilePart]:
    text = utf8_text(path)
    rows, total = capped([tuple(record) for record in csv.reader(io.StringIO(text, newline="")) if record])
    return [FilePart("text", 1, text, rows=rows, total_rows=total)]


def whole(read: Callable[[Path], str]) -> Callable[[Path], list[FilePart]]:
    return lambda path: [FilePart("text", 1, read(path))]


EXTRACTORS: dict[str, Callable[[Path], list[FilePart]]] = {
    ".pdf": pdf_pages,
    ".pptx": slides,
    ".xlsx": sheets,
    ".xls": sheets,
    ".csv": csv_table,
    ".docx": whole(markitdown_text),
    ".html": whole(markitdown_text),
    ".htm": whole(markitdown_text),
    ".md": whole(utf8_text),
    ".txt": whole(utf8_text),
    ".json": whole(utf8_text),
}
_extracted: dict[tuple[str, str], list[FilePart]] = {}


def extract_parts(path: Path) -> list[FilePart]:
    """The file's parts (none for a kind without text); raises when the file cannot be read.

    Once per content and process: a file in two task folders, or one unchanged between
    `mkdocs serve` rebuilds, is not extracted again (a big PDF takes seconds)."""
    extractor = EXTRACTORS.get(path.suffix.lower())
    if extractor is None:
        return []
    key = (path.suffix.lower(), hashlib.sha256(path.read_bytes()).hexdigest())
    if key not in _extracted:
        _extracted[key] = extractor(path)
    return list(_extracted[key])


def failure(error: Exception) -> str:
    """Why a file could not be read, in one line: MarkItDown lists every converter it tried, the
    first is the one for the file's suffix."""
    lines = [line.strip(" -") for line in str(error).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("File conversion failed"):
        return lines[1]
    return lines[0] if lines else type(error).__name__
