"""Stage 1: read the knowledge-base folder into sources, corpora, task files and reports.

Layout (all optional, relative to the knowledge-base root, `sources/` by default):

    pages/**/*.txt     one hand-added source: a YAML header between `---` lines, then the body
    corpora/**/*.json  a pipeline corpus (`[{title, content | page_body, url}, ...]` or
                       `{"documents": [...]}`); each item is a source
    files/<task>/*     files uploaded with a task (PDF, office files, images, ...), cited as [文档: …]/[图片: …]
    reports/<slug>/    one report: `report.yaml` plus the pipeline's report file(s)

Bad input never stops the others from loading: every defect becomes a `Problem` naming the file.
Hidden and temporary files are not read; links that leave the knowledge-base folder are refused
(a Problem naming the link): nothing outside it is ever published.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cite.resolve import file_key
from .corpus_json import CorpusCache, corpus_key, read_corpus, read_corpus_kept
from .extract import ExtractionError, extract_parts
from .messages import RUN_TITLE, Reason
from .metadata import MAX_METADATA, read_metadata, split_front_matter
from .models import Corpus, FileSource, Problem, Report, Source
from .paths import published_as_text
from .reading import (
    files_under,
    folder_entries,
    free_slug,
    read_bytes,
    read_text,
    readable_folder,
    relative,
    short_hash,
    shown,
    slugify,
)
from .report_text import merge_report_file, own_title, run_title

FILE_KINDS = {  # what a file page shows: an image or video itself, the text of the others (extract.py)
    ".pdf": "pdf",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xls": "xlsx",
    ".docx": "docx",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".md": "text",
    ".txt": "text",
    ".json": "text",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".svg": "image",
    ".mp4": "video",
    ".webm": "video",
    ".mov": "video",
}
PAGES_CORPUS = "pages"  # the corpus a report names to cite the hand-added pages (pages/*.txt)
INLINE_IMAGE = 1 << 20  # bytes of an image published as text (an SVG) that its page shows from the knowledge base


@dataclass
class Loaded:
    """Everything read from a knowledge-base folder, before citations are resolved."""

    root: Path
    sources: dict[str, Source] = field(default_factory=dict)
    corpora: dict[str, Corpus] = field(default_factory=dict)
    files: dict[str, FileSource] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def files_in(self, folder: str) -> list[FileSource]:
        """The task files of a folder, named as written or as on disk (shown as files' paths are)."""
        folder = shown(folder)
        return [f for path, f in self.files.items() if path.rsplit("/", 1)[0] == folder]


def load_page(path: Path, root: Path) -> tuple[Source | None, list[Problem]]:
    """A hand-added source: `---` YAML header (title required) then the scraped body."""
    where = relative(path, root)
    text, problem = read_text(path, root)
    if problem:
        return None, [problem]
    header, body, _ = split_front_matter(text)
    if header is None:
        return None, [Problem(where, "missing the YAML header (a `---` line, `title: …`, a `---` line)", 1)]
    meta, problem = read_metadata(header, where, 2)
    if problem:
        return None, [problem]
    if not visible(str(meta.get("title") or "")):
        return None, [Problem(where, "the YAML header needs a non-empty `title:`", 2)]
    if not body.strip():
        return None, [Problem(where, "empty source: no text after the header")]
    title = str(meta.pop("title")).strip()
    slug = slugify(str(meta.pop("slug", "") or path.stem)) or f"p-{short_hash(where)}"
    source = Source(slug, title, body, [where], {k: str(v) for k, v in meta.items()})
    return source, []


def visible(text: str) -> bool:
    """Whether `text` shows anything: white space and format characters alone (zero-width spaces
    and joiners, U+FEFF, direction marks) make an invisible heading and an invisible link."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def load_corpus(
    path: Path, root: Path, kept: CorpusCache | None = None
) -> tuple[Corpus | None, list[Source | None], list[Problem]]:
    entries, problems = read_corpus(path, root) if kept is None else read_corpus_kept(path, root, kept)
    if not entries and problems:
        return None, [], problems
    task = shown(path.parent.name) if path.parent != root / "corpora" else None
    return Corpus(corpus_key(path, root), task, [e.slug if e else "" for e in entries]), entries, problems


UNTOLD_SLIDES = (
    "its slides cannot be told apart (a line of a slide's own text reads like MarkItDown's slide marker): "
    "its text is shown whole, and a citation of a slide links the file, its place unchecked"
)


def load_file(path: Path, root: Path) -> tuple[FileSource, list[Problem]]:
    """A task file with the text the pipeline extracted from it; an unreadable one is still a file
    (its page offers the download) and a problem."""
    where = relative(path, root)
    kind = FILE_KINDS.get(path.suffix.lower(), "other")
    task = path.parent.name if path.parent != root / "files" else None
    source = FileSource(f"file-{short_hash(where)}", path.name, where, kind, task)
    try:
        source.parts = extract_parts(path)
    except ExtractionError as error:  # the library's error, or the limit the file is over
        reason = str(error)
    except OSError as error:  # removed or unreadable since it was listed
        reason = error.strerror or str(error)
    else:
        if kind == "image" and published_as_text(path.name):  # shown as a data: URI; a larger one is download-only
            source.inline, _ = read_bytes(path, root, INLINE_IMAGE)
        if kind == "pptx" and [part.kind for part in source.parts] == ["text"]:  # extract.slides
            return source, [Problem(where, UNTOLD_SLIDES)]
        return source, []
    what = "text" if kind == "text" else f"{kind} text"
    return source, [Problem(where, f"cannot extract the {what} ({reason}); its page offers only the download")]


def load_report(folder: Path, root: Path) -> tuple[Report | None, list[Problem]]:
    """One report folder: `report.yaml` (task, corpus, files, ...) and the pipeline's files."""
    where = relative(folder, root)
    problems: list[Problem] = []
    children = folder_entries(folder, root, problems)
    meta: dict = {}
    meta_path = folder / "report.yaml"
    if meta_path in children:
        text, problem = read_text(meta_path, root, MAX_METADATA)
        if text is not None:
            meta, problem = read_metadata(text, relative(meta_path, root))
        if problem:
            return None, [*problems, problem]
    parts: dict[str, str] = {}
    for path in children:
        if path.name == "report.yaml" or not path.is_file() or path.suffix not in (".txt", ".md"):
            continue
        text, problem = read_text(path, root)
        if problem:
            return None, [*problems, problem]
        merge_report_file(parts, path.name, text)
    if "final" not in parts and "original" in parts:  # no final_report.md: the run stopped before it
        parts["final"] = ""
    if "final" not in parts:  # an empty final report is a run that wrote nothing: kept, counted as failed
        return None, [
            *problems,
            Problem(where, "no report text found (expected *_comparison.txt, final_report.md or a report .md)"),
        ]
    slug = slugify(folder.name) or f"r-{short_hash(where)}"
    task = str(meta.get("task") or parts.get("task") or "") or None
    query = str(meta.get("query") or parts.get("query", ""))
    heading = own_title(parts["final"], query)
    generated = {"generated": parts["generated"]} if parts.get("generated") else {}
    report = Report(
        slug=slug,
        title=str(
            meta.get("title") or run_title({**generated, **meta}, task) or heading or RUN_TITLE.format(task=task or "—")
        ),
        subtitle=heading,
        path=where,
        final=parts["final"],
        original=parts.get("original"),
        query=query,
        task=task,
        corpus=str(meta["corpus"]).removesuffix(".json") if meta.get("corpus") else None,
        files=str(meta["files"]) if meta.get("files") else (f"files/{task}" if task else None),
        meta={
            k: v if Reason.read(v) else str(v)
            for k, v in meta.items()
            if k not in ("title", "task", "corpus", "files", "query")
        },
    )
    if parts.get("generated"):
        report.meta.setdefault("generated", parts["generated"])
    if parts.get("summary"):
        report.meta.setdefault("summary", parts["summary"])
    return report, problems


# What `mkdocs serve` keeps of each report folder read: its entries' stamps, the report, the problems.
ReportCache = dict[Path, tuple[tuple, Report | None, list[Problem]]]


def load_report_kept(folder: Path, root: Path, kept: ReportCache) -> tuple[Report | None, list[Problem]]:
    """`load_report`, kept while the folder's entries and each one's modification time, size and inode
    stay the same (as `read_corpus_kept`: a rebuild after a source edit reads no report again; at
    1,000 reports that was a third of a second). Each call gets a fresh Report: `load` may rename it."""
    try:
        with os.scandir(folder) as entries:
            stamp = tuple(sorted(_entry_stamp(entry) for entry in entries))
    except OSError:
        return load_report(folder, root)
    if folder not in kept or kept[folder][0] != stamp:
        kept[folder] = (stamp, *load_report(folder, root))
    _, report, problems = kept[folder]
    return (replace(report, meta=dict(report.meta)) if report else None), list(problems)


def _entry_stamp(entry: os.DirEntry) -> tuple:
    info = entry.stat()  # a link: its target's (a link to outside the knowledge base is a problem, kept)
    return entry.name, entry.is_symlink(), info.st_mtime_ns, info.st_size, info.st_ino


class _SourceSlugs:
    """Slugs taken on `sources/`: source pages and task-file pages share the folder."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.files = {f.slug for f in loaded.files.values()}

    def __contains__(self, slug: object) -> bool:
        return slug in self.loaded.sources or slug in self.files


def _disambiguate(loaded: Loaded, source: Source, taken: _SourceSlugs) -> str:
    """Merge a duplicate document; a different one whose slug is taken gets its own (reported):
    nothing is dropped. Returns the slug the source is published under."""
    existing = loaded.sources.get(source.slug)
    if existing is not None and existing.title == source.title and existing.body == source.body:
        existing.origins.extend(source.origins)
        return existing.slug
    slug = free_slug(source.slug, source.origins[0], taken)
    if slug != source.slug:
        owner = existing.origins[0] if existing else "an index page"
        loaded.problems.append(
            Problem(source.origins[0], f"slug {source.slug!r} is taken by {owner}; published as sources/{slug}/")
        )
        source.slug = slug
    loaded.sources[slug] = source
    return slug


def _add_report(loaded: Loaded, report: Report) -> None:
    """Report folders whose names slug alike (`Report 1`, `report-1`, `report_1`) are all published:
    later ones in sorted order get a hash of their folder appended, and that is reported."""
    slug = free_slug(report.slug, report.path, loaded.reports)
    if slug != report.slug:
        owner = loaded.reports[report.slug].path if report.slug in loaded.reports else "the reports index"
        loaded.problems.append(
            Problem(
                report.path, f"its address reports/{report.slug}/ is taken by {owner}; published at reports/{slug}/"
            )
        )
        report.slug = slug
    loaded.reports[slug] = report


def _same_cited_name(loaded: Loaded) -> None:
    """Task files of one folder whose names a citation cannot tell apart (`Logo.png`, `logo.png`,
    NFC and NFD `café.png`): both are published, and a citation links to the first; reported."""
    first: dict[tuple[str, str], FileSource] = {}
    for file in loaded.files.values():
        key = (file.path.rsplit("/", 1)[0], file_key(file.name))
        if key in first:
            loaded.problems.append(
                Problem(
                    file.path, f"a citation cannot tell it from {first[key].path}, which citations of that name link to"
                )
            )
        else:
            first[key] = file


def _add_file(loaded: Loaded, file: FileSource, path: Path) -> None:
    """A task file under the name it is shown by (`shown`), its path on disk kept when that differs
    (what the site publishes); a file whose name shows as another's (`\\xb1.png` undecoded, and one
    named so literally) is kept too, at its path and a hash of its name on disk, and reported."""
    disk = path.relative_to(loaded.root).as_posix()
    file.name, file.task = shown(file.name), file.task and shown(file.task)
    if file.path != disk:
        file.disk = disk
    if file.path in loaded.files:
        shown_as = file.path
        file.path = f"{shown_as}#{short_hash(disk, 6)}"
        file.slug = f"file-{short_hash(file.path)}"
        loaded.problems.append(Problem(file.path, f"its name shows as that of {shown_as}; published as another file"))
    loaded.files[file.path] = file


def _add_corpus(loaded: Loaded, corpus: Corpus, path: Path) -> None:
    """A corpus under its key; one whose name shows as another's is kept under its key and a hash of
    its name on disk, and reported."""
    if corpus.key in loaded.corpora:
        shown_as = corpus.key
        corpus.key = f"{shown_as}#{short_hash(path.relative_to(loaded.root).as_posix(), 6)}"
        loaded.problems.append(Problem(corpus.key, f"its name shows as that of {shown_as}.json; cited as {corpus.key}"))
    loaded.corpora[corpus.key] = corpus


def add_corpora(
    loaded: Loaded, corpus_docs: list[tuple[Corpus, list[Source | None], Path]], taken: _SourceSlugs | None = None
) -> None:
    """Corpora and their documents, each published under its own slug: documents sharing a title
    but not a body told apart by a hash of the body (`_told_apart`), identical ones merged
    (`_disambiguate`). The one rule for a build and for `kb cites` / `kb audit`, so that both
    resolve a citation alike."""
    taken = taken or _SourceSlugs(loaded)
    bodies_by_title: dict[str, set[str]] = {}
    for _, entries, _ in corpus_docs:
        for source in filter(None, entries):
            bodies_by_title.setdefault(source.title, set()).add(source.body)
    for corpus, entries, path in corpus_docs:
        for i, source in enumerate(entries):
            if source is None:
                continue
            if len(bodies_by_title[source.title]) > 1:
                source.slug = _told_apart(loaded, source)
            corpus.slugs[i] = _disambiguate(loaded, source, taken)
        _add_corpus(loaded, corpus, path)


def _told_apart(loaded: Loaded, source: Source) -> str:
    """The slug of a document sharing its title with others: its title's and 6 hex digits of its
    body's hash, more where a document of that title and another body has those (4,000 untitled
    pages make such a pair likely: a clash of our hashes, no defect of the input to report)."""
    for length in (6, 12, 40):
        slug = f"{source.slug}-{short_hash(source.body, length)}"
        other = loaded.sources.get(slug)
        if other is None or other.title != source.title or other.body == source.body:
            return slug
    return slug


def load(
    root: Path,
    corpora: CorpusCache | None = None,
    reports: ReportCache | None = None,
    on_reports: Callable[[Loaded], None] | None = None,
) -> Loaded:
    """Read a whole knowledge-base folder; a missing folder is an empty knowledge base. `corpora` and
    `reports` (kept by `mkdocs serve`) hold the corpus files and report folders already read, and are
    trimmed to this read's. The reports are read first: `on_reports` is handed them before the rest
    is read (a build starts the audit's claims from them); their problems are listed last."""
    root = root.resolve()
    loaded = Loaded(root)
    folders: list[Path] = []
    if readable_folder(root / "reports", root, loaded.problems):
        for folder in folder_entries(root / "reports", root, loaded.problems):
            if folder.is_dir():
                folders.append(folder)
                report, problems = (
                    load_report(folder, root) if reports is None else load_report_kept(folder, root, reports)
                )
                loaded.problems.extend(problems)
                if report:
                    _add_report(loaded, report)
    if reports is not None:
        for gone in set(reports) - set(folders):
            del reports[gone]
    if on_reports is not None:
        on_reports(loaded)
    reports_problems, loaded.problems = loaded.problems, []
    for path in files_under(root / "files", root, loaded.problems):
        file_source, problems = load_file(path, root)
        loaded.problems.extend(problems)
        _add_file(loaded, file_source, path)
    _same_cited_name(loaded)
    taken = _SourceSlugs(loaded)
    for path in files_under(root / "pages", root, loaded.problems):
        if path.suffix in (".txt", ".md"):
            source, problems = load_page(path, root)
            loaded.problems.extend(problems)
            if source:
                _disambiguate(loaded, source, taken)
    if loaded.sources:  # `corpus: pages` in a report.yaml: the hand-added pages, cited by title
        loaded.corpora[PAGES_CORPUS] = Corpus(PAGES_CORPUS, None, sorted(loaded.sources))
    corpus_docs: list[tuple[Corpus, list[Source | None], Path]] = []
    read: list[Path] = []
    for path in files_under(root / "corpora", root, loaded.problems):
        if path.suffix != ".json":
            continue
        read.append(path)
        corpus, entries, problems = load_corpus(path, root, corpora)
        loaded.problems.extend(problems)
        if corpus:
            corpus_docs.append((corpus, entries, path))
    if corpora is not None:
        for gone in set(corpora) - set(read):
            del corpora[gone]
    add_corpora(loaded, corpus_docs, taken)
    loaded.problems.extend(reports_problems)
    return loaded
