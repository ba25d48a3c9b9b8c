"""Task-file extraction is bounded: hostile files (built here, small on disk) are problems naming the
limit they are over, found in seconds, with no process left behind; files under the limits extract
exactly as before, and long parts are searched in bounded pieces."""

from __future__ import annotations

import csv
import itertools
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from test_extract import make_docx, make_xlsx

from build_tools import documents, extract, render
from build_tools.extract import LIMITS, ExtractionError, Limits, ProcessDied, extract_parts
from build_tools.ingest import load, load_file
from build_tools.knowledge_base import assemble
from build_tools.models import FilePart

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def timed(call):
    start = time.monotonic()
    try:
        return call(), time.monotonic() - start
    except ExtractionError as error:
        return error, time.monotonic() - start


def refused(path: Path, limits: Limits = LIMITS) -> tuple[str, float]:
    """The message extracting `path` fails with, and the seconds it took."""
    outcome, seconds = timed(lambda: extract_parts(path, limits))
    assert isinstance(outcome, ExtractionError), f"{path.name} extracted: {outcome!r}"[:300]
    return str(outcome), seconds


def rezip(source: Path, target: Path, replace: dict[str, bytes], level: int = 9) -> Path:
    """`source`'s entries copied into `target`, those named in `replace` (or new) with other bytes."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as new:
        for entry in old.infolist():
            if entry.filename not in replace:
                new.writestr(entry, old.read(entry))
        for name, data in replace.items():
            new.writestr(name, data)
    return target


def sheet_xml(rows: str) -> bytes:
    return f'<?xml version="1.0"?><worksheet xmlns="{SHEET_NS}"><sheetData>{rows}</sheetData></worksheet>'.encode()


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def flate(data: bytes) -> bytes:
    packed = zlib.compress(data, 9)
    return f"<</Length {len(packed)}/Filter/FlateDecode>>stream\n".encode() + packed + b"\nendstream"


def one_page_pdf(content: bytes, *more: bytes) -> bytes:
    return pdf(
        [
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 400 200]/Contents 4 0 R/Resources 5 0 R>>",
            flate(content),
            *(more or [b"<<>>"]),
        ]
    )


def paged_pdf(pages: int, per: int = 1_000, claimed: int | None = None) -> bytes:
    """A PDF 1.5 whose page tree holds `pages` empty pages under nodes of `per`, each node with its
    pages in one compressed object stream, indexed by a compressed xref stream: 100,000 pages in
    950 KB, the first thousand read without parsing the rest."""
    out = bytearray(b"%PDF-1.5\n")
    rows = [(0, 0, 65535)]  # xref stream rows: (1, offset, 0) a plain object, (2, stream, index) in a stream

    def plain(body: bytes) -> int:
        rows.append((1, len(out), 0))
        out.extend(f"{len(rows) - 1} 0 obj\n".encode() + body + b"\nendobj\n")
        return len(rows) - 1

    def stream(entries: dict, data: bytes) -> bytes:
        packed = zlib.compress(data, 9)
        return (
            f"<<{''.join(f'/{k} {v}' for k, v in entries.items())}/Length {len(packed)}/Filter/FlateDecode>>stream\n".encode()
            + packed
            + b"\nendstream"
        )

    nodes = [range(start, min(start + per, pages)) for start in range(0, pages, per)]
    first = 3  # objects 1 and 2: the catalog and the root of the page tree
    numbered, at = [], first
    for node in nodes:  # a node's number, then its pages'
        numbered.append((at, range(at + 1, at + 1 + len(node))))
        at += 1 + len(node)
    plain(b"<</Type/Catalog/Pages 2 0 R>>")
    kids = " ".join(f"{node} 0 R" for node, _ in numbered)
    plain(f"<</Type/Pages/Kids[{kids}]/Count {claimed or pages}/MediaBox[0 0 400 200]>>".encode())
    rows.extend([None] * (at - first))  # filled in below, once the object streams are numbered
    for node, children in numbered:
        objects = [
            (node, f"<</Type/Pages/Parent 2 0 R/Kids[{' '.join(f'{c} 0 R' for c in children)}]/Count {len(children)}>>")
        ]
        objects += [(c, f"<</Type/Page/Parent {node} 0 R>>") for c in children]
        offsets, body_at = [], 0
        for number, body in objects:
            offsets.append(f"{number} {body_at}")
            body_at += len(body) + 1
        header = " ".join(offsets) + "\n"
        data = (header + "\n".join(body for _, body in objects)).encode()
        objstm = len(rows)
        for index, (number, _) in enumerate(objects):
            rows[number] = (2, objstm, index)
        plain(stream({"Type": "/ObjStm", "N": len(objects), "First": len(header)}, data))
    xref_at = len(out)
    rows.append((1, xref_at, 0))
    table = b"".join(struct.pack(">BII", *row) for row in rows)
    out += f"{len(rows) - 1} 0 obj\n".encode()
    out += stream({"Type": "/XRef", "Size": len(rows), "W": "[1 4 4]", "Root": "1 0 R"}, table)
    out += f"\nendobj\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------- zip-based office files


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("office")
    make_docx(folder / "ok.docx", "A paragraph about the dataset.")
    make_xlsx(folder / "ok.xlsx")
    return folder


def test_a_docx_of_one_highly_compressible_entry_is_refused_from_its_central_directory(office, tmp_path):
    paragraphs = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 300_000  # 10 MB that deflate packs 500-fold
    with zipfile.ZipFile(office / "ok.docx") as original:
        document = original.read("word/document.xml")
    body = document.replace(b"<w:body>", b"<w:body>" + paragraphs, 1)
    bomb = rezip(office / "ok.docx", tmp_path / "bomb.docx", {"word/document.xml": body})
    assert bomb.stat().st_size < 100_000
    message, seconds = refused(bomb)
    assert message.startswith("'word/document.xml' expands") and "-fold, more than 100-fold" in message
    assert seconds < 5
    lying = tmp_path / "lying.docx"  # the central directory says 50 KB: zipfile reads no more
    lying.write_bytes(central_size(bomb.read_bytes(), "word/document.xml", 50_000))
    message, seconds = refused(lying)
    assert message.endswith("Bad CRC-32 for file 'word/document.xml'") and seconds < 5


def central_size(archive: bytes, name: str, size: int) -> bytes:
    """`archive` with the uncompressed size its central directory declares for `name` changed."""
    data = bytearray(archive)
    at = data.find(b"PK\x01\x02")
    while data[at + 46 : at + 46 + struct.unpack("<H", data[at + 28 : at + 30])[0]] != name.encode():
        at = data.find(b"PK\x01\x02", at + 4)
    data[at + 24 : at + 28] = struct.pack("<I", size)
    return bytes(data)


def test_office_files_over_the_size_and_entry_limits_are_refused(office, tmp_path):
    big = rezip(
        office / "ok.docx", tmp_path / "big.docx", {f"word/media/{n}.bin": os.urandom(400_000) for n in range(3)}
    )
    assert refused(big, Limits(expanded=1_000_000))[0] == "expands to more than 1 MB"
    many = rezip(office / "ok.docx", tmp_path / "many.pptx", {f"ppt/x{n}.xml": b"" for n in range(60)})
    assert refused(many, Limits(entries=50))[0] == "has more than 50 zip entries"
    assert extract_parts(big)[0].text == extract_parts(office / "ok.docx")[0].text  # under the defaults


def test_sheets_whose_far_cells_make_huge_tables_or_walks_are_refused_before_openpyxl_reads_them(office, tmp_path):
    def book(name: str, rows: str) -> Path:
        return rezip(office / "ok.xlsx", tmp_path / name, {"xl/worksheets/sheet1.xml": sheet_xml(rows)})

    first = '<row r="1"><c r="A1"><v>1</v></c></row>'
    corner = book("corner.xlsx", first + '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>')
    message, seconds = refused(corner)  # pandas' table: 17 billion cells (24 GB, then killed)
    assert message == "its sheets have more than 200,000 cells" and seconds < 5
    empty = book("empty.xlsx", first + "".join(f'<row r="{r}"><c r="XFD{r}"/></row>' for r in range(2, 1001)))
    message, seconds = refused(empty)  # openpyxl walks 16 million empty cells: 22 s
    assert message == "its sheets span more than 5,000,000 cells, empty ones included" and seconds < 5
    assert empty.stat().st_size < 20_000 and corner.stat().st_size < 20_000
    trailing = book(
        "trailing.xlsx", first + "".join(f'<row r="{r}"><c r="Z{r}" s="1"/></row>' for r in range(2, 30_001))
    )
    assert extract_parts(trailing)[0].rows == (("1",),)  # formatted empty cells past the data: read as before


def test_a_sheet_of_many_small_cells_is_refused_by_its_cell_count(office, tmp_path):
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}"><v>{r}</v></c>' for col in "ABCDEFGHIJ") + "</row>"
        for r in range(1, 30_001)
    )
    book = rezip(office / "ok.xlsx", tmp_path / "cells.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(rows)})
    message, seconds = refused(book)  # 300,000 cells: MarkItDown takes 33 s and 700 MB
    assert message == "its sheets have more than 200,000 cells" and seconds < 5


def biff2(cells: list[tuple[int, int, float]]) -> bytes:
    """An .xls as the oldest Excel wrote it (a bare BIFF2 stream, which xlrd still reads): numbers at (row, column)."""

    def record(code: int, data: bytes) -> bytes:
        return struct.pack("<HH", code, len(data)) + data

    numbers = b"".join(record(0x0003, struct.pack("<HH3sd", row, column, b"", value)) for row, column, value in cells)
    return record(0x0009, struct.pack("<HH", 2, 0x10)) + numbers + record(0x000A, b"")


def test_an_xls_whose_far_cell_makes_a_huge_table_is_refused(tmp_path):
    corner = tmp_path / "corner.xls"
    corner.write_bytes(biff2([(0, 0, 1.0), (16383, 255, 2.0)]))  # 53 bytes: 4 million cells, > 60 s and 1.7 GB
    message, seconds = refused(corner)
    assert message == "its sheets have more than 200,000 cells" and seconds < 5
    small = tmp_path / "small.xls"
    small.write_bytes(biff2([(0, 0, 1.0), (0, 1, 2.0), (1, 0, 3.0), (1, 1, 4.0)]))
    (sheet,) = extract_parts(small)
    assert (sheet.name, sheet.rows, sheet.total_rows) == ("Sheet 1", (("1", "2"), ("3", "4")), 1)


def pandas_rows(path: Path) -> tuple[list[list], int]:
    """The first sheet's rows as pandas gets them through openpyxl, and the cells openpyxl walked."""
    from openpyxl import load_workbook
    from pandas.io.excel._openpyxl import OpenpyxlReader

    sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    sheet.reset_dimensions()
    walked = sum(max(len(row), 1) for row in sheet.rows)
    reader = OpenpyxlReader(str(path))
    return reader.get_sheet_data(reader.get_sheet_by_index(0)), walked


