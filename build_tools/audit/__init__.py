"""Evidence for each citation: does the cited chunk say what the claim says? (issue 15)

Lexical, offline, deterministic and explainable, so it is evidence shown to the reader, never a
verdict. A claim (`knowledge_base.Sentences.claim`) is reduced to its informative words (jieba
through `analysis.tokenize`, weighted by lunr's idf over the chunks of the report's corpus) and its
numbers. A chunk is scored by the weighted share of the claim's words (and numbers) found in its
best window of one or two sentences, the span shown to the reader, mixed with the share found in
the whole chunk. Support is that score made relative: the cited chunk's score over the best among
the chunks compared with it (the few of the same source and of the corpus sharing most of the
claim's rarer words, found through the segmentation the search index caches, so the audit adds no
segmentation of its own to a build). Cost per citation is bounded (a few chunks scored, not the
corpus). What it cannot tell apart is written down with the benchmark's numbers in BENCHMARKS.md.

The package, by job: `claims` (what a claim states: numbers, words and their weights, `Evidence`),
`scoring` (a chunk's score and best window, the chunks compared, `Chunks`), `verdicts` (one
citation's audit), `workers` (a knowledge base's audits, in forked workers, kept while serving),
`settings` (`AuditSettings`).
"""

from .claims import (
    CorpusTerms,
    Evidence,
    Fact,
    Facts,
    chinese_number,
    chunk_numbers,
    claim_facts,
    claim_numbers,
    claim_terms,
    claim_words,
    corpus_terms,
    idf,
    name_pattern,
    numbers_of,
)
from .scoring import Chunks, Folded, Window, folded_chunk, proposed
from .settings import SETTINGS, AuditSettings
from .verdicts import audit_citation, verdict
from .workers import (
    PARALLEL_FROM,
    AuditRun,
    Kept,
    audit_corpus,
    audit_kb,
    audit_report,
    auditable,
    chunk_analyses,
    report_claims,
    start_audit,
)

__all__ = [
    "PARALLEL_FROM",
    "SETTINGS",
    "AuditRun",
    "AuditSettings",
    "Chunks",
    "CorpusTerms",
    "Evidence",
    "Fact",
    "Facts",
    "Folded",
    "Kept",
    "Window",
    "audit_citation",
    "audit_corpus",
    "audit_kb",
    "audit_report",
    "auditable",
    "chinese_number",
    "chunk_analyses",
    "chunk_numbers",
    "claim_facts",
    "claim_numbers",
    "claim_terms",
    "claim_words",
    "corpus_terms",
    "folded_chunk",
    "idf",
    "name_pattern",
    "numbers_of",
    "proposed",
    "report_claims",
    "start_audit",
    "verdict",
]
