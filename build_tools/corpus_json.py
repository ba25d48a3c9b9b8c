"""A pipeline corpus file: its JSON array read item by item in linear time, each item a source."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

from .models import Problem, Source
from .reading import MAX_TEXT, decoded, read_bytes, relative, short_hash

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
    return source, problems  # neither title nor text is valid: the pipeline's one chunk "[Empty Document]"


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
