"""The chunk lock: which text each (source, chunk number) held when it was last accepted.

A re-scraped page can shift its chunks; old citations would then silently point at other text.
The lock records every chunk's content hash so the build can name each chunk that moved.

Also what keeps files whole: every file Citekb writes goes through `write_atomic`; its caches are
`seal`ed (a header with a checksum) so a damaged one is noticed and rebuilt, never trusted; and
writers into the knowledge-base folder take `folder_lock` on it, so two never interleave.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .models import Problem
from .reading import read_file

LOCK_NAME = "chunks.lock"
LOCK_VERSION = 1
MAX_LOCK = 256 << 20  # bytes of chunks.lock read (40,000 sources make about 20 MB)
_CHUNK_ID = re.compile(r"[0-9a-f]{1,64}")  # models.content_hash
TEMPORARY_SUFFIX = ".tmp"
# write_atomic's temporary files: `.` + target name + `.` + mkstemp's 8 random characters + `.tmp`
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


@dataclass(frozen=True)
class Drift:
    slug: str
    chunk: int
    locked: str
    current: str | None  # None: the chunk no longer exists

    def __str__(self) -> str:
        now = f"now {self.current}" if self.current else "no longer exists"
        return (
            f"source {self.slug!r} chunk {self.chunk} changed since it was locked "
            f"({self.locked} → {now}); citations of it may now point at other text. "
            "Check the source, then run `kb lock` to accept it."
        )


class CorruptLock(ValueError):
    """chunks.lock cannot be read; the message says why (drift cannot be checked until `kb lock`)."""


def parse_lock(data: bytes) -> dict[str, list[str]]:
    """The lock's chunk ids by source slug; raises CorruptLock for anything but a version-1 lock
    (a byte-order mark, which an editor may add, is accepted)."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CorruptLock("not a text file (not UTF-8)") from None
    except json.JSONDecodeError as error:
        raise CorruptLock(f"invalid JSON at line {error.lineno} ({error.msg})") from None
    except RecursionError:
        raise CorruptLock("invalid JSON (nested too deep)") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise CorruptLock("invalid JSON (a number too long to read)") from None
    if not isinstance(value, dict):
        raise CorruptLock('expected a JSON object {"version": 1, "sources": {...}}')
    if type(value.get("version")) is not int or value["version"] != LOCK_VERSION:  # `true` == 1 in Python
        raise CorruptLock(f"unknown version {value.get('version')!r} (this Citekb reads version {LOCK_VERSION})")
    sources = value.get("sources")
    if not isinstance(sources, dict):
        raise CorruptLock('"sources" must be an object of source slug → {"title", "chunks"}')
    locked = {}
    for slug, entry in sources.items():
        chunks = entry.get("chunks") if isinstance(entry, dict) else None
        if not isinstance(chunks, list) or not all(isinstance(c, str) and _CHUNK_ID.fullmatch(c) for c in chunks):
            raise CorruptLock(f'source {slug!r}: "chunks" must be a list of chunk hashes')
        locked[slug] = chunks
    return locked


def read_lock(path: Path) -> tuple[dict[str, list[str]], Problem | None]:
    """The lock's chunk ids (none when there is no lock yet), or a Problem naming chunks.lock. Read
    only if it is a file (a pipe would never end) and at most MAX_LOCK bytes of it."""
    try:
        data = read_file(path, MAX_LOCK)
    except FileNotFoundError:
        return {}, None
    except OSError as error:
        return {}, Problem(path.name, f"cannot read: {error.strerror or error}; drift is not checked")
    if data is None or len(data) > MAX_LOCK:
        why = "not a file" if data is None else f"larger than {MAX_LOCK >> 20} MiB"
        return {}, Problem(path.name, f"{why}; drift is not checked until `kb lock` rewrites it")
    try:
        return parse_lock(data), None
    except CorruptLock as error:
        return {}, Problem(path.name, f"{error}; drift is not checked until `kb lock` rewrites it")


def find_drift(locked: dict[str, list[str]], current: dict[str, list[str]]) -> list[Drift]:
    """Chunks whose number is locked but whose text changed (or vanished); new ones are fine."""
    drift: list[Drift] = []
    for slug, old_ids in sorted(locked.items()):
        new_ids = current.get(slug)
        if new_ids is None:
            continue  # a source that was removed is not cited through a changed chunk
        for index, old in enumerate(old_ids):
            new = new_ids[index] if index < len(new_ids) else None
            if new != old:
                drift.append(Drift(slug, index, old, new))
    return drift


