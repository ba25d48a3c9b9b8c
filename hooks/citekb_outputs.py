"""A plain build's generated pages written from the last build's output when nothing that reaches
their bytes changed (`extra.citekb.reuse`); build_tools/page_cache.py keeps the entries.

A page's key: its fingerprint (the one `--dirty` keeps), its address and header, and the site's
key (`site_key`): MkDocs' config as the build uses it, the navigation, the theme's own templates,
the installed packages' versions, our code, the build date and the log levels. A cached page is
neither rendered (no HTML from render/, no Markdown) nor put through the theme: MkDocs' loop gives
it an empty template (CACHED) and the plugin's on_post_page returns the stored output, which MkDocs
writes as it writes any page, and the plugins after ours see as any page.

A page that logged anything while MkDocs made it (`PageLogs`: a policy warning, a link MkDocs could
not resolve) is not stored, so a warm build says what a cold one says, and a strict build fails alike.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
import sysconfig
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.exceptions import PluginError

from build_tools import page_cache

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page

CACHED = "citekb-cached-output.html"  # an empty template: the page's output is the stored one
# Settings that reach no page's bytes: a build into another folder, or a strict one, reuses the pages.
UNUSED_SETTINGS = {"config_file_path", "site_dir", "strict", "dev_addr", "watch", "remote_branch", "remote_name"}
# Of extra.citekb, the settings that reach no page's bytes (tests/test_parallel_build.py for `parallel`):
UNUSED_CITEKB = {"cache", "parallel", "reuse"}
_OUR_CODE = Path(__file__).parent


class UnknownTitle(Exception):
    """A navigation entry's title is known only once its page is read, after the generated pages."""


def site_key(config: MkDocsConfig, nav: Navigation, titles: Mapping[str, str], program: str) -> str:
    """Everything but the page itself that reaches a generated page's bytes. `titles`: the titles
    of our generated pages, not read yet when the first one renders. Raises UnknownTitle."""
    settings = [[name, _canonical(_used(name, value))] for name, value in config.items() if name not in UNUSED_SETTINGS]
    parts = {
        "program": [program, getattr(sys.modules.get(program), "__version__", None)],  # MkDocs or ProperDocs
        "settings": settings,
        "nav": [_nav_item(item, titles) for item in nav.items],
        "theme": [_folder_key(Path(folder)) for folder in config.theme.dirs],
        "installed": _installed(),
        "code": _code_key(),
        "epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        "levels": [logging.getLogger(program).getEffectiveLevel(), logging.getLogger().getEffectiveLevel()],
        "python": sys.version,
    }
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=repr).encode("utf-8", "replace")).hexdigest()


def _used(name: str, value: object) -> object:
    """A setting as far as it reaches a page (`extra` without our settings that do not)."""
    if name != "extra" or not isinstance(value, Mapping) or not isinstance(value.get("citekb"), Mapping):
        return value
    citekb = {key: setting for key, setting in value["citekb"].items() if key not in UNUSED_CITEKB}
    return {**value, "citekb": citekb}


def _canonical(value: object, depth: int = 0) -> object:
    """A setting as JSON, the same for the same setting in every build (no object's address)."""
    if depth > 12:
        return type(value).__qualname__
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, types.ModuleType):  # a hook
        return ["module", value.__name__, _file_digest(Path(value.__file__ or ""))]
    if _is(value, "BasePlugin"):
        return ["plugin", type(value).__module__, type(value).__qualname__, _canonical(value.config, depth + 1)]
    if isinstance(value, Mapping):
        items = [[str(k), _canonical(v, depth + 1)] for k, v in value.items()]
        named = [getattr(value, name, None) for name in ("name", "static_templates")]  # a Theme's, beside its items
        return ["map", type(value).__qualname__, _canonical(named, depth + 1), items]
    if isinstance(value, list | tuple):
        return [_canonical(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(item, depth + 1) for item in value), key=repr)
    text = repr(value)
    if " at 0x" in text and hasattr(value, "__dict__"):
        return ["object", type(value).__qualname__, _canonical(vars(value), depth + 1)]
    return text


def _is(value: object, name: str) -> bool:
    """An instance of MkDocs' class `name` or ProperDocs' (the same classes, in another package)."""
    return any(kind.__name__ == name for kind in type(value).__mro__)


def _nav_item(item: Any, titles: Mapping[str, str]) -> object:
    if _is(item, "Page"):
        return ["page", _nav_title(item, titles), item.url, item.file.src_uri]
    if _is(item, "Section"):
        return ["section", item.title, [_nav_item(child, titles) for child in item.children]]
    if _is(item, "Link"):
        return ["link", item.title, item.url]
    return ["other", repr(item)]


def _nav_title(page: Page, titles: Mapping[str, str]) -> str | None:
    if "title" in vars(page):  # given in mkdocs.yml's nav
        return vars(page)["title"]
    if page.markdown is not None:  # read already (the docs' pages are read before ours)
        return page.title
    if page.file.src_uri in titles:
        return titles[page.file.src_uri]
    raise UnknownTitle(page.file.src_uri)


