"""Each generated page's written output, kept between plain builds: a page whose key is unchanged
is written from here, neither its HTML nor the theme's template made again (most of a build's time
at 10,000 sources). The key is the plugin's (hooks/citekb_outputs.py): the page's fingerprint and
everything else that reaches its bytes; this module only keeps what is stored under it.

Entries are kept in packs, not a file each: every process that writes pages appends its entries
to a pack of its own, under a temporary name until the process is done with it (`close`), so a
build reads only packs whose writer finished. A file per page cost a cold build half its
page-writing time (ext4 looks for a new inode past the thousands the bench or the last build had
just freed: 1.2 ms a page at 1,000 sources, 0.1 ms appended to a pack, sealing included). Each entry is
sealed on its own (`lock.seal`): one cut or changed by anything is not used (the page is rendered
again), and a folder that cannot be written costs only the speed, said once. A build keeps only
the entries it used: a pack less than half of whose bytes are used has those copied into a new
pack and is removed, so a folder holds less than twice what it keeps, in at most MAX_PACKS packs;
only the last KEEP_FOLDERS knowledge-base folders keep theirs, so the cache never grows past a
few sites.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .lock import TEMPORARY_SUFFIX, Damaged, seal, unseal

FOLDER = ".cache/citekb/output"  # beside mkdocs.yml: a plain build empties its site_dir first
KIND, FORMAT = b"ckbpages", 2
PACK = ".pack"
MAX_PACKS = 8  # packs in a folder after a build (each build adds one per process that wrote pages)
KEEP_FOLDERS = 3  # knowledge-base folders whose pages are kept (a 10k base's are 350 MB)
IN_USE = 900  # seconds: a folder a build began using this recently is kept (that build may still read it)
_PACK_NAME = re.compile(r"[0-9]{20}-[0-9a-f]{8}-[0-9]+-[0-9]+\.pack")  # build (time, random), process, number
_FORMAT_1 = re.compile(r"[0-9a-f]{64}\.page")  # the first format's entries, a file each: removed by `finish`
RECORD = struct.Struct(">4s32sQ")  # an entry's head in a pack: a mark, the page's key, the sealed entry's length
MARK = b"ckbe"


@dataclass(frozen=True)
class Entry:
    """A page as the build wrote it, and what MkDocs kept of its Markdown for checking anchors
    after every page is written (`Page.present_anchor_ids`, `links_to_anchors` by target page)."""

    output: str
    anchors: list[str] | None
    links: dict[str, dict[str, str]] | None


def folder(config_dir: Path, root: Path) -> Path:
    """The folder of one knowledge-base folder's pages, beside the mkdocs.yml in `config_dir`."""
    return config_dir / FOLDER / hashlib.sha1(str(root.resolve()).encode("utf-8")).hexdigest()[:12]


