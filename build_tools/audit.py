"""Evidence for each citation: does the cited chunk say what the claim says? (issue 15)

Lexical, offline, deterministic and explainable, so it is evidence shown to the reader, never a
verdict. A claim (`knowledge_base.Sentences.claim`) is reduced to its informative words (jieba
through `index.tokenize`, weighted by lunr's idf over the chunks of the report's corpus) and its
numbers; a chunk's score is the weighted share of those words it contains, mixed with the share of
the numbers. The cited chunk is compared with its neighbours and with the chunks of the corpus that
share the claim's rarest words (found through the segmentation the search index caches, so the
audit adds no segmentation of its own to a build), and the best sentence or two of the chunk is the
span shown to the reader. Cost per citation is bounded (a few chunks scored, not the corpus).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .index import TermCache, chunk_docs, fold, tokenize
from .knowledge_base import KnowledgeBase, Sentences
from .models import Audit, Chunk, Resolved
from .paths import source_path

@dataclass(frozen=True)
class AuditSettings:
    """Every tuning value of the audit. Thresholds were chosen on the perturbation benchmark
    (`benchmarks/audit_bench.py`, numbers on docs/benchmarks.md)."""

    number_weight: float = 0.3
    """Share of a chunk's score that comes from the claim's numbers (when it has any), the rest from
    its words. 0..1: 0 ignores numbers, 1 scores on numbers alone. Default 0.3."""

    rival_power: float = 1.0
    """How much a better chunk elsewhere lowers the cited chunk's support: support is the chunk's
    score times (score / best score among the compared chunks) to this power. 0..3: 0 ignores the
    other chunks (plain coverage), large values make any better chunk sink the support. Default 1."""

    weak: float = 0.1
    """Support below this is `weak`. 0..1: 0 flags nothing, 1 flags nearly everything. Default 0.1:
    on the imported pipeline reports 0.3 flags 29% of written citations weak, 0.1 flags 29% too
    (most weak ones share no informative word at all with their chunk), 0.05 still 28%."""

    better_margin: float = 0.4
    """`better_elsewhere` when another chunk scores at least this much more than the cited one
    (absolute, 0..1) ... 0 names any slightly better chunk, 1 never names one. Default 0.4: at
    0.25 (with ratio 1.5) 38% of written citations were sent elsewhere, at 0.4 (ratio 3) 11%."""

    better_ratio: float = 3.0
    """... and at least this many times the cited one's score. 1..∞; default 3."""

    common_share: float = 0.25
    """Words in more than this share of a corpus's chunks do not propose other chunks (they still
    count in scores). 0..1: small values compare only with chunks sharing rare words (cheaper), 1
    lets every word propose. Default 0.25."""

    candidates: int = 3
    """Chunks of the corpus scored beside the cited one and its two neighbours, best shared rare
    words first. 0..20: 0 compares with the neighbours only; more costs time per citation. Default 3."""

    span_gain: float = 0.1
    """A second sentence joins the span when it adds at least this much score (0..1): 0 always shows
    two sentences, 1 always one. Default 0.1."""


SETTINGS = AuditSettings()

_NUMBER = re.compile(r"(?<![a-z0-9.])(?<![a-z]-)\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+|\n|$)")


def numbers_of(text: str) -> frozenset[str]:
    """The numbers of a folded text, as written without thousands separators or trailing zeros."""
    found = set()
    for number in _NUMBER.findall(_THOUSANDS.sub("", text)):
        found.add(number.rstrip("0").rstrip(".") if "." in number else number)
    return frozenset(found)


@lru_cache(maxsize=65536)  # each claim is segmented once per build, not once per use
def claim_words(claim: str) -> tuple[str, ...]:
    """The claim's words as the search index segments them: no single characters, no bare numbers
    (numbers are matched as numbers)."""
    return tuple(dict.fromkeys(t for t in tokenize(claim) if len(t) > 1 and not t.replace(".", "").isdigit()))


def idf(df: int, documents: int) -> float:
    """lunr's idf (as `index.bm25`): a word in every chunk still weighs a little."""
    return math.log(1 + abs((documents - df + 0.5) / (df + 0.5)))


@dataclass
class CorpusTerms:
    """The chunks of one report corpus, and in which of them each claim word is (from the search
    index's cached segmentation of each chunk, overlap with the next chunk left out)."""

    chunks: list[tuple[str, int]]  # (source slug, chunk index) by position
    positions: dict[tuple[str, int], int]
    postings: dict[str, list[int]] = field(default_factory=dict)

    def weights(self, words: Iterable[str]) -> dict[str, float]:
        documents = len(self.chunks)
        return {w: idf(len(self.postings.get(w, ())), documents) for w in words}


