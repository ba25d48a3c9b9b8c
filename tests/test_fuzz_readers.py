"""Issue 26, point 6: the readers under property-based fuzzing (Hypothesis). Whatever the corpus JSON,
page, report or file name holds (any code point: surrogates, NUL, controls, direction marks; any
nesting), no exception escapes, only problems; every string read encodes as UTF-8; a corpus reads
as the pipeline's loader reads it, so its chunks are the retriever's; citation spans lie in the text,
in order and apart."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from build_tools.chunk import chunk_text
from build_tools.cite.parse import parse_citations, rag_references
from build_tools.corpus_json import read_corpus
from build_tools.ingest import Loaded, load, load_page, load_report
from build_tools.models import Problem

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SURROGATE = re.compile("[\ud800-\udfff]")
ODD = "\x00\x01\x1b\x7f\x85\u200b\u200e\u200f\u202a\u202e\u2066\u2028\u2029\ufeff\ufffe\uffff\ud800\udfff\U0010ffff"
# Lists of characters joined (st.text draws its alphabet's rarer branches far less often).
any_text = st.lists(st.sampled_from(ODD) | st.characters(categories=["Cs"]) | st.characters(), max_size=30).map("".join)
file_text = st.lists(st.sampled_from(ODD.replace("\ud800\udfff", "")) | st.characters(codec="utf-8"), max_size=60).map(
    "".join
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
documents = st.dictionaries(
    st.sampled_from(["title", "content", "page_body", "url", "other"]) | any_text, json_values | any_text, max_size=5
)
corpora = (
    st.lists(documents | json_values, max_size=5).flatmap(
        lambda docs: st.sampled_from([docs, {"documents": docs}, {"documents": docs, "x": 1}])
    )
    | json_values
)


def strings(value: object):
    """Every str inside a dataclass, list, tuple or dict."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value):
        for item in dataclasses.fields(value):
            if item.name != "disk":  # FileSource.disk: the path on disk, for the file system only
                yield from strings(getattr(value, item.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def assert_utf8(*values: object) -> None:
    for text in (s for value in values for s in strings(value)):
        text.encode("utf-8")


def pipeline_text(doc: object) -> str | None:
    """The text the pipeline's loader (rag_tool.load_documents) chunks for one item, or None where
    it fails: `doc.get` on what is not an object, a text that is not a string under no title (no
    text at all, `null` or `[]`, is the empty document)."""
    if not isinstance(doc, dict):
        return None
    title = doc.get("title", "")
    content = doc.get("content", "") or doc.get("page_body", "")
    text = f"{title}\n\n{content}" if title else content or ""
    return text if isinstance(text, str) else None


@FUZZ
@given(corpora, st.booleans())
def test_a_corpus_reads_as_the_pipeline_reads_it(data, ascii_only):
    root = Path(tempfile.mkdtemp())
    try:
        path = root / "c.json"
        try:
            written = json.dumps(data, ensure_ascii=ascii_only)
            path.write_bytes(written.encode("utf-8"))
        except (UnicodeEncodeError, RecursionError, ValueError):
            assume(False)  # a surrogate cannot be written raw: ascii_only covers it
        entries, problems = read_corpus(path, root)
    finally:
        shutil.rmtree(root)
    assert all(isinstance(p, Problem) and p.path == "c.json" for p in problems)
    assert_utf8(entries, problems)
    data = json.loads(written)  # what the pipeline reads (a surrogate pair written escaped is one character)
    docs = data if isinstance(data, list) else data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        assert entries == [] and problems
        return
    assert len(entries) == len(docs)
    for doc, entry in zip(docs, entries):
        expected = pipeline_text(doc)
        if expected is None or entry is None:  # unusable where the pipeline fails (or nests > 100 deep)
            assert entry is None
            continue
        assert entry.text == SURROGATE.sub("\ufffd", expected)
        assert [(c.start, c.end) for c in chunk_text(entry.text)] == [(c.start, c.end) for c in chunk_text(expected)]


@FUZZ
@given(st.binary(max_size=80) | file_text.map(lambda t: t.encode("utf-8")))
def test_any_bytes_as_a_corpus_a_page_or_a_report_are_problems_at_most(data):
    root = Path(tempfile.mkdtemp())
    try:
        for relative in ("corpora/c.json", "pages/p.txt", "reports/r/report.yaml", "reports/r/final_report.md"):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(data)
        loaded = load(root)
    finally:
        shutil.rmtree(root)
    assert_utf8(loaded)
    assert all(isinstance(p, Problem) for p in loaded.problems)


NOT_RAW_IN_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")  # refused raw, or line breaks to YAML
header_values = st.tuples(
    file_text | st.integers(),
    st.dictionaries(
        st.sampled_from(["kind", "origin", "slug", "retrieved"]) | file_text,
        file_text | st.integers() | st.lists(file_text, max_size=3),
        max_size=3,
    ),
).map(lambda pair: {**pair[1], "title": pair[0]})


@FUZZ
@given(header_values, file_text, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_a_page_keeps_its_body_verbatim_or_says_why_not(header, body, newline, bom):
    """A header written as JSON (which is YAML; what YAML refuses raw, escaped) with a title, then
    any body: read, the body verbatim."""
    yaml = NOT_RAW_IN_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(header, ensure_ascii=False))
    lines = ["---", yaml, "---", ""]
    root = Path(tempfile.mkdtemp())
    try:
        (root / "p.txt").write_bytes((("\ufeff" if bom else "") + newline.join(lines) + body).encode("utf-8"))
        source, problems = load_page(root / "p.txt", root)
    finally:
        shutil.rmtree(root)
    assert_utf8(source, problems)
    assert all(p.path == "p.txt" and (p.line is None or p.line >= 1) for p in problems)
    title = str(header.get("title") or "")
    shows = any(not char.isspace() and unicodedata.category(char) != "Cf" for char in title)  # not zero-width only
    if shows and body.strip():
        assert problems == [] and source.body == body and source.title == str(header["title"]).strip()
    else:
        assert source is None and problems


@FUZZ
@given(file_text, file_text, st.sampled_from(["\n", "\r\n"]))
def test_a_report_folder_loads_or_says_why_not(meta, report, newline):
    root = Path(tempfile.mkdtemp())
    try:
        folder = root / "reports" / "r"
        folder.mkdir(parents=True)
        (folder / "report.yaml").write_bytes(meta.replace("\n", newline).encode("utf-8"))
        (folder / "final_report.md").write_bytes(f"## Report{newline}{report}".encode())
        loaded, problems = load_report(folder, root)
    finally:
        shutil.rmtree(root)
    assert_utf8(loaded, problems)
    assert loaded is not None or problems
    if loaded is not None:
        assert loaded.final == "\n".join(report.splitlines()).strip("\n")


@FUZZ
@given(
    any_text
    | st.lists(st.sampled_from(["[", "]", "long_context:", '"', "chunk ", "1", ";", ",", "\n", " "]), max_size=40).map(
        "".join
    )
)
def test_citations_lie_in_the_text_in_order_and_apart(text):
    found = parse_citations(text)
    spans = sorted({(c.start, c.end) for c in found})
    for (start, end), following in zip(spans, spans[1:] + [(len(text), len(text))]):
        assert 0 <= start < end <= following[0]
    assert all(text[c.start : c.end] == c.raw for c in found)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rag_references(text).items())


names = st.binary(min_size=1, max_size=12).filter(
    lambda n: b"/" not in n and b"\x00" not in n and n not in (b".", b"..")
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(st.sampled_from(["files/t", "files", "pages", "corpora/t", "reports"]), names, names), max_size=6
    )
)
def test_any_file_names_are_read_and_shown_as_utf8(entries):
    root = Path(tempfile.mkdtemp())
    try:
        for folder, name, inner in entries:
            path = os.path.join(os.fsencode(root / folder), name)
            if os.path.isfile(os.path.dirname(path)):
                continue  # `files/t` made a file by an entry before (`files`, `t`): no folder of that name
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if folder == "reports":
                os.makedirs(path, exist_ok=True)
                if os.path.isdir(path):
                    with open(os.path.join(path, b"final_report.md"), "wb") as file:
                        file.write(b"# r\n")
                continue
            if not os.path.exists(path):
                with open(path, "wb") as file:
                    file.write(b"[]" if folder.startswith("corpora") else b"---\ntitle: t\n---\nbody\n" + inner)
        loaded: Loaded = load(root)
    finally:
        shutil.rmtree(root)
    assert_utf8(loaded)
    assert len({f.slug for f in loaded.files.values()}) == len(loaded.files)