def key(*parts: str) -> str:
    """A page's key from the texts that make its output (the caller's: no part may hold NUL)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def encode(entry: Entry) -> bytes:
    head = json.dumps({"anchors": entry.anchors, "links": entry.links}, ensure_ascii=True)
    return head.encode("ascii") + b"\n" + entry.output.encode("utf-8", "surrogatepass")


def decode(payload: bytes | memoryview, text: bool = True) -> Entry:
    """The entry `encode` wrote (without `text`, its output left out: ""); Damaged when it is not
    one (a sealed file of another shape)."""
    data = bytes(payload)
    head, newline, output = data.partition(b"\n")
    try:
        meta = json.loads(head)
        anchors, links = meta["anchors"], meta["links"]
        page = output.decode("utf-8", "surrogatepass") if text else ""
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise Damaged(f"not a page entry ({error})") from None
    if not newline or not _anchors(anchors) or not _links(links):
        raise Damaged("not a page entry")
    return Entry(page, anchors, links)


def _anchors(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _links(value: object) -> bool:
    return value is None or (
        isinstance(value, dict)
        and all(
            isinstance(links, dict) and all(isinstance(a, str) and isinstance(b, str) for a, b in links.items())
            for links in value.values()
        )
    )


@dataclass(frozen=True)
class Place:
    """Where a sealed entry is: its pack, the offset of its bytes in it, their length."""

    pack: str
    start: int
    length: int


def records(handle: int, pack: str) -> dict[str, Place]:
    """A pack's entries by key, from their heads alone, up to the first that is not whole (the
    rest of a pack cut short is not read)."""
    found: dict[str, Place] = {}
    size = os.fstat(handle).st_size
    at = 0
    while at + RECORD.size <= size:
        head = os.pread(handle, RECORD.size, at)
        if len(head) < RECORD.size:  # cut since it was measured
            break
        mark, digest, length = RECORD.unpack(head)
        start = at + RECORD.size
        if mark != MARK or length > size - start:
            break
        found[digest.hex()] = Place(pack, start, length)
        at = start + length
    return found


class PageOutputs:
    """One build's use of one knowledge-base folder's entries: `get` before a page renders, `put`
    once it is written (in whichever process writes it, each closing its pack when done), `finish`
    after the build (the entries it did not use dropped)."""

    def __init__(self, where: Path, note: Callable[[str], None]) -> None:
        self.folder = where
        self.note = note
        self.used: set[str] = set()
        self.damaged = 0  # entries found cut or changed: said once, at the end
        self.writable = True
        self.build = f"{time.time_ns():020d}-{secrets.token_hex(4)}"  # this build's packs, by any of its processes
        self.handles: dict[str, int] = {}  # the packs read, open from the first `get` to `finish`
        self.places: dict[str, Place] | None = None  # their entries, a later pack's over an earlier's
        self.writing: tuple[int, int, str] | None = None  # (process, file, pack name) of the pack being written
        self.written = 0  # packs this process has closed
        try:  # now, before a forked process writes pages too: a folder that cannot be made is said once
            where.mkdir(parents=True, exist_ok=True)
            os.utime(where)  # in use: `finish` in another build keeps it
        except OSError as error:
            self.cannot_write(OSError(error.errno, error.strerror, str(where)))

    def cannot_write(self, error: OSError) -> None:
        self.writable = False
        self.note(f"{error.filename}: cannot be written ({error.strerror}); every page is rendered by every build")

    def entries(self) -> dict[str, Place]:
        """The packs' entries, found at the first call: each pack held open until `finish` (one
        another build removes meanwhile is still read whole)."""
        if self.places is None:
            self.places = {}
            for name in self.packs():
                self.places.update(self.read(name))
        return self.places

    def read(self, name: str) -> dict[str, Place]:
        """A pack's entries (`records`), the pack held open until `finish`; none if it cannot be read."""
        try:
            handle = os.open(self.folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return {}
        self.handles[name] = handle
        try:
            return records(handle, name)
        except OSError:
            return {}

    def packs(self) -> list[str]:
        """The folder's packs, the oldest first."""
        try:
            return sorted(name for name in os.listdir(self.folder) if _PACK_NAME.fullmatch(name))
        except OSError:
            return []

    def get(self, page_key: str, text: bool = True) -> Entry | None:
        """The entry stored under the key, checked whole; None when there is none or it is damaged."""
        self.used.add(page_key)
        place = self.entries().get(page_key)
        if place is None:
            return None  # none (the first build, a page changed)
        try:
            data = os.pread(self.handles[place.pack], place.length, place.start)
            return decode(unseal(KIND, FORMAT, data), text)
        except (OSError, Damaged):
            self.damaged += 1
            return None

    def put(self, page_key: str, entry: Entry) -> None:
        if self.writable:
            sealed = seal(KIND, FORMAT, encode(entry))
            self.append(RECORD.pack(MARK, bytes.fromhex(page_key), len(sealed)), sealed)

    def append(self, *parts: bytes | memoryview) -> None:
        """Parts of records to this process's pack, begun by the first (a forked process begins its own)."""
        try:
            if self.writing is None or self.writing[0] != os.getpid():
                name = f"{self.build}-{os.getpid()}-{self.written}{PACK}"
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                self.writing = (os.getpid(), os.open(self.folder / f".{name}{TEMPORARY_SUFFIX}", flags, 0o666), name)
            for part in parts:
                _write_all(self.writing[1], part)
        except OSError as error:
            self.cannot_write(OSError(error.errno, error.strerror, str(self.folder)))

    def close(self) -> None:
        """This process's pack named, whole (the next build reads it); the next `put` begins another."""
        writing, self.writing = self.writing, None
        if writing is None or writing[0] != os.getpid():
            return  # none, or the process this one was forked from is writing it
        _, handle, name = writing
        self.written += 1
        try:
            os.close(handle)
            os.replace(self.folder / f".{name}{TEMPORARY_SUFFIX}", self.folder / name)
        except OSError as error:
            self.cannot_write(OSError(error.errno, error.strerror, str(self.folder / name)))

    def finish(self) -> None:
        """Keeps only the entries this build used (`keep_used`), in the packs it read and those it
        wrote (a pack another build wrote meanwhile is left alone); then the folders of all but the
        last KEEP_FOLDERS knowledge-base folders built from this mkdocs.yml go, unless a build began
        using one in the last IN_USE seconds."""
        self.close()
        if self.damaged:
            self.note(f"{self.folder}: {self.damaged} page output(s) damaged; rendered again")
        places = dict(self.entries())  # the packs of this build's start, open
        for name in self.packs():
            if name.startswith(self.build) and name not in self.handles:
                places.update(self.read(name))  # written by this build: after the others
        try:
            self.keep_used(places)
        finally:
            for handle in self.handles.values():
                os.close(handle)
            self.handles, self.places = {}, None
        self.remove_leftovers()
        self.forget_other_folders()

    def keep_used(self, places: dict[str, Place]) -> None:
        """From each open pack less than half of whose bytes were used (of `places`, the entries of
        the open packs), and from the smallest while more than MAX_PACKS would be left, the used
        entries copied to a new pack and the pack removed."""
        kept: dict[str, list[tuple[str, Place]]] = {name: [] for name in self.handles}
        for page_key in self.used & places.keys():
            kept[places[page_key].pack].append((page_key, places[page_key]))
        size = {name: _size(handle) for name, handle in self.handles.items()}
        moved = {name for name in self.handles if 2 * sum(RECORD.size + p.length for _, p in kept[name]) < size[name]}
        left = sorted((size[name], name) for name in self.handles if name not in moved)
        while left and len(left) > MAX_PACKS - 1:  # the new pack is one more
            moved.add(left.pop(0)[1])
        for name in sorted(moved) if self.writable else ():
            for page_key, place in sorted(kept[name], key=lambda item: item[1].start):
                try:
                    data = os.pread(self.handles[name], place.length, place.start)
                except OSError:
                    continue  # unreadable: rendered again by the next build
                self.append(RECORD.pack(MARK, bytes.fromhex(page_key), len(data)), data)
        self.close()
        for name in moved:
            if self.writable or not kept[name]:  # nothing used is removed before it is copied
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()

    def remove_leftovers(self) -> None:
        """The first format's entries, and packs left unfinished (their process stopped) over
        IN_USE seconds ago (a younger one may be another build's, still writing)."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            path = self.folder / name
            with contextlib.suppress(OSError):
                if _FORMAT_1.fullmatch(name) or (
                    name.startswith(".")
                    and name.endswith(PACK + TEMPORARY_SUFFIX)
                    and path.lstat().st_mtime < time.time() - IN_USE
                ):
                    path.unlink()

    def forget_other_folders(self) -> None:
        try:
            others = [(path.stat().st_mtime, path) for path in self.folder.parent.iterdir() if path != self.folder]
        except OSError:
            return
        others.sort(reverse=True)
        for used, old in others[KEEP_FOLDERS - 1 :]:
            if used < time.time() - IN_USE and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


def _size(handle: int) -> int:
    try:
        return os.fstat(handle).st_size
    except OSError:
        return 0


def _write_all(handle: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]
