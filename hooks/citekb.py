"""MkDocs hooks: a thin adapter that runs the build_tools pipeline from MkDocs events.

on_startup  notes `serve` and `--dirty`; on_pre_build waits for a background index still being written
on_config   finds the knowledge-base folder (extra.citekb.sources, or $CITEKB_SOURCES); pins the build date;
            reads extra.citekb.search ($CITEKB_SEARCH) and extra.citekb.audit ($CITEKB_AUDIT)
on_files    builds the knowledge base once, audits its citations (extra.citekb.audit) and adds every generated page and file
on_page_*   fills generated pages: reports through Markdown, everything else as ready HTML
on_post_build writes the prebuilt search index (search/citekb/); while serving, in the background
on_serve    watches the knowledge-base folder, so edited sources show up without a restart

`mkdocs serve --dirty` re-renders only pages whose content changed: each generated page is then
backed by a stub file under .cache/citekb/pages/ holding a fingerprint of the page, rewritten only
when the fingerprint changes, so MkDocs' modification-time test skips every other page.

Task files are copied from the knowledge-base folder only while they are still in it: one removed
or replaced by a link to elsewhere since it was read is reported, not copied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import TableOfContents, get_toc
from mkdocs.utils import get_relative_url

from build_tools import analysis, audit, commonmark, documents, index, messages, paths, render, render_stats
from build_tools.knowledge_base import CitedReport, KnowledgeBase, build
from build_tools.models import Source

log = logging.getLogger("mkdocs.hooks.citekb")

_root: Path | None = None
_stub_folder = Path()  # --dirty: STUBS, one folder per knowledge-base folder (set in on_config)
_kb: KnowledgeBase | None = None
_html_pages: dict[str, Callable[[render.Link], str]] = {}
_markdown_pages: dict[str, Callable[[render.Link], str]] = {}
# Kept in memory between `mkdocs serve` rebuilds:
_term_cache: analysis.TermCache | None = None
_memo: dict = {}  # knowledge_base.Memo
_serving = False
_dirty = False
_indexing: threading.Thread | None = None
_stubs: dict[Path, str] = {}  # --dirty: stub contents known to be on disk


def _sources_root(config) -> Path:
    configured = os.environ.get("CITEKB_SOURCES") or config.extra.get("citekb", {}).get("sources", "sources")
    return (Path(config.config_file_path).parent / configured).resolve()


# MkDocs stamps the build date into pages and the sitemap's gzip header; a fixed date makes two
# builds of the same input byte-identical (https://reproducible-builds.org/specs/source-date-epoch/).
REPRODUCIBLE_EPOCH = "0"
CACHE = ".cache/citekb/terms.marshal"  # each text's terms by content hash, beside mkdocs.yml
STUBS = ".cache/citekb/pages"  # --dirty: one fingerprinted stub per generated page


def on_startup(command, dirty):
    global _serving, _dirty
    _serving, _dirty = command == "serve", dirty


def on_config(config):
    global _root, _stub_folder
    os.environ.setdefault("SOURCE_DATE_EPOCH", REPRODUCIBLE_EPOCH)
    if not config.use_directory_urls:
        raise PluginError("citekb: citation links assume `use_directory_urls: true`")
    _root = _sources_root(config)
    docs = Path(config.docs_dir).resolve()
    if _root == docs or docs in _root.parents:
        raise PluginError(
            "citekb: the knowledge-base folder must not be inside docs_dir: MkDocs would publish "
            "its raw files (links to outside it included)"
        )
    root_key = hashlib.sha1(str(_root).encode("utf-8")).hexdigest()[:12]
    _stub_folder = Path(config.config_file_path).parent / STUBS / root_key
    citekb = config.extra.setdefault("citekb", {})
    citekb["search"] = os.environ.get("CITEKB_SEARCH") or citekb.get("search", "prebuilt")
    if citekb["search"] not in ("prebuilt", "material"):
        raise PluginError(f"citekb: extra.citekb.search must be 'prebuilt' or 'material', not {citekb['search']!r}")
    audit_setting = os.environ.get("CITEKB_AUDIT") or citekb.get("audit", False)
    if isinstance(audit_setting, str):
        audit_setting = {"true": True, "1": True, "false": False, "0": False}.get(audit_setting.lower(), audit_setting)
    if not isinstance(audit_setting, bool):
        raise PluginError(f"citekb: extra.citekb.audit must be true or false, not {audit_setting!r}")
    citekb["audit"] = audit_setting
    return config


def _prebuilt_search(config) -> bool:
    return config.extra["citekb"]["search"] == "prebuilt"


def _page(files: Files, config, src_uri: str, title: str, fingerprint: Callable[[], str]) -> None:
    """A generated page; `render_macros: false` keeps mkdocs-macros away from scraped text.

    The title is escaped: MkDocs and Material insert page titles into the header and nav as raw HTML.
    Material's own search skips these pages: our prebuilt index (on_post_build) covers them.
    """
    meta = {"title": render.esc(title), "render_macros": False}
    if _prebuilt_search(config):
        meta["search"] = {"exclude": True}
    if not _dirty:
        files.append(File.generated(config, src_uri, content=_front_matter(meta)))
        return
    meta["citekb_fingerprint"] = fingerprint()
    front = _front_matter(meta)
    stub = _stub_folder / src_uri  # slugs are bounded (ingest.MAX_SLUG), so is the stub's name
    if _stubs.get(stub) != front and (not stub.is_file() or stub.read_text(encoding="utf-8") != front):
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(front, encoding="utf-8")
    _stubs[stub] = front
    files.append(File.generated(config, src_uri, abs_src_path=str(stub)))


class _TaskFile(File):
    """A task file copied from the knowledge-base folder, only while it is still a file in it."""

    def copy_file(self, dirty: bool = False) -> None:
        path = Path(self.abs_src_path)
        try:
            if path.is_file() and path.resolve().is_relative_to(_root):
                super().copy_file(dirty)
                return
        except FileNotFoundError:
            pass
        log.warning("citekb: %s: no longer a file in the knowledge-base folder; not published", path.relative_to(_root))


def _front_matter(meta: dict) -> str:
    """JSON is YAML, and 100× cheaper to write than yaml.safe_dump: 11,000 pages spent 3 s there."""
    return f"---\n{json.dumps(meta, ensure_ascii=False)}\n---\n"


# New page code (any module that writes page HTML or its text): new fingerprints.
_RENDER_CODE = hashlib.sha1(
    b"".join(Path(module.__file__).read_bytes() for module in (render, render_stats, commonmark, messages))
).hexdigest()


def _fingerprint_of(text: str) -> str:
    return hashlib.sha1((_RENDER_CODE + text).encode("utf-8")).hexdigest()


def _fingerprint(make: Callable[[render.Link], str]) -> Callable[[], str]:
    """The page rendered with site paths as they are: it changes exactly when the page does."""
    return lambda: _fingerprint_of(make(lambda target: target))


def on_pre_build(config) -> None:
    if _indexing is not None:
        _indexing.join()  # the previous rebuild's index is still being written into the site


def on_files(files: Files, config) -> Files:
    global _kb
    _kb = kb = build(_root, _memo if _serving else None)
    kb.audits = audit.audit_kb(kb, _terms(config)) if config.extra["citekb"]["audit"] else {}
    reported = [str(problem) for problem in kb.problems] + [str(drift) for drift in kb.drift]
    for line in reported:
        log.warning("citekb: %s", line)
    if reported and config.strict:
        raise PluginError(_strict_failure(reported))
    _html_pages.clear()
    _markdown_pages.clear()

    def add_html(src_uri: str, title: str, make: Callable[[render.Link], str]) -> None:
        _page(files, config, src_uri, title, _fingerprint(make))
        _html_pages[src_uri] = make

    add_html("sources/index.md", "来源", lambda link: render.sources_index(kb, link))
    add_html("reports/index.md", "报告", lambda link: render.reports_index(kb, link))
    add_html("health.md", "引用健康度", lambda link: render.health_page(kb, link))
    add_html(paths.STATS_PAGE_URI, "引用质量对比", lambda link: render_stats.stats_page(kb, link))
    backlinks: dict[str, list] = {}
    for (slug, chunk), links in kb.backlinks.items():
        backlinks.setdefault(slug, []).append((chunk, links))

    def source_inputs(source: Source) -> str:
        """Everything source_page reads (chunks and boilerplate follow from the text): hashing
        this instead of the rendered page saves a second of every rebuild at 10,000 sources."""
        return repr(
            (
                source.title,
                source.body,
                sorted(source.meta.items()),
                source.origins,
                sorted(backlinks.get(source.slug, []), key=repr),
            )
        )

    for source in kb.loaded.sources.values():
        src_uri = paths.source_page_uri(source.slug)
        _page(files, config, src_uri, source.title or source.slug, lambda s=source: _fingerprint_of(source_inputs(s)))
        _html_pages[src_uri] = lambda link, s=source: render.source_page(kb, s, link)
    for file in kb.loaded.files.values():
        add_html(paths.source_page_uri(file.slug), file.name, lambda link, f=file: render.file_page(kb, f, link))
        files.append(_TaskFile.generated(config, render.file_url(file), abs_src_path=str(kb.loaded.root / file.path)))
    digests: dict[str, str] = {}

    def digest(slug: str) -> str:
        """A cited source's or file's content, once per build: what a report's previews show of it."""
        if slug not in digests:
            source, file = kb.loaded.sources.get(slug), kb.files_by_slug.get(slug)
            content = repr(
                (source.title, source.text) if source else (file.name, file.kind, file.parts) if file else None
            )
            digests[slug] = hashlib.sha1(content.encode("utf-8")).hexdigest()
        return digests[slug]

    def report_inputs(cited: CitedReport) -> str:
        """Everything report_page reads: the report, each citation's verdict, the content of what
        it cites (by digest) and the audit. Hashing this instead of rendering every report page
        saves about a second of every rebuild at 1,000 reports."""
        items = [*cited.final, *cited.original]
        verdicts = [(i.citation, i.status, i.target, str(i.reason), str(i.suggestion), i.source_slug) for i in items]
        cited_content = [(slug, digest(slug)) for slug in sorted({i.source_slug for i in items if i.source_slug})]
        return repr((cited.report, verdicts, cited_content, kb.audits.get(cited.report.slug)))

    for slug, cited in kb.cited.items():
        make = lambda link, c=cited: render.report_page(kb, c, link)  # noqa: E731
        inputs = lambda c=cited: _fingerprint_of(report_inputs(c))  # noqa: E731
        _page(files, config, paths.report_page_uri(slug), cited.report.title, inputs)
        _markdown_pages[paths.report_page_uri(slug)] = make
    log.info("citekb: %d sources, %d files, %d reports", len(kb.loaded.sources), len(kb.loaded.files), len(kb.cited))
    return files