def corpus_terms(slugs: list[str], kb: KnowledgeBase, analyses: dict[str, list[str]], words: set[str]) -> CorpusTerms:
    """Postings of `words` (every claim word of the corpus's reports) over the corpus's chunks."""
    chunks = [(slug, c.index) for slug in dict.fromkeys(slugs) for c in kb.chunks.get(slug, [])]
    terms = CorpusTerms(chunks, {key: n for n, key in enumerate(chunks)})
    for slug in dict.fromkeys(slugs):
        for index, text in enumerate(analyses.get(slug, [])):
            at = terms.positions[slug, kb.chunks[slug][index].index]
            for word in words.intersection(text.split("\n")):
                terms.postings.setdefault(word, []).append(at)
    return terms


@dataclass(frozen=True)
class Evidence:
    """A claim ready to be scored against any chunk."""

    weights: dict[str, float]
    numbers: frozenset[str]
    number_weight: float

    def score(self, text: str, numbers: frozenset[str]) -> float:
        """The weighted share of the claim's words in a folded text, mixed with its numbers' share."""
        total = sum(self.weights.values())
        words = sum(w for t, w in self.weights.items() if t in text) / total if total else 0.0
        if not self.numbers:
            return words
        share = len(self.numbers & numbers) / len(self.numbers)
        return share if not total else (1 - self.number_weight) * words + self.number_weight * share

    def found(self, text: str, numbers: frozenset[str]) -> set[str]:
        return {t for t in self.weights if t in text} | (self.numbers & numbers)


class Folded:
    """Chunk texts folded as the index folds them, and their numbers, computed once per chunk."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.done: dict[tuple[str, int], tuple[str, frozenset[str]]] = {}

    def __call__(self, slug: str, index: int) -> tuple[str, frozenset[str]]:
        key = (slug, index)
        if key not in self.done:
            text = fold(self.kb.chunks[slug][index].text)
            self.done[key] = (text, numbers_of(text))
        return self.done[key]


def best_span(chunk: Chunk, evidence: Evidence, folded: str, settings: AuditSettings = SETTINGS) -> tuple[int, int] | None:
    """The sentence (or two in a row) of the chunk that supports the claim best, as offsets in
    `chunk.text`; None when no sentence holds any of the claim's words or numbers. `folded` is the
    chunk's folded text: sentences are cut from it when folding kept every offset (it nearly always
    does), else folded one by one."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(chunk.text) if m.group().strip()]
    same = len(folded) == len(chunk.text)

    def score(start: int, end: int) -> float:
        return evidence.score(*((folded[start:end], numbers_of(folded[start:end])) if same else _folded(chunk.text[start:end])))

    scores = [score(start, end) for start, end in sentences]
    if not scores or max(scores) <= 0:
        return None
    best = max(range(len(scores)), key=lambda n: (scores[n], -n))
    start, end = sentences[best]
    pairs = [(n, score(sentences[n][0], sentences[n + 1][1])) for n in (best - 1, best) if 0 <= n < len(sentences) - 1]
    if pairs:
        n, paired = max(pairs, key=lambda p: p[1])
        if paired >= scores[best] + settings.span_gain:
            start, end = sentences[n][0], sentences[n + 1][1]
    text = chunk.text[start:end]
    return start + len(text) - len(text.lstrip()), end - len(text) + len(text.rstrip())


def _folded(text: str) -> tuple[str, frozenset[str]]:
    folded = fold(text)
    return folded, numbers_of(folded)


def audit_citation(item: Resolved, claim: str, kb: KnowledgeBase, terms: CorpusTerms, folded: Folded,
                   settings: AuditSettings = SETTINGS) -> Audit:
    """One resolved long_context citation's evidence: support, span, status and a better chunk."""
    slug, number = item.source_slug or "", item.citation.chunk or 0
    chunks = kb.chunks[slug]
    chunk = chunks[number]
    evidence = Evidence(terms.weights(claim_words(fold(claim))), numbers_of(fold(claim)), settings.number_weight)
    source = kb.loaded.sources[slug]
    if fold(chunk.text).strip() == fold(source.title).strip():
        return Audit("title_only", round(evidence.score(*folded(slug, number)), 4), claim, None)
    if not evidence.weights and not evidence.numbers:  # a reference-list entry: it claims nothing to check
        return Audit("supported", 1.0, claim, None)
    local = evidence.score(*folded(slug, number))
    rivals = {(slug, n) for n in (number - 1, number + 1) if 0 <= n < len(chunks)}
    rivals.update(_proposed(evidence, terms, (slug, number), settings))
    scored = sorted(((evidence.score(*folded(*key)), key) for key in rivals), key=lambda s: (-s[0], s[1]))
    rival, rival_key = scored[0] if scored else (0.0, None)
    support = local * (local / max(local, rival)) ** settings.rival_power if local > 0 else 0.0
    missing = tuple(sorted(evidence.numbers - folded(slug, number)[1]))
    better = better_span = None
    better_terms: tuple[str, ...] = ()
    if rival_key and rival >= local + settings.better_margin and rival >= local * settings.better_ratio:
        status, better = "better_elsewhere", rival_key
        better_chunk = kb.chunks[rival_key[0]][rival_key[1]]
        better_span = best_span(better_chunk, evidence, folded(*rival_key)[0], settings)
        here = evidence.found(*folded(slug, number))
        extra = evidence.found(*folded(*rival_key)) - here
        better_terms = tuple(sorted(extra, key=lambda t: (-evidence.weights.get(t, 99.0), t))[:3])
    elif missing:
        status = "numbers_missing"
    elif support < settings.weak:
        status = "weak"
    else:
        status = "supported"
    if status != "better_elsewhere" and rival_key and status != "supported" and rival > local:
        better = rival_key  # a suggestion, shown beside the flag
        better_span = best_span(kb.chunks[rival_key[0]][rival_key[1]], evidence, folded(*rival_key)[0], settings)
    return Audit(status, round(support, 4), claim, best_span(chunk, evidence, folded(slug, number)[0], settings), missing, better,
                 better_span, better_terms)


