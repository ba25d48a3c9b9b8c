"""Evidence for each citation: does the cited chunk say what the claim says? (issues 15, 27)

Lexical, offline, deterministic and explainable. A claim (`knowledge_base.Sentences.claim`; a
label in a table row claims the row, `workers.report_claims`; any other label states nothing a
passage could state, `claims.states_nothing`: `no_statement`) is reduced to its key facts (`claims.Facts`: names written in Latin script, found whole; content words
by jieba's tags, framing words left out, weighted by lunr's idf over the chunks of the report's
corpus; numbers). Support is the weighted share of those facts the cited chunk states, absolute:
its best window of one or two sentences (the span shown to the reader) mixed with the whole chunk,
times the square root of the share of the claim's rarest facts it holds (`Facts.key_share`: a
passage on the topic holds the common words, seldom the rarest) and the share of its names
(`Facts.name_share`: a passage that never names what the claim names does not state it).
The verdict reads it (`verdicts.verdict`): `supported`, `partial` (a number or a name missing,
under half the rarest facts, or too few of the facts: `Audit.missing` names them) or
`unsupported` (on the topic at best). The specific reason (`Audit.status`) still comes from how
the cited chunk ranks, by the same facts, against the few chunks compared with it (of the same
source and of the corpus, sharing most of the claim's rarer words, found through the
segmentation the search index caches, so the audit adds no segmentation of its own but the
claims'; none where no chunk could change the audit, `verdicts.rivals_matter`): a better chunk
named, numbers missing, a weak share, a title-only chunk.
Cost per citation is bounded (a few chunks scored, not the corpus). A file citation is checked the
same way against the text extracted from the page, slide or sheet it names, or from the file's
place stating most (`scoring.cited_parts`, `verdicts.best_place`); a Chinese claim citing a page
with almost no Chinese has its Chinese words unread, not missing (`other_language`). Measured
against blind readers and what it cannot tell apart: BENCHMARKS.md.

The package, by job: `claims` (what a claim states: numbers, names and words and their weights, `Facts`),
`scoring` (a chunk's score and best window, the chunks compared, `Chunks`), `verdicts` (one
citation's audit), `workers` (a knowledge base's audits, in forked workers, kept while serving),
`stored` (the audits kept from one build to the next), `settings` (`AuditSettings`).
"""

from . import stored
from .claims import (
    CorpusTerms,
    Evidence,
    Fact,
    Facts,
    FoundFacts,
    Pairs,
    chinese_number,
    chunk_numbers,
    claim_facts,
    claim_numbers,
    claim_terms,
    claim_words,
    corpus_terms,
    idf,
    name_places,
    numbers_of,
    states_nothing,
)
from .scoring import Chunks, Folded, Window, folded_chunk, proposed
from .settings import SETTINGS, AuditSettings
from .verdicts import audit_citation, lacks_key_fact, verdict
from .workers import (
    PARALLEL_FROM,
    AuditRun,
    Digests,
    FoundClaims,
    Kept,
    audit_corpus,
    audit_kb,
    audit_reports,
    auditable,
    by_source,
    chunk_analyses,
    doc_words,
    loaded_claims,
    picked_by_source,
    report_claims,
    source_words,
    start_audit,
)

__all__ = [
    "PARALLEL_FROM",
    "SETTINGS",
    "AuditRun",
    "AuditSettings",
    "Chunks",
    "CorpusTerms",
    "Digests",
    "Evidence",
    "Fact",
    "Facts",
    "FoundClaims",
    "FoundFacts",
    "Pairs",
    "Folded",
    "Kept",
    "Window",
    "audit_citation",
    "audit_corpus",
    "audit_kb",
    "audit_reports",
    "auditable",
    "by_source",
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
    "lacks_key_fact",
    "loaded_claims",
    "picked_by_source",
    "source_words",
    "doc_words",
    "name_places",
    "numbers_of",
    "states_nothing",
    "proposed",
    "report_claims",
    "start_audit",
    "stored",
    "verdict",
]
