"""Auditing a knowledge base: reports grouped by corpus, audited in this process or on every core by
forked workers while the build goes on (`start_audit`), and kept between serve rebuilds (`Kept`)."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool

from ..analysis import Analysis, TermCache
from ..documents import chunk_docs
from ..index import SearchDoc
from ..ingest import Loaded
from ..knowledge_base import KnowledgeBase, Sentences, report_citations
from ..models import Audit, Citation, Resolved
from ..paths import source_path
from .claims import (
    CorpusTerms,
    FoundFacts,
    Picked,
    claim_terms,
    corpus_terms,
    found_facts,
    remember_facts,
    states_nothing,
)
from .scoring import Chunks, cited_parts
from .settings import SETTINGS, AuditSettings
from .verdicts import audit_citations

PARALLEL_FROM = 2000  # citations to audit before forked workers pay for themselves


def audit_reports(
    reports: list[tuple[list[Resolved], list[str]]],
    kb: KnowledgeBase,
    terms: CorpusTerms,
    chunks: Chunks,
    settings: AuditSettings = SETTINGS,
) -> list[list[Audit | None]]:
    """Each citation's audit, of reports citing one corpus (each its citations and their claims), by
    report: None for all but resolved citations of a chunk or of a task file with text
    (`auditable`). Audited together (`audit_citations`: the chunks compared proposed at once)."""
    audits: list[list[Audit | None]] = [[None] * len(items) for items, _ in reports]
    todo = [
        (n, at)
        for n, (items, _) in enumerate(reports)
        for at, item in enumerate(items)
        if auditable(item, kb, settings)
    ]
    made = audit_citations([(reports[n][0][at], reports[n][1][at]) for n, at in todo], kb, terms, chunks, settings)
    for (n, at), audit in zip(todo, made):
        audits[n][at] = audit
    return audits


CLAIMED = ("long_context", "document")  # citations whose claim is read: of a corpus chunk, of a task file


def auditable(item: Resolved, kb: KnowledgeBase, settings: AuditSettings = SETTINGS) -> bool:
    """A resolved citation of a corpus chunk, or of a task file with text (`cited_parts`)."""
    if item.status != "resolved" or item.source_slug is None:
        return False
    return item.citation.kind == "long_context" or (
        item.citation.kind == "document" and bool(cited_parts(item, kb, settings.file_chars))
    )


def report_claims(text: str, items: list[Resolved]) -> list[str]:
    """Each long_context citation's claim (parallel to `items`; "" for other kinds): its clause
    (`Sentences.claim`), or, when that is a label in a table row (`states_nothing`: "| DeepResearch
    Bench [cite] | 100 | … |", a source column's "arxiv官方与主论文源 [cite]"), the row, whose facts
    the citation is there for."""
    return citation_claims(text, [item.citation for item in items])


ClaimKey = tuple[tuple[int, int, str], ...]  # each citation's start, end and kind: what its claim is found from

_claimed: dict[str, tuple[ClaimKey, list[str]]] = {}  # report text → its claims, found elsewhere (`remember_claims`)


def claim_key(citations: list[Citation]) -> ClaimKey:
    return tuple((citation.start, citation.end, citation.kind) for citation in citations)


def citation_claims(text: str, citations: list[Citation]) -> list[str]:
    """`report_claims` of the citations as parsed, before they are resolved; those of a text and
    citations `remember_claims` holds are taken from it."""
    known = _claimed.get(text)
    if known is not None and known[0] == claim_key(citations):
        return list(known[1])
    sentences = Sentences(text, citations)
    claims = []
    for citation in citations:
        start, end = citation.start, citation.end
        claim = sentences.claim(start, end) if citation.kind in CLAIMED else ""
        if claim and states_nothing(claim):
            claim = sentences.row_claim(start, end) or claim
        claims.append(claim)
    return claims


@dataclass
class FoundClaims:
    """What the audit's workers would find first, found from the folder as loaded (`loaded_claims`):
    each report's claims by its final text, with the citations they were found for (`claim_key`),
    and every claim's facts and reading (`found_facts`)."""

    reports: dict[str, tuple[ClaimKey, list[str]]] = field(default_factory=dict)
    facts: FoundFacts = field(default_factory=dict)
    # By the corpus its reports name, their claims' words whose postings the audit reads (`claim_terms`)
    words: dict[str, frozenset[str]] = field(default_factory=dict)


def loaded_claims(loaded: Loaded) -> FoundClaims:
    """The claims (of long_context and file citations) of the loaded reports, and their facts: a
    build finds them in another process from the reports alone, while it reads the rest of the
    folder and cleans, chunks and cites on one core, and the audit's workers read them
    (`remember_claims`) instead of finding them."""
    found = FoundClaims()
    by_corpus: dict[str, set[str]] = {}  # the claims of each corpus's reports
    with no_cycle_collection():
        for report in loaded.reports.values():
            citations = report_citations(report.final)
            claims = citation_claims(report.final, citations)
            found.reports[report.final] = (claim_key(citations), claims)
            by_corpus.setdefault(report.corpus or "", set()).update(filter(None, claims))
        found.facts = found_facts(set().union(*by_corpus.values()))
        words = {claim: claim_terms(claim) for claims in by_corpus.values() for claim in claims}
        found.words = {
            corpus: frozenset(word for claim in claims for word in words[claim]) for corpus, claims in by_corpus.items()
        }
        return found


def remember_claims(found: FoundClaims) -> None:
    """Claims and their facts found elsewhere (`loaded_claims`), read by `citation_claims`,
    `claim_facts` and `claim_reading` instead of finding them."""
    _claimed.clear()
    _claimed.update(found.reports)
    remember_facts(found.facts)


def chunk_analyses(kb: KnowledgeBase, slugs: set[str], cache: TermCache) -> dict[str, list[str]]:
    """Each chunk's index terms ("\\n"-joined) by source, for the given sources, through the search
    index's own documents and cache: the index then finds them already segmented."""
    docs = chunk_docs(kb, slugs=slugs)
    return by_source(docs, cache.analyses([d.text for d in docs]), slugs)


def by_source(docs: list[SearchDoc], analyses: list[Analysis], slugs: set[str]) -> dict[str, list[str]]:
    """The index terms of the chunks `docs` (`chunk_docs`, parallel to `analyses`) by source: a build
    that has segmented every search document hands them to `start_audit` as they are."""
    return _grouped(docs, [analysis[0] for analysis in analyses], slugs)


def source_words(kb: KnowledgeBase, words: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """By source, the claim words (`FoundClaims.words`) of the reports citing a corpus that holds it:
    those to pick out of its chunks' terms as they are segmented (`picked_by_source`)."""
    found: dict[str, frozenset[str]] = {}
    for name, corpus_words in words.items():
        corpus = kb.loaded.corpora.get(name) if name else None
        for slug in corpus_slugs(kb, corpus.key) if corpus else []:
            held = found.setdefault(slug, corpus_words)  # one set for the sources of one corpus
            if held is not corpus_words:
                found[slug] = held | corpus_words  # a source of two corpora (`ingest.add_corpora`)
    return found


def doc_words(docs: list[SearchDoc], words: dict[str, frozenset[str]]) -> list[frozenset[str]]:
    """Each search document's words to pick (`source_words`, by source; none for what is no chunk of
    a source), parallel to `docs`; [] without any (`analysis.TermCache.analyses_picking`)."""
    if not words:
        return []
    by_page = {source_path(slug): held for slug, held in words.items()}
    none: frozenset[str] = frozenset()
    return [by_page.get(doc.page, none) for doc in docs]


def picked_by_source(
    docs: list[SearchDoc], picks: list[str | None], words: dict[str, frozenset[str]], slugs: set[str]
) -> Picked:
    """Of the chunks `docs` (`chunk_docs`, parallel to `picks`, `analysis.TermCache.analyses_picking`),
    the claim words of their sources (`source_words`, `words`) among their index terms, by source:
    a build that segmented the chunks with them hands them to `start_audit`."""
    return Picked(words, _grouped(docs, picks, slugs))


def _grouped(docs: list[SearchDoc], values: list, slugs: set[str]) -> dict[str, list]:
    by_page: dict[str, list] = {}
    for doc, value in zip(docs, values):
        by_page.setdefault(doc.page, []).append(value)
    return {slug: by_page.get(source_path(slug), []) for slug in slugs}


@dataclass
class Kept:
    """Audits kept between `mkdocs serve` rebuilds, and from one build to the next (`stored.py`). A
    report's audits stand while its text and every document of its corpus are the same: its
    citations, claims, their words' weights and the chunks compared cannot have changed. Both are
    known by their digests (`digest`)."""

    corpora: dict[str, str] = field(default_factory=dict)  # key → digest of its (slug, title, body)s
    reports: dict[str, tuple[str, list[Audit | None]]] = field(default_factory=dict)  # slug → (text's digest, audits)
    known: Digests = field(default_factory=lambda: Digests(), compare=False, repr=False)  # not stored


class Digests:
    """`digest`s by name, each kept while the values it was made of are the same (texts, or others
    by their repr): a serve rebuild would hash every corpus again (80 MB at 10,000 sources, a sixth
    of a second) to find one changed."""

    def __init__(self) -> None:
        self.made: dict[str, tuple[tuple, str]] = {}

    def of(self, name: str, values: tuple) -> str:
        known = self.made.get(name)
        if known is None or known[0] != values:
            texts = (value if isinstance(value, str) else repr(value) for value in values)
            self.made[name] = known = (values, digest(texts))
        return known[1]


def digest(texts: Iterable[str]) -> str:
    """Of a sequence of texts, each apart from the next (its length first)."""
    made = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        made.update(len(data).to_bytes(8, "big"))
        made.update(data)
    return made.hexdigest()


def audit_kb(
    kb: KnowledgeBase,
    cache: TermCache,
    settings: AuditSettings = SETTINGS,
    kept: Kept | None = None,
    parallel: bool | None = None,
) -> dict[str, list[Audit | None]]:
    """Every report's final citations audited against its corpus (parallel to `CitedReport.final`):
    `start_audit`, waited for."""
    return start_audit(kb, cache, settings, kept, parallel).result()


def start_audit(
    kb: KnowledgeBase,
    cache: TermCache,
    settings: AuditSettings = SETTINGS,
    kept: Kept | None = None,
    parallel: bool | None = None,
    analyses: dict[str, list[str]] | None = None,
    facts: Callable[[], FoundClaims] | None = None,
    picked: Picked | None = None,
) -> AuditRun:
    """Every report's final citations audited against its corpus; with `kept`, only the reports
    whose text or corpus changed since the last run; with `analyses` (`by_source`, every source's),
    from them (a build has just segmented every chunk for the search index); with `facts`, asked
    only when there is something to audit, from the claims' facts it gives (`loaded_claims`); with
    `picked` (`picked_by_source`), each corpus's postings from the claims' words its chunks hold.
    Corpora are audited on every core (forked workers) when there are PARALLEL_FROM citations or
    more, or when `parallel` says so: the same audits either way. The workers go on while the
    caller does (a build renders its source pages meanwhile, which show no audit);
    `AuditRun.result` waits for them."""
    kept = kept or Kept()
    by_corpus: dict[str, list[str]] = {}  # "": reports without a corpus (their file citations)
    for slug, cited in kb.cited.items():
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if any(auditable(i, kb, settings) for i in cited.final):
            by_corpus.setdefault(corpus.key if corpus else "", []).append(slug)
    run = AuditRun(kb, kept)
    todo: dict[str, list[str]] = {}
    digested: set[str] = set()  # corpora whose digests are made where they are audited
    for key, reports in by_corpus.items():
        if key not in kept.corpora:  # nothing kept to compare with (a cold build)
            todo[key] = reports
            digested.add(key)
            continue
        run.corpora[key], finals = digests(kb, key, reports, settings, kept.known)
        run.finals.update(finals)
        for slug in reports:
            final, done = kept.reports.get(slug, ("", None))
            if kept.corpora[key] == run.corpora[key] and done is not None and final == run.finals[slug]:
                run.audits[slug] = done
            else:
                todo.setdefault(key, []).append(slug)
    cited_sources = {s for key in todo for s in corpus_slugs(kb, key)}
    if analyses is None:
        analyses = chunk_analyses(kb, cited_sources, cache) if todo else {}
    if facts is not None and todo:
        remember_claims(facts())  # before the workers fork: they inherit them
    jobs = [(key, reports, key in digested) for key, reports in todo.items()]
    if parallel is None:
        parallel = sum(len(kb.cited[slug].final) for _, reports, _ in jobs for slug in reports) >= PARALLEL_FROM
    workers = os.cpu_count() or 1
    if parallel and workers > 1 and len(jobs) > 1:
        state = (kb, analyses, settings, picked)  # inherited by the forked workers, not pickled
        run.pool = multiprocessing.get_context("fork").Pool(workers, _start_worker, (state,))
        run.pending = run.pool.map_async(_audit_job, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    else:
        chunks = Chunks(kb)  # chunks cited by several reports are folded once
        with no_cycle_collection():
            for key, reports, digest_here in jobs:
                if digest_here:
                    run.add_digests(key, digests(kb, key, reports, settings, kept.known))
                run.audits.update(audit_corpus(key, reports, kb, analyses, chunks, settings, picked))
    return run


def digests(
    kb: KnowledgeBase, key: str, reports: list[str], settings: AuditSettings, known: Digests
) -> tuple[str, dict[str, str]]:
    """The digest of corpus `key`'s documents, and of each report's final text with the file
    places it cites: what its audits stand on (`Kept`)."""
    sources = (kb.loaded.sources[s] for s in corpus_slugs(kb, key))
    corpus = known.of(f"corpus {key}", tuple(part for s in sources for part in (s.slug, s.title, s.body)))
    finals = {}
    for slug in reports:
        cited = kb.cited[slug]
        files = {  # each place once: a file is often cited whole a hundred times
            (item.source_slug, part.number): part.text
            for item in cited.final
            for part in cited_parts(item, kb, settings.file_chars)
        }
        finals[slug] = known.of(f"report {slug}", (cited.report.final, *files.values()))
    return corpus, finals


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused: the audit makes no reference cycles (its objects are freed as
    they are dropped), but it makes and keeps enough objects that the collector went seven times
    over every object of the process while auditing the 10k base, 15–20% of the audit's CPU."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class AuditRun:
    """The audits of one `start_audit`: those already made, and the forked workers still making the rest."""

    kb: KnowledgeBase
    kept: Kept
    corpora: dict[str, str] = field(default_factory=dict)  # corpus key → its documents' digest
    finals: dict[str, str] = field(default_factory=dict)  # report slug → its final text's digest
    audits: dict[str, list[Audit | None]] = field(default_factory=dict)  # by report
    pool: Pool | None = None
    pending: AsyncResult | None = None  # of the workers' jobs: `_audit_job`'s each

    def add_digests(self, key: str, made: tuple[str, dict[str, str]]) -> None:
        self.corpora[key] = made[0]
        self.finals.update(made[1])

    def result(self) -> dict[str, list[Audit | None]]:
        """Every report's audits in the knowledge base's order, once the workers are done; `kept`
        then holds them for the next run."""
        if self.pool is not None and self.pending is not None:
            try:
                for key, made, found in self.pending.get():
                    if made is not None:
                        self.add_digests(key, made)
                    self.audits.update(found)
            finally:
                self.cancel()
        self.audits = {slug: self.audits[slug] for slug in self.kb.cited if slug in self.audits}
        self.kept.corpora = self.corpora
        self.kept.reports = {slug: (self.finals[slug], found) for slug, found in self.audits.items()}
        return self.audits

    def cancel(self) -> None:
        """Stops the workers: done, or the build failed (`kept` then keeps the last run's audits)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = self.pending = None


def corpus_slugs(kb: KnowledgeBase, key: str) -> list[str]:
    """The sources of corpus `key` ("": none, for reports citing only task files)."""
    return [s for s in kb.loaded.corpora[key].slugs if s] if key else []


def audit_corpus(
    key: str,
    reports: list[str],
    kb: KnowledgeBase,
    analyses: dict[str, list[str]],
    chunks: Chunks,
    settings: AuditSettings,
    picked: Picked | None = None,
) -> dict[str, list[Audit | None]]:
    """The audits of `reports`, all citing corpus `key` (its postings from `picked` where it can)."""
    claims = {slug: report_claims(kb.cited[slug].report.final, kb.cited[slug].final) for slug in reports}
    words = {w for r in reports for claim in claims[r] if claim for w in claim_terms(claim)}
    terms = corpus_terms(corpus_slugs(kb, key), kb, analyses, words, picked)
    audits = audit_reports([(kb.cited[slug].final, claims[slug]) for slug in reports], kb, terms, chunks, settings)
    return dict(zip(reports, audits))


_Worker = tuple[KnowledgeBase, dict[str, list[str]], AuditSettings, Picked | None]  # what it audits from
_worker: tuple[_Worker, Chunks] | None = None  # in a forked worker only


def _start_worker(state: _Worker) -> None:
    global _worker
    gc.disable()  # as `no_cycle_collection`, for the worker's life: it only audits
    _worker = (state, Chunks(state[0]))


def _audit_job(
    job: tuple[str, list[str], bool],
) -> tuple[str, tuple[str, dict[str, str]] | None, dict[str, list[Audit | None]]]:
    """A corpus's audits, and its digests where they are to be made here (`digests`)."""
    assert _worker is not None
    (kb, analyses, settings, picked), chunks = _worker
    key, reports, digest_here = job
    made = digests(kb, key, reports, settings, Digests()) if digest_here else None
    return key, made, audit_corpus(key, reports, kb, analyses, chunks, settings, picked)
