"""One citation's audit: its support, span, status and a better chunk named."""

from __future__ import annotations

from ..analysis import fold
from ..knowledge_base import KnowledgeBase
from ..models import Audit, Resolved
from .claims import CorpusTerms, Evidence
from .scoring import Chunks, Window, proposed
from .settings import SETTINGS, AuditSettings


def _span(window: Window | None) -> tuple[int, int] | None:
    return (window.start, window.end) if window else None


def audit_citation(
    item: Resolved,
    claim: str,
    kb: KnowledgeBase,
    terms: CorpusTerms,
    chunks: Chunks,
    settings: AuditSettings = SETTINGS,
) -> Audit:
    """One resolved long_context citation's evidence: support, span, status and a better chunk."""
    slug, number = item.source_slug or "", item.citation.chunk or 0
    cited = chunks(slug, number)
    evidence = Evidence.of(claim, terms, settings)
    if cited.text.strip() == fold(kb.loaded.sources[slug].title).strip():
        return Audit("title_only", round(evidence.score(cited.text, cited.numbers), 4), claim, None)
    if not evidence.weights and not evidence.numbers:  # a reference-list entry: it claims nothing to check
        return Audit("supported", 1.0, claim, None)
    local, window = cited.best(evidence)
    rival, rival_key, rival_window = 0.0, None, None
    for key in proposed(evidence, terms, (slug, number), settings):
        score, best = chunks(*key).best(evidence, above=max(local, rival))  # only a higher score matters
        if score > rival:
            rival, rival_key, rival_window = score, key, best
    support = local / max(local, rival, settings.full_score) if local > 0 else 0.0
    missing = tuple(sorted(evidence.numbers - cited.numbers)) if evidence.numbers else ()
    better_terms: tuple[str, ...] = ()
    if rival_key and rival >= local + settings.better_margin and rival >= local * settings.better_ratio:
        status = "better_elsewhere"
        extra = evidence.found(rival_window.text, rival_window.numbers) - evidence.found(cited.text, cited.numbers)
        better_terms = tuple(sorted(extra, key=lambda t: (-evidence.weights.get(t, 99.0), t))[:3])
    elif missing:
        status = "numbers_missing"
    elif support < settings.weak:
        status = "weak"
    else:
        status = "supported"
    if status == "supported" or rival <= local:
        rival_key = rival_window = None  # a better chunk is named only beside a flag
    return Audit(status, round(support, 4), claim, _span(window), missing, rival_key, _span(rival_window), better_terms)