ROW = st.tuples(
    st.one_of(st.none(), st.integers(1, 40)),  # the row's r, or none
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 30)), st.booleans()), max_size=6
    ),  # cells: column or none, valued?
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, max_size=8))
def test_the_counts_are_those_of_openpyxl_and_pandas(office, rows):
    from openpyxl.utils import get_column_letter as column

    xml = "".join(
        ("<row>" if r is None else f'<row r="{r}">')
        + "".join(
            ("<c" if c is None else f'<c r="{column(c)}{r or 1}"') + ("><v>1</v></c>" if valued else "/>")
            for c, valued in cells
        )
        + "</row>"
        for r, cells in rows
    )
    book = rezip(office / "ok.xlsx", office / "grid.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(xml)}, level=1)
    table, walked = pandas_rows(book)
    counted = extract._Sheets(Limits(cells=10**12, sheet_steps=10**12))
    parser = extract.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler = counted.start, counted.end
    parser.Parse(sheet_xml(xml), True)
    numbers, columns = [0], []  # each row's number and its cells' columns, as openpyxl places them
    for r, cells in rows:
        numbers.append(numbers[-1] + 1 if r is None else r)
        columns.append(
            list(itertools.accumulate(cells, lambda at, cell: at + 1 if cell[0] is None else cell[0], initial=0))[1:]
        )
    cells = len(table) * max(map(len, table)) if table else 0
    if all(a < b for a, b in itertools.pairwise(numbers)) and all(c == sorted(set(c)) for c in columns):
        assert counted.table == cells  # rows and cells in order: the same table
    assert counted.table >= cells and counted.walked >= walked  # else openpyxl drops some the count still holds


def test_entry_names_that_leave_the_folder_write_nothing(office, tmp_path):
    folder = tmp_path / "deep" / "er"
    folder.mkdir(parents=True)
    crafted = rezip(office / "ok.docx", folder / "escape.docx", {"../../escaped.txt": b"x", "/abs.txt": b"y"})
    assert "A paragraph about the dataset." in extract_parts(crafted)[0].text
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["deep", "er", "escape.docx"]


# ---------------------------------------------------------------- PDFs


def test_a_pdf_stream_of_millions_of_path_operators_is_refused(tmp_path):
    bomb = tmp_path / "paths.pdf"
    bomb.write_bytes(one_page_pdf(b"0 0 m 1 1 l S\n" * 400_000))  # 5.6 MB of operators: pdfminer takes ~9 s
    assert bomb.stat().st_size < 20_000
    message, seconds = refused(bomb)
    assert message.startswith("a stream expands") and message.endswith("-fold, more than 100-fold") and seconds < 5


def test_a_pdf_whose_streams_add_up_past_the_limit_is_refused(tmp_path):
    noisy = tmp_path / "noisy.pdf"  # operators with random coordinates: they compress only a few times
    noisy.write_bytes(
        one_page_pdf(b"".join(b"%d %d m S\n" % (n, int.from_bytes(os.urandom(3))) for n in range(60_000)))
    )
    assert refused(noisy, Limits(expanded=500_000))[0] == "its streams expand to more than 500,000 bytes"


def test_a_pdf_claiming_100000_pages_is_refused_past_the_page_limit(tmp_path):
    claimed = tmp_path / "pages.pdf"
    claimed.write_bytes(paged_pdf(100_000))
    assert claimed.stat().st_size < 1_000_000
    message, seconds = refused(claimed)  # reading every page: ~10 s
    assert message == "has more than 1,000 pages" and seconds < 5
    small = tmp_path / "small.pdf"
    small.write_bytes(paged_pdf(3, claimed=100_000))  # a count is only a claim
    assert [(p.kind, p.number) for p in extract_parts(small)] == [("page", 1), ("page", 2), ("page", 3)]


def test_a_pdf_object_that_refers_to_itself_ends_at_the_time_limit(tmp_path):
    loop = tmp_path / "loop.pdf"  # pdfminer resolves /Resources 5 0 R → 5 0 R → … for ever
    loop.write_bytes(one_page_pdf(b"BT (hi) Tj ET", b"5 0 R"))
    message, seconds = refused(loop, Limits(seconds=1.5))
    assert message == "over the 1.5 s extraction limit" and seconds < 4


# ---------------------------------------------------------------- text files, search pieces


def test_a_csv_larger_than_the_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.write(b"a,b\n1,2\n")
        out.truncate(60_000_000)  # sparse: 60 MB that take no disk
    message, seconds = refused(big)
    assert message == "is larger than 10 MB" and seconds < 2


def test_a_long_csv_is_searched_in_bounded_pieces_and_shown_as_before(tmp_path):
    folder = tmp_path / "files" / "t1"
    folder.mkdir(parents=True)
    with (folder / "long.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "city", "cases"])
        writer.writerows([f"2024-{n % 12 + 1:02d}-01", f"city {n}", n * 7] for n in range(40_000))
    knowledge = assemble(load(tmp_path))
    file = next(iter(knowledge.loaded.files.values()))
    docs = [d for d in documents.search_docs(knowledge) if d.page_title == "long.csv"]
    assert len(docs) > 50 and max(len(d.text) for d in docs) <= documents.PIECE
    assert "".join(d.text for d in docs) == file.parts[0].text == (folder / "long.csv").read_bytes().decode()
    assert {(d.anchor, d.label) for d in docs} == {("text", "全文")}
    page = BeautifulSoup(render.file_page(knowledge, file, lambda t: t), "html.parser")
    assert (
        len(page.select("tbody tr")) == 200
        and page.select_one(".citekb-note").get_text() == "仅显示前 200 行，共 40000 行。"
    )


MOST = 10  # pieces this short make the cutting itself, not copying the text, what takes the time


@pytest.mark.parametrize(
    "shape",
    [
        lambda n: "x" * n,  # no place to cut
        lambda n: ("\n" + "y" * (MOST + 3)) * (n // MOST),  # each line end at a window's start
        lambda n: (" " + "z" * (MOST - 2) + "\n") * (n // MOST),
        lambda n: ("\n" + " " * (MOST - 2) + "w") * (n // MOST),
        lambda n: "a b\n" * (n // 4),
    ],
)
def test_pieces_are_linear_in_time(shape):
    small = shape(1_000)
    assert "".join(documents.pieces(small, MOST)) == small and max(map(len, documents.pieces(small, MOST))) <= MOST

    def seconds(text: str) -> float:
        start = time.perf_counter()
        documents.pieces(text, MOST)
        return time.perf_counter() - start

    n = 200_000
    while seconds(shape(n)) < 0.05:
        n *= 2
    once, twice = shape(n), shape(2 * n)

    def ratio() -> float:  # the best of five runs of each, taken in turn: a busy machine slows some
        runs = [(seconds(once), seconds(twice)) for _ in range(5)]
        return min(b for _, b in runs) / min(a for a, _ in runs)

    assert any(ratio() <= 2.5 for _ in range(3))  # quadratic: 4 every time


def test_text_files_of_deep_nesting_and_huge_images_cost_nothing_to_read(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert extract_parts(deep) == [FilePart("text", 1, "[" * 100_000 + "]" * 100_000)]
    huge = tmp_path / "huge.png"  # a PNG header claiming 100,000 × 100,000 pixels: never decoded
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sIIBBBBB", 13, b"IHDR", 100_000, 100_000, 8, 2, 0, 0, 0))
    parts, seconds = timed(lambda: extract_parts(huge))
    assert parts == [] and seconds < 0.5


def test_deeply_nested_html_is_text_or_a_problem_never_a_crash(tmp_path):
    (tmp_path / "files").mkdir()
    nested = tmp_path / "files" / "nested.html"
    nested.write_text("<html><body>" + "<div>" * 50_000 + "deep text" + "</div>" * 50_000 + "</body></html>")
    (source, problems), seconds = timed(lambda: load_file(nested, tmp_path))
    assert "deep text" in "".join(p.text for p in source.parts) or problems[0].path == "files/nested.html"
    assert seconds < LIMITS.seconds + 2


def test_a_fifo_in_the_files_folder_is_never_read(tmp_path):
    folder = tmp_path / "files" / "t1"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")
    (folder / "ok.txt").write_text("fine", encoding="utf-8")
    loaded, seconds = timed(lambda: load(tmp_path))
    assert seconds < 5 and [f.name for f in loaded.files.values()] == ["ok.txt"]
    source, problems = load_file(folder / "pipe.csv", tmp_path)  # a FIFO put where a file was listed
    assert source.parts == [] and [str(p) for p in problems] == [
        "files/t1/pipe.csv: cannot extract the csv text (not a regular file); its page offers only the download"
    ]


# ---------------------------------------------------------------- the extraction process


def status(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent, or None when it is gone."""
    try:
        state, parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
    except (FileNotFoundError, ProcessLookupError):
        return None
    return state, int(parent)


def alive(pid: int) -> bool:
    """Whether `pid` is a process still running (a zombie has ended)."""
    found = status(pid)
    return found is not None and found[0] not in "ZX"


def children() -> set[int]:
    """This process's children, running or not yet reaped."""
    return {
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and (status(int(p.name)) or ("", 0))[1] == os.getpid()
    }


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Installs `work` as the extractor of `.fake` files; returns a new such file to extract."""

    def install(work) -> Path:
        monkeypatch.setitem(extract.EXTRACTORS, ".fake", work)
        path = tmp_path / f"{os.urandom(6).hex()}.fake"
        path.write_bytes(os.urandom(16))
        return path

    return install


def test_a_hanging_extractor_is_killed_with_what_it_started(fake, tmp_path):
    def hang(path: Path) -> list[FilePart]:
        helper = subprocess.Popen(["sleep", "600"])
        (tmp_path / "pids").write_text(f"{os.getpid()} {helper.pid}")
        time.sleep(600)
        return []

    before = children()
    message, seconds = refused(fake(hang), Limits(seconds=1))
    assert message == "over the 1 s extraction limit" and seconds < 3
    child, helper = map(int, (tmp_path / "pids").read_text().split())
    deadline = time.monotonic() + 2
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child) and not alive(helper) and children() == before


def test_an_extraction_over_the_memory_limit_is_stopped(fake):
    def hungry(path: Path) -> list[FilePart]:
        return [FilePart("text", 1, str(len(bytearray(400_000_000))))]

    assert refused(fake(hungry), Limits(memory=200_000_000))[0] == "needs more than 200 MB of memory"
    assert extract_parts(fake(hungry))[0].text == "400000000"  # under the default


def test_a_memory_error_a_library_wraps_still_names_the_limit(fake):
    from markitdown._exceptions import FailedConversionAttempt, FileConversionException

    def wrapping(path: Path) -> list[FilePart]:  # as MarkItDown reports each converter that failed
        try:
            bytearray(400_000_000)
        except MemoryError:
            attempt = FailedConversionAttempt(converter=None, exc_info=sys.exc_info())
        raise FileConversionException(attempts=[attempt])

    assert refused(fake(wrapping), Limits(memory=200_000_000))[0] == "needs more than 200 MB of memory"


LEAKY = """
import sys
from pathlib import Path
from build_tools import extract
from build_tools.models import FilePart

class Dropped:
    def __del__(self):
        raise MemoryError

def leaky(path):
    Dropped()  # finalized at once: its error can only be printed
    sys.stderr.flush()  # the child ends by os._exit, which would drop what is buffered
    return [FilePart("text", 1, "正文")]

extract.EXTRACTORS[".fake"] = leaky
path = Path(sys.argv[1])
path.write_bytes(b"x")
print(extract.extract_parts(path)[0].text)
"""


def test_an_error_python_can_only_print_stays_out_of_the_log(tmp_path):
    """A finalizer's MemoryError under the cap (bs4, a 400,000-paragraph docx) was printed to the
    build's log as "Exception ignored in … Traceback", naming no file; the file's problem says why.
    In a process of its own: pytest collects such errors itself."""
    done = subprocess.run(
        [sys.executable, "-c", LEAKY, str(tmp_path / "a.fake")], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "正文"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_extraction_works_from_a_thread_as_mkdocs_serve_builds(tmp_path):
    pdf_file = tmp_path / "three.pdf"
    pdf_file.write_bytes(paged_pdf(3))
    found = []
    worker = threading.Thread(target=lambda: found.append(extract_parts(pdf_file, Limits(seconds=20))))
    worker.start()
    worker.join()
    assert [p.number for p in found[0]] == [1, 2, 3]


def test_failures_are_remembered_for_the_same_bytes_and_limits_only(fake, tmp_path):
    def failing(path: Path) -> list[FilePart]:
        with (tmp_path / "calls").open("a") as calls:
            calls.write("x")
        raise ValueError("no table here\nsecond line")

    path = fake(failing)
    assert [refused(path)[0] for _ in range(3)] == ["no table here"] * 3
    assert (tmp_path / "calls").read_text() == "x"  # read once
    text = tmp_path / "short.txt"
    text.write_text("twelve chars", encoding="utf-8")
    assert refused(text, Limits(text=5))[0] == "is larger than 5 bytes"
    assert extract_parts(text) == [FilePart("text", 1, "twelve chars")]  # not the failure under other limits


@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGTERM])
def test_a_process_that_dies_without_an_answer_says_how_and_is_not_remembered(fake, ending):
    path = fake(lambda path: os.kill(os.getpid(), ending))
    remembered = len(extract._extracted)
    with pytest.raises(
        ProcessDied, match=rf"^the extraction process ended without an answer \(signal {ending.name}\)$"
    ):
        extract_parts(path)
    assert len(extract._extracted) == remembered


def test_parts_come_back_from_the_process_exactly(fake):
    odd = "\ud800 lone surrogate, NUL \x00, \u2028, 😀, <b>" * 3
    parts = [
        FilePart("sheet", 1, odd, name="表 1", rows=(("a", odd), ("1", "")), total_rows=1),
        FilePart("page", 2, ""),
    ]
    assert extract_parts(fake(lambda path: parts)) == parts


def test_a_file_over_a_limit_is_a_problem_naming_it_and_its_page_offers_the_download(tmp_path):
    folder = tmp_path / "files" / "t1"
    folder.mkdir(parents=True)
    (folder / "paths.pdf").write_bytes(one_page_pdf(b"0 0 m 1 1 l S\n" * 200_000))
    loaded = load(tmp_path)
    (problem,) = loaded.problems
    assert problem.path == "files/t1/paths.pdf" and problem.message.startswith(
        "cannot extract the pdf text (a stream expands"
    )
    page = render.file_page(assemble(loaded), loaded.files["files/t1/paths.pdf"], lambda target: target)
    assert "download=" in page and "没有提取到文字" in page
