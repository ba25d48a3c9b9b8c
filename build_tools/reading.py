"""Reading the knowledge-base folder safely: which entries count (hidden, temporary and outside
files are not read), bytes and text within limits, names shown escaped, slugs."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Container
from pathlib import Path

from .models import Problem

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


MAX_TEXT = 256 << 20  # bytes of a page, corpus or report file (a sparse file can claim terabytes)


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


def read_file(path: Path, limit: int | None = None) -> bytes | None:
    """A regular file's bytes, at most `limit` + 1 of them (more than `limit`: too large, and not
    read past it); None for what is no regular file: it is opened without waiting (a pipe would
    block, a device never end) and refused. Raises OSError (FileNotFoundError where there is none)."""
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read() if limit is None else file.read(limit + 1)


def read_bytes(path: Path, root: Path, limit: int | None = None) -> tuple[bytes | None, Problem | None]:
    """A file's bytes (at most `limit`: a larger file is a Problem, and is not read past it), or a
    Problem: a file removed between listing and reading (an import running beside the build), one
    that is no regular file (`read_file`) or unreadable is reported, never a traceback."""
    where = relative(path, root)
    try:
        data = read_file(path, limit)
    except FileNotFoundError:
        return None, Problem(where, "no such file (removed while the knowledge base was being read?)")
    except OSError as error:
        return None, Problem(where, f"cannot read: {error.strerror or error}")
    if data is None:
        return None, Problem(where, _NOT_A_FILE)
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
