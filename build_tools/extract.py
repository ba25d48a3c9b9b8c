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

A task file comes from anywhere (a crawler, an upload), and a small one can make a library work
for minutes or fill the memory (a 10 KB workbook, an 11 KB PDF). So a file a library reads is
read in a process forked from the build (the libraries already imported there: a fork costs
10 ms), which is killed at a wall-clock limit, whose address space is capped, and which hands its
parts back as JSON; in that process, before the library opens the file, its shape is checked
(`CHECKS`: a zip's central directory, a workbook's cells, a PDF's page count and the streams it
decodes). A text file (`IN_PROCESS`) is read here, once its size is checked. Every bound is a
field of `Limits`, with why it has its value. A file over one raises `ExtractionError` naming the
limit (ingest makes it a problem; the file's page offers only the download); under them, the text
is the pipeline's, unchanged.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import resource
import selectors
import signal
import stat
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from .models import FilePart

MAX_ROWS = 200  # table rows shown on a file page: the covid CSVs have 289, the yahoo sheet 1257
_SLIDE = re.compile(r"^<!-- Slide number: (\d+) -->$", re.MULTILINE)
_SHEET = re.compile(r"^## (.*)$", re.MULTILINE)
_RULE = re.compile(r"^\|(?: ?:?-+:? ?\|)+$")  # a Markdown table's header rule: | --- | --- |
_ESCAPED = re.compile(r"\\([*_])")  # markdownify escapes these two in table cells

Table = tuple[tuple[tuple[str, ...], ...], int]  # (header + first MAX_ROWS rows, rows under the header)


@dataclass(frozen=True)
class Limits:
    """What reading one task file may cost. Times measured here (2 shared cores) with the pinned
    libraries; each bound lies past what a real task file needs and short of what exhausts the build."""

    seconds: float = 30.0
    """Wall-clock seconds one file's extraction may take; then its process (and anything it
    started) is killed. The pipeline's own 7-page PDF takes 0.2 s; pdfminer reads a page of text in
    about 25 ms, MarkItDown a workbook at about 17,000 cells a second. Hostile files have no bound
    of their own: an 11 KB PDF whose stream holds 5.6 MB of path operators takes 9 s, a PDF object
    that refers to itself never ends."""

    memory: int = 1_000_000_000
    """Bytes of address space the extraction process may add to the build's (RLIMIT_AS over what
    it inherits). A 200,000-cell workbook takes MarkItDown about 450 MB, a 500,000-cell one 1.1 GB."""

    text: int = 10_000_000
    """Bytes of a file read whole as text (csv, md, txt, json, html, htm), and characters of text
    any file may extract to: all of it is held by the build and indexed for search, and a 20 MB
    CSV costs a build about 30 s and 370 MB more (its search index: 8 MB)."""

    expanded: int = 100_000_000
    """Uncompressed bytes of a zip-based office file (docx, pptx, xlsx: the sizes its central
    directory declares, which Python's zipfile, used by every office library here, enforces), and
    bytes a PDF's decoded streams add up to. MarkItDown reads a docx's XML at about 1 MB a second
    and a sheet's at 0.8: a file this large could not finish within `seconds` anyway."""

    ratio: int = 100
    """How many times its stored size a zip entry or PDF stream larger than `ratio_from` may
    expand to. Office XML expands 10-16 times (a sheet of 500,000 identical cells: 16), PDF streams
    a few times; a run of zeros or of one repeated operator, 400 to 1,000 times."""

    ratio_from: int = 1_000_000
    """Expanded bytes from which `ratio` applies: a small entry that expands much costs nothing."""

    entries: int = 10_000
    """Entries of a zip-based office file: a 300-slide deck has 636 (two a slide), one image a slide
    adds 300 more."""

    pages: int = 1_000
    """Pages of a PDF. At ~25 ms a page of text a longer one cannot finish within `seconds`; an
    empty page costs 0.1 ms, so a small file whose page tree holds 100,000 pages is refused after
    this many, not read for 10 s."""

    cells: int = 200_000
    """Cells of the tables pandas makes of a workbook's sheets: every row up to the last with a
    value, each as wide as the widest (in an .xls, every row xlrd has). MarkItDown turns a cell into Markdown in about 57 µs and
    2 KB: 200,000 cells take 11 s and 450 MB. A value at A1 and one at XFD1048576 make 17 billion
    (and took 24 GB before the memory cap)."""

    sheet_steps: int = 5_000_000
    """Cells openpyxl walks through to hand pandas a workbook's sheets, empty ones included (every
    row up to a sheet's last, each as wide as its last cell): about 1.3 µs each, so this many take
    7 s. A 10 KB sheet of 1,000 rows each ending in an empty cell at column XFD walks 16 million
    (22 s)."""


LIMITS = Limits()


class ExtractionError(Exception):
    """Why a file has no parts, in one line: the library's error, or the limit the file is over."""


class ProcessDied(ExtractionError):
    """The extraction process ended without an answer (a crash, a kill from outside): not a fact
    about the file, so not remembered for it."""


class _OverLimit(BaseException):
    """A limit reached while a file is read. A BaseException, so that no library's `except
    Exception` carries on past it."""


def _size(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size:,} bytes"


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


@cache
def _pdfminer():
    import pdfminer.high_level

    return pdfminer.high_level


def markitdown_text(path: Path) -> str:
    return _markitdown().convert(str(path)).text_content


def capped(records: Iterable[tuple[str, ...]]) -> Table:
    """A header and rows under it, cut to MAX_ROWS rows, with how many there were (read once, in
    step: a table is never held whole)."""
    records = iter(records)
    rows = tuple(itertools.islice(records, MAX_ROWS + 1))
    if not rows:
        return (), 0
    return rows, len(rows) - 1 + sum(1 for _ in records)


def markdown_table(text: str) -> Table:
    """The rows of the Markdown table MarkItDown wrote for a sheet (cells split at " | ": a cell
    holding " | " itself cannot be told apart)."""
    lines = [line for line in text.splitlines() if line.startswith("|") and line.endswith("|")]
    lines = [line for n, line in enumerate(lines) if not (n == 1 and _RULE.match(line))]
    return capped(tuple(_ESCAPED.sub(r"\1", cell) for cell in line[2:-2].split(" | ")) for line in lines)


class _Written(io.StringIO):
    """pdfminer's output, counting the characters written so far (where each page's text ends)."""

    length = 0

    def write(self, text: str) -> int:
        self.length += len(text)
        return super().write(text)


def pdf_pages(path: Path) -> list[FilePart]:
    """pdfminer's `extract_text`, its own loop, cut where each page's text ends (a form feed its
    converter writes after every page): not at every form feed, since a font may map a glyph to
    one, and a cut there would shift every later page's number."""
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    ends = [0]
    with path.open("rb") as file, _Written() as out:
        manager = PDFResourceManager(caching=True)
        interpreter = PDFPageInterpreter(manager, TextConverter(manager, out, codec="utf-8", laparams=LAParams()))
        for page in PDFPage.get_pages(file, caching=True):
            interpreter.process_page(page)
            ends.append(out.length)
        text = out.getvalue()
    return [
        FilePart("page", number, text[start:end].removesuffix("\f"))
        for number, (start, end) in enumerate(itertools.pairwise(ends), 1)
    ]


def marked_sections(text: str, marker: re.Pattern, what: str) -> list[tuple[re.Match, str]]:
    """MarkItDown's `text` of a file cut at each `marker` (a slide's comment, a sheet's heading):
    the marker and the text up to the next one. Text with no marker at all was not read as `what`."""
    marks = list(marker.finditer(text))
    if not marks and text.strip():
        raise ValueError(f"not a {what}: MarkItDown read it as plain text")
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return [(mark, text[mark.end() : end].strip()) for mark, end in zip(marks, ends)]


def slides(path: Path) -> list[FilePart]:
    """One part per slide, where MarkItDown's markers are the deck's slides 1 to N in order; else
    (a line of a slide's own text may read `<!-- Slide number: 2 -->`) the places cannot be told
    from the text: it is one `text`, and a citation of a slide links the whole file, unchecked."""
    from pptx import Presentation

    text = markitdown_text(path)
    sections = marked_sections(text, _SLIDE, "presentation")
    numbers = [mark.group(1) for mark, _ in sections]
    if numbers != [str(number) for number in range(1, len(Presentation(str(path)).slides) + 1)]:
        return [FilePart("text", 1, text)]
    return [FilePart("slide", number, body) for number, (_, body) in enumerate(sections, 1)]


def sheets(path: Path) -> list[FilePart]:
    parts = []
    for number, (head, body) in enumerate(marked_sections(markitdown_text(path), _SHEET, "workbook"), 1):
        rows, total = markdown_table(body)
        parts.append(FilePart("sheet", number, body, name=head.group(1), rows=rows, total_rows=total))
    return parts


def csv_table(path: Path) -> list[FilePart]:
    text = utf8_text(path)
    rows, total = capped(tuple(record) for record in csv.reader(io.StringIO(text, newline="")) if record)
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
# Loaded in the build process before the first fork, so that every extraction process has them:
# MarkItDown takes about a second to import and build (pandas, its file-type model).
LIBRARIES: dict[str, Callable[[], object]] = {
    ".pdf": _pdfminer,
    **dict.fromkeys((".pptx", ".xlsx", ".xls", ".docx", ".html", ".htm"), _markitdown),
}

# ---------------------------------------------------------------- checks, before a library opens the file


def size_checked(path: Path, limits: Limits) -> None:
    if path.stat().st_size > limits.text:
        raise _OverLimit(f"is larger than {_size(limits.text)}")


def zip_checked(path: Path, limits: Limits) -> None:
    """A zip-based office file's central directory within the limits. A file that is no zip is
    left to the library, which says so."""
    if not zipfile.is_zipfile(path):
        return
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    if len(entries) > limits.entries:
        raise _OverLimit(f"has more than {limits.entries:,} zip entries")
    if sum(entry.file_size for entry in entries) > limits.expanded:
        raise _OverLimit(f"expands to more than {_size(limits.expanded)}")
    for entry in entries:
        if entry.file_size > limits.ratio_from and entry.file_size > limits.ratio * entry.compress_size:
            fold = entry.file_size / max(entry.compress_size, 1)
            raise _OverLimit(f"{entry.filename!r} expands {fold:,.0f}-fold, more than {limits.ratio}-fold")


_ROW = "http://schemas.openxmlformats.org/spreadsheetml/2006/main row"  # openpyxl's ROW_TAG, as expat names it


class _Sheets:
    """What pandas gets from a workbook's parts through openpyxl, counted from their XML as
    openpyxl's `WorkSheetParser` reads it: a `row` is numbered by its `r` or as the one after; each
    element in it is a cell, placed at its `r` or after the one before, with a value when it has
    an element of its own (`v`, `is`). openpyxl walks every row up to the last of a part (a missing
    one costs one step), each as wide as its last cell (`walked`, every cell parsed counted too);
    pandas keeps the rows up to the last with a value, each as wide as the widest (`table`)."""

    def __init__(self, limits: Limits):
        from openpyxl.utils.cell import coordinate_to_tuple

        self.limits, self.coordinate = limits, coordinate_to_tuple
        self.tables = self.walked = self.valued_rows = self.valued_columns = (
            0  # `tables`: of the parts read before this one
        )
        self.part()

    def part(self) -> None:
        """The next part: rows numbered afresh."""
        self.tables = self.table
        self.rows = self.row = self.column = self.valued_rows = self.valued_columns = self.depth = 0
        self.row_depth: int | None = None

    @property
    def table(self) -> int:
        return self.tables + self.valued_rows * self.valued_columns

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.row_depth is not None and self.depth == self.row_depth + 1:
            try:
                self.column = self.coordinate(attributes["r"])[1]
            except (KeyError, ValueError):
                self.column += 1
            self.walked += 1
        elif self.row_depth is not None and self.depth == self.row_depth + 2:
            self.valued_rows = max(self.valued_rows, self.row)
            self.valued_columns = max(self.valued_columns, self.column)
        elif name == _ROW and self.row_depth is None:
            self.row_depth, self.column = self.depth, 0
            try:
                number = float(attributes["r"])
                self.row = int(number) if number.is_integer() else self.row + 1
            except (KeyError, ValueError, OverflowError):
                self.row += 1
            self.walked += max(self.row - self.rows, 0)
            self.rows = max(self.rows, self.row)
        self._within()

    def end(self, name: str) -> None:
        if self.depth == self.row_depth:
            self.row_depth = None
            self.walked += self.column
            self._within()
        self.depth -= 1

    def _within(self) -> None:
        if self.table > self.limits.cells:
            raise _OverLimit(f"its sheets have more than {self.limits.cells:,} cells")
        if self.walked > self.limits.sheet_steps:
            raise _OverLimit(f"its sheets span more than {self.limits.sheet_steps:,} cells, empty ones included")


def sheet_checked(path: Path, limits: Limits) -> None:
    """The central directory, then every part counted (`_Sheets`: a worksheet can be any part the
    workbook names, so all are read, each until the XML parser gives up on it), within the limits.
    Read in a stream: no part is held whole."""
    zip_checked(path, limits)
    if not zipfile.is_zipfile(path):
        return
    sheets = _Sheets(limits)
    with zipfile.ZipFile(path) as archive:
        for entry in archive.infolist():
            parser = expat.ParserCreate(namespace_separator=" ")
            parser.StartElementHandler, parser.EndElementHandler = sheets.start, sheets.end
            try:
                with archive.open(entry) as part:
                    parser.ParseFile(part)
            except (expat.ExpatError, zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError):
                pass  # not XML, or unreadable: openpyxl says so if it reads this part
            sheets.part()


def xls_checked(path: Path, limits: Limits) -> None:
    """An .xls (no zip: xlrd reads it whole) counted as xlrd hands pandas its sheets, every row as
    wide as the widest. A file xlrd cannot read is left to MarkItDown, which tries it as other
    kinds too (an "xls" exported as HTML)."""
    import xlrd

    try:
        book = xlrd.open_workbook(path, ragged_rows=True, logfile=io.StringIO())
    except Exception:  # xlrd raises many types on a broken file; reading it is MarkItDown's part
        return
    if sum(sheet.nrows * sheet.ncols for sheet in book.sheets()) > limits.cells:
        raise _OverLimit(f"its sheets have more than {limits.cells:,} cells")


def pdf_checked(path: Path, limits: Limits) -> None:
    """Every stream pdfminer decodes from here on bounded in size and expansion (a wrapper around
    its decoder: this process is the extraction's own, and dies with it), and the page tree walked
    no further than `limits.pages`."""
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdftypes import PDFStream

    decode = PDFStream.decode
    spent = [0]

    def bounded(stream: PDFStream) -> None:
        stored = len(stream.rawdata or b"")
        decode(stream)
        size = len(stream.data or b"")
        spent[0] += size
        if size > limits.ratio_from and size > limits.ratio * stored:
            raise _OverLimit(f"a stream expands {size / max(stored, 1):,.0f}-fold, more than {limits.ratio}-fold")
        if spent[0] > limits.expanded:
            raise _OverLimit(f"its streams expand to more than {_size(limits.expanded)}")

    PDFStream.decode = bounded
    with path.open("rb") as file:
        for number, _ in enumerate(PDFPage.get_pages(file), 1):
            if number > limits.pages:
                raise _OverLimit(f"has more than {limits.pages:,} pages")
    spent[0] = 0  # extract_text decodes its own copy of what counting the pages did


CHECKS: dict[str, Callable[[Path, Limits], None]] = {
    ".pdf": pdf_checked,
    ".pptx": zip_checked,
    ".docx": zip_checked,
    ".xlsx": sheet_checked,
    ".xls": xls_checked,
    **dict.fromkeys((".csv", ".html", ".htm", ".md", ".txt", ".json"), size_checked),
}

# ---------------------------------------------------------------- the extraction process


def _extract(path: Path, limits: Limits) -> list[FilePart]:
    """In the extraction process: the check, the extractor, and the size of what it gave."""
    suffix = path.suffix.lower()
    if suffix in CHECKS:
        CHECKS[suffix](path, limits)
    parts = EXTRACTORS[suffix](path)
    if sum(len(part.text) for part in parts) > limits.text:
        raise _OverLimit(f"extracts to more than {limits.text:,} characters")
    return parts


def _cap_memory(extra: int) -> tuple[int, int] | None:
    """RLIMIT_AS: the address space this process has now (the build's, inherited) and `extra`; the
    limit it had. Where there is no /proc (macOS), the wall clock alone bounds it."""
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        before = resource.getrlimit(resource.RLIMIT_AS)
        hard = before[1]
        resource.setrlimit(
            resource.RLIMIT_AS, (size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard), hard)
        )
        return before
    except (OSError, ValueError):
        return None


