"""Stage 7: prove every internal link of a built site resolves, file and `#fragment` alike.

Works on the output folder alone (no MkDocs), so it checks exactly what is published.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

from .reading import MAX_TEXT, read_bytes

LINK_ATTRIBUTES = (
    ("a", "href"),
    ("link", "href"),
    ("img", "src"),
    ("script", "src"),
    ("iframe", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("source", "src"),
)
EXTERNAL_SCHEMES = {"http", "https", "mailto", "tel", "data"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# What a browser does to a URL before reading it (WHATWG URL): leading and trailing C0 controls and
# spaces are dropped, tabs and newlines anywhere removed, so `java\tscript:` is `javascript:`.
_URL_EDGES = "".join(map(chr, range(0x21)))
_URL_REMOVED = str.maketrans("", "", "\t\n\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class BrokenLink:
    page: str  # site-relative path of the HTML file
    text: str  # link text (or the tag, for images and scripts)
    target: str  # the href/src as written
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: {self.text!r} → {self.target}: {self.reason}"


@dataclass
class ParsedPage:
    ids: set[str]
    links: list[tuple[str, str]]  # (text, href)


def parse_page(html: str) -> ParsedPage:
    soup = BeautifulSoup(html, "html.parser")
    ids = {tag["id"] for tag in soup.find_all(id=True)} | {
        tag["name"] for tag in soup.find_all("a", attrs={"name": True})
    }
    links = []
    for name, attribute in LINK_ATTRIBUTES:
        for tag in soup.find_all(name, attrs={attribute: True}):
            text = tag.get_text(" ", strip=True)[:80] if name == "a" else f"<{name}>"
            links.append((text, tag[attribute]))
    return ParsedPage(ids, links)


def site_files(site: Path) -> tuple[set[str], list[str]]:
    """The site's regular files (site-relative paths), found without following links, and its
    `*.html` entries that are none (a link, a pipe, a device): a build writes none, and reading one
    could leave the site, wait for ever or never end."""
    files: set[str] = set()
    odd: list[str] = []
    for folder, _, names in os.walk(site):  # a linked folder is listed, not entered
        for name in names:
            path = Path(folder, name)
            try:
                regular = stat.S_ISREG(path.lstat().st_mode)
            except OSError:  # removed meanwhile
                continue
            if regular:
                files.add(path.relative_to(site).as_posix())
            elif name.endswith(".html"):
                odd.append(path.relative_to(site).as_posix())
    return files, sorted(odd)


def target_file(files: set[str], page: str, path: str) -> str | None:
    """Site-relative file a link path points at (directory URLs → index.html) among the site's
    `files`, or None if absent."""
    base = "" if path.startswith("/") else posixpath.dirname(page)  # "/x": from the site root (404.html)
    joined = posixpath.normpath(posixpath.join(base, unquote(path).lstrip("/")))
    if joined.startswith("../") or joined == "..":
        return None
    index = "index.html" if joined == "." else f"{joined}/index.html"
    if path.endswith("/"):
        return index if index in files else None
    return joined if joined in files else index if index in files else None


def check_site(site: Path, progress: Callable[[str], None] | None = None) -> tuple[int, list[BrokenLink]]:
    """Every HTML page's internal links and fragments; returns (pages checked, broken links). A
    page that is no regular file, or larger than MAX_TEXT, is reported, not read."""
    site = site.resolve()
    files, odd = site_files(site)
    pages = sorted(name for name in files if name.endswith(".html"))
    ids: dict[str, set[str]] = {}  # each page is parsed once; its ids are kept for later fragments
    pending: dict[str, ParsedPage] = {}  # parsed early as a link target, checked in its turn
    unread = dict.fromkeys(odd, "not a regular file (a link, a pipe or a device): not read")

    def parse(name: str) -> ParsedPage:
        data, problem = read_bytes(site / name, site, MAX_TEXT)
        if problem is not None or data is None:  # larger than MAX_TEXT, or removed or replaced since listed
            unread[name] = problem.message if problem else "not read"
            return ParsedPage(set(), [])
        return parse_page(data.decode("utf-8", errors="replace"))

    def ids_of(name: str) -> set[str]:
        if name not in ids:
            pending[name] = parse(name)
            ids[name] = pending[name].ids
        return ids[name]

    broken: list[BrokenLink] = []
    for number, page in enumerate(pages, 1):
        if progress and number % 1000 == 0:
            progress(f"checked {number}/{len(pages)} pages")
        parsed = pending.pop(page, None) or parse(page)
        ids[page] = parsed.ids
        broken.extend(check_links(files, page, parsed.links, ids_of))
    broken.extend(BrokenLink(page, "", "", why) for page, why in sorted(unread.items()))
    return len(pages), broken


def check_links(
    files: set[str], page: str, links: Iterable[tuple[str, str]], ids_of: Callable[[str], set[str]]
) -> list[BrokenLink]:
    broken = []
    for text, href in links:
        url = href.strip(_URL_EDGES).translate(_URL_REMOVED)  # as the browser reads it
        if _CONTROL.search(url):
            broken.append(BrokenLink(page, text, href, "unsafe: a control character in the URL"))
            continue
        scheme = _SCHEME.match(url)
        if scheme:
            if scheme.group(0)[:-1].lower() not in EXTERNAL_SCHEMES:
                broken.append(BrokenLink(page, text, href, "unsafe or unknown URL scheme"))
            continue
        if url.startswith("//"):
            continue
        parts = urlsplit(url)
        target = page if not parts.path else target_file(files, page, parts.path)
        if target is None:
            broken.append(BrokenLink(page, text, href, "no such file in the site"))
            continue
        fragment = unquote(parts.fragment)
        if fragment and target.endswith(".html") and fragment not in ids_of(target):
            broken.append(BrokenLink(page, text, href, f"no element with id {fragment!r} in {target}"))
    return broken
