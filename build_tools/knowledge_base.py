"""The assembled knowledge base: every stage run once over a folder, ready to render.

Run once per build (not per page), so no page render ever scans the whole corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .chunk import chunk_text
from .cite.parse import parse_citations, rag_references
from .cite.resolve import Scope, file_key, resolve, title_index, url_index
from .clean import find_boilerplate
from .ingest import Loaded, load
from .lock import LOCK_NAME, Drift, find_drift, read_lock
from .models import Chunk, FileSource, Problem, Removal, Report, Resolved, Source

SENTENCE_END = re.compile(r"[。！？!?\n]")
MAX_SENTENCE = 160


@dataclass(frozen=True)
class Backlink:
    """A report sentence that cites a source (or one of its chunks)."""

    report_slug: str
    report_title: str
    sentence: str


@dataclass
class CitedReport:
    report: Report
    final: list[Resolved]
    original: list[Resolved]


@dataclass
class KnowledgeBase:
    loaded: Loaded
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    removals: dict[str, list[Removal]] = field(default_factory=dict)
    cited: dict[str, CitedReport] = field(default_factory=dict)
    backlinks: dict[tuple[str, int | None], list[Backlink]] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    titles: dict[str, Source] = field(default_factory=dict)  # title_index() of every source
    urls: dict[str, Source] = field(default_factory=dict)  # url_index() of every source

    @property
    def problems(self) -> list[Problem]:
        return self.loaded.problems

    @cached_property
    def files_by_slug(self) -> dict[str, FileSource]:
        return {f.slug: f for f in self.loaded.files.values()}

    def chunk_ids(self) -> dict[str, list[str]]:
        return {slug: [c.id for c in chunks] for slug, chunks in self.chunks.items()}


def citing_sentence(text: str, start: int, end: int) -> str:
    """The sentence around a citation, without any citation brackets, for backlinks."""
    left = max((m.end() for m in SENTENCE_END.finditer(text, 0, start)), default=0)
    right_match = SENTENCE_END.search(text, end)
    right = right_match.end() if right_match else len(text)
    sentence = text[left:start] + text[end:right]
    sentence = re.sub(r"\[[^\[\]\n]{0,300}\]", "", sentence).strip(" \t-*#>|")
    return sentence if len(sentence) <= MAX_SENTENCE else sentence[: MAX_SENTENCE - 1] + "…"


def scope_for(report: Report, kb: KnowledgeBase, chunk_counts: dict[str, int]) -> Scope:
    loaded = kb.loaded
    corpus = loaded.corpora.get(report.corpus) if report.corpus else None
    missing = None
    if report.corpus is None:
        missing = report.meta.get("corpus_missing") or (
            "this report names no corpus, so its long_context sources are not in the knowledge base")
    elif corpus is None:
        missing = f"corpus {report.corpus}.json is not in the knowledge base"
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
        elsewhere=kb.titles if missing else {},
        urls=kb.urls,
    )


Memo = dict[str, tuple[list[Chunk], list[Removal]]]  # a text's chunks and boilerplate, by the text


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
    tasks = sorted({c.task for c in loaded.corpora.values() if c.task} | {f.task for f in loaded.files.values() if f.task}
                   | {r.task for r in loaded.reports.values() if r.task})
    summaries = []
    for task in tasks:
        reports = [c for c in kb.cited.values() if c.report.task == task]
        places = (f"corpora/{task}/", f"files/{task}/", *(c.report.path.rstrip("/") + "/" for c in reports))
        citations = [item for c in reports for item in c.final]
        summaries.append(TaskSummary(
            task,
            len({slug for c in loaded.corpora.values() if c.task == task for slug in c.slugs if slug}),
            sum(f.task == task for f in loaded.files.values()),
            len(reports),
            len(citations),
            sum(item.status != "resolved" for item in citations),
            sum((p.path + "/").startswith(places) for p in kb.problems),
        ))
    return summaries


def build(root: Path, memo: Memo | None = None) -> KnowledgeBase:
    """Load a knowledge-base folder and run clean → chunk → cite over all of it."""
    return assemble(load(root), memo)


def assemble(loaded: Loaded, memo: Memo | None = None) -> KnowledgeBase:
    """Run clean → chunk → cite over what was loaded, and compare chunks with the lock.

    `memo` (kept by `mkdocs serve` between rebuilds) skips chunking and cleaning unchanged texts;
    it is trimmed to this build's texts."""
    kb = KnowledgeBase(loaded)
    seen: Memo = {}
    for slug, source in kb.loaded.sources.items():
        text = source.text
        done = seen.get(text) or (memo or {}).get(text) or (chunk_text(text), find_boilerplate(text))
        seen[text] = done
        kb.chunks[slug], kb.removals[slug] = done
    if memo is not None:
        memo.clear()
        memo.update(seen)
    kb.titles = title_index(list(kb.loaded.sources.values()))
    kb.urls = url_index(list(kb.loaded.sources.values()))
    chunk_counts = {slug: len(chunks) for slug, chunks in kb.chunks.items()}
    for slug, report in kb.loaded.reports.items():
        scope = scope_for(report, kb, chunk_counts)
        final = [resolve(c, scope) for c in parse_citations(report.final)]
        original = [resolve(c, scope) for c in parse_citations(report.original or "")]
        kb.cited[slug] = CitedReport(report, final, original)
        for item in final:
            if item.target and item.source_slug:
                at_chunk = item.status == "resolved" and item.citation.kind == "long_context"
                key = (item.source_slug, item.citation.chunk if at_chunk else None)
                link = Backlink(slug, report.title, citing_sentence(report.final, item.citation.start, item.citation.end))
                if link not in kb.backlinks.setdefault(key, []):
                    kb.backlinks[key].append(link)
    locked, problem = read_lock(kb.loaded.root / LOCK_NAME)
    if problem:
        kb.loaded.problems.append(problem)
    kb.drift = find_drift(locked, kb.chunk_ids())
    return kb