def _proposed(evidence: Evidence, terms: CorpusTerms, cited: tuple[str, int], settings: AuditSettings) -> list[tuple[str, int]]:
    """The corpus chunks sharing most of the claim's rarer words (by idf), the cited one left out."""
    if not settings.candidates:
        return []
    limit = settings.common_share * len(terms.chunks)
    sums: dict[int, float] = {}
    for word, weight in evidence.weights.items():
        postings = terms.postings.get(word, ())
        if len(postings) <= limit:
            for at in postings:
                sums[at] = sums.get(at, 0.0) + weight
    sums.pop(terms.positions.get(cited, -1), None)
    best = sorted(sums, key=lambda at: (-sums[at], at))[: settings.candidates]
    return [terms.chunks[at] for at in best]


def audit_report(text: str, items: list[Resolved], kb: KnowledgeBase, terms: CorpusTerms | None,
                 claims: list[str] | None = None, folded: Folded | None = None,
                 settings: AuditSettings = SETTINGS) -> list[Audit | None]:
    """Each citation's audit (parallel to `items`): None for all but resolved long_context ones."""
    claims = claims if claims is not None else report_claims(text, items)
    folded = folded or Folded(kb)
    return [audit_citation(item, claim, kb, terms, folded, settings) if terms and auditable(item) else None
            for item, claim in zip(items, claims)]


def auditable(item: Resolved) -> bool:
    return item.status == "resolved" and item.citation.kind == "long_context" and item.source_slug is not None


def report_claims(text: str, items: list[Resolved]) -> list[str]:
    """Each long_context citation's claim (parallel to `items`; "" for other kinds)."""
    sentences = Sentences(text, items)
    return [sentences.claim(i.citation.start, i.citation.end) if i.citation.kind == "long_context" else "" for i in items]


def chunk_analyses(kb: KnowledgeBase, slugs: set[str], cache: TermCache) -> dict[str, list[str]]:
    """Each chunk's index terms ("\\n"-joined) by source, for the given sources, through the search
    index's own documents and cache: the index then finds them already segmented."""
    pages = {source_path(s) for s in slugs}
    docs = [d for d in chunk_docs(kb) if d.page in pages]
    by_page: dict[str, list[str]] = {}
    for doc, analysis in zip(docs, cache.analyses([d.text for d in docs])):
        by_page.setdefault(doc.page, []).append(analysis[0])
    return {slug: by_page.get(source_path(slug), []) for slug in slugs}


def audit_kb(kb: KnowledgeBase, cache: TermCache, settings: AuditSettings = SETTINGS) -> dict[str, list[Audit | None]]:
    """Every report's final citations audited against its corpus (parallel to `CitedReport.final`)."""
    claims = {slug: report_claims(c.report.final, c.final) for slug, c in kb.cited.items()}
    by_corpus: dict[str, list[str]] = {}
    for slug, cited in kb.cited.items():
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if corpus and any(auditable(i) for i in cited.final):
            by_corpus.setdefault(corpus.key, []).append(slug)
    cited_sources = {s for key in by_corpus for s in kb.loaded.corpora[key].slugs if s}
    analyses = chunk_analyses(kb, cited_sources, cache)
    audits: dict[str, list[Audit | None]] = {}
    folded = Folded(kb)  # chunks cited by several reports are folded once
    for key, reports in by_corpus.items():
        words = {w for r in reports for claim in claims[r] if claim for w in claim_words(fold(claim))}
        terms = corpus_terms([s for s in kb.loaded.corpora[key].slugs if s], kb, analyses, words)
        for slug in reports:
            cited = kb.cited[slug]
            audits[slug] = audit_report(cited.report.final, cited.final, kb, terms, claims[slug], folded, settings)
    return audits
