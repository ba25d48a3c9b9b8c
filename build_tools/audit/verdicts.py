"""One citation's audit: does the cited passage state the claim's key facts (the verdict, from what
the passage holds), which it holds and lacks, the span holding them, and the specific reason
(status) with a better chunk named, from how the cited chunk ranks against the chunks compared."""

from __future__ import annotations

from ..analysis import fold
from ..knowledge_base import KnowledgeBase
from ..models import Audit, FilePart, Resolved
from .claims import CorpusTerms, Facts, states_nothing
from .scoring import Chunks, Folded, Window, cited_parts, proposals
from .settings import SETTINGS, AuditSettings


def _span(window: Window | None) -> tuple[int, int] | None:
    return (window.start, window.end) if window else None


def lacks_key_fact(facts: Facts, held: set[str], settings: AuditSettings = SETTINGS) -> bool:
    """Whether a passage holding `held` lacks a number or a name of the claim, or holds less than
    `supported_key_share` of its key facts (`Facts.key_share`): it is then `partial` at best."""
    lacking = (facts.names | facts.numbers) - held
    return bool(lacking) or facts.key_share(held) < settings.supported_key_share


def verdict(support: float, lacks_key: bool, status: str, settings: AuditSettings = SETTINGS) -> str:
    """What a careful reader would say of the passage (models.VERDICTS), from `support`, the share of
    the claim's key facts it states (absolute, `Facts.support`: its best window mixed with the whole
    chunk, times the square root of the share of the claim's rarest facts it holds, mixed with the
    share of the claim's character pairs it holds, times the share of its names):
    `unsupported` below `unsupported_below` (on the topic at best), when the chunk is the page's
    title alone or when the claim is a label (`no_statement`); `supported` from `supported_from`
    on, unless the passage lacks a key fact (`lacks_key_fact`: a number, a name, or most of the
    rarest words; `partial` by definition); `partial` between, and where the passage could be
    checked for the claim's names and numbers only and holds some of them, or the claim has none
    (`other_language`)."""
    if status in ("title_only", "no_statement"):
        return "unsupported"
    if status == "other_language":
        return "partial"
    if support < settings.unsupported_below:
        return "unsupported"
    if support >= settings.supported_from and not lacks_key:
        return "supported"
    return "partial"


_ROUNDING = 1e-9  # a score's float sum may pass 1 by a few ulps


def rivals_matter(local: float, numbers_missing: bool, settings: AuditSettings = SETTINGS, reach: float = 1.0) -> bool:
    """Whether the chunks compared with the cited one can change its audit, the cited chunk scoring
    `local` and none of them more than `reach` (1 before they are looked at; then the highest of
    their whole shares, `Folded.whole`, which bounds a chunk's score). One that does not score above
    `local` is never named; one that does is named beside a number missing, and otherwise only where
    it is better by the margins (`better_margin`, `better_ratio`) or makes the cited chunk `weak`
    (below weak × max(reach, full_score)). Most cited chunks of real reports score so high that
    none can be (35 of the pipeline's 66): their audit compares nothing."""
    top = reach + _ROUNDING  # a score's float sum may pass its bound by a few ulps
    if top <= local:
        return False
    if numbers_missing:
        return True
    unbeatable = local + settings.better_margin > top or local * settings.better_ratio > top
    return not (unbeatable and local >= settings.weak * max(top, settings.full_score))


