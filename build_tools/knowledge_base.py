"""The assembled knowledge base: every stage run once over a folder, ready to render.

Run once per build (not per page), so no page render ever scans the whole corpus.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from .chunk import chunk_text
from .cite.parse import parse_citations, rag_references
from .cite.resolve import Scope, Titles, file_key, resolve, url_index
from .clean import find_boilerplate
from .commonmark import disjoint, in_code, inside
from .corpus_json import CorpusCache
from .ingest import Loaded, ReportCache, load
from .lock import LOCK_NAME, Drift, find_drift, read_lock
from .messages import Reason
from .models import Audit, Chunk, Citation, FileSource, Problem, Removal, Report, Resolved, Source
from .paths import citation_anchor
from .reading import shown

T = TypeVar("T")

SENTENCE_END = re.compile(r"[。！？!?\n]")
MAX_SENTENCE = 160
SENTENCE_WINDOW = 4 * MAX_SENTENCE  # characters read on each side of a citation
MAX_ROW = 4 * SENTENCE_WINDOW  # characters of a table row read on each side of a citation
_SPACES = re.compile(r"\s*")
MIN_CLAIM = 8  # a clause shorter than this (e.g. "据[…]报道，") stands for its whole sentence
_CITATION_LIKE = re.compile(r"\[[^\[\]\n]{0,300}\]")
_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:[-*+>#]+|\d+[.)、])\s+|!?\[([^\[\]\n]*)\]\([^()\s]*\)", re.MULTILINE)
_CLAUSE_EDGES = " \t\n-*#>|，,；;：:、。！？!?"
# Names a report's "did you mean" hints may compare (Scope.hint_budget): in proportion to its text,
# so hints cost linear time however many invented titles meet however large a corpus.
HINTS_PER_CHARACTER = 4
HINTS_AT_LEAST = 100_000


@dataclass(frozen=True)
class Backlink:
    """A report sentence that cites a source (or one of its chunks), and the citation's anchor."""

    report_slug: str
    report_title: str
    sentence: str
    anchor: str | None = None


def span_anchors(items: list[Resolved], section: str) -> list[str | None]:
    """Each citation's anchor on its report page (parallel to `items`): the n-th citation bracket
    of the section, as `render.report_html` places them; None for one it does not place."""
    order = {span: n for n, span in enumerate(disjoint((i.citation.start, i.citation.end) for i in items))}
    spans = [(i.citation.start, i.citation.end) for i in items]
    return [citation_anchor(section, order[span]) if span in order else None for span in spans]


@dataclass
class CitedReport:
    report: Report
    final: list[Resolved]
    original: list[Resolved]

    @cached_property
    def final_anchors(self) -> list[str | None]:
        return span_anchors(self.final, "final")

    @cached_property
    def original_anchors(self) -> list[str | None]:
        return span_anchors(self.original, "original")


@dataclass
class KnowledgeBase:
    loaded: Loaded
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    removals: dict[str, list[Removal]] = field(default_factory=dict)
    cited: dict[str, CitedReport] = field(default_factory=dict)
    backlinks: dict[tuple[str, int | None], list[Backlink]] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    titles: Titles = field(default_factory=lambda: Titles([]))  # every source
    urls: dict[str, Source] = field(default_factory=dict)  # url_index() of every source
    audits: dict[str, list[Audit | None]] = field(default_factory=dict)  # by report: audit.audit_kb, parallel to final

    @property
    def problems(self) -> list[Problem]:
        return self.loaded.problems

    @cached_property
    def files_by_slug(self) -> dict[str, FileSource]:
        return {f.slug: f for f in self.loaded.files.values()}

    def chunk_ids(self) -> dict[str, list[str]]:
        return {slug: [c.id for c in chunks] for slug, chunks in self.chunks.items()}