def _carried(error: BaseException) -> Iterator[BaseException]:
    """The error, those it was raised from or while handling, and those it carries (MarkItDown's:
    one for each converter it tried)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        found = stack.pop()
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        attempts = getattr(found, "attempts", None) or []
        stack += [found.__cause__, found.__context__, *(a.exc_info[1] for a in attempts if a.exc_info)]


def _why(error: BaseException, limits: Limits) -> str:
    """What a failed extraction says: the limit reached (memory too, however a library wrapped
    its MemoryError), or the library's error."""
    if isinstance(error, _OverLimit):
        return str(error)
    if any(isinstance(found, MemoryError) for found in _carried(error)):
        return f"needs more than {_size(limits.memory)} of memory"
    return failure(error)


def _child(work: Callable[[], list[FilePart]], limits: Limits, out: int) -> NoReturn:
    """The forked process: its own process group (killed with anything it starts), an alarm that
    ends it should the build be gone, the memory cap; `work`'s parts or why there are none, as
    length-prefixed JSON on `out`, written with the cap lifted (whatever the work left behind).
    Never returns."""
    try:
        os.setpgid(0, 0)
        # An error Python can only print (a MemoryError in a finalizer, under the cap) would reach the
        # build's log as a traceback without the file's name: the answer says why it failed.
        sys.unraisablehook = lambda _: None
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(math.ceil(limits.seconds) + 5)
        uncapped = _cap_memory(limits.memory)
        try:
            answer: dict = {"parts": [[p.kind, p.number, p.text, p.name, p.rows, p.total_rows] for p in work()]}
        except BaseException as error:  # pdfminer, MarkItDown and the office libraries raise many types
            answer = {"error": _why(error, limits)}
        if uncapped:
            resource.setrlimit(resource.RLIMIT_AS, uncapped)
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8", "surrogatepass")
        with open(out, "wb") as pipe:
            pipe.write(len(payload).to_bytes(8, "big") + payload)
    finally:
        os._exit(0)