def best_rival(
    facts: Facts,
    compared: list[tuple[tuple[str, int], Folded]],
    local: float,
    numbers_missing: bool,
    settings: AuditSettings = SETTINGS,
) -> tuple[float, tuple[str, int] | None, Window | None]:
    """Of the chunks compared, the one scoring most above `local` (the first of equals), its score
    and best window; (0.0, None, None) when none does, or none could change the audit
    (`rivals_matter`, from their whole shares). A chunk's whole share bounds its score
    (`Folded.whole`): only one that can pass the best so far is scored, the highest shares first.
    The same chunk as scoring each in turn, with fewer scored: most compared chunks are not."""
    wholes = [chunk.whole(facts) for _, chunk in compared]
    if not rivals_matter(local, numbers_missing, settings, max(wholes, default=0.0)):
        return 0.0, None, None
    rival, at, window = 0.0, -1, None
    for n in sorted(range(len(compared)), key=lambda n: -wholes[n]):  # stable: equals in their order
        floor = max(local, rival)
        if wholes[n] < floor:
            break  # and so are the rest
        if wholes[n] == floor and not (at >= 0 and n < at):
            continue  # at most equal to the best so far, which comes first (or is the cited chunk)
        score, best = compared[n][1].best(facts)
        if score > local and (score > rival or (score == rival and n < at)):
            rival, at, window = score, n, best
    return (rival, compared[at][0], window) if at >= 0 else (0.0, None, None)


Scored = tuple[float, float, Window | None, set[str], Folded]  # `_scored`'s


def best_place(facts: Facts, places: list[Folded]) -> tuple[int, Scored]:
    """Of the places of a file (its pages, slides, sheets), the one stating most of the claim's facts
    (by its score times `Facts.factor`, then by its whole share; the first of equals), and its
    `_scored`. Its whole share bounds a place's score (`Folded.whole`), and with `Facts.factor` of
    the facts it holds, what it states: the places are taken highest bound first, each only while
    it can reach the best so far, and a place holding none of the rarest facts states nothing
    without its windows scored (a Chinese claim against an English PDF: every page). The same place
    as scoring each in turn."""
    wholes = [place.whole(facts) for place in places]
    factors = [facts.factor(place.found(facts)) if whole else 0.0 for place, whole in zip(places, wholes)]
    bounds = [whole * factor for whole, factor in zip(wholes, factors)]
    at, best = -1, (-1.0, -1.0)
    for n in sorted(range(len(places)), key=lambda n: (bounds[n], wholes[n]), reverse=True):  # stable
        if bounds[n] + _ROUNDING < best[0]:
            break  # and so are the rest
        found = (places[n].best(facts)[0] * factors[n] if factors[n] else 0.0, wholes[n])
        if found > best or (found == best and n < at):
            at, best = n, found
    return at, _scored(facts, places[at])


def _scored(facts: Facts, cited: Folded) -> Scored:
    """A passage's support for the claim, its score, best window, the facts it holds, and itself."""
    local, window = cited.best(facts)
    held = cited.found(facts)
    return facts.support(local, held, cited.text), local, window, held, cited


def audit_citation(
    item: Resolved,
    claim: str,
    kb: KnowledgeBase,
    terms: CorpusTerms,
    chunks: Chunks,
    settings: AuditSettings = SETTINGS,
) -> Audit | None:
    """One resolved citation's evidence (`audit_citations` of it alone)."""
    return audit_citations([(item, claim)], kb, terms, chunks, settings)[0]


def audit_citations(
    cited: list[tuple[Resolved, str]],
    kb: KnowledgeBase,
    terms: CorpusTerms,
    chunks: Chunks,
    settings: AuditSettings = SETTINGS,
) -> list[Audit | None]:
    """Each resolved citation's audit (`_audit`), with its claim, of one corpus: the chunks each
    long_context one may be compared with proposed for all of them at once (`proposals`)."""
    facts = [Facts.of(claim, terms, settings) for _, claim in cited]
    chunk_cited = [n for n, (item, _) in enumerate(cited) if item.citation.kind == "long_context"]
    proposed = proposals([(facts[n], _chunk_key(cited[n][0])) for n in chunk_cited], terms, settings)
    compared: list[list[tuple[str, int]]] = [[] for _ in cited]
    for n, found in zip(chunk_cited, proposed):
        compared[n] = found
    return [
        _audit(item, claim, kb, found, chunks, settings, proposal)
        for (item, claim), found, proposal in zip(cited, facts, compared)
    ]


def _chunk_key(item: Resolved) -> tuple[str, int]:
    return item.source_slug or "", item.citation.chunk or 0