@cache
def _umask() -> int:
    """The process umask (only readable by setting it; read once, before any writer thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so no reader ever sees half a file. The file gets
    the mode it had, or a new file's mode under the umask (mkstemp's own is 0600). An OSError names
    `path` (or the folder that could not be made), never the temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def remove_leftovers(root: Path) -> list[Path]:
    """Delete the temporary files a killed writer left below `root` (links not followed)."""
    removed = []
    for folder, _, names in os.walk(root):
        for name in names:
            if _TEMPORARY.match(name):
                path = Path(folder) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def write_lock(path: Path, current: dict[str, list[str]], titles: dict[str, str]) -> None:
    entries = {slug: {"title": titles.get(slug, ""), "chunks": ids} for slug, ids in sorted(current.items())}
    text = json.dumps({"version": LOCK_VERSION, "sources": entries}, ensure_ascii=False, indent=1) + "\n"
    write_atomic(path, text.encode("utf-8"))


class Damaged(ValueError):
    """A sealed file that is not whole, or not of this kind or format; the message says how."""


_SEAL = struct.Struct(">8sIQ32s")  # kind, format, payload length, sha256 of the payload


def seal(kind: bytes, version: int, payload: bytes) -> bytes:
    """A cache file's bytes: a header naming its kind and format, with the payload's length and
    sha256, then the payload. `unseal` gives the payload back only if all of them match."""
    return _SEAL.pack(kind, version, len(payload), hashlib.sha256(payload).digest()) + payload


def unseal(kind: bytes, version: int, data: bytes) -> memoryview:
    """The payload `seal` wrapped, checked before anything reads it (a cut, a flipped bit, another
    program's file or another format): raises Damaged saying what is wrong."""
    if len(data) < _SEAL.size:
        raise Damaged(f"{len(data)} bytes, shorter than the header")
    found_kind, found_version, length, digest = _SEAL.unpack_from(data)
    if found_kind != kind:
        raise Damaged("not this kind of cache file")
    if found_version != version:
        raise Damaged(f"format {found_version}, this Citekb writes {version}")
    payload = memoryview(data)[_SEAL.size :]  # not copied: a cache can be 100 MB
    if len(payload) != length:
        raise Damaged(f"{len(payload)} bytes of content where the header says {length}")
    if hashlib.sha256(payload).digest() != digest:
        raise Damaged("checksum mismatch")
    return payload


FOLDER_LOCK = ".citekb.lock"  # in the knowledge-base folder while a kb verb uses it; hidden, so never read
POLL = 0.05  # seconds between attempts while waiting for a folder's lock
WAIT = 300.0  # seconds a kb verb or a build waits for another that holds the folder (`kb … --wait`)


class FolderBusy(Exception):
    """Another process kept the folder locked for longer than the wait (the message names the folder)."""


@contextmanager
def folder_lock(
    root: Path, *, wait: float, shared: bool = False, note: Callable[[str], None] = lambda _: None
) -> Iterator[None]:
    """Hold the knowledge-base folder `root` (flock on FOLDER_LOCK in it): exclusively to write into
    it (`kb import`, `kb lock`), shared to read it whole. Another holder is waited for, up to `wait`
    seconds (said once through `note`), then FolderBusy. The lock file is removed by the last
    holder; whoever locked a file removed meanwhile tries again, so two never both hold the lock. A
    link in its place is never followed (the holder writes its pid into the file). A reader of a
    folder that cannot hold a lock file (read-only), or a file system without locks, goes on
    unlocked, with a note."""
    handle = _acquire(root / FOLDER_LOCK, shared, wait, note)
    if handle is None:
        yield
        return
    try:
        if not shared:
            with suppress(OSError):  # only for another's message: a full disk does not stop this holder
                os.ftruncate(handle, 0)
                os.write(handle, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # granted only to the last holder
            os.unlink(root / FOLDER_LOCK)
        except OSError:
            pass  # another holder goes on with it
        os.close(handle)


def _acquire(path: Path, shared: bool, wait: float, note: Callable[[str], None]) -> int | None:
    """An open, locked descriptor of `path` (which is still that file), or None to go on unlocked."""
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if not shared:
                raise
            note(f"{path.parent}: not locked for reading ({error.strerror}); going on without the lock")
            return None
        try:
            while not _try_lock(handle, shared):
                if time.monotonic() >= deadline:
                    raise FolderBusy(
                        f"{path.parent}: still in use by another process{_holder(handle)} after {wait:g} s; "
                        "try again when it has finished"
                    )
                if not said:
                    note(f"{path.parent} is in use by another process{_holder(handle)}; waiting up to {wait:g} s")
                    said = True
                time.sleep(POLL)
            if os.path.samestat(os.fstat(handle), os.lstat(path)):
                return handle
        except FileNotFoundError:
            pass  # its last holder removed it meanwhile: lock the file that is there now
        except OSError as error:
            os.close(handle)
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            note(f"{path.parent}: cannot be locked ({error.strerror}); going on without the lock")
            return None
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)


def _try_lock(handle: int, shared: bool) -> bool:
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(handle: int) -> str:
    """The lock's exclusive holder as written into the lock file, when there is one."""
    try:
        text = os.pread(handle, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""