def _read_answer(pipe: int, limits: Limits) -> bytes | None:
    """The child's answer, read as it comes; None when it closed the pipe without one."""
    deadline = time.monotonic() + limits.seconds
    most = 8 * limits.text + 1_000_000  # the JSON of `text` characters, and table rows cut from them
    data = bytearray()
    need = 8
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while len(data) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise ExtractionError(f"over the {limits.seconds:g} s extraction limit")
            chunk = os.read(pipe, 1 << 20)
            if not chunk:
                return None
            data += chunk
            if len(data) >= 8:
                need = 8 + int.from_bytes(data[:8], "big")
                if need > most:
                    raise ExtractionError(f"extracts to more than {limits.text:,} characters")
    return bytes(data[8:need])


def _end(pid: int, grace: float) -> int:
    """The child's wait status, once it has ended by itself within `grace` seconds or been killed,
    with its process group (anything it started). Nothing is signalled once it is reaped: its
    number may then be another process's."""
    deadline = time.monotonic() + grace
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    for target in (-pid, pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _forked(work: Callable[[], list[FilePart]], limits: Limits) -> list[FilePart]:
    """`work()` in a forked process bounded by `limits` (seconds, memory): its parts, or
    ExtractionError saying why there are none. The process is gone when this returns."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(work, limits, write_end)
    os.close(write_end)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # as the child does itself: whichever runs first
    ended = False  # it closed the pipe unanswered: let it end by itself, to say how
    try:
        answer = _read_answer(read_end, limits)
        ended = answer is None
    finally:
        status = _end(pid, 1.0 if ended else 0.0)
        os.close(read_end)
    if answer is None:
        code = os.waitstatus_to_exitcode(status)
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        raise ProcessDied(f"the extraction process ended without an answer ({how})")
    found = json.loads(answer.decode("utf-8", "surrogatepass"))
    if "error" in found:
        raise ExtractionError(found["error"])
    return [
        FilePart(kind, number, text, name, None if rows is None else tuple(map(tuple, rows)), total)
        for kind, number, text, name, rows, total in found["parts"]
    ]


# Read by this module's own code with the standard library (UTF-8, csv: linear, in C), once the
# size check has passed: no library to bound, so no process to fork (10 ms a file).
IN_PROCESS = frozenset({".csv", ".md", ".txt", ".json"})


def _in_process(work: Callable[[], list[FilePart]], limits: Limits) -> list[FilePart]:
    """`work()` here: its parts, or ExtractionError saying why there are none."""
    try:
        return work()
    except _OverLimit as over:
        raise ExtractionError(str(over)) from None
    except (ValueError, csv.Error) as error:  # not UTF-8; a csv field over the csv module's own limit
        raise ExtractionError(failure(error)) from None


def _digest(path: Path) -> str:
    """The file's SHA-256, read in blocks. Opened without blocking and refused unless a regular
    file: a FIFO or a device put in the file's place is never read."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ExtractionError("not a regular file")
        return hashlib.file_digest(file, "sha256").hexdigest()


# (extractor, limits, SHA-256 of the content) → its parts, or why there are none
_extracted: dict[tuple[Callable, Limits, str], list[FilePart] | str] = {}


def extract_parts(path: Path, limits: Limits = LIMITS) -> list[FilePart]:
    """The file's parts (none for a kind without text); raises ExtractionError when the file cannot
    be read or is over a limit, OSError when it cannot be opened.

    Once per content and process: a file in two task folders, or one unchanged between `mkdocs
    serve` rebuilds, is not extracted again (a big PDF takes seconds), nor is one that failed (a
    file that takes the whole time limit would cost it on every rebuild): the outcome is a fact
    about the bytes under these limits. Only an extraction process that died without an answer is
    tried again next time."""
    suffix = path.suffix.lower()
    extractor = EXTRACTORS.get(suffix)
    if extractor is None:
        return []
    key = (extractor, limits, _digest(path))
    if key not in _extracted:
        if suffix in LIBRARIES:
            LIBRARIES[suffix]()
        run = _in_process if suffix in IN_PROCESS else _forked
        try:
            _extracted[key] = run(lambda: _extract(path, limits), limits)
        except ProcessDied:
            raise
        except ExtractionError as error:
            _extracted[key] = str(error)
    found = _extracted[key]
    if isinstance(found, str):
        raise ExtractionError(found)
    return list(found)


def failure(error: BaseException) -> str:
    """Why a file could not be read, in one line: MarkItDown lists every converter it tried, the
    first is the one for the file's suffix."""
    lines = [line.strip(" -") for line in str(error).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("File conversion failed"):
        return lines[1]
    return lines[0] if lines else type(error).__name__
