"""The Citekb plugin: runs the build_tools pipeline from MkDocs events; hooks/citekb.py registers it.

A plugin object rather than module functions, as MkDocs' own plugins are: the settings have one
schema (CitekbConfig, checked by MkDocs' config machinery), and the state lives on the instance,
split by lifetime: one `mkdocs` invocation (on_startup: kept between `mkdocs serve` rebuilds) and
one build (on_config, on_files). It lives beside the hook because MkDocs puts the hook's folder on
sys.path while loading it, and because build_tools must not import MkDocs.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import hashlib
import importlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import jinja2
from citekb_frames import FILLED, FILLED_SOURCE, Frames
from citekb_inputs import CHECKS, CITATIONS, SOURCES, KeptPage, Served, cited_content
from citekb_outputs import CACHED, OutputCache, PageLogs, UnknownTitle, site_key
from markupsafe import Markup
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import TableOfContents, get_toc
from mkdocs.utils import get_relative_url, is_error_template

from build_tools import (
    analysis,
    audit,
    commonmark,
    csp,
    documents,
    export,
    forked,
    index,
    messages,
    page_cache,
    paths,
    render,
    stats,
)
from build_tools.knowledge_base import CitedReport, KnowledgeBase, Memo, build
from build_tools.lock import WAIT, Damaged, FolderBusy, folder_lock, seal, unseal, write_atomic
from build_tools.models import Source

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page

    from build_tools.ingest import Loaded

log = logging.getLogger("mkdocs.hooks.citekb")


class Switch(c.Type[bool]):
    """true or false; as text (an environment variable's value) also "true", "1", "false", "0", any case.
    An error names the value, which c.Type's own message leaves out."""

    WORDS = {"true": True, "1": True, "false": False, "0": False}

    def __init__(self, default: bool) -> None:
        super().__init__(bool, default=default)

    def run_validation(self, value: object) -> bool:
        if isinstance(value, str) and value.lower() in self.WORDS:
            return self.WORDS[value.lower()]
        if not isinstance(value, bool):
            raise c.ValidationError(f"Expected true or false but received: {value!r}")
        return value


class CitekbConfig(base.Config):
    """The settings under `extra.citekb` in mkdocs.yml (a hook gets no plugin settings of its own);
    relative paths are relative to mkdocs.yml."""

    sources = c.Dir(default="sources")  # the knowledge-base folder
    search = c.Choice(("prebuilt", "material"), default="prebuilt")  # material: Material's worker, for comparison
    audit = Switch(default=True)  # each citation's evidence on the site (issue 15)
    cache = c.File(default=analysis.TERM_CACHE)  # each text's terms by content hash
    parallel = Switch(default=True)  # the search index built on the second core, beside the pages
    reuse = Switch(default=True)  # a plain build writes each unchanged generated page from the last one's output


# The environment variable that overrides each setting (CitekbPlugin.load_settings applies them).
ENVIRONMENT = {
    "sources": "CITEKB_SOURCES",
    "search": "CITEKB_SEARCH",
    "audit": "CITEKB_AUDIT",
    "cache": "CITEKB_CACHE",
    "parallel": "CITEKB_PARALLEL",
    "reuse": "CITEKB_REUSE",
}

# MkDocs stamps the build date into pages and the sitemap's gzip header; a fixed date makes two
# builds of the same input byte-identical (https://reproducible-builds.org/specs/source-date-epoch/).
REPRODUCIBLE_EPOCH = "0"
STUBS = ".cache/citekb/pages"  # --dirty: one fingerprinted stub per generated page, beside mkdocs.yml
COMPILED_TEMPLATES = ".cache/citekb/templates"  # the theme's templates, compiled, beside mkdocs.yml
ELSEWHERE = "citekb-written-elsewhere.html"  # an empty template: the page is written by the second process
# Citations from which a build audits in forked workers beside the pages: at 1k (1,356) that took
# 3.4 s of CPU off the build's own process; at the pipeline's 93 it took nothing off it.
AUDIT_BESIDE_PAGES = 500
# Reports from which a build writes half their exports, and the audits it keeps, in a forked
# process: at 1,000 reports the exports took 1.5 s of the build's end on one core, the other idle,
# and the audits 0.25 s; a fork costs a few ms.
EXPORTS_ELSEWHERE_FROM = 20
STRICT_LISTED = 50  # problems named in a strict build's error; `kb check --sources` lists them all


class CitekbPlugin(BasePlugin[CitekbConfig]):
    """Adds the knowledge base's pages and files to the site and writes its search index."""

    def __init__(self) -> None:
        # One `mkdocs` invocation (on_startup), kept between `mkdocs serve` rebuilds:
        self.serving = False
        self.dirty = False
        self.memo: Memo | None = None  # what a rebuild reuses (chunks, citations, corpora), while serving
        self.audits_kept: audit.Kept | None = None  # the last build's audits, then the last rebuild's
        self.term_cache: analysis.TermCache | None = None
        self.served: Served | None = None  # serve --dirty: what each page last written read
        self.contents = audit.Digests()  # of what reports cite (`cited_content`), kept while it is the same
        self.claims_kept: render.ClaimsKept = {}  # the health page's lists of claims to check, while serving
        self.indexing: threading.Thread | None = None  # the search index being written while serving
        self.rebuild = False  # while serving, after the first build
        self.collecting_paused = False  # while serving: cycles are collected after each build
        self.frozen = False  # while serving: what survived the first collection, frozen
        self.clearing: threading.Thread | None = None  # the previous build's site being deleted
        # One build (on_config, on_files):
        self.root = Path()  # the knowledge-base folder (set in on_config, before any other build event)
        self.stub_folder = Path()  # --dirty: STUBS, one folder per knowledge-base folder
        self.kept_audits = Path()  # the knowledge-base folder's audits, for the next build (audit.stored)
        self.kb: KnowledgeBase | None = None
        self.claiming: forked.Forked[audit.FoundClaims] | None = None  # claims' facts, found as the folder is read
        self.auditing: audit.AuditRun | None = None  # the audits being made while the source pages render
        self.audits_saving: forked.Forked[None] | None = None  # …then kept for the next build, beside the exports
        self.index_child: forked.Forked[IndexWork] | None = None  # the search index made while the pages render
        self.index_later: Callable[[bool], forked.Forked[IndexWork]] | None = None  # …or after them, serving
        self.nav: Navigation | None = None
        self.page_child: forked.Forked[list[LogLine]] | None = None  # half the generated pages, written there
        self.exports_child: forked.Forked[None] | None = None  # half the reports' exports, written there
        self.elsewhere: ElsewhereNote | None = None  # MkDocs' note on each of them, left out here
        self.html_pages: dict[str, Callable[[str], str]] = {}  # every generated page: its HTML, from its URL
        self.outlined: set[str] = set()  # the generated pages whose table of contents is their headings
        self.held: dict[str, str | Callable[[str], str]] = {}  # pages' HTML (or its making) till on_page_context
        self.later: set[str] = set()  # the generated pages made in on_page_context: no audit in them
        self.theme_scripts: ThemeScripts | None = None  # what a page's policy lets run, for one build's config
        self.frames: Frames | None = None  # the theme's page around generated pages' content (on_env)
        # Each generated page's header, as a dict and as front matter, and its fingerprint, by src_uri:
        self.generated: dict[str, tuple[dict, str, Callable[[], str]]] = {}
        self.outputs: OutputCache | None = None  # the pages a plain build reuses (`reuse`)

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        self.serving, self.dirty, self.rebuild = command == "serve", dirty, False
        self.served = Served() if self.serving and dirty else None
        self.memo = Memo() if self.serving else None
        self.claims_kept = {}
        self.audits_kept = None  # read from the last build's (kept_audits), then kept while serving
        self.on_shutdown()
        # When the process ends, what the build left is not walked by a last collection: at 10,000
        # sources that walk took 0.9 s after the site was written (0.15 s at 1,000). Only at the
        # interpreter's exit: a process that builds and goes on (gh-deploy, tests) is untouched.
        atexit.unregister(gc.freeze)
        atexit.register(gc.freeze)
        if self.serving and gc.isenabled():
            # No automatic cycle collection while serving: one after each build, in the background
            # (on_post_build). At 10,000 sources a full pass walks millions of objects, and a rebuild's
            # allocations (reading its config included) set off several: 3.6 s of a 6.1 s rebuild.
            # (on_shutdown gives back both this and the freezing after the first build.)
            gc.disable()
            self.collecting_paused = True

    def on_shutdown(self) -> None:
        if self.collecting_paused:
            gc.unfreeze()
            gc.enable()
            self.collecting_paused = self.frozen = False

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        os.environ.setdefault("SOURCE_DATE_EPOCH", REPRODUCIBLE_EPOCH)
        # jieba (imported by Material's search plugin) prints its dictionary loading to stderr at
        # DEBUG level whatever MkDocs' verbosity: a quiet build stays quiet.
        logging.getLogger("jieba").setLevel(logging.WARNING)
        if not config.use_directory_urls:
            raise PluginError("citekb: citation links assume `use_directory_urls: true`")
        self.load_settings(config)
        self.root = Path(self.config.sources).resolve()
        docs = Path(config.docs_dir).resolve()
        if self.root == docs or docs in self.root.parents:
            raise PluginError(
                "citekb: the knowledge-base folder must not be inside docs_dir: MkDocs would publish "
                "its raw files (links to outside it included)"
            )
        events = config.plugins.events["page_markdown"]
        events[:] = [h if h == self.on_page_markdown else self.not_on_generated_pages(h) for h in events]
        root_key = hashlib.sha1(str(self.root).encode("utf-8")).hexdigest()[:12]
        self.stub_folder = Path(config.config_file_path).parent / STUBS / root_key
        self.kept_audits = audit.stored.kept_file(Path(config.config_file_path).parent, self.root)
        return config

    def not_on_generated_pages(self, handler: Callable[..., str]) -> Callable[..., str]:
        """Another plugin's on_page_markdown, left out on generated pages: their Markdown is empty and
        their header says `render_macros: false`, so mkdocs-macros gave them back as they were, after
        copying each page and formatting its debug lines (a second of a 10k build's main process)."""

        @functools.wraps(handler)
        def on_page_markdown(markdown: str, *, page: Page, **kwargs: object) -> str:
            if page.file.src_uri in self.generated:
                return markdown
            return handler(markdown, page=page, **kwargs)

        return on_page_markdown

    def load_settings(self, config: MkDocsConfig) -> None:
        """Checks `extra.citekb`, with the environment's overrides applied, against CitekbConfig.

        The checked settings are written back into `extra.citekb`, which the theme's templates read.
        Errors stop the build; warnings (an unknown setting) do in a strict build, as MkDocs' own do."""
        if config.extra.get("citekb") is None:
            config.extra["citekb"] = {}  # `citekb:` with every setting left out, or no `citekb:` at all
        citekb = config.extra["citekb"]
        if not isinstance(citekb, dict):
            raise PluginError(f"citekb: config value 'extra.citekb': expected a mapping but received: {citekb!r}")
        overridden = {key: os.environ[name] for key, name in ENVIRONMENT.items() if os.environ.get(name)}
        errors, warnings = self.load_config({**citekb, **overridden}, config.config_file_path)

        def named(key: str) -> str:
            by = f" (set by ${ENVIRONMENT[key]})" if key in overridden else ""
            return f"citekb: config value 'extra.citekb.{key}'{by}"

        if errors:
            raise PluginError("\n".join(f"{named(key)}: {error}" for key, error in errors))
        if os.path.exists(self.config.sources) and not os.path.isdir(self.config.sources):
            raise PluginError(f"{named('sources')}: {self.config.sources} is a file, not a knowledge-base folder")
        notes = [f"{named(key)}: {warning}" for key, warning in warnings]
        if notes and config.strict:  # named in the error: `-q` drops warnings
            raise PluginError("\n".join(["citekb: a strict build stops on configuration warnings:", *notes]))
        for note in notes:
            log.warning(note)
        citekb.update(self.config)

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        if self.indexing is not None:  # the last build's search index, still being made: the edit goes first
            if self.index_child is not None:
                self.index_child.cancel()  # made again after this build, from its own pages
            self.indexing.join()
            self.indexing, self.index_child = None, None
        if not self.dirty:  # MkDocs empties the site folder next: its files are moved out of the way first
            self.clearing = clear_in_background(Path(config.site_dir))

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.kb = kb = self.read_knowledge_base()
        reported = [str(problem) for problem in kb.problems] + [str(drift) for drift in kb.drift]
        for line in reported:
            log.warning("citekb: %s", line)
        if reported and config.strict:
            raise PluginError(_strict_failure(reported))
        chunk_terms = chunk_picks = None  # each chunk's index terms (and claim words), when segmented here
        if self.config.search == "prebuilt" and not self.rebuild:  # a rebuild's: in the background (on_post_build)
            # Every text segmented here first (on every core), the audit's chunks among them (handed to
            # it as they are): then the index alone is made in the second process, beside the audit and
            # the pages. Also for serve's first build, whose index is all new (a rebuild's was slower
            # forked: at 1k, the edit showed after 2.30 s against 1.48 s), but forked once its pages
            # are written: serving starts when they are, and the index took a core from them
            # (at 10k, 20 s of a 23 s build).
            chunks = documents.chunk_docs(kb)
            docs = documents.search_docs(kb, chunks)
            # Each chunk's claim words (those of its corpus) picked out of its terms as it is
            # segmented, for the audit.
            words = audit.source_words(kb, self.claim_words())
            found, picks = self.terms().analyses_picking(
                [doc.text for doc in docs], audit.doc_words(docs, words), lambda line: log.info("citekb: %s", line)
            )
            chunk_terms = audit.by_source(chunks, found, set(kb.chunks))
            if words:
                chunk_picks = audit.picked_by_source(chunks, picks, words, set(kb.chunks))
            self.index_later = functools.partial(forked.Forked, functools.partial(search_index, self.terms(), docs))
            if not self.serving:
                self.index_child, self.index_later = self.index_later(self.config.parallel), None
        if self.config.audit:
            # In a build, forked workers audit from AUDIT_BESIDE_PAGES citations on, while the source
            # pages render (audit.PARALLEL_FROM is for a process that waits for them).
            citations = sum(len(cited.final) for cited in kb.cited.values())
            beside = self.config.parallel and not self.rebuild and citations >= AUDIT_BESIDE_PAGES
            parallel = True if beside else None
            if self.audits_kept is None:
                self.audits_kept = audit.stored.load(self.kept_audits, _AUDIT_CODE)
            claiming, self.claiming = self.claiming, None
            self.auditing = audit.start_audit(
                kb,
                self.terms(),
                kept=self.audits_kept,
                parallel=parallel,
                analyses=chunk_terms,
                facts=claiming.result if claiming is not None else None,
                picked=chunk_picks,
            )
            if claiming is not None:
                claiming.cancel()  # not asked for: every audit kept from the last build
        self.html_pages, self.outlined, self.held, self.later, self.generated = {}, set(), {}, set(), {}
        if self.served is not None:
            edited = any(file.is_modified() for file in files.documentation_pages())  # ours are not in yet
            self.served.start(self.audited() if self.served.incremental else kb, keep_all=edited)

        def add_html(
            src_uri: str,
            title: str,
            make: Callable[[render.Link], str],
            wide: bool = False,
            whole: frozenset[str] = frozenset(),
        ) -> None:
            # The page itself stands for what it reads, made once: its fingerprint's and its own HTML
            # (the health and comparison pages were made twice, 0.4 s of a 10k build's one core).
            made = functools.cache(lambda url: make(_link_from(url)))
            url = File.generated(config, src_uri, content="").url  # the page's, as MkDocs places it
            self.add_page(files, config, src_uri, title, lambda: made(url), wide, whole)
            self.html_pages[src_uri] = made

        def add_indexes() -> None:
            add_html(
                "sources/index.md",
                messages.SOURCE_PAGE["list_title"],
                lambda link: render.sources_index(kb, link),
                whole=SOURCES,
            )
            add_html(
                "reports/index.md",
                messages.REPORTS_INDEX["title"],
                lambda link: render.reports_index(kb, link),
                whole=CITATIONS,
            )

        edited_first = self.served is not None and self.served.incremental  # a serve rebuild: the edit's pages first
        if not edited_first:
            add_indexes()
        backlinks: dict[str, list] = {}
        for (slug, chunk), links in kb.backlinks.items():
            backlinks.setdefault(slug, []).append((chunk, links))

        def source_inputs(source: Source) -> tuple:
            """Everything source_page reads (chunks and boilerplate follow from the text): comparing
            or hashing this instead of the rendered page saves a second of every rebuild at 10,000
            sources."""
            return (
                source.title,
                source.body,
                sorted(source.meta.items()),
                source.origins,
                backlinks.get(source.slug, []),
            )

        for source in kb.loaded.sources.values():
            src_uri = paths.source_page_uri(source.slug)
            self.add_page(files, config, src_uri, messages.shown_title(source.title), lambda s=source: source_inputs(s))
            self.html_pages[src_uri] = lambda url, s=source: render.source_page(kb, s, _link_from(url))
            self.later.add(src_uri)
        for file in kb.loaded.files.values():
            add_html(paths.source_page_uri(file.slug), file.name, lambda link, f=file: render.file_page(kb, f, link))
            self.later.add(paths.source_page_uri(file.slug))
            task_file = TaskFile.generated(
                config, render.file_url(file), abs_src_path=str(kb.loaded.root / file.stored)
            )
            task_file.root = self.root
            files.append(task_file)

        def report_inputs(cited: CitedReport) -> tuple:
            """Everything report_page reads: the report, each citation's verdict, the content of what
            it cites (by digest) and the audit. Comparing or hashing this instead of rendering every
            report page saves about a second of every rebuild at 1,000 reports."""
            items = [*cited.final, *cited.original]
            verdicts = [
                (i.citation, i.status, i.target, str(i.reason), str(i.suggestion), i.source_slug) for i in items
            ]
            audits = self.audited().audits.get(cited.report.slug)
            shown = {i.source_slug for i in items if i.source_slug}
            shown |= {a.better[0] for a in audits or [] if a is not None and a.better}  # its title, as a suggestion
            return (
                cited.report,
                verdicts,
                [(slug, self.contents.of(slug, cited_content(kb, slug))) for slug in sorted(shown)],
                audits,
            )

        for slug, cited in kb.cited.items():
            src_uri = paths.report_page_uri(slug)
            self.add_page(files, config, src_uri, cited.report.title, lambda c=cited: report_inputs(c))
            self.html_pages[src_uri] = lambda url, c=cited: render.report_page(self.audited(), c, _link_from(url))
            self.outlined.add(src_uri)
        # Pages render (and under --dirty, take their fingerprints) in the order they are added: the
        # audits' pages last, so that the source pages render while the audit's workers run.
        if edited_first:
            add_indexes()
        add_html(
            "health.md",
            messages.HEALTH_PAGE["title"],
            lambda link: render.health_page(self.audited(), link, self.claims_kept),
            whole=CHECKS,
        )
        stats_page = lambda link: render.stats_page(self.audited(), link)  # noqa: E731
        add_html(paths.STATS_PAGE_URI, messages.COMPARISON_PAGE["title"], stats_page, wide=True, whole=CITATIONS)
        log.info(
            "citekb: %d sources, %d files, %d reports", len(kb.loaded.sources), len(kb.loaded.files), len(kb.cited)
        )
        self.outputs = self.reused_outputs(config)
        return files

    def reused_outputs(self, config: MkDocsConfig) -> OutputCache | None:
        """The last build's page outputs, for a plain build (not while serving, where a rebuild keeps
        its pages, nor under --dirty, nor with Material's search, which reads each page's HTML)."""
        if self.serving or self.dirty or not self.config.reuse or self.config.search != "prebuilt":
            return None
        program = type(config).__module__.split(".")[0]
        logs = PageLogs(config)
        logs.attach([logging.getLogger(), logging.getLogger(program)])
        titles = {src_uri: meta["title"] for src_uri, (meta, _, _) in self.generated.items()}

        @functools.cache
        def site() -> str | None:
            try:
                return site_key(config, self.nav, titles, program)
            except UnknownTitle as error:
                log.info("citekb: %s is in the navigation but not read yet: every page is rendered", error)
                return None

        store = page_cache.PageOutputs(
            page_cache.folder(Path(config.config_file_path).parent, self.root),
            lambda line: log.info("citekb: %s", line),
        )
        return OutputCache(store, site, logs)

    def read_knowledge_base(self) -> KnowledgeBase:
        """The knowledge base, read whole: a build waits for a `kb import` writing into the folder
        (a shared hold of its lock), so it never publishes half an import. Not while serving: the
        lock file coming and going in the watched folder would start rebuild after rebuild; a
        rebuild that read half an import is followed by one when the import's last file lands."""
        if self.serving:
            return build(self.root, self.memo, self.start_claims)
        try:
            with folder_lock(self.root, shared=True, wait=WAIT, note=lambda line: log.info("citekb: %s", line)):
                return build(self.root, self.memo, self.start_claims)
        except FolderBusy as error:
            raise PluginError(f"citekb: {error}") from None

    def start_claims(self, loaded: Loaded) -> None:
        """The audit's claims, their facts and words (`audit.loaded_claims`) found in a process forked
        once the reports are read, while this one reads the rest of the folder, cleans, chunks and
        cites on one core: at 10,000 sources 3–4 s of CPU there, on the idle core, off the audit's
        workers, which share both cores with the pages and the index. For a build that audits
        beside its pages (AUDIT_BESIDE_PAGES, counted here as the reports' mentions of
        long_context, before their citations are parsed)."""
        if not (self.config.audit and self.config.parallel and not self.rebuild and forked.can_fork()):
            return
        mentions = sum(report.final.count("long_context") for report in loaded.reports.values())
        if mentions >= AUDIT_BESIDE_PAGES:
            self.claiming = forked.Forked(functools.partial(audit.loaded_claims, loaded))

    def claim_words(self) -> dict[str, frozenset[str]]:
        """The claims' words whose postings the audit reads, by corpus (`audit.FoundClaims.words`),
        when the claims' child has found them by now; not waited for: without them the audit reads
        each chunk's terms whole. The audit later takes the same answer (`Forked.result`)."""
        return self.claiming.result().words if self.claiming is not None and self.claiming.ready() else {}

    def audited(self) -> KnowledgeBase:
        """The knowledge base with its audits, waited for here by the pages that show them."""
        assert self.kb is not None
        if self.auditing is not None:
            self.kb.audits = self.auditing.result()
            self.auditing = None
        return self.kb

    def keeps_audits(self) -> bool:
        """Whether this build saves its audits for the next (a serve rebuild keeps them in memory)."""
        return self.audits_kept is not None and not self.rebuild

    def save_audits(self) -> None:
        """The audits kept for the next build (audit.stored); OSError where they cannot be written."""
        assert self.audits_kept is not None
        audit.stored.save(self.audits_kept, self.kept_audits, _AUDIT_CODE)

    def add_page(
        self,
        files: Files,
        config: MkDocsConfig,
        src_uri: str,
        title: str,
        inputs: Callable[[], object],
        wide: bool = False,
        whole: frozenset[str] = frozenset(),
    ) -> None:
        """A generated page, `inputs` what it reads (equal inputs make the same page). No template
        engine renders it: mkdocs-macros renders only the docs pages that opt in
        (`render_by_default: false` in mkdocs.yml), and the header, which always parses
        (`_front_matter`), says `render_macros: false` too, for a site that renders every page.

        The title is escaped: MkDocs and Material insert page titles into the header and nav as raw HTML.
        Material's own search skips these pages: our prebuilt index (on_post_build) covers them.
        A `wide` page (the comparison page, a table of figures) has no table-of-contents column: its
        width goes to the table. A `whole` page reads those parts of the whole knowledge base (`catalog`).
        """
        kept = self.served is not None and self.served.unchanged(src_uri, inputs, whole)  # serve --dirty
        if kept and not (whole or self.served.keep_all):
            return  # left out of the build
        meta = {"title": render.esc(title), "render_macros": False}
        if wide:
            meta["hide"] = ["toc"]
        if self.config.search == "prebuilt":
            meta["search"] = {"exclude": True}
        front = _front_matter(meta)
        fingerprint = functools.cache(lambda: _fingerprint_of(inputs()))
        self.generated[src_uri] = (meta, front, fingerprint)
        if kept:  # in the nav, or linked from an edited page: there, as it is
            files.append(KeptPage.generated(config, src_uri, content=front))
            return
        if self.served is None and self.dirty:
            stub = self.stub_folder / src_uri  # slugs are bounded (reading.MAX_SLUG), so is the stub's name

            def write_stub() -> None:
                if not _write_stub(stub, _front_matter({**meta, "citekb_fingerprint": fingerprint()})):
                    page.content_string = front  # no stub: the page is built from memory, as without --dirty

            page = StubbedPage.generated(config, src_uri, abs_src_path=str(stub))
            page.write_stub = functools.cache(write_stub)
            files.append(page)
            return
        files.append(File.generated(config, src_uri, content=front))

    def on_pre_page(self, page: Page, *, config: MkDocsConfig, files: Files) -> Page:
        """A generated page skips MkDocs' reading (its header is `self.generated`'s, not parsed back
        from YAML: 11,000 pages spent 3 s there) and its Markdown step (`_no_markdown`: its HTML is
        ours, on_page_content; a Python-Markdown made with every extension for an empty text cost
        them about 7 s of a 10k build)."""
        generated = self.generated.get(page.file.src_uri)
        if generated is not None:
            page.read_source = functools.partial(_read_meta, page, generated[0])  # type: ignore[method-assign]
            page.render = functools.partial(_no_markdown, page)  # type: ignore[method-assign]
        return page

    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        """A hand-written page is left out of Material's own search index too when ours is the site's
        (`search: prebuilt`, whose worker never reads Material's): indexing it loaded jieba's
        dictionary, a second of every build."""
        if self.reused(page):
            return ""
        if page.file.src_uri in self.html_pages:
            return ""
        if self.config.search == "prebuilt":
            page.meta["search"] = {**(page.meta.get("search") or {}), "exclude": True}
        return markdown

    def reused(self, page: Page) -> bool:
        """Whether a generated page is written from the last build's output (neither rendered nor
        put through the theme)."""
        generated = self.generated.get(page.file.src_uri)
        if self.outputs is None or generated is None:
            return False
        _, front, fingerprint = generated
        return self.outputs.lookup(page, lambda: [front, fingerprint()])

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        """A generated page's HTML. With the prebuilt search, and when no plugin's on_page_content
        comes after ours to see it, it is held here until on_page_context (ours comes after the
        plugins'): Material's search plugin, which skips the page (its `search: exclude`), still
        scans its content for `data-search-` attributes, which escaped text cannot hold (1.3 s of
        CPU at 1,000 sources). A source or file page (`self.later`: no audit in it) is then made
        only there, in whichever process writes it (`write_elsewhere`): most of our own HTML's
        cost is split between the two."""
        uri = page.file.src_uri
        if self.outputs is not None and uri in self.outputs.hits:
            return ""
        make = self.html_pages.get(uri)
        if make is None:
            return html
        hold = self.config.search == "prebuilt" and config.plugins.events["page_content"][-1] == self.on_page_content
        if uri not in self.outlined:
            page.meta["template"] = FILLED  # its theme template's output is made by self.frames
        if hold and (uri in self.later or self.rebuild):  # a rebuild makes no page in another process
            self.held[uri] = make
            return ""
        html = make(page.url)
        if uri in self.outlined:
            page.toc = _toc(render.outline(html))
        if not hold:
            return html
        self.held[uri] = html
        return ""

    def on_page_context(self, context: dict, *, page: Page, config: MkDocsConfig, nav: Navigation) -> dict:
        if page.meta.get("template") == ELSEWHERE:
            return context  # the second process makes it (or, should it give no answer, write_pages here)
        held = self.held.pop(page.file.src_uri, None)
        if isinstance(held, str):
            page.content = held
        elif held is not None:
            page.content = held(page.url)
            if page.file.src_uri in self.outlined:  # read by the theme's template, next
                page.toc = _toc(render.outline(page.content))
        if page.meta.get("template") == FILLED:
            assert self.frames is not None
            context["citekb_filled"] = Markup(self.frames.output(page, context))
        return context

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Each report's exports beside its page, and the prebuilt search index over every chunk
        and report section (terms cached across builds).

        While serving, both are written in the background: the edited page is shown first, its
        exports and search follow (at 1,000 reports the exports take a second, the index longer).
        A build writes the exports while the second process still writes its pages."""
        site = Path(config.site_dir)

        def fail(what: str, error: OSError, where: Path) -> None:
            """A full disk, a site folder removed meanwhile: one line, not a traceback."""
            message = f"citekb: {what} not written: {error.filename or where}: {error.strerror or error}"
            if not self.serving:
                raise PluginError(message) from None
            log.error(message)  # in the background: the site is served, its exports or search stale

        exported_here = self.kb is not None and not self.serving
        if exported_here:
            self.audited()
            reports = sorted(self.kb.cited)
            here = set(reports)
            if self.config.parallel and len(reports) >= EXPORTS_ELSEWHERE_FROM:
                there, here = set(reports[::2]), set(reports[1::2])
                # The audits kept for the next build are saved by a process forked at the same moment:
                # not here, on the build's last stretch (one core), and not forked apart (each fork
                # makes each page this process writes next a copy; forked as the audits came in, the
                # 10k base's build made 30,000 more page faults here, of 650,000).
                if self.keeps_audits():
                    self.audits_saving = forked.Forked(self.save_audits)
                self.exports_child = forked.Forked(functools.partial(write_exports, self.kb, site, there))
            try:
                write_exports(self.kb, site, here)
            except OSError as error:
                fail("report exports", error, site)
        self.pages_written_elsewhere()
        self.cleared()
        if self.outputs is not None:
            outputs, self.outputs = self.outputs, None
            outputs.logs.detach()
            outputs.store.finish()
            log.info(
                "citekb: %d of %d generated pages written from the last build's output",
                len(outputs.hits),
                len(outputs.keys),
            )
        if self.kb is None:
            return
        self.audited()  # the workers end with the build, whether or not a page waited for them
        saving, self.audits_saving = self.audits_saving, None
        if self.keeps_audits():
            try:
                if saving is not None:
                    saving.result()  # the forked process's save; done here if it could not
                else:
                    self.save_audits()
            except OSError as error:
                log.info(
                    "citekb: %s: cannot be written (%s); the next build audits anew", self.kept_audits, error.strerror
                )
        kb, cache = self.kb, self.terms()
        folder = site / index.SITE_FOLDER

        if self.index_later is not None:
            self.index_child, self.index_later = self.index_later(self.config.parallel), None
        elif self.index_child is None and self.config.search == "prebuilt":  # a rebuild's
            self.index_child = forked.Forked(
                lambda: search_index(cache, documents.search_docs(kb)), self.serving and self.config.parallel
            )
        child = self.index_child
        if not self.serving:
            self.index_child = None  # while serving, the next edit cancels it (on_pre_build)
        served, exported = self.served, set() if exported_here else set(kb.cited)
        if served is not None and served.incremental:  # the exports of the reports whose page changed
            exported = {slug for slug in kb.cited if paths.report_page_uri(slug) in served.written}

        def write(meanwhile: Callable[[], None] = lambda: None) -> bool:
            """Exports, then the search index (`meanwhile` while its process makes it): False when
            an edit cancelled the index."""
            if served is not None:
                served.finish()
            try:
                write_exports(kb, site, exported)
            except OSError as error:
                if child is not None:
                    child.cancel()
                fail("report exports", error, site)
                return True
            meanwhile()
            if child is None:
                return True
            try:
                made = child.result()
            except forked.Cancelled:  # an edit came: its rebuild makes the index again
                log.debug("citekb: search index left to the next rebuild")
                return False
            made.merge_into(cache)
            for line in made.progress:
                log.info("citekb: %s", line)
            if child.answered:
                when = "after" if self.serving else "while"
                log.info("citekb: search index made in a second process %s the pages rendered", when)
            built = made.built
            cache.save()
            try:
                index.write_index(built, folder)
            except OSError as error:
                fail("search index", error, folder)
            return True

        def collect() -> None:
            """While serving, the cycles builds leave are collected in the background, not when an
            edit comes (a collection holds the interpreter: 0.4 s after a first build at 10k); what
            survives the first collection is frozen, so that later ones walk only what rebuilds make."""
            gc.collect()
            if not self.frozen:
                gc.freeze()
                self.frozen = True

        first = not self.rebuild

        def write_and_collect() -> None:
            """The first build's cycles are collected beside its index's process, after its exports
            (a second after its pages: started at once, the collection held up the build's end); a
            rebuild's once its index is written, in a quiet moment (when an edit cancels the index,
            they are left to the next rebuild's)."""
            if first:
                write(meanwhile=collect)
            elif write():
                collect()

        if self.serving:
            self.indexing = threading.Thread(target=write_and_collect, name="citekb-index", daemon=True)
            self.indexing.start()
            self.rebuild = True
        else:
            write()
            if self.exports_child is not None:
                try:  # a child that could not write its exports: written here, or the error raised here
                    self.exports_child.result()
                except OSError as error:
                    fail("report exports", error, site)
                finally:
                    self.exports_child = None

    def cleared(self) -> None:
        if self.clearing is not None:
            self.clearing.join()
            self.clearing = None

    def on_build_error(self, *, error: Exception) -> None:
        if self.serving:
            gc.collect()
        self.cleared()
        if self.served is not None:
            self.served.failed()
        if self.claiming is not None:
            self.claiming.cancel()
        self.claiming = None
        if self.auditing is not None:
            self.auditing.cancel()
            self.auditing = None
        if self.audits_saving is not None:  # finished audits, kept for the next build all the same
            with contextlib.suppress(OSError):
                self.audits_saving.result()
            self.audits_saving = None
        if self.index_child is not None:
            self.index_child.cancel()
            self.index_child = None
        if self.exports_child is not None:
            self.exports_child.cancel()
            self.exports_child = None
        self.index_later = None
        if self.page_child is not None:
            self.page_child.cancel()
            self.page_child = None
        if self.elsewhere is not None:
            self.elsewhere.remove()
            self.elsewhere = None
        if self.outputs is not None:
            self.outputs.logs.detach()
            self.outputs = None

    def terms(self) -> analysis.TermCache:
        """The segmentation cache, shared by the audit (on_files) and the search index (on_post_build):
        the chunks the audit segments are the index's own documents, so a build segments them once."""
        path = Path(self.config.cache)
        if self.term_cache is None or self.term_cache.path != path:
            self.term_cache = analysis.TermCache(path, note=lambda line: log.info("citekb: %s", line))
        return self.term_cache

    def on_nav(self, nav: Navigation, *, config: MkDocsConfig, files: Files) -> Navigation:
        self.nav = nav
        return nav

    def on_env(self, env: jinja2.Environment, *, config: MkDocsConfig, files: Files) -> jinja2.Environment:
        """The theme's templates compiled once, not by every build (0.9 s of each `mkdocs serve`
        rebuild at 10,000 sources): a bytecode cache (CompiledTemplates), keyed by each template's
        source. Then every page's content is known: half the generated pages are written by a
        second process (`write_elsewhere`)."""
        folder = Path(config.config_file_path).parent / COMPILED_TEMPLATES
        try:
            folder.mkdir(parents=True, exist_ok=True)
            env.bytecode_cache = CompiledTemplates(folder)
        except OSError as error:
            log.info("citekb: %s: cannot be made (%s); templates are compiled by every build", folder, error.strerror)
        ours = jinja2.DictLoader({ELSEWHERE: "", CACHED: "", FILLED: FILLED_SOURCE})
        env.loader = jinja2.ChoiceLoader([ours, env.loader])
        self.frames = Frames(env)
        self.write_elsewhere(env, config, files)
        return env

    def write_elsewhere(self, env: jinja2.Environment, config: MkDocsConfig, files: Files) -> None:
        """Every second generated page is put through the theme's template and written by a forked
        process (`write_pages`, MkDocs' own page step), the rest here, at the same time (the
        template is most of a page's cost); MkDocs' loop here renders an empty template for the
        former and writes nothing. Also serve's first build (every page is new there), not its
        rebuilds (pages are few there), nor without `extra.citekb.parallel` or fork; under --dirty
        each process skips its unchanged pages, as MkDocs' loop does."""
        if self.nav is None or self.rebuild or not self.config.parallel or not forked.can_fork():
            return
        program = type(config).__module__.split(".")[0]  # mkdocs, or properdocs building the same site
        build_page = getattr(importlib.import_module(f"{program}.commands.build"), "_build_page", None)
        if build_page is None:
            return
        generated = self.html_pages.keys()
        if self.outputs is not None:
            generated -= self.outputs.hits.keys()  # written from the cache here, not rendered
        # MkDocs' own pages: drafts too while serving (mkdocs.commands.build.build)
        doc_files = files.documentation_pages(
            inclusion=InclusionLevel.all if self.serving else InclusionLevel.is_included
        )
        pages = [file.page for file in doc_files if file.src_uri in generated and file.page is not None][1::2]
        if not pages:
            return
        templates = {page.file.src_uri: page.meta.get("template") for page in pages}
        done = self.outputs.store.close if self.outputs is not None else lambda: None  # the child's pack, whole
        work = functools.partial(
            write_pages, build_page, pages, templates, config, doc_files, self.nav, env, program, self.dirty, done
        )
        self.page_child = forked.Forked(work)
        for page in pages:  # here, from the fork on
            page.meta["template"] = ELSEWHERE
        self.elsewhere = ElsewhereNote(logging.getLogger(f"{program}.commands.build"), pages)

    def pages_written_elsewhere(self) -> None:
        """Waits for the second process's pages (or writes them here, if it gave no answer) and says
        what it logged, as this process would have."""
        child, note, self.page_child, self.elsewhere = self.page_child, self.elsewhere, None, None
        if child is None or note is None:
            return
        try:
            lines = child.result()
        finally:
            note.remove()
        for name, level, message in lines:
            logging.getLogger(name).log(level, "%s", message)
        if child.answered:
            log.info("citekb: %d generated pages written by a second process", len(note.pages))

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        """The page's Content-Security-Policy (build_tools/csp.py): only the theme's inline scripts run,
        nothing loads from elsewhere. Not while serving: the live-reload script MkDocs adds to every
        page it serves is inline, and the policy would block it (`serve --clean`, which MkDocs
        announces as a build, keeps the policy: reload by hand there)."""
        outputs = self.outputs
        if outputs is not None and page.file.src_uri in outputs.hits:
            return outputs.output(page)  # secured when it was stored
        if not output and self.elsewhere is not None and page.file.src_uri in self.elsewhere.pages:
            return output  # the second process writes it
        secured = self.secured(output, get_relative_url(".", page.url), page.file.src_uri, config)
        if outputs is not None:
            outputs.keep(page, secured)
        return secured

    def on_post_template(self, output: str, *, template_name: str, config: MkDocsConfig) -> str:
        """The theme's own pages (404.html) get the policy too, with MkDocs' base URL for them."""
        if template_name == "sitemap.xml" and self.served is not None and self.served.incremental:
            return ""  # made from this rebuild's pages alone: the one written first is kept (MkDocs skips an empty one)
        if not template_name.endswith(".html"):
            return output  # sitemap.xml
        if is_error_template(template_name):
            base_url = urlsplit(config.site_url or "/").path
        else:
            base_url = get_relative_url(".", template_name)
        return self.secured(output, base_url, template_name, config)

    def secured(self, output: str, base_url: str, name: str, config: MkDocsConfig) -> str:
        if self.serving:
            return output
        if self.theme_scripts is None or self.theme_scripts.config is not config:
            self.theme_scripts = ThemeScripts(config)  # a new build: the theme or its settings may differ
        secured = csp.with_policy(output, self.theme_scripts.texts(base_url))
        if secured.policy is None:
            log.warning("citekb: %s: no <head>, so no Content-Security-Policy", name)
        if secured.foreign:
            log.warning(
                "citekb: %s: %d inline script(s) the theme did not write; the page's policy blocks them",
                name,
                secured.foreign,
            )
        return secured.html

    def on_serve(self, server: LiveReloadServer, *, config: MkDocsConfig, builder: Callable) -> LiveReloadServer:
        if self.root.is_dir():
            server.watch(str(self.root))
        return server


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, one sealed file each (`lock.seal`), written atomically: a file cut
    or changed by anything is compiled again, never given to Jinja, which unpickles and runs what it
    loads; a folder that cannot be read or written costs only the compilation, said once."""

    KIND, FORMAT = b"ckbjinja", 1

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writable = True

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self.folder / f"{bucket.key}.sealed"
        try:
            code = unseal(self.KIND, self.FORMAT, path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, Damaged) as error:
            log.info("citekb: %s: %s; compiled again", path, getattr(error, "strerror", None) or error)
            return
        bucket.load_bytecode(io.BytesIO(code))  # Jinja checks the template's source and Python's version

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if not self.writable:
            return
        try:
            write_atomic(
                self.folder / f"{bucket.key}.sealed", seal(self.KIND, self.FORMAT, bucket.bytecode_to_string())
            )
        except OSError as error:
            self.writable = False
            log.info(
                "citekb: %s: cannot be written (%s); templates are compiled by every build",
                error.filename,
                error.strerror,
            )


class ThemeScripts:
    """The texts of the inline scripts the theme writes, by base URL, for one build's config.
    Material writes them from the templates in FOLDER; rendered as its pages render them (the scope
    script names the page's base URL), they are what a page's policy lets run, and nothing else is."""

    FOLDER = "partials/javascripts"

    def __init__(self, config: MkDocsConfig) -> None:
        self.config = config
        env = config.theme.get_env()
        names = {
            f"{self.FOLDER}/{path.name}"
            for folder in config.theme.dirs
            for path in Path(folder, self.FOLDER).glob("*.html")
        }
        self.templates = [env.get_template(name) for name in sorted(names)]
        self.by_base_url: dict[str, frozenset[str]] = {}

    def texts(self, base_url: str) -> frozenset[str]:
        if base_url not in self.by_base_url:
            features = self.config.theme.get("features") or []
            context = {"config": self.config, "base_url": base_url, "features": features, "page": None}
            self.by_base_url[base_url] = csp.theme_scripts(template.render(context) for template in self.templates)
        return self.by_base_url[base_url]


class StubbedPage(File):
    """A generated page under --dirty, backed by its fingerprint's stub file. The stub is written
    when MkDocs first asks whether the page changed, just before rendering it, not in on_files:
    the report and health pages, whose fingerprints hold the audits, are asked after the source
    pages rendered, so the audit's workers run meanwhile here too."""

    write_stub: Callable[[], None]

    def is_modified(self) -> bool:
        self.write_stub()
        return super().is_modified()


class TaskFile(File):
    """A task file copied from the knowledge-base folder (`root`), only while it is still a file in it."""

    root: Path

    def copy_file(self, dirty: bool = False) -> None:
        path = Path(self.abs_src_path)
        try:
            if path.is_file() and path.resolve().is_relative_to(self.root):
                super().copy_file(dirty)
                return
        except FileNotFoundError:
            pass
        log.warning(
            "citekb: %s: no longer a file in the knowledge-base folder; not published", path.relative_to(self.root)
        )


@dataclass
class IndexWork:
    """The search index, and what making it added to the term cache: made in a forked process
    (forked.Forked), whose cache is its own copy, so the build's cache takes them in (merge_into)."""

    built: index.BuiltIndex
    entries: dict[bytes, analysis.Analysis]  # texts segmented for it, not in the cache before
    used: set[bytes]  # every text of this build the cache was asked for
    progress: list[str]  # its notes, logged by the build (a forked process logs nothing)

    def merge_into(self, cache: analysis.TermCache) -> None:
        cache.entries.update(self.entries)
        cache.used |= self.used


def search_index(
    cache: analysis.TermCache, docs: list[index.SearchDoc], note: Callable[[str], None] | None = None
) -> IndexWork:
    """The prebuilt search index over `docs` (`documents.search_docs`: every chunk, task-file part
    and report section): a function of the term cache and the documents alone (no page, no audit),
    so it is made beside the pages. Its notes go to `note`, or without one into `progress`, for the
    build to log."""
    known, progress = set(cache.entries), []
    built = index.build_index(docs, cache, progress=note or progress.append)
    return IndexWork(built, {k: v for k, v in cache.entries.items() if k not in known}, set(cache.used), progress)


LogLine = tuple[str, int, str]  # logger name, level, message


def write_pages(
    build_page: Callable[..., None],
    pages: list[Page],
    templates: dict[str, str | None],
    config: MkDocsConfig,
    doc_files: list[File],
    nav: Navigation,
    env: jinja2.Environment,
    program: str,
    dirty: bool,
    done: Callable[[], None],
) -> list[LogLine]:
    """Each page through the theme's template and written, by MkDocs' own page step (the same code
    as its loop: the same bytes), in a forked process (CitekbPlugin.write_elsewhere) or, should it
    give no answer, in the build itself, each with the template it had (`templates`; the build's own
    copy says ELSEWHERE); then `done()` (the process's stored page outputs closed). What they log
    is kept and returned, for the build to log: a strict build counts it there."""
    lines: list[LogLine] = []
    keep = _KeepLines(lines)
    loggers = [logging.getLogger(), logging.getLogger(program)]  # the program's logger propagates no further
    handlers = [logger.handlers for logger in loggers]
    try:
        for logger in loggers:  # PageLogs stay: which pages logged decides which are stored
            logger.handlers = [keep, *(handler for handler in logger.handlers if isinstance(handler, PageLogs))]
        for page in pages:
            if (template := templates[page.file.src_uri]) is None:
                page.meta.pop("template", None)
            else:
                page.meta["template"] = template
            build_page(page, config, doc_files, nav, env, dirty, excluded=page.file.inclusion.is_excluded())
        done()
    finally:
        for logger, kept in zip(loggers, handlers):
            logger.handlers = kept
    return lines


class _KeepLines(logging.Handler):
    def __init__(self, lines: list[LogLine]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, record.getMessage()))


class ElsewhereNote(logging.Filter):
    """Leaves out MkDocs' "Page skipped … empty output" for the pages the second process writes."""

    def __init__(self, logger: logging.Logger, pages: list[Page]) -> None:
        super().__init__()
        self.logger = logger
        self.pages = {page.file.src_uri for page in pages}
        self.notes = {f"Page skipped: '{uri}'. Generated empty output." for uri in self.pages}
        logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.notes

    def remove(self) -> None:
        self.logger.removeFilter(self)


def clear_in_background(site: Path) -> threading.Thread | None:
    """Moves what MkDocs' clean_directory would delete from the site folder (all but its hidden
    entries) into a new folder beside it, and deletes that in a thread while the build goes on: a
    rename each, where deleting 11,000 page folders took seconds of the build's wall time. Whatever
    cannot be moved (another file system, no folder beside it) is left to MkDocs."""
    try:
        entries = [entry for entry in site.iterdir() if not entry.name.startswith(".")]
        if not entries:
            return None
        trash = Path(tempfile.mkdtemp(prefix=".citekb-old-site-", dir=site.parent))
    except OSError:
        return None
    for entry in entries:
        with contextlib.suppress(OSError):
            entry.rename(trash / entry.name)
    thread = threading.Thread(target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True}, daemon=True)
    thread.start()
    return thread


def write_exports(kb: KnowledgeBase, site: Path, reports: set[str]) -> None:
    """Each of the `reports`' Markdown and citation table beside its page (`export.site_files`): a
    static site cannot make them when asked, and the audits they carry are done only after the pages."""
    for slug, cited in kb.cited.items():
        if slug not in reports:
            continue
        for path, data in export.site_files(kb, cited, kb.audits.get(slug)).items():
            try:
                (site / path).parent.mkdir(parents=True, exist_ok=True)  # the page's folder, as a rule
                (site / path).write_bytes(data)
            except OSError as error:
                raise OSError(error.errno, error.strerror, str(site / path)) from None


def _write_stub(stub: Path, front: str) -> bool:
    """--dirty: the stub file holds `front`, written atomically unless it holds exactly those bytes
    already (a stub cut or changed by anything is rewritten). False when it cannot be written (said
    once per reason): the caller builds the page without it."""
    data = front.encode("utf-8")
    try:
        if stub.read_bytes() == data:
            return True
    except OSError:
        pass  # missing, a folder, unreadable: written anew
    try:
        write_atomic(stub, data)
    except OSError as error:
        if error.strerror not in _STUBS_UNWRITABLE:  # said once per reason, not once per page
            _STUBS_UNWRITABLE.add(error.strerror)
            log.info(
                "citekb: %s: cannot be written (%s); pages are built without stubs", error.filename, error.strerror
            )
        return False
    return True


_STUBS_UNWRITABLE: set[str] = set()


_SURROGATE = re.compile("[\ud800-\udfff]")
# In json.dumps' output: an escaped backslash (kept as it is), a UTF-16 surrogate pair (one
# character), DEL (the one ASCII character JSON leaves raw and YAML refuses).
_JSON_NOT_YAML = re.compile(r"\\\\|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\x7f")


def _yaml_escape(match: re.Match) -> str:
    if match.group(1):
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"
    return "\\u007f" if match.group() == "\x7f" else match.group()


def _front_matter(meta: dict) -> str:
    """A page header MkDocs reads back exactly (mkdocs.utils.meta.get_data), whatever its strings
    hold: printable ASCII only, every other character a YAML escape (\\uXXXX, \\UXXXXXXXX). A
    header that fails to parse is dropped silently, its title and settings with it (a DEL, a C1
    control or U+FFFE in a title did that). A lone surrogate is no character (neither YAML nor
    UTF-8 can hold one): U+FFFD stands for it. JSON is YAML, and 100× cheaper to write than
    yaml.safe_dump (11,000 pages spent 3 s there); its escapes are YAML's but for surrogate pairs."""
    meta = {key: _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value for key, value in meta.items()}
    return f"---\n{_JSON_NOT_YAML.sub(_yaml_escape, json.dumps(meta))}\n---\n"


# New page code (any module that writes page HTML, its text or the addresses in it, or decides what a
# page says: stats.failure marks a report page): new fingerprints.
_RENDER_CODE = hashlib.sha1(
    b"".join(
        path.read_bytes()
        for path in (
            *sorted(Path(render.__file__).parent.glob("*.py")),
            *(Path(module.__file__) for module in (commonmark, messages, paths, stats)),
        )
    )
).hexdigest()


# The code and settings an audit is made from: kept audits made by other code are not used (audit.stored).
_AUDIT_CODE = audit.stored.code_key(audit.SETTINGS)


def _fingerprint_of(inputs: object) -> str:
    """What a page reads (its text, when that stands for it), with the code that renders it."""
    text = inputs if isinstance(inputs, str) else repr(inputs)
    return hashlib.sha1((_RENDER_CODE + text).encode("utf-8")).hexdigest()


def _strict_failure(reported: list[str]) -> str:
    """The error that stops a strict build: it names the problems itself, because `-q` drops the
    warnings above before MkDocs' own strict count sees them (it would exit 0)."""
    listed = "\n".join(f"  {line}" for line in reported[:STRICT_LISTED])
    more = f"\n  … and {len(reported) - STRICT_LISTED} more" if len(reported) > STRICT_LISTED else ""
    return f"citekb: {len(reported)} problem(s) in the knowledge base; a strict build stops here:\n{listed}{more}"


def _read_meta(page: Page, meta: dict, config: MkDocsConfig) -> None:
    """Page.read_source for a generated page: its header as the build made it (the file's text,
    its front matter, is that header for whatever else reads it)."""
    page.markdown, page.meta = "", dict(meta)


def _no_markdown(page: Page, config: MkDocsConfig, files: Files) -> None:
    """Page.render for a generated page, whose Markdown is empty: what it leaves there, but for
    the anchors, which MkDocs' link validation then does not check (a page not rendered from
    Markdown; `kb check` checks every link and anchor of the built site)."""
    page.content = ""
    page.toc = get_toc([])
    page._title_from_render = None
    page.present_anchor_ids = None


def _link_from(url: str) -> render.Link:
    """Links from the page at `url`."""
    return lambda target: paths.relative_href(target, url)


def _toc(headings: list[tuple[int, str, str]]) -> TableOfContents:
    """MkDocs' table of contents from (level, id, text), nested by level. A TOC entry's name and id
    are HTML (Material prints them as they are), so the heading's text is escaped here."""
    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, name in headings:
        token = {"level": level, "id": render.esc(anchor), "name": render.esc(name), "children": []}
        while stack and stack[-1]["level"] >= level:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return get_toc(root)