MAX_CITATIONS = 5000
"""Citations of one report text linked and checked, at most; those after are shown as written and
the report is named among the problems (`assemble`). A bound on what one report costs: a
bracket of a few bytes can cite 50 chunks or pages, and each citation carries its preview (one
report of 50 KB made 344,000 citations and 3 GB). The pipeline's reports here cite at most 58 times."""


def report_citations(text: str) -> list[Citation]:
    """A report's citations, leaving out brackets inside code (shown literally, not citations), the
    first MAX_CITATIONS."""
    citations = parse_citations(text)
    if not citations or not any(mark in text for mark in ("`", "~~~", "    ", "\t")):  # no code can be
        return citations[:MAX_CITATIONS]
    spans = disjoint((c.start, c.end) for c in citations)
    code = {spans[n] for n in in_code(text, spans)}
    return [c for c in citations if (c.start, c.end) not in code][:MAX_CITATIONS]


class Sentences:
    """The sentence around any citation of one text. Sentence ends are found once per text (a `？`
    inside a citation's title ends nothing), and only a bounded window around the citation is
    read, so a paragraph of 20,000 citations costs the same per citation as one of ten."""

    def __init__(self, text: str, citations: Iterable[Citation]):
        self.text = text
        self.spans = spans = disjoint((c.start, c.end) for c in citations)
        self.ends = [m.end() for m in SENTENCE_END.finditer(text) if not inside(spans, m.start())]

    def _window(self, start: int, end: int) -> tuple[int, int]:
        """Where the sentence around the citation at [start, end) begins and ends, at most
        SENTENCE_WINDOW characters away on each side."""
        before_at = bisect.bisect_right(self.ends, start) - 1
        after_at = bisect.bisect_right(self.ends, end)
        left = max(self.ends[before_at] if before_at >= 0 else 0, start - SENTENCE_WINDOW)
        right = min(self.ends[after_at] if after_at < len(self.ends) else len(self.text), end + SENTENCE_WINDOW)
        return left, right

    def _between_citations(self, left: int, right: int) -> list[str]:
        """The text of [left, right) cut at the citations in it."""
        pieces, cursor = [], left
        # By index: copying (or skipping over) the spans before `left` for each citation was quadratic.
        for at in range(max(0, bisect.bisect_right(self.spans, (left, -1)) - 1), len(self.spans)):
            span_start, span_end = self.spans[at]
            if span_start >= right:
                break
            if span_end > cursor:
                pieces.append(self.text[cursor : max(span_start, cursor)])
                cursor = span_end
        pieces.append(self.text[cursor:right])
        return pieces

    def claim(self, start: int, end: int) -> str:
        """What a citation supports, as plain text: the clause before it (back to the sentence's
        start, a table cell's `|` or the previous cited clause); the whole sentence when that clause
        is too short to say anything, the whole row for a table cell ("| GAIA2 [cite] | 963 | … |"
        cites the row's facts about GAIA2); the previous sentence when the citation comes after its
        end (several citations in a row share it). Markup and citation brackets are left out."""
        at = bisect.bisect_right(self.ends, start) - 1
        left, right = self._window(start, end)
        pieces = self._between_citations(left, start)
        clause = next((p for p in reversed(pieces) if p.strip(_CLAUSE_EDGES)), "")
        if not "".join(pieces).strip(_CLAUSE_EDGES) and at >= 0 and self.text[self.ends[at] - 1] != "\n":
            before_at = bisect.bisect_right(self.ends, self.ends[at] - 1) - 1
            sentence_start = max(self.ends[before_at] if before_at >= 0 else 0, left - SENTENCE_WINDOW)
            return _plain(self.text[sentence_start:left])
        clause = clause.rsplit("|", 1)[-1]
        if len(_plain(clause)) >= MIN_CLAIM:
            return _plain(clause)
        row = self.row_claim(start, end)
        if row is not None:
            return row
        after = _CITATION_LIKE.sub("", self.text[end:right]).split("|", 1)[0]
        return _plain("".join(pieces).rsplit("|", 1)[-1] + after)

    def row_claim(self, start: int, end: int) -> str | None:
        """The cells of the table row the citation at [start, end) is in, "；"-joined as plain text,
        or None outside a table."""
        row = self._row(start, end)
        if row is None:
            return None
        line = _CITATION_LIKE.sub("", self.text[row[0] : row[1]])
        return "；".join(cell for cell in map(_plain, line.strip().strip("|").split("|")) if cell)

    def _row(self, start: int, end: int) -> tuple[int, int] | None:
        """The table row (`| … |` line) the citation at [start, end) is in, or None: read at most
        MAX_ROW characters away on each side (the whole line was read for each citation, quadratic
        in a line of many)."""
        line_break = self.text.rfind("\n", max(0, start - MAX_ROW), start)
        if line_break == -1 and start > MAX_ROW:
            return None
        first = line_break + 1
        lead = _SPACES.match(self.text, first, start).end()
        if lead == start or self.text[lead] != "|":
            return None
        line_end = self.text.find("\n", end, end + MAX_ROW)
        return first, line_end if line_end >= 0 else min(len(self.text), end + MAX_ROW)

    def around(self, start: int, end: int) -> str:
        """The citing sentence without any citation brackets: the text before the citation (its
        last part when long) and after it, up to MAX_SENTENCE characters."""
        left, right = self._window(start, end)
        before = _CITATION_LIKE.sub("", self.text[left:start]).lstrip(" \t-*#>|")
        after = _CITATION_LIKE.sub("", self.text[end:right]).rstrip(" \t-*#>|")
        if len(before) + len(after) <= MAX_SENTENCE:
            return (before + after).strip()
        if len(before) > MAX_SENTENCE * 2 // 3:
            before = "…" + before[-(MAX_SENTENCE * 2 // 3 - 1) :]
        after = after[: MAX_SENTENCE - len(before) - 1] + "…"
        return (before + after).strip()


def _plain(text: str) -> str:
    """Report text without citations, Markdown markup or the punctuation at its edges, its character
    references read as the page shows them (`&amp;` is `&`, not a name `amp` to look for)."""
    text = html.unescape(_CITATION_LIKE.sub("", _MARKUP.sub(lambda m: m.group(1) or "", text)))
    return " ".join(text.split()).strip(_CLAUSE_EDGES)


def scope_for(
    report: Report, kb: KnowledgeBase, chunk_counts: dict[str, int], corpus_titles: dict[str, Titles]
) -> Scope:
    """What `report` can cite; `corpus_titles` holds each corpus's `Titles`, shared by its reports."""
    loaded = kb.loaded
    corpus = loaded.corpora.get(shown(report.corpus)) if report.corpus else None  # keys are shown names
    missing = None
    if report.corpus is None:
        note = report.meta.get("corpus_missing")
        missing = Reason.read(note) or (Reason.of("corpus_note", note=note) if note else Reason.of("corpus_unnamed"))
    elif corpus is None:
        missing = Reason.of("corpus_absent", corpus=report.corpus)
    sources = [loaded.sources[slug] for slug in corpus.slugs if slug] if corpus else []
    folder = (report.files or "").rstrip("/")
    files: dict[str, FileSource] = {}
    for file in loaded.files_in(folder) if folder else []:
        files.setdefault(file_key(file.name), file)  # the first of names a citation cannot tell apart (reported)
    return Scope(
        sources=sources,
        chunk_counts=chunk_counts,
        files=files,
        files_folder=folder or None,
        rag_titles=rag_references(report.final),
        missing_corpus=missing,
        elsewhere=kb.titles if missing else None,
        urls=kb.urls,
        titles=(corpus_titles.get(corpus.key) or corpus_titles.setdefault(corpus.key, Titles(sources)))
        if corpus
        else None,
        hint_budget=HINTS_PER_CHARACTER * (len(report.final) + len(report.original or "")) + HINTS_AT_LEAST,
    )


@dataclass
class Memo:
    """What `mkdocs serve` keeps between rebuilds, each by what it was computed from, so an edit
    redoes only what it changed: a text's chunks and boilerplate, a report text's citations, a
    corpus file's documents and a report folder's report (while their files' sizes and modification
    times stay the same), a report's resolved citations and backlinks."""

    chunks: dict[str, tuple[list[Chunk], list[Removal]]] = field(default_factory=dict)
    citations: dict[str, list[Citation]] = field(default_factory=dict)
    corpora: CorpusCache = field(default_factory=dict)
    reports: ReportCache = field(default_factory=dict)
    # A report's resolved citations and backlinks, while it, its corpus's chunk counts and every
    # other input of its citations' resolution (`names`: the last build's) stay the same:
    cited: dict[str, CitedMemo] = field(default_factory=dict)
    names: tuple | None = None


@dataclass(frozen=True)
class CitedMemo:
    """One report's share of `assemble`, and what it was made from."""

    report: Report
    chunk_counts: tuple[int, ...]  # of its corpus's documents, in order
    cited: CitedReport
    backlinks: list[tuple[tuple[str, int | None], tuple[str, str], Backlink]]  # in the order found


def resolution_names(loaded: Loaded) -> tuple:
    """Everything a report's citations are resolved against but its own text and its corpus's chunk
    counts (`scope_for`, `resolve`): every source's title and header (its URL), every corpus's
    documents, every task file's name and parts. An edit of a source's text alone leaves it as it is."""
    return (
        tuple((slug, s.title, tuple(s.meta.items())) for slug, s in loaded.sources.items()),
        tuple((key, tuple(corpus.slugs)) for key, corpus in loaded.corpora.items()),
        tuple(
            (f.slug, f.name, f.path, f.kind, f.task, tuple((p.kind, p.number, p.name) for p in f.parts))
            for f in loaded.files.values()
        ),
    )


@dataclass(frozen=True)
class TaskSummary:
    """One pipeline task as imported: what `kb import` prints per task."""

    task: str
    sources: int  # distinct sources in the task's corpora
    files: int
    reports: int
    citations: int  # in the final reports
    unresolved: int  # of those, not linked to what they cite
    problems: int  # input problems in the task's corpora, files and reports


def task_summaries(kb: KnowledgeBase) -> list[TaskSummary]:
    loaded = kb.loaded
    tasks = sorted(
        {c.task for c in loaded.corpora.values() if c.task}
        | {f.task for f in loaded.files.values() if f.task}
        | {r.task for r in loaded.reports.values() if r.task}
    )
    summaries = []
    for task in tasks:
        reports = [c for c in kb.cited.values() if c.report.task == task]
        places = (f"corpora/{task}/", f"files/{task}/", *(c.report.path.rstrip("/") + "/" for c in reports))
        citations = [item for c in reports for item in c.final]
        summaries.append(
            TaskSummary(
                task,
                len({slug for c in loaded.corpora.values() if c.task == task for slug in c.slugs if slug}),
                sum(f.task == task for f in loaded.files.values()),
                len(reports),
                len(citations),
                sum(item.status != "resolved" for item in citations),
                sum((p.path + "/").startswith(places) for p in kb.problems),
            )
        )
    return summaries


def _reuse(now: dict[str, T], before: dict[str, T], text: str, make: Callable[[str], T]) -> T:
    """What `make` gives for `text`: already made in this build, kept from the last, or made now."""
    if text not in now:
        now[text] = before[text] if text in before else make(text)
    return now[text]


def _chunked(text: str) -> tuple[list[Chunk], list[Removal]]:
    return chunk_text(text), find_boilerplate(text)


def _cite(
    slug: str, report: Report, scope: Scope, citations: Callable[[str], list[Citation]], counts: tuple[int, ...]
) -> CitedMemo:
    """A report's citations resolved in `scope`, and the backlinks each sentence citing a source
    (or one of its chunks) gives that source, in order."""
    final = [resolve(c, scope) for c in citations(report.final)]
    original = [resolve(c, scope) for c in citations(report.original or "")]
    cited = CitedReport(report, final, original)
    sentences = Sentences(report.final, (i.citation for i in final))
    links = []
    for item, anchor in zip(final, cited.final_anchors):
        if item.target and item.source_slug:
            at_chunk = item.status == "resolved" and item.citation.kind == "long_context"
            key = (item.source_slug, item.citation.chunk if at_chunk else None)
            sentence = sentences.around(item.citation.start, item.citation.end)
            links.append((key, (slug, sentence), Backlink(slug, report.title, sentence, anchor)))
    return CitedMemo(report, counts, cited, links)


def build(root: Path, memo: Memo | None = None, on_reports: Callable[[Loaded], None] | None = None) -> KnowledgeBase:
    """Load a knowledge-base folder and run clean → chunk → cite over all of it; `on_reports` is
    handed what was loaded once the reports are read, before the rest is (a build starts the
    audit's claims from them on the second core, idle then)."""
    loaded = load(root, memo.corpora, memo.reports, on_reports) if memo else load(root, on_reports=on_reports)
    return assemble(loaded, memo)


def assemble(loaded: Loaded, memo: Memo | None = None) -> KnowledgeBase:
    """Run clean → chunk → cite over what was loaded, and compare chunks with the lock.

    `memo` (kept by `mkdocs serve` between rebuilds) skips chunking, cleaning and citation parsing
    of unchanged texts, and resolving a report's citations while nothing they are resolved against
    changed; it is trimmed to this build's texts and reports."""
    kb = KnowledgeBase(loaded)
    names = resolution_names(loaded) if memo is not None else None
    memo = memo or Memo()
    seen = Memo(corpora=memo.corpora, reports=memo.reports)
    for slug, source in kb.loaded.sources.items():
        kb.chunks[slug], kb.removals[slug] = _reuse(seen.chunks, memo.chunks, source.text, _chunked)

    def citations(text: str) -> list[Citation]:
        return _reuse(seen.citations, memo.citations, text, report_citations)

    kb.titles = Titles(kb.loaded.sources.values())
    kb.urls = url_index(list(kb.loaded.sources.values()))
    chunk_counts = {slug: len(chunks) for slug, chunks in kb.chunks.items()}
    backlinks: dict[tuple[str, int | None], dict[tuple[str, str], Backlink]] = {}
    corpus_titles: dict[str, Titles] = {}
    kept = memo.cited if names is not None and names == memo.names else {}
    counts_of: dict[str | None, tuple[int, ...]] = {}
    for slug, report in kb.loaded.reports.items():
        corpus = kb.loaded.corpora.get(shown(report.corpus)) if report.corpus else None
        if report.corpus not in counts_of:
            counts_of[report.corpus] = tuple(chunk_counts[s] for s in corpus.slugs if s) if corpus else ()
        counts = counts_of[report.corpus]
        made = kept.get(slug)
        if made is None or made.report != report or made.chunk_counts != counts:
            made = _cite(slug, report, scope_for(report, kb, chunk_counts, corpus_titles), citations, counts)
        seen.cited[slug] = made
        kb.cited[slug] = made.cited
        if max(len(made.cited.final), len(made.cited.original)) >= MAX_CITATIONS:
            cut = f"{MAX_CITATIONS} citations or more: those after the {MAX_CITATIONS}th are shown as written, not linked or checked"
            kb.loaded.problems.append(Problem(report.path, cut))
        for key, at, link in made.backlinks:
            # once per sentence, linked to its first citation; a dict keeps first-seen order
            backlinks.setdefault(key, {}).setdefault(at, link)
    kb.backlinks = {key: list(links.values()) for key, links in backlinks.items()}
    memo.chunks, memo.citations, memo.cited, memo.names = seen.chunks, seen.citations, seen.cited, names
    locked, problem = read_lock(kb.loaded.root / LOCK_NAME)
    if problem:
        kb.loaded.problems.append(problem)
    kb.drift = find_drift(locked, kb.chunk_ids())
    return kb
