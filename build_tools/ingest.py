"""Stage 1: read the knowledge-base folder into sources, corpora, task files and reports.

Layout (all optional, relative to the knowledge-base root, `sources/` by default):

    pages/**/*.txt     one hand-added source: a YAML header between `---` lines, then the body
    corpora/**/*.json  a pipeline corpus (`[{title, content | page_body, url}, ...]` or
                       `{"documents": [...]}`); each item is a source
    files/<task>/*     files uploaded with a task (PDF, office files, images, ...), cited as [文档: …]/[图片: …]
    reports/<slug>/    one report: `report.yaml` plus the pipeline's report file(s)

Bad input never stops the others from loading: every defect becomes a `Problem` naming the file.
Hidden and temporary files are not read; links that leave the knowledge-base folder are refused
(a Problem naming the link): nothing outside it is ever published.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cite.resolve import file_key
from .extract import ExtractionError, extract_parts
from .messages import REASONS, RUN_TITLE, Reason
from .models import Corpus, FileSource, Problem, Report, Source
from .paths import published_as_text
from .report_text import (  # the report files' formats: the names importers used from here still work
    header_fields,  # noqa: F401
    is_comparison,  # noqa: F401
    merge_report_file,
    own_title,
    parse_comparison,  # noqa: F401
    parse_report_markdown,  # noqa: F401
    run_title,
    sections_between_rules,  # noqa: F401
)

FILE_KINDS = {  # what a file page shows: an image or video itself, the text of the others (extract.py)
    ".pdf": "pdf",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xls": "xlsx",
    ".docx": "docx",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".md": "text",
    ".txt": "text",
    ".json": "text",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".svg": "image",
    ".mp4": "video",
    ".webm": "video",
    ".mov": "video",
}
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 80  # a slug is a folder name in the site; long ones are cut and keep a hash of the whole
RESERVED_SLUGS = frozenset({"index"})  # sources/index.md and reports/index.md are the index pages
# Hidden files, editor and download temporaries, and the importer's own `.name.XXXXXXXX.tmp`
# (lock.write_atomic): half-written or stray files are never read, so never published.
IGNORED_PREFIXES = (".", "~")
IGNORED_SUFFIXES = ("~", ".tmp", ".part", ".swp", ".crdownload")
_OUTSIDE = "a link to outside the knowledge-base folder: not read, not published"
_NOT_A_FILE = "not a file or a folder (a pipe, a socket or a device): not read"
_UNSHOWN_NAME = "the name is not UTF-8 text or holds control characters: read and published with them escaped"
PAGES_CORPUS = "pages"  # the corpus a report names to cite the hand-added pages (pages/*.txt)
MAX_METADATA = 64 * 1024  # bytes of a report.yaml or a page's YAML header
INLINE_IMAGE = 1 << 20  # bytes of an image published as text (an SVG) that its page shows from the knowledge base
MAX_TEXT = 256 << 20  # bytes of a page, corpus or report file (a sparse file can claim terabytes)
MAX_LIST = 100  # items of a list value in metadata
MAX_DEPTH = 3  # mapping → list → scalar
MAX_NUMBER = 4300  # characters of an integer in metadata: Python prints none longer (sys.get_int_max_str_digits)


@dataclass
class Loaded:
    """Everything read from a knowledge-base folder, before citations are resolved."""

    root: Path
    sources: dict[str, Source] = field(default_factory=dict)
    corpora: dict[str, Corpus] = field(default_factory=dict)
    files: dict[str, FileSource] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def files_in(self, folder: str) -> list[FileSource]:
        """The task files of a folder, named as written or as on disk (shown as files' paths are)."""
        folder = shown(folder)
        return [f for path, f in self.files.items() if path.rsplit("/", 1)[0] == folder]


def short_hash(text: str, length: int = 10) -> str:
    """A stable short hash of any str, a name Python read from disk undecoded included
    (surrogatepass: every code point has bytes; a valid text hashes as its UTF-8)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def slugify(text: str) -> str:
    slug = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")
    return slug if len(slug) <= MAX_SLUG else f"{slug[: MAX_SLUG - 11].rstrip('-')}-{short_hash(slug)}"


def free_slug(slug: str, where: str, taken: Container[str]) -> str:
    """`slug`, or when another input (or an index page) has it, `slug-<hash of where>`: two inputs
    whose names slug alike (`Report 1`, `report-1`) both keep a page, the same one every build."""
    while slug in taken or slug in RESERVED_SLUGS:
        slug = f"{slug}-{short_hash(where, 6)}"
    return slug


# What a name may not show as is: the bytes of a name that is not UTF-8 (Python reads them as lone
# surrogates, U+DC80–U+DCFF), other lone surrogates, control characters (a line break or an escape
# sequence in a log line), line and paragraph separators, and the bidirectional embeddings,
# overrides and isolates that make `gpj.exe` read as `exe.jpg`.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shown(name: str) -> str:
    """A name as it can be shown and written anywhere: undecodable bytes as `\\xb1`, control and
    direction characters as `\\x1b`, `\\u202e`; any other name unchanged."""
    return _UNSHOWN.sub(_escaped, name)


def relative(path: Path, root: Path) -> str:
    """`path` from `root`, as shown (`shown`): what problems, origins and pages name it by."""
    return shown(path.relative_to(root).as_posix())


def ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, is in the folder `root` (already resolved)."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # RuntimeError: a loop of links
        return False


def folder_entries(folder: Path, root: Path, problems: list[Problem]) -> list[Path]:
    """A folder's entries in sorted order, without ignored names and without links that leave the
    knowledge base (each is a Problem naming the link). A folder removed meanwhile has none. A name
    that is not UTF-8 text, or holds control characters, is read and published under its shown
    form (`shown`), and is a Problem."""
    try:
        children = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        problems.append(Problem(relative(folder, root), f"cannot list the folder: {error.strerror or error}"))
        return []
    kept = []
    for path in children:
        if ignored(path.name):
            continue
        try:
            outside = path.is_symlink() and not inside(path, root)
        except OSError as error:  # a path longer than the system looks up
            problems.append(Problem(relative(path, root), f"cannot read: {error.strerror or error}"))
            continue
        if outside:
            problems.append(Problem(relative(path, root), _OUTSIDE))
            continue
        if shown(path.name) != path.name:
            problems.append(Problem(relative(path, root), _UNSHOWN_NAME))
        kept.append(path)
    return kept


def _stat(path: Path, root: Path, problems: list[Problem]) -> os.stat_result | None:
    """What `path` is (links followed), or None when it is gone or a loop of links; a name the
    system cannot look up (too long, too deep) is a Problem."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno != errno.ELOOP:
            problems.append(Problem(relative(path, root), f"cannot read: {error.strerror or error}"))
        return None


def files_under(folder: Path, root: Path, problems: list[Problem]) -> list[Path]:
    """Every file below `folder` (as `folder_entries` keeps them), in sorted order; a folder reached
    twice through links is read once. Walked with a list, not recursion: a tree 10,000 folders
    deep is read like a wide one."""
    found: list[Path] = []
    if not readable_folder(folder, root, problems):
        return found
    seen: set[tuple[int, int]] = set()
    waiting = [folder]
    while waiting:
        path = waiting.pop()
        info = _stat(path, root, problems)
        if info is None:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append(path)
        elif not stat.S_ISDIR(info.st_mode):
            problems.append(Problem(relative(path, root), _NOT_A_FILE))
        elif (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            waiting.extend(reversed(folder_entries(path, root, problems)))
    return found


def readable_folder(folder: Path, root: Path, problems: list[Problem]) -> bool:
    """Whether a top-level folder (`pages/`, `reports/`…) is there to read; a link to outside is a Problem."""
    if folder.is_symlink() and not inside(folder, root):
        problems.append(Problem(relative(folder, root), _OUTSIDE))
        return False
    return folder.is_dir()


def read_bytes(path: Path, root: Path, limit: int | None = None) -> tuple[bytes | None, Problem | None]:
    """A file's bytes (at most `limit`: a larger file is a Problem, and is not read past it), or a
    Problem: a file removed between listing and reading (an import running beside the build), one
    that is no regular file (a pipe would block the build: opened without waiting, then refused)
    or unreadable is reported, never a traceback."""
    where = relative(path, root)
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None, Problem(where, _NOT_A_FILE)
            data = file.read() if limit is None else file.read(limit + 1)
    except FileNotFoundError:
        return None, Problem(where, "no such file (removed while the knowledge base was being read?)")
    except OSError as error:
        return None, Problem(where, f"cannot read: {error.strerror or error}")
    if limit is not None and len(data) > limit:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
        return None, Problem(where, f"larger than {size}: not read")
    return data, None


def decoded(data: bytes, where: str) -> tuple[str | None, Problem | None]:
    """UTF-8 text (BOM dropped), or a Problem saying which line holds the bad bytes."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, Problem(where, f"not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})", line)


def read_text(path: Path, root: Path, limit: int = MAX_TEXT) -> tuple[str | None, Problem | None]:
    """UTF-8 text of a file (BOM dropped), or a Problem saying which line holds the bad bytes."""
    data, problem = read_bytes(path, root, limit)
    if problem:
        return None, problem
    return decoded(data, relative(path, root))


_HEADER_OPEN = re.compile(r"---\r?\n")
_HEADER_CLOSE = re.compile(r"\n---(?:\r?\n|\Z)")


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(YAML header or None, body, line number where the body starts); the body is kept verbatim.
    The `---` lines may end in CRLF (a file saved on Windows), the header's lines too."""
    opening = _HEADER_OPEN.match(text)
    if not opening:
        return None, text, 1
    closing = _HEADER_CLOSE.search(text, opening.end() - 1)
    if not closing:
        return None, text, 1
    header = text[opening.end() : closing.start() + 1]
    return header, text[closing.end() :], header.count("\n") + 3


def _unbounded(text: str) -> tuple[str, yaml.Mark] | None:
    """Why a YAML text may not be composed (and where), or None: aliases (`*name`: 351 bytes of
    nested aliases expand to gigabytes) or nesting deeper than metadata needs. Read as a stream of
    parser events (libyaml), so nothing is built before it is known to be bounded."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return "aliases (*name) are not allowed", event.start_mark
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth >= MAX_DEPTH:
                return "nested too deeply", event.start_mark
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _named(name: str) -> str:
    """A metadata name as a problem quotes it: shown (a name may hold line breaks and escape
    sequences, "\\n" in double quotes) and at most 40 characters."""
    return shown(name[:40]) + ("…" if len(name) > 40 else "")


def _metadata_shape(node: yaml.Node) -> tuple[str, yaml.Mark] | None:
    """What is wrong with a metadata document's shape (and where), or None: a mapping of names to
    text (any scalar), to short lists of text, or to a reason `kb import` recorded
    (`{reason: CODE, …values}`)."""
    if not isinstance(node, yaml.MappingNode):
        return "expected a mapping of `name: value` lines", node.start_mark
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            return "a name must be plain text", key.start_mark
        if isinstance(value, yaml.MappingNode):
            parts = [part for pair in value.value for part in pair]
            recorded = any(name.value == "reason" and code.value in REASONS for name, code in value.value)
            if len(value.value) > MAX_LIST or not recorded or not all(isinstance(p, yaml.ScalarNode) for p in parts):
                return f"`{_named(key.value)}` must be text, or a reason as `kb import` records it", value.start_mark
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        if len(items) > MAX_LIST or not all(isinstance(item, yaml.ScalarNode) for item in items):
            return f"`{_named(key.value)}` must be text or a list of at most {MAX_LIST} texts", value.start_mark
    return None


def _unconstructible(node: yaml.Node) -> tuple[str, yaml.Mark] | None:
    """The first scalar of a (bounded) metadata document that is no value of its implicit type, or
    one no text can be made of, and why: `2025-13-45` (no such date), an integer of more than 4300
    digits (`0x…` and `1:2:…` too: Python refuses to print them)."""
    for key, value in node.value:  # the shape is known (`_metadata_shape`): names, then values
        if isinstance(value, yaml.MappingNode):
            values = [item for pair in value.value for item in pair]
        else:
            values = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for scalar in [key, *values]:
            if scalar.tag.endswith(":int") and len(scalar.value) > MAX_NUMBER:  # `1:2:…` costs quadratic time
                return f"a number longer than {MAX_NUMBER} characters", scalar.start_mark
            try:
                str(yaml.constructor.SafeConstructor().construct_object(scalar))
            except (ValueError, OverflowError) as error:
                return str(error), scalar.start_mark
    return None


def read_metadata(text: str, where: str, first_line: int = 1) -> tuple[dict | None, Problem | None]:
    """A report.yaml or a page's YAML header (whose first line is `first_line` of its file), bounded:
    at most MAX_METADATA bytes, no aliases, values text or short lists of text."""
    if len(text.encode("utf-8")) > MAX_METADATA:
        return None, Problem(where, f"YAML metadata larger than {MAX_METADATA // 1024} KiB", first_line)
    loader = yaml.CSafeLoader(text)
    try:
        unbounded = _unbounded(text)
        if unbounded:
            return None, Problem(where, f"invalid YAML metadata: {unbounded[0]}", first_line + unbounded[1].line)
        node = loader.get_single_node()
        if node is None:
            return {}, None
        wrong = _metadata_shape(node) or _unconstructible(node)
        if wrong:
            return None, Problem(where, f"invalid YAML metadata: {wrong[0]}", first_line + wrong[1].line)
        # Names as text: `1:`, `null:`, `2025-01-01:` are keys too, and mixed types cannot be sorted
        return {str(name): value for name, value in loader.construct_document(node).items()}, None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        message = getattr(error, "problem", None) or str(error)
        return None, Problem(where, f"invalid YAML metadata: {message}", first_line + mark.line if mark else first_line)
    finally:
        loader.dispose()


def load_page(path: Path, root: Path) -> tuple[Source | None, list[Problem]]:
    """A hand-added source: `---` YAML header (title required) then the scraped body."""
    where = relative(path, root)
    text, problem = read_text(path, root)
    if problem:
        return None, [problem]
    header, body, _ = split_front_matter(text)
    if header is None:
        return None, [Problem(where, "missing the YAML header (a `---` line, `title: …`, a `---` line)", 1)]
    meta, problem = read_metadata(header, where, 2)
    if problem:
        return None, [problem]
    if not str(meta.get("title") or "").strip():
        return None, [Problem(where, "the YAML header needs a non-empty `title:`", 2)]
    if not body.strip():
        return None, [Problem(where, "empty source: no text after the header")]
    title = str(meta.pop("title")).strip()
    slug = slugify(str(meta.pop("slug", "") or path.stem)) or f"p-{short_hash(where)}"
    source = Source(slug, title, body, [where], {k: str(v) for k, v in meta.items()})
    return source, []


_JSON_SPACE = re.compile(r"[ \t\r\n]*")  # the white space JSON allows; json.load refuses any other


def _skip_space(text: str, position: int) -> int:
    return _JSON_SPACE.match(text, position).end()


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _invalid(text: str, position: int, message: str) -> ValueError:
    """A ValueError("line N, column C: invalid JSON (…)") as json.load would fail at `position`."""
    error = json.JSONDecodeError(message, text, position)
    return ValueError(f"line {error.lineno}, column {error.colno}: invalid JSON ({error.msg})")


def _decode(decoder: json.JSONDecoder, text: str, position: int) -> tuple[object, int]:
    """One JSON value at `position` and where it ends; whatever json.load would fail on there is a
    ValueError("line N…"), never another exception: nesting deeper than Python's recursion limit,
    an integer of more than 4300 digits."""
    try:
        return decoder.raw_decode(text, position)
    except json.JSONDecodeError as error:
        raise ValueError(f"line {error.lineno}, column {error.colno}: invalid JSON ({error.msg})") from None
    except RecursionError:
        raise ValueError(
            f"line {_line_at(text, position)}: nested too deeply for the pipeline's JSON loader (json.load)"
        ) from None
    except ValueError:  # int() of more than sys.get_int_max_str_digits() digits
        raise ValueError(
            f"line {_line_at(text, position)}: a number of more than 4300 digits, which the pipeline's JSON loader refuses"
        ) from None


def iter_json_array(text: str, position: int = 0) -> tuple[list[tuple[int, object]], int]:
    """(line, item) for each element of the JSON array at `position` (after white space), and where
    the array ends; raises ValueError("line N: …") for anything else, and for anything json.load
    refuses (a missing or extra comma)."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, position)
    if not text.startswith("[", position):
        raise ValueError(f"line {_line_at(text, position)}: expected a JSON list of documents")
    position = _skip_space(text, position + 1)
    items: list[tuple[int, object]] = []
    line, counted = 1, 0  # newlines counted up to `counted` (counting from 0 each time was quadratic)
    if text.startswith("]", position):
        return items, position + 1
    while True:
        if position >= len(text):
            raise ValueError(f"line {_line_at(text, position)}: the list is not closed with ]")
        line += text.count("\n", counted, position)
        counted = position
        item, position = _decode(decoder, text, position)
        items.append((line, item))
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return items, position + 1
        if position >= len(text):
            raise ValueError(f"line {_line_at(text, position)}: the list is not closed with ]")
        if not text.startswith(",", position):
            raise _invalid(text, position, "Expecting ',' delimiter")
        position = _skip_space(text, position + 1)
        if text.startswith("]", position):
            raise _invalid(text, position, "Illegal trailing comma before end of array")


def _documents_array(text: str, position: int) -> tuple[int, int]:
    """For an object `{"documents": [...], …}` at `position`: where its list starts (the last
    `documents` key, as json.load keeps the last of duplicate keys) and where the object ends."""
    decoder = json.JSONDecoder()
    found = None
    position = _skip_space(text, position + 1)
    while not text.startswith("}", position):
        if not text.startswith('"', position):
            raise _invalid(text, position, "Expecting property name enclosed in double quotes")
        key, position = _decode(decoder, text, position)
        position = _skip_space(text, position)
        if not text.startswith(":", position):
            raise _invalid(text, position, "Expecting ':' delimiter")
        position = _skip_space(text, position + 1)
        if key == "documents":
            found = position
        _, position = _decode(decoder, text, position)
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
            if text.startswith("}", position):
                raise _invalid(text, position, "Illegal trailing comma before end of object")
        elif not text.startswith("}", position):
            raise _invalid(text, position, "Expecting ',' delimiter")
    if found is None:
        raise ValueError('line 1: expected a JSON list of documents or an object {"documents": [...]}')
    return found, position + 1


def corpus_items(text: str) -> list[tuple[int, object]]:
    """(line, item) for each document of a corpus file, in either layout the pipeline's loader
    (`rag_tool.load_documents`) accepts: a JSON list, or an object `{"documents": [...]}`."""
    start = _skip_space(text, 0)
    if text.startswith("{", start):
        array_at, end = _documents_array(text, start)
        items, _ = iter_json_array(text, array_at)
    else:
        items, end = iter_json_array(text, start)
    rest = _skip_space(text, end)
    if rest < len(text):
        raise ValueError(f"line {_line_at(text, rest)}: extra data after the documents")
    return items


def corpus_key(path: Path, root: Path) -> str:
    return relative(path, root).removesuffix(".json")


_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_NESTING = 100  # levels of a title or text that is not a string (the pipeline formats it with str())


def without_surrogates(text: str) -> tuple[str, int]:
    """`text` with each lone surrogate (JSON's "\\ud800", which Python loads but no file can hold
    as UTF-8) replaced by U+FFFD, one code point for one so that offsets stay the pipeline's, and
    how many there were."""
    return _SURROGATE.subn("\ufffd", text) if _SURROGATE.search(text) else (text, 0)


def _nested_deeper(value: object, limit: int) -> bool:
    """Whether a loaded JSON value nests lists and objects more than `limit` deep (walked with a
    list: str() of one nested 1,000 deep raises RecursionError)."""
    waiting = [(value, 0)]
    while waiting:
        value, depth = waiting.pop()
        if isinstance(value, (list, dict)):
            if depth >= limit:
                return True
            waiting.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _as_text(value: object) -> str | None:
    """A title, text or URL as the pipeline formats it (str() of what is not a string), or None
    when it nests deeper than MAX_NESTING."""
    if isinstance(value, str):
        return value
    return None if _nested_deeper(value, MAX_NESTING) else str(value)


def corpus_document(item: object, index: int, where: str, line: int) -> tuple[Source | None, list[Problem]]:
    """One corpus item read exactly as the pipeline's loader reads it, so its chunks are the
    retriever's: `content or page_body`, and the text `f"{title}\\n\\n{content}" if title else
    content` (a title or body that is not a string is formatted as Python formats it). Unusable
    only where the pipeline itself fails: an item that is not an object, or a body that is not
    text under no title (and a title or body nested deeper than MAX_NESTING). A lone surrogate
    becomes U+FFFD, and a Problem."""
    if not isinstance(item, dict):
        return None, [Problem(where, f"item {index} is not an object {{title, content/page_body, url}}", line)]
    title = item.get("title", "")
    content = item.get("content", "") or item.get("page_body", "")
    if title:
        title, body = _as_text(title), _as_text(content)
    elif content and not isinstance(content, str):
        return None, [Problem(where, f"item {index}: the text is not a string and there is no title", line)]
    else:
        title, body = "", content or ""
    if title is None or body is None:
        return None, [Problem(where, f"item {index}: a title or text nested more than {MAX_NESTING} levels deep", line)]
    problems = []
    url = item.get("url", "")
    url = _as_text(url) if url else ""
    if url is None:
        url = ""
        problems.append(Problem(where, f"item {index}: a url nested more than {MAX_NESTING} levels deep", line))
    fields = {"title": title, "text": body, "url": url}
    for name, value in fields.items():
        fields[name], replaced = without_surrogates(value)
        if replaced:
            problems.append(
                Problem(
                    where,
                    f"item {index}: its {name} holds {replaced} lone surrogate(s) (\\ud800…), each read as U+FFFD",
                    line,
                )
            )
    source = Source(f"lc-{short_hash(fields['title'])}", fields["title"], fields["text"], [f"{where}#{index}"])
    if fields["url"]:
        source.meta["origin"] = fields["url"]
    if not title and not body:
        problems.append(
            Problem(
                where, f"item {index} has neither a title nor text (the pipeline numbers it as an empty document)", line
            )
        )
    return source, problems


def origin_file(origin: str) -> str:
    """The file a source origin names: a corpus item's origin is `path#index`, a page's its path
    (which may hold a `#` itself)."""
    path, mark, index = origin.rpartition("#")
    return path if mark and index.isdigit() and path.endswith(".json") else origin


def read_corpus(path: Path, root: Path) -> tuple[list[Source | None], list[Problem]]:
    """A corpus file's documents by doc_index (None where an item is unusable), and its problems."""
    where = relative(path, root)
    data, problem = read_bytes(path, root, MAX_TEXT)
    if problem:
        return [], [problem]
    text, problem = decoded(data, where)
    if problem:
        return [], [problem]
    if not text.strip():
        return [], [Problem(where, "empty file: no JSON documents (the pipeline loads nothing from it)")]
    try:
        items = corpus_items(text)
    except ValueError as error:
        line = re.match(r"line (\d+)", str(error))
        return [], [Problem(where, str(error).split(": ", 1)[-1], int(line.group(1)) if line else None)]
    entries: list[Source | None] = []
    problems: list[Problem] = []
    if data.startswith(codecs.BOM_UTF8):
        problems.append(Problem(where, "starts with a byte-order mark, which the pipeline's loader refuses", 1))
    for index, (line, item) in enumerate(items):
        source, found = corpus_document(item, index, where, line)
        entries.append(source)
        problems.extend(found)
    if not items:
        problems.append(Problem(where, "empty corpus: the list has no documents"))
    return entries, problems


CorpusCache = dict[Path, tuple[tuple[int, int, int], list[Source | None], list[Problem]]]


def read_corpus_kept(path: Path, root: Path, kept: CorpusCache) -> tuple[list[Source | None], list[Problem]]:
    """`read_corpus`, kept while the file's modification time, size and inode stay the same (a
    serve rebuild after an edit elsewhere reads no corpus again; as MkDocs' own `--dirty`, it trusts
    modification times: a same-size rewrite within one tick of the file system's clock, a few
    milliseconds, would go unseen). Each call gets fresh Sources: `load` renames and merges them."""
    try:
        info = path.stat()
    except OSError:
        return read_corpus(path, root)
    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    if path not in kept or kept[path][0] != stamp:
        kept[path] = (stamp, *read_corpus(path, root))
    _, entries, problems = kept[path]
    return [Source(e.slug, e.title, e.body, list(e.origins), dict(e.meta)) if e else None for e in entries], list(
        problems
    )


def load_corpus(
    path: Path, root: Path, kept: CorpusCache | None = None
) -> tuple[Corpus | None, list[Source | None], list[Problem]]:
    entries, problems = read_corpus(path, root) if kept is None else read_corpus_kept(path, root, kept)
    if not entries and problems:
        return None, [], problems
    task = shown(path.parent.name) if path.parent != root / "corpora" else None
    return Corpus(corpus_key(path, root), task, [e.slug if e else "" for e in entries]), entries, problems


def load_file(path: Path, root: Path) -> tuple[FileSource, list[Problem]]:
    """A task file with the text the pipeline extracted from it; an unreadable one is still a file
    (its page offers the download) and a problem."""
    where = relative(path, root)
    kind = FILE_KINDS.get(path.suffix.lower(), "other")
    task = path.parent.name if path.parent != root / "files" else None
    source = FileSource(f"file-{short_hash(where)}", path.name, where, kind, task)
    try:
        source.parts = extract_parts(path)
    except ExtractionError as error:  # the library's error, or the limit the file is over
        reason = str(error)
    except OSError as error:  # removed or unreadable since it was listed
        reason = error.strerror or str(error)
    else:
        if kind == "image" and published_as_text(path.name):  # shown as a data: URI; a larger one is download-only
            source.inline, _ = read_bytes(path, root, INLINE_IMAGE)
        return source, []
    return source, [Problem(where, f"cannot extract the {kind} text ({reason}); its page offers only the download")]


def load_report(folder: Path, root: Path) -> tuple[Report | None, list[Problem]]:
    """One report folder: `report.yaml` (task, corpus, files, ...) and the pipeline's files."""
    where = relative(folder, root)
    problems: list[Problem] = []
    children = folder_entries(folder, root, problems)
    meta: dict = {}
    meta_path = folder / "report.yaml"
    if meta_path in children:
        text, problem = read_text(meta_path, root, MAX_METADATA)
        if text is not None:
            meta, problem = read_metadata(text, relative(meta_path, root))
        if problem:
            return None, [*problems, problem]
    parts: dict[str, str] = {}
    for path in children:
        if path.name == "report.yaml" or not path.is_file() or path.suffix not in (".txt", ".md"):
            continue
        text, problem = read_text(path, root)
        if problem:
            return None, [*problems, problem]
        merge_report_file(parts, path.name, text)
    if "final" not in parts:  # an empty final report is a run that wrote nothing: kept, counted as failed
        return None, [
            *problems,
            Problem(where, "no report text found (expected *_comparison.txt, final_report.md or a report .md)"),
        ]
    slug = slugify(folder.name) or f"r-{short_hash(where)}"
    task = str(meta.get("task") or parts.get("task") or "") or None
    query = str(meta.get("query") or parts.get("query", ""))
    heading = own_title(parts["final"], query)
    generated = {"generated": parts["generated"]} if parts.get("generated") else {}
    report = Report(
        slug=slug,
        title=str(
            meta.get("title") or run_title({**generated, **meta}, task) or heading or RUN_TITLE.format(task=task or "—")
        ),
        subtitle=heading,
        path=where,
        final=parts["final"],
        original=parts.get("original"),
        query=query,
        task=task,
        corpus=str(meta["corpus"]).removesuffix(".json") if meta.get("corpus") else None,
        files=str(meta["files"]) if meta.get("files") else (f"files/{task}" if task else None),
        meta={
            k: v if Reason.read(v) else str(v)
            for k, v in meta.items()
            if k not in ("title", "task", "corpus", "files", "query")
        },
    )
    if parts.get("generated"):
        report.meta.setdefault("generated", parts["generated"])
    if parts.get("summary"):
        report.meta.setdefault("summary", parts["summary"])
    return report, problems


class _SourceSlugs:
    """Slugs taken on `sources/`: source pages and task-file pages share the folder."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.files = {f.slug for f in loaded.files.values()}

    def __contains__(self, slug: object) -> bool:
        return slug in self.loaded.sources or slug in self.files


def _disambiguate(loaded: Loaded, source: Source, taken: _SourceSlugs) -> str:
    """Merge a duplicate document; a different one whose slug is taken gets its own (reported):
    nothing is dropped. Returns the slug the source is published under."""
    existing = loaded.sources.get(source.slug)
    if existing is not None and existing.title == source.title and existing.body == source.body:
        existing.origins.extend(source.origins)
        return existing.slug
    slug = free_slug(source.slug, source.origins[0], taken)
    if slug != source.slug:
        owner = existing.origins[0] if existing else "an index page"
        loaded.problems.append(
            Problem(source.origins[0], f"slug {source.slug!r} is taken by {owner}; published as sources/{slug}/")
        )
        source.slug = slug
    loaded.sources[slug] = source
    return slug


def _add_report(loaded: Loaded, report: Report) -> None:
    """Report folders whose names slug alike (`Report 1`, `report-1`, `report_1`) are all published:
    later ones in sorted order get a hash of their folder appended, and that is reported."""
    slug = free_slug(report.slug, report.path, loaded.reports)
    if slug != report.slug:
        owner = loaded.reports[report.slug].path if report.slug in loaded.reports else "the reports index"
        loaded.problems.append(
            Problem(
                report.path, f"its address reports/{report.slug}/ is taken by {owner}; published at reports/{slug}/"
            )
        )
        report.slug = slug
    loaded.reports[slug] = report


def _same_cited_name(loaded: Loaded) -> None:
    """Task files of one folder whose names a citation cannot tell apart (`Logo.png`, `logo.png`,
    NFC and NFD `café.png`): both are published, and a citation links to the first; reported."""
    first: dict[tuple[str, str], FileSource] = {}
    for file in loaded.files.values():
        key = (file.path.rsplit("/", 1)[0], file_key(file.name))
        if key in first:
            loaded.problems.append(
                Problem(
                    file.path, f"a citation cannot tell it from {first[key].path}, which citations of that name link to"
                )
            )
        else:
            first[key] = file


def _add_file(loaded: Loaded, file: FileSource, path: Path) -> None:
    """A task file under the name it is shown by (`shown`), its path on disk kept when that differs
    (what the site publishes); a file whose name shows as another's (`\\xb1.png` undecoded, and one
    named so literally) is kept too, at its path and a hash of its name on disk, and reported."""
    disk = path.relative_to(loaded.root).as_posix()
    file.name, file.task = shown(file.name), file.task and shown(file.task)
    if file.path != disk:
        file.disk = disk
    if file.path in loaded.files:
        shown_as = file.path
        file.path = f"{shown_as}#{short_hash(disk, 6)}"
        file.slug = f"file-{short_hash(file.path)}"
        loaded.problems.append(Problem(file.path, f"its name shows as that of {shown_as}; published as another file"))
    loaded.files[file.path] = file


def _add_corpus(loaded: Loaded, corpus: Corpus, path: Path) -> None:
    """A corpus under its key; one whose name shows as another's is kept under its key and a hash of
    its name on disk, and reported."""
    if corpus.key in loaded.corpora:
        shown_as = corpus.key
        corpus.key = f"{shown_as}#{short_hash(path.relative_to(loaded.root).as_posix(), 6)}"
        loaded.problems.append(Problem(corpus.key, f"its name shows as that of {shown_as}.json; cited as {corpus.key}"))
    loaded.corpora[corpus.key] = corpus


def load(root: Path, corpora: CorpusCache | None = None) -> Loaded:
    """Read a whole knowledge-base folder; a missing folder is an empty knowledge base. `corpora`
    (kept by `mkdocs serve`) holds the corpus files already read, and is trimmed to this read's."""
    root = root.resolve()
    loaded = Loaded(root)
    for path in files_under(root / "files", root, loaded.problems):
        file_source, problems = load_file(path, root)
        loaded.problems.extend(problems)
        _add_file(loaded, file_source, path)
    _same_cited_name(loaded)
    taken = _SourceSlugs(loaded)
    for path in files_under(root / "pages", root, loaded.problems):
        if path.suffix in (".txt", ".md"):
            source, problems = load_page(path, root)
            loaded.problems.extend(problems)
            if source:
                _disambiguate(loaded, source, taken)
    if loaded.sources:  # `corpus: pages` in a report.yaml: the hand-added pages, cited by title
        loaded.corpora[PAGES_CORPUS] = Corpus(PAGES_CORPUS, None, sorted(loaded.sources))
    corpus_docs: list[tuple[Corpus, list[Source | None], Path]] = []
    read: list[Path] = []
    for path in files_under(root / "corpora", root, loaded.problems):
        if path.suffix != ".json":
            continue
        read.append(path)
        corpus, entries, problems = load_corpus(path, root, corpora)
        loaded.problems.extend(problems)
        if corpus:
            corpus_docs.append((corpus, entries, path))
    if corpora is not None:
        for gone in set(corpora) - set(read):
            del corpora[gone]
    bodies_by_title: dict[str, set[str]] = {}
    for _, entries, _ in corpus_docs:
        for source in filter(None, entries):
            bodies_by_title.setdefault(source.title, set()).add(source.body)
    for corpus, entries, path in corpus_docs:
        for i, source in enumerate(entries):
            if source is None:
                continue
            if len(bodies_by_title[source.title]) > 1:
                source.slug = f"{source.slug}-{short_hash(source.body, 6)}"
            corpus.slugs[i] = _disambiguate(loaded, source, taken)
        _add_corpus(loaded, corpus, path)
    if readable_folder(root / "reports", root, loaded.problems):
        for folder in folder_entries(root / "reports", root, loaded.problems):
            if folder.is_dir():
                report, problems = load_report(folder, root)
                loaded.problems.extend(problems)
                if report:
                    _add_report(loaded, report)
    return loaded