def _folder_key(folder: Path) -> object:
    """A theme folder: an installed package's by its version (`_installed`), any other (custom_dir)
    by the content of every file in it."""
    installed = {Path(sysconfig.get_paths()[name]).resolve() for name in ("purelib", "platlib")}
    resolved = folder.resolve()
    if any(resolved.is_relative_to(place) for place in installed):
        return str(folder)
    files = sorted(path for path in resolved.rglob("*") if path.is_file())
    return [str(folder), [[str(path.relative_to(resolved)), _file_digest(path)] for path in files]]


def _installed() -> list[str]:
    """Every installed distribution with its version, as its metadata folder is named."""
    names = set()
    for entry in sys.path:
        try:
            names.update(name for name in os.listdir(entry or ".") if name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(names)


def _code_key() -> str:
    """Our own code: the library and the hooks (the code that renders and secures a page)."""
    library = Path(page_cache.__file__).parent
    paths = sorted(library.rglob("*.py")) + sorted(_OUR_CODE.glob("*.py"))
    return hashlib.sha256(b"".join(_file_digest(path).encode("ascii") for path in paths)).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        return f"unreadable: {error.strerror}"


class PageLogs(logging.Handler):
    """The pages that logged a line (INFO and above) while MkDocs read, rendered or wrote them: never
    stored. Set on the root logger and the program's (which does not pass lines on to the root)."""

    def __init__(self, config: MkDocsConfig) -> None:
        super().__init__(logging.INFO)
        self.config = config
        self.pages: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        page = getattr(self.config, "_current_page", None)
        if page is not None:
            self.pages.add(page.file.src_uri)

    def attach(self, loggers: list[logging.Logger]) -> None:
        self.loggers = loggers
        for logger in loggers:
            logger.addHandler(self)

    def detach(self) -> None:
        for logger in getattr(self, "loggers", []):
            logger.removeHandler(self)


class OutputCache:
    """One plain build's cached pages: looked up as each generated page is read (`lookup`), the
    others stored as they are written (`store`)."""

    def __init__(self, store: page_cache.PageOutputs, site: Callable[[], str | None], logs: PageLogs) -> None:
        self.store = store
        self.site = site  # the site key, once the navigation is known; None: nothing is reused
        self.logs = logs
        self.keys: dict[str, str] = {}  # the generated pages looked up, by src_uri
        self.hits: dict[str, page_cache.Entry] = {}

    def lookup(self, page: Page, parts: Callable[[], list[str]]) -> bool:
        """Whether the page's output is stored; `parts`: what else makes it (its fingerprint). A
        stored page gets the empty template, and its Markdown step only restores what MkDocs keeps
        of it (`restore`): MkDocs makes a Markdown converter per page, 2.5 ms, even for no text."""
        site = self.site()
        if site is None:
            return False
        src_uri = page.file.src_uri
        key = page_cache.key(site, src_uri, page.url, str(page.file.inclusion), *parts())
        self.keys[src_uri] = key
        entry = self.store.get(key, text=False)  # checked whole now (a damaged one is rendered), read when written
        if entry is None:
            return False
        self.hits[src_uri] = entry
        page.meta["template"] = CACHED
        page.render = functools.partial(self.restore, page)
        return True

    def output(self, page: Page) -> str:
        """A cached page's output, read again (`lookup` found it whole)."""
        entry = self.store.get(self.keys[page.file.src_uri])
        if entry is None:
            raise PluginError(
                f"citekb: {self.store.folder}: a page's stored output changed during the build; build again"
            )
        return entry.output

    def restore(self, page: Page, config: MkDocsConfig, files: Files) -> None:
        """A stored page's `Page.render`: no content, and what MkDocs checks once every page is
        written (its anchors, its links to anchors), as stored."""
        page.content = ""
        entry = self.hits[page.file.src_uri]
        page.present_anchor_ids = None if entry.anchors is None else set(entry.anchors)
        if entry.links is None:
            page.links_to_anchors = None
            return
        targets = {uri: files.get_file_from_path(uri) for uri in entry.links}
        page.links_to_anchors = {targets[uri]: dict(links) for uri, links in entry.links.items() if targets[uri]}

    def keep(self, page: Page, output: str) -> None:
        """Stores a page's output (as the plugin's on_post_page returns it), unless it logged."""
        src_uri = page.file.src_uri
        key = self.keys.get(src_uri)
        if key is None or src_uri in self.hits or src_uri in self.logs.pages:
            return
        anchors = None if page.present_anchor_ids is None else sorted(page.present_anchor_ids)
        links = (
            None
            if page.links_to_anchors is None
            else {file.src_uri: dict(links) for file, links in page.links_to_anchors.items()}
        )
        self.store.put(key, page_cache.Entry(output, anchors, links))
