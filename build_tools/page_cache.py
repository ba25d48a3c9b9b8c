"""Each generated page's written output, kept between plain builds: a page whose key is unchanged
is written from here, neither its HTML nor the theme's template made again (most of a build's time
at 10,000 sources). The key is the plugin's (hooks/citekb_outputs.py): the page's fingerprint and
everything else that reaches its bytes; this module only keeps what is stored under it.

One sealed file per page (`lock.seal`), written atomically: a file cut or changed by anything is
not used (the page is rendered again), and a folder that cannot be written costs only the speed,
said once. A build keeps only the entries it used, and only the last KEEP_FOLDERS knowledge-base
folders keep theirs, so the cache never grows past a few sites.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .lock import TEMPORARY_SUFFIX, Damaged, seal, unseal

FOLDER = ".cache/citekb/output"  # beside mkdocs.yml: a plain build empties its site_dir first
KIND, FORMAT = b"ckbpages", 1
SUFFIX = ".page"
KEEP_FOLDERS = 3  # knowledge-base folders whose pages are kept (a 10k base's are 350 MB)
IN_USE = 900  # seconds: a folder a build began using this recently is kept (that build may still read it)
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.page")


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


class PageOutputs:
    """One build's use of one knowledge-base folder's entries: `get` before a page renders, `put`
    once it is written, `finish` after the build (the entries it did not use removed)."""

    def __init__(self, where: Path, note: Callable[[str], None]) -> None:
        self.folder = where
        self.note = note
        self.used: set[str] = set()
        self.damaged = 0  # entries found cut or changed: said once, at the end
        self.writable = True
        try:  # now, before a forked process writes pages too: a folder that cannot be made is said once
            where.mkdir(parents=True, exist_ok=True)
            os.utime(where)  # in use: `finish` in another build keeps it
        except OSError as error:
            self.cannot_write(OSError(error.errno, error.strerror, str(where)))

    def cannot_write(self, error: OSError) -> None:
        self.writable = False
        self.note(f"{error.filename}: cannot be written ({error.strerror}); every page is rendered by every build")

    def get(self, page_key: str, text: bool = True) -> Entry | None:
        """The entry stored under the key, checked whole; None when there is none or it is damaged."""
        self.used.add(page_key)
        try:
            data = (self.folder / f"{page_key}{SUFFIX}").read_bytes()
        except OSError:
            return None  # missing (the first build, a page changed), or unreadable: rendered
        try:
            return decode(unseal(KIND, FORMAT, data), text)
        except Damaged:
            self.damaged += 1
            return None

    def put(self, page_key: str, entry: Entry) -> None:
        if not self.writable:
            return
        try:
            _write(self.folder / f"{page_key}{SUFFIX}", seal(KIND, FORMAT, encode(entry)))
        except OSError as error:
            self.cannot_write(error)

    def finish(self) -> None:
        """Removes the entries this build did not use, and the folders of all but the last
        KEEP_FOLDERS knowledge-base folders built from this mkdocs.yml, unless a build began
        using one in the last IN_USE seconds."""
        if self.damaged:
            self.note(f"{self.folder}: {self.damaged} page output(s) damaged; rendered again")
        kept = {f"{page_key}{SUFFIX}" for page_key in self.used}
        try:
            names = os.listdir(self.folder)
        except OSError:
            return  # never made (nothing stored) or gone
        for name in names:
            if (_ENTRY_NAME.fullmatch(name) and name not in kept) or name.endswith(TEMPORARY_SUFFIX):
                (self.folder / name).unlink(missing_ok=True)
        try:
            others = [(path.stat().st_mtime, path) for path in self.folder.parent.iterdir() if path != self.folder]
        except OSError:
            return
        others.sort(reverse=True)
        for used, old in others[KEEP_FOLDERS - 1 :]:
            if used < time.time() - IN_USE and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


def _write(path: Path, data: bytes) -> None:
    """`lock.write_atomic` for a fresh file named by its content's key: the temporary file is named
    by the process (a page is written by one process), not by mkstemp, most of write_atomic's
    cost (0.2 of 0.35 ms a page), and takes the umask's mode as any new file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)  # a link there is not followed
    try:
        try:
            handle = os.open(temporary, flags, 0o666)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(temporary, flags, 0o666)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