def _audit(
    item: Resolved,
    claim: str,
    kb: KnowledgeBase,
    facts: Facts,
    chunks: Chunks,
    settings: AuditSettings,
    proposed: list[tuple[str, int]],
) -> Audit | None:
    """One resolved citation's evidence (of a corpus chunk, or of a task file's page, slide or sheet,
    the one stating most where it cites the whole file: `cited_parts`): verdict, support, the facts
    held and missing, span, status and a better chunk, the `proposed` chunks compared with a cited
    one where they can change its audit (`rivals_matter`); None when the citation has no words
    before it to check (a reference-list entry): not judged, neither supported nor not (the report
    header counts it among the resolved citations without a verdict)."""
    slug, number = _chunk_key(item)
    parts = cited_parts(item, kb, settings.file_chars) if item.citation.kind != "long_context" else []
    if parts:
        best, (support, local, window, held, cited) = best_place(facts, [chunks.part(slug, p) for p in parts])
        part: FilePart | None = parts[best]
    else:
        support, local, window, held, cited = _scored(facts, chunks(slug, number))
        part = None
    lacking = (set(facts.weights) | facts.numbers) - held
    found = (facts.named(held), facts.named(lacking))
    lacks_key = lacks_key_fact(facts, held, settings)
    if not part and cited.text.strip() == fold(kb.loaded.sources[slug].title).strip():
        verdict_ = verdict(support, lacks_key, "title_only", settings)
        return Audit("title_only", round(support, 4), claim, None, found[1], verdict=verdict_, held=found[0])
    if not facts.weights and not facts.numbers:  # a reference-list entry: nothing to check, no verdict
        return None
    if states_nothing(claim):  # a label: no passage states it
        return Audit("no_statement", 0.0, claim, None, found[1], verdict="unsupported", held=found[0])
    # A Chinese claim citing an English page: its Chinese words cannot be checked there, only its
    # names and numbers. Not judged wrong where it holds some of those, or has none to hold.
    unread = facts.unread(held, cited.text)
    other_language = bool(unread) and (bool(held) or not (facts.weights.keys() - unread or facts.numbers))
    numbers_missing = bool(facts.numbers) and bool(facts.numbers - cited.numbers)
    # a file's part is compared with nothing: the corpus holds other documents
    compared = proposed if not part and rivals_matter(local, numbers_missing, settings) else []
    rival, rival_key, rival_window = best_rival(
        facts, [(key, chunks(*key)) for key in compared], local, numbers_missing, settings
    )
    better = chunks(*rival_key) if rival_key else None
    if better and facts.support(rival, better.found(facts), better.text) < settings.supported_from:
        rival_key = rival_window = None  # it scores higher, but does not state the claim either: no suggestion
    relative = local / max(local, rival, settings.full_score) if local > 0 else 0.0
    better_terms: tuple[str, ...] = ()
    if rival_key and rival >= local + settings.better_margin and rival >= local * settings.better_ratio:
        status = "better_elsewhere"
        extra = facts.found(rival_window.text, rival_window.numbers) - held
        ranked = sorted(extra, key=lambda t: (-facts.weights.get(t, 99.0), t))[:3]  # numbers first, then the rarest
        better_terms = tuple(facts.shown.get(t, t) for t in ranked)
    elif numbers_missing:
        status = "numbers_missing"
    elif relative < settings.weak:
        status = "weak"
    else:
        status = "supported"
    if other_language:  # the reason a reader needs first: read the passage yourself
        status = "other_language"
    if status == "supported" or rival <= local:
        rival_key = rival_window = None  # a better chunk is named only beside a flag
    verdict_ = verdict(support, lacks_key, status, settings)
    return Audit(
        status,
        round(support, 4),
        claim,
        _span(window) if verdict_ != "unsupported" else None,  # a passage that does not state it has no span to mark
        found[1],
        rival_key,
        _span(rival_window),
        better_terms,
        verdict_,
        found[0],
        part.number if part else None,
    )
