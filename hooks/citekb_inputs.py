"""What each generated page reads, for deciding whether it changed: `Served` keeps it between
`mkdocs serve --dirty` rebuilds and compares it; `catalog` is the part of the whole knowledge base
the index, health and comparison pages read; `cited_content` what a report's previews show of what
it cites (digested for the fingerprints of `build --dirty` and of stored outputs too). A plain
module beside the plugin, as citekb_frames and citekb_outputs are."""

from __future__ import annotations

from collections.abc import Callable

from mkdocs.structure.files import File

from build_tools.knowledge_base import KnowledgeBase
from build_tools.render.health import to_be_checked


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
        self.parts: dict[str, tuple] | None = None  # this rebuild's `catalog` (a first build's is made at its end)
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
        self.parts = catalog(kb) if self.incremental else None
        self.same_parts = {part for part, now in (self.parts or {}).items() if self.catalog.get(part) == now}

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
        parts = self.parts if self.parts is not None else catalog(self.kb)  # a first build's audits came later
        self.prints, self.catalog, self.kb, self.asked, self.parts = prints, parts, None, {}, None

    def failed(self) -> None:
        """A build stopped part way: what is on disk is not known, so the next writes every page."""
        self.prints, self.catalog, self.kb = None, {}, None


# What a `whole` page reads: the sources index; the reports index and the comparison page; the health page
SOURCES, CITATIONS, CHECKS = (
    frozenset({"sources"}),
    frozenset({"sources", "citations"}),
    frozenset({"sources", "citations", "checks"}),
)


def catalog(kb: KnowledgeBase) -> dict[str, tuple]:
    """What the pages that read the whole knowledge base may read of it, in three parts: its
    sources and files (the sources index); its reports, citations, problems and each audit's
    status and verdict (with the sources: the reports index and the comparison page, which count
    them); the audits of the claims to check, whole (with both: the health page, which lists them
    with their support and missing facts). While a page's parts are equal, so is the page. An
    edit moves every audit of its corpus a little (words' weights change) and seldom a verdict:
    only the health page is written again for that (at 10,000 sources the comparison page and the
    reports index took 0.4 s of such a rebuild)."""
    sources = [(s.slug, s.title, s.origins, s.meta, len(kb.chunks[s.slug])) for s in kb.loaded.sources.values()]
    files = [(f.slug, f.name, f.kind, f.path, f.task) for f in kb.loaded.files.values()]
    verdicts = {slug: [a and (a.status, a.verdict) for a in audits] for slug, audits in kb.audits.items()}
    checks = {
        slug: [(n, a) for n, a in enumerate(audits) if a and to_be_checked(a)] for slug, audits in kb.audits.items()
    }
    return {
        "sources": (sources, files),
        "citations": (kb.cited, verdicts, kb.problems, kb.drift),
        "checks": checks,
    }


def cited_content(kb: KnowledgeBase, slug: str) -> tuple:
    """What a report's previews show of the source or task file it cites (by `audit.Digests`, whose
    digest of it is kept while it is the same: hashing every cited text again took a tenth of a
    second of every rebuild at 10,000 sources)."""
    source, file = kb.loaded.sources.get(slug), kb.files_by_slug.get(slug)
    if source:
        return source.title, source.body
    return (file.name, file.kind, file.parts, file.inline) if file else ()


class KeptPage(File):
    """A generated page a serve --dirty rebuild leaves as it was written (Served)."""

    def is_modified(self) -> bool:
        return False