STRICT_LISTED = 50  # problems named in a strict build's error; `kb check --sources` lists them all


def _strict_failure(reported: list[str]) -> str:
    """The error that stops a strict build: it names the problems itself, because `-q` drops the
    warnings above before MkDocs' own strict count sees them (it would exit 0)."""
    listed = "\n".join(f"  {line}" for line in reported[:STRICT_LISTED])
    more = f"\n  … and {len(reported) - STRICT_LISTED} more" if len(reported) > STRICT_LISTED else ""
    return f"citekb: {len(reported)} problem(s) in the knowledge base; a strict build stops here:\n{listed}{more}"


def _linker(page) -> render.Link:
    def link(target: str) -> str:
        path, _, fragment = target.partition("#")
        url = get_relative_url(path, page.url) if path else ""
        if path.endswith("/") and not url.endswith("/"):
            url += "/"
        return url + (f"#{fragment}" if fragment else "")

    return link


def on_page_markdown(markdown: str, page, config, files) -> str:
    make = _markdown_pages.get(page.file.src_uri)
    if make:
        return make(_linker(page))
    return "" if page.file.src_uri in _html_pages else markdown


def on_page_content(html: str, page, config, files) -> str:
    make = _html_pages.get(page.file.src_uri)
    if make:
        return make(_linker(page))
    if page.file.src_uri in _markdown_pages:
        page.toc = _toc(render.outline(html))
    return html


