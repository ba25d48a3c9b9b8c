"""What each generated page reads, for deciding whether it changed: `Served` keeps it between
`mkdocs serve --dirty` rebuilds and compares it; `catalog` is the part of the whole knowledge base
the index, health and comparison pages read; `Contents` digests what a report cites (also for the
fingerprints of `build --dirty` and of stored outputs). A plain module beside the plugin, as
citekb_frames and citekb_outputs are."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from mkdocs.structure.files import File

from build_tools.knowledge_base import KnowledgeBase


class Served:
    """`mkdocs serve --dirty`: what each generated page read when it was last written, kept between
    rebuilds. A rebuild gives MkDocs only the pages whose inputs changed (and the nav's pages, as
    they are), so the thousands of others cost it nothing: asking each whether it changed, with a
    fingerprint and a stub file, took seconds of every rebuild at 10,000 sources. In memory: the
    served site is MkDocs' own temporary folder, new for every `mkdocs serve`."""

    def __init__(self) -> None:
        self.prints: dict[str, object] | None = None  # by src_uri, as written; None: all to be written
        self.catalog: dict[str, tuple] = {}  # `catalog` of the knowledge base they were written from
        self.kb: KnowledgeBase | None = None
        self.now: dict[str, object] = {}  # this build's pages' inputs
        self.asked: dict[str, Callable[[], object]] = {}  # …or how to have them, once its pages are written
        self.written: set[str] = set()  # this build's pages whose inputs changed
        self.same_parts: set[str] = set()  # the parts of `catalog` this build's knowledge base has as the last
        self.keep_all = False

    @property
    def incremental(self) -> bool:
        return self.prints is not None

    def start(self, kb: KnowledgeBase, keep_all: bool) -> None:
        """A build of `kb` begins (with its audits, when incremental). With `keep_all` (a hand-written
        page edited, whose links MkDocs checks), unchanged pages stay in the build, unwritten."""
        self.kb, self.keep_all = kb, keep_all
        self.now, self.asked, self.written = {}, {}, set()
        parts = catalog(kb) if self.incremental else {}
        self.same_parts = {part for part, now in parts.items() if self.catalog.get(part) == now}

    def unchanged(self, src_uri: str, inputs: Callable[[], object], whole: frozenset[str]) -> bool:
        """Whether the page written last reads what this one does. A `whole` page (one that reads
        all the knowledge base's sources, or citations too) is compared by those parts of `catalog`
        alone: rendering one to compare it costs about what writing it does (the comparison page
        took 0.6 s at 10,000 sources)."""
        if whole:
            self.now[src_uri] = None
            same = whole <= self.same_parts and src_uri in (self.prints or {})
        elif self.prints is None:
            self.asked[src_uri] = inputs
            same = False
        else:
            now = self.now[src_uri] = inputs()
            same = src_uri in self.prints and self.prints[src_uri] == now
        if not same:
            self.written.add(src_uri)
        return same

    def finish(self) -> None:
        """The build's pages are written: their inputs are the ones to compare the next with."""
        assert self.kb is not None
        prints = {**self.now, **{src_uri: inputs() for src_uri, inputs in self.asked.items()}}
        self.prints, self.catalog, self.kb, self.asked = prints, catalog(self.kb), None, {}

    def failed(self) -> None:
        """A build stopped part way: what is on disk is not known, so the next writes every page."""
        self.prints, self.catalog, self.kb = None, {}, None


SOURCES, CITATIONS = frozenset({"sources"}), frozenset({"sources", "citations"})  # what a `whole` page reads


def catalog(kb: KnowledgeBase) -> dict[str, tuple]:
    """What the pages that read the whole knowledge base may read of it, in two parts: its sources
    and files (the sources index), and its reports, citations, audits and problems (with the
    sources: the reports index, the health and comparison pages). While a page's parts are equal,
    so is the page. An edit moves every audit of its corpus a little (words' weights change):
    the sources index need not be written again for it."""
    sources = [(s.slug, s.title, s.origins, s.meta, len(kb.chunks[s.slug])) for s in kb.loaded.sources.values()]
    files = [(f.slug, f.name, f.kind, f.path, f.task) for f in kb.loaded.files.values()]
    return {"sources": (sources, files), "citations": (kb.cited, kb.audits, kb.problems, kb.drift)}


class Contents:
    """A digest of each source's or file's content (what a report's previews show of it), kept
    while that content is the same: hashing every cited text again took a tenth of a second of
    every rebuild at 10,000 sources."""

    def __init__(self) -> None:
        self.known: dict[str, tuple[object, str]] = {}

    def digest(self, kb: KnowledgeBase, slug: str) -> str:
        source, file = kb.loaded.sources.get(slug), kb.files_by_slug.get(slug)
        content = (
            (source.title, source.body) if source else (file.name, file.kind, file.parts, file.inline) if file else None
        )
        known = self.known.get(slug)
        if known is None or known[0] != content:
            self.known[slug] = known = (content, hashlib.sha1(repr(content).encode("utf-8")).hexdigest())
        return known[1]


class KeptPage(File):
    """A generated page a serve --dirty rebuild leaves as it was written (Served)."""

    def is_modified(self) -> bool:
        return False