def _toc(headings: list[tuple[int, str, str]]) -> TableOfContents:
    """MkDocs' table of contents from (level, id, text), nested by level."""
    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, name in headings:
        token = {"level": level, "id": anchor, "name": name, "children": []}
        while stack and stack[-1]["level"] >= level:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return get_toc(root)


def on_post_build(config) -> None:
    """The prebuilt search index over every chunk and report section (terms cached across builds).

    While serving, it is built in the background: the edited page is shown first, search follows."""
    global _indexing
    if _kb is None or not _prebuilt_search(config):
        return
    kb, cache, folder = _kb, _terms(config), Path(config.site_dir) / index.SITE_FOLDER

    def write() -> None:
        built = index.build_index(documents.search_docs(kb), cache, progress=lambda line: log.info("citekb: %s", line))
        cache.save()
        index.write_index(built, folder)

    if _serving:
        _indexing = threading.Thread(target=write, name="citekb-index", daemon=True)
        _indexing.start()
    else:
        write()


def _terms(config) -> analysis.TermCache:
    """The segmentation cache, shared by the audit (on_files) and the search index (on_post_build):
    the chunks the audit segments are the index's own documents, so a build segments them once."""
    global _term_cache
    path = Path(os.environ.get("CITEKB_CACHE") or Path(config.config_file_path).parent / CACHE)
    if _term_cache is None or _term_cache.path != path:
        _term_cache = analysis.TermCache(path)
    return _term_cache


def on_serve(server, config, builder):
    if _root is not None and _root.is_dir():
        server.watch(str(_root))
    return server
