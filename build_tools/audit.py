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
"""

from __future__ import annotations

import bisect
import heapq
import math
import multiprocessing
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cached_property, lru_cache
from multiprocessing.pool import AsyncResult, Pool

from .analysis import TermCache, fold, tokenize
from .documents import chunk_docs
from .knowledge_base import KnowledgeBase, Sentences
from .models import Audit, Resolved
from .paths import source_path


@dataclass(frozen=True)
class AuditSettings:
    """Every tuning value of the audit, chosen on the perturbation benchmark (`benchmarks/audit_bench.py`,
    the issue's protocol) over the 141 reports of the pipeline's full app folder: 583 written
    citations, 522 of them claims to check. Each number below is the AUC of `support` against the
    adjacent chunk / another source with the other values at their defaults (0.714 / 0.890 with
    all of them; BENCHMARKS.md has the runs, the plain baseline's 0.673 / 0.849, and the protocol).

    Tried and dropped, on the 68 claims of ../shared/pipeline with an earlier scoring: Chinese
    character bigrams beside jieba words, the source's title as weak evidence, scoring each clause
    of the claim and keeping the best (each lowered the adjacent AUC by 0.007–0.031 and moved the
    other by 0.01 at most); on the full set:
    character 3- or 4-grams of the claim beside its words (±0.002), idf squared or cubed as weights
    (−0.005 to −0.01), support as score × relative score (0.699 / 0.879, the previous formula)."""

    number_weight: float = 0.3
    """Share of a score that comes from the claim's numbers (when it has any), the rest from its
    words. 0..1: 0 ignores numbers, 1 scores on numbers alone. Default 0.3 (0: 0.712 / 0.890,
    0.6: 0.711 / 0.888; few claims have numbers)."""

    chunk_weight: float = 0.5
    """Share of a chunk's score from the whole chunk, the rest from its best window (the span shown).
    0..1: 0 scores the best window alone (a claim drawn from one sentence), 1 the whole chunk (a
    claim summing up a paragraph). Default 0.5; 0: 0.699 / 0.880, 1: 0.715 / 0.889."""

    full_score: float = 0.2
    """Support is the cited chunk's score over the best score among the chunks compared with it,
    or over this when none scores higher: a chunk no other beats, holding this much of the claim,
    supports it fully. 0..1: 0 makes the best chunk found supporting however little it holds
    (0.715 / 0.890), 1 makes support the plain score (0.678 / 0.871). Default 0.2 (0.5: 0.698 /
    0.881)."""

    weak: float = 0.05
    """Support below this is `weak`, a flag. 0..1: 0 marks nothing weak, 1 all but the best chunks.
    Default 0.05: 4% of written citations; with the other flags, 12.5% are not `supported`
    (0.1: 13.4%, 0.2: 16.0%; the issue allows 15%)."""

    better_margin: float = 0.6
    """`better_elsewhere` when another chunk's score is at least this much more than the cited one's
    (absolute, 0..1) ... 0 names any slightly better chunk, 1 never names one. Default 0.6 (0.5
    with `better_ratio` 4 flags 22 written citations, not 7)."""

    better_ratio: float = 6.0
    """... and at least this many times the cited one's score. 1..∞; default 6."""

    common_share: float = 0.25
    """Words in more than this share of a corpus's chunks do not propose other chunks (they still
    count in scores). 0..1: small values compare only with chunks sharing rare words (cheaper), 1
    lets every word propose. Default 0.25 (0.1: 0.713 / 0.885; 1: 0.714 / 0.890)."""

    source_candidates: int = 2
    """Chunks of the cited source scored beside the cited one, most shared rare words first. 0..20:
    0 leaves the source's other chunks out (0.675 / 0.893); more costs time per citation and
    measures the same (6: 0.715 / 0.890). Default 2."""

    candidates: int = 1
    """Chunks of the corpus's other sources scored beside the cited one, most shared rare words
    first. 0..20: 0 compares within the source only (0.736 / 0.846: a chunk of another source is
    then never doubted, nor named); more costs time and measures the same (2 or 6: 0.713 / 0.891).
    Default 1."""


SETTINGS = AuditSettings()
PARALLEL_FROM = 2000  # citations to audit before forked workers pay for themselves

_NUMBER = re.compile(r"(?<![a-z0-9.])(?<![a-z]-)\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# "3）利用…", "：1) 党的…；2) 人民…", "(2) …": a list's numbering, not a number the claim states
_ENUMERATOR = re.compile(r"(?:^|(?<=[\s:：;；,，。]))[（(]?\d{1,2}[)）.、](?!\d)")
MAX_ROUNDED_PLACES = 8  # a claim states a cited decimal rounded to fewer places than this
MAX_NUMERAL = 24  # characters of a Chinese numeral: longer runs (万万万…) are no number anyone cites
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+|\n|$)")


def numbers_of(text: str, rounded: bool = False) -> frozenset[str]:
    """The numbers of a folded text, as written without thousands separators or trailing zeros;
    with `rounded`, also each decimal rounded and cut to fewer places (6894.91 also as 6894.9,
    6895 and 6894), so a claim that rounds a number it cites still finds it: to fewer than
    MAX_ROUNDED_PLACES places, each as precise as the number is long (π to 35 places in a page
    raised InvalidOperation at the default 28 digits; rounding to every place was quadratic)."""
    found = set()
    for number in _NUMBER.findall(_THOUSANDS.sub("", text)):
        found.add(_plain_number(number))
        if rounded and "." in number:
            whole, decimals = number.split(".")
            for places in range(min(len(decimals), MAX_ROUNDED_PLACES)):
                found.add(_plain_number(f"{whole}.{decimals[:places]}"))
                exact = Decimal(number).quantize(
                    Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=Context(prec=len(number))
                )
                found.add(_plain_number(str(exact)))
    return frozenset(found)


_CHINESE_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9)))
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}
_CHINESE_GROUPS = {"万": 10**4, "亿": 10**8}
_CHINESE_NUMERAL = re.compile(f"[{''.join(_CHINESE_DIGITS | _CHINESE_UNITS | _CHINESE_GROUPS)}]+")


def chinese_number(numeral: str) -> int | None:
    """The value of a Chinese numeral (三十八 → 38, 两千万 → 20000000, 二〇二四 → 2024), or None for
    what is no number (a lone 一, 十四五: two digits in a row inside a numeral with units; more than
    MAX_NUMERAL characters, whose value Python may refuse to print)."""
    if len(numeral) > MAX_NUMERAL:
        return None
    if all(char in _CHINESE_DIGITS for char in numeral):  # 二〇二四: digit by digit
        return int("".join(str(_CHINESE_DIGITS[char]) for char in numeral)) if len(numeral) > 1 else None
    total = section = 0
    digit: int | None = None
    for char in numeral:
        if char in _CHINESE_DIGITS:
            if digit is not None and digit != 0:
                return None
            digit = _CHINESE_DIGITS[char]
        elif char in _CHINESE_UNITS:
            section += (1 if digit is None else digit) * _CHINESE_UNITS[char]
            digit = None
        else:  # 万, 亿 count what comes before them (三万亿: 3 × 10⁴ × 10⁸)
            group = section + (digit or 0)
            if group == 0 and total:
                total *= _CHINESE_GROUPS[char]
            else:
                total += (group or 1) * _CHINESE_GROUPS[char]
            section, digit = 0, None
    return total + section + (digit or 0)


def chunk_numbers(text: str) -> frozenset[str]:
    """The numbers of a folded chunk in each form a claim may cite them: as written, rounded or cut
    (`numbers_of(rounded=True)`), and Chinese numerals in digits (第三十八条 for a claim's 第38条)."""
    chinese = (chinese_number(numeral) for numeral in _CHINESE_NUMERAL.findall(text))
    return numbers_of(text, rounded=True) | {str(value) for value in chinese if value is not None}


def claim_numbers(claim: str) -> frozenset[str]:
    """The numbers a folded claim states: a list's numbering left out."""
    return numbers_of(_ENUMERATOR.sub("", claim))


def _plain_number(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


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
    """A claim ready to be scored against any text."""

    weights: dict[str, float]
    numbers: frozenset[str]
    settings: AuditSettings

    @classmethod
    def of(cls, claim: str, terms: CorpusTerms, settings: AuditSettings) -> Evidence:
        folded = fold(claim)
        return cls(terms.weights(claim_words(folded)), claim_numbers(folded), settings)

    @cached_property
    def total(self) -> float:
        return sum(self.weights.values())

    def score(self, text: str, numbers: frozenset[str]) -> float:
        """The weighted share of the claim's words in a folded text, mixed with its numbers' share."""
        return self.share({t for t in self.weights if t in text}, numbers)

    def share(self, found: set[str], numbers: frozenset[str], words: Iterable[str] | None = None) -> float:
        """The score of a text holding the `found` words (of `words`, the only ones worth summing,
        in the claim's order) and `numbers`."""
        total = self.total
        weights = self.weights
        found_share = (
            sum(weights[t] for t in (weights if words is None else words) if t in found) / total if total else 0.0
        )
        if not self.numbers:
            return found_share
        share = len(self.numbers & numbers) / len(self.numbers)
        weight = self.settings.number_weight
        return share if not total else (1 - weight) * found_share + weight * share

    def found(self, text: str, numbers: frozenset[str]) -> set[str]:
        return {t for t in self.weights if t in text} | (self.numbers & numbers)


@dataclass(frozen=True)
class Window:
    """One or two sentences in a row of a chunk: offsets in the chunk's text, and its folded text."""

    start: int
    end: int
    text: str

    @cached_property  # only claims with numbers need them
    def numbers(self) -> frozenset[str]:
        return chunk_numbers(self.text)


@dataclass(frozen=True)
class Folded:
    """A chunk folded as the index folds it, and its sentences (the one-sentence windows).

    A window of two sentences holds exactly the words and numbers of both: sentences end at
    。！？!?；; or a line end, which no index term and no number contains. So each sentence is
    searched once per claim, and a two-sentence window is scored from its sentences' findings."""

    text: str
    raw: str  # the chunk's own text: offsets are in it

    @cached_property
    def same(self) -> bool:
        """Folding kept every offset (nearly always); else each sentence is folded on its own."""
        return len(self.text) == len(self.raw)

    @cached_property  # only for chunks holding some of a claim
    def bounds(self) -> tuple[list[int], list[int]]:
        """Where each sentence starts and ends: cut at 。！？!?；; and line ends, trimmed of spaces.
        Offsets, not objects: a chunk has dozens of sentences and most are never a window."""
        starts, ends = [], []
        for match in _SENTENCE.finditer(self.raw):
            part = match.group()
            if part.strip():
                starts.append(match.start() + len(part) - len(part.lstrip()))
                ends.append(match.start() + len(part.rstrip()))
        return starts, ends

    def _text(self, start: int, end: int) -> str:
        return self.text[start:end] if self.same else fold(self.raw[start:end])

    @cached_property  # only where folding moved offsets
    def _sentence_texts(self) -> list[str]:
        return [self._text(start, end) for start, end in zip(*self.bounds)]

    @cached_property  # only for claims with numbers
    def sentence_numbers(self) -> list[frozenset[str]]:
        if not self.same:
            return [chunk_numbers(text) for text in self._sentence_texts]
        return [chunk_numbers(self.text[start:end]) for start, end in zip(*self.bounds)]

    @cached_property
    def numbers(self) -> frozenset[str]:
        return chunk_numbers(self.text)

    def window(self, first: int, last: int) -> Window:
        start, end = self.bounds[0][first], self.bounds[1][last]
        return Window(start, end, self._text(start, end))

    def _found(self, words: list[str]) -> dict[int, set[str]]:
        """The claim's words in each sentence that holds any, by sentence index: from each word's
        occurrences in the folded chunk (a word never crosses a sentence's end), else, where
        folding moved offsets, by looking in each sentence."""
        found: dict[int, set[str]] = {}
        if not self.same:
            for i, sentence in enumerate(self._sentence_texts):
                held = {t for t in words if t in sentence}
                if held:
                    found[i] = held
            return found
        text, (starts, ends) = self.text, self.bounds
        for word in words:
            at = text.find(word)
            while at >= 0:
                i = bisect.bisect_right(starts, at) - 1
                if i >= 0 and at + len(word) <= ends[i]:
                    found.setdefault(i, set()).add(word)
                at = text.find(word, at + 1)
        return found

    def best(self, evidence: Evidence, above: float = -1.0) -> tuple[float, Window | None]:
        """The chunk's score (its best window's mixed with the whole chunk's, `chunk_weight`) and the
        best window (None when no window holds any of the claim): one-sentence windows first, then
        two, the first of equal scores kept. Only windows holding some of the claim are scored, and
        only the claim's words found in the chunk looked for. A chunk that cannot score above
        `above` (its whole-chunk share bounds its score) is not looked into: (0.0, None)."""
        words = [t for t in evidence.weights if t in self.text]
        shared_numbers = evidence.numbers & self.numbers if evidence.numbers else frozenset()
        whole = evidence.share(set(words), shared_numbers, words)
        if not (words or shared_numbers) or whole <= above:
            return 0.0, None
        found = self._found(words)
        numbers: dict[int, frozenset[str]] = {}
        if shared_numbers:
            for i, sentence in enumerate(self.sentence_numbers):
                if held := evidence.numbers & sentence:
                    numbers[i] = held
        holding = sorted(found.keys() | numbers.keys())
        pairs = sorted({i - 1 for i in holding if i > 0} | {i for i in holding if i + 1 < len(self.bounds[0])})
        none: set[str] = set()
        score, best = 0.0, None
        for first, second in [(i, i) for i in holding] + [(i, i + 1) for i in pairs]:
            held = found.get(first, none) | found.get(second, none)
            value = evidence.share(held, numbers.get(first, frozenset()) | numbers.get(second, frozenset()), words)
            if value > score:
                score, best = value, (first, second)
        weight = evidence.settings.chunk_weight
        return (1 - weight) * score + weight * whole, self.window(*best) if best else None


def folded_chunk(text: str) -> Folded:
    """A chunk's text ready for scoring."""
    return Folded(fold(text), text)


class Chunks:
    """Folded chunks by (source slug, chunk index), each folded once per build."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.done: dict[tuple[str, int], Folded] = {}

    def __call__(self, slug: str, index: int) -> Folded:
        key = (slug, index)
        if key not in self.done:
            self.done[key] = folded_chunk(self.kb.chunks[slug][index].text)
        return self.done[key]


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
    for key in _proposed(evidence, terms, (slug, number), settings):
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


def _proposed(
    evidence: Evidence, terms: CorpusTerms, cited: tuple[str, int], settings: AuditSettings
) -> list[tuple[str, int]]:
    """The chunks sharing most of the claim's rarer words (by idf), the cited one left out: up to
    `source_candidates` of the cited source and `candidates` of the corpus's other sources."""
    limit = settings.common_share * len(terms.chunks)
    sums: dict[int, float] = {}
    for word, weight in evidence.weights.items():
        postings = terms.postings.get(word, ())
        if len(postings) <= limit:
            for at in postings:
                sums[at] = sums.get(at, 0.0) + weight
    sums.pop(terms.positions.get(cited, -1), None)
    same: list[int] = []
    other: list[int] = []
    for at in sums:
        (same if terms.chunks[at][0] == cited[0] else other).append(at)
    rank = lambda at: (-sums[at], at)  # noqa: E731
    chosen = heapq.nsmallest(settings.source_candidates, same, rank) + heapq.nsmallest(settings.candidates, other, rank)
    return [terms.chunks[at] for at in chosen]


def audit_report(
    text: str,
    items: list[Resolved],
    kb: KnowledgeBase,
    terms: CorpusTerms | None,
    claims: list[str] | None = None,
    chunks: Chunks | None = None,
    settings: AuditSettings = SETTINGS,
) -> list[Audit | None]:
    """Each citation's audit (parallel to `items`): None for all but resolved long_context ones."""
    claims = claims if claims is not None else report_claims(text, items)
    chunks = chunks or Chunks(kb)
    return [
        audit_citation(item, claim, kb, terms, chunks, settings) if terms and auditable(item) else None
        for item, claim in zip(items, claims)
    ]


def auditable(item: Resolved) -> bool:
    return item.status == "resolved" and item.citation.kind == "long_context" and item.source_slug is not None


def report_claims(text: str, items: list[Resolved]) -> list[str]:
    """Each long_context citation's claim (parallel to `items`; "" for other kinds)."""
    sentences = Sentences(text, items)
    return [
        sentences.claim(i.citation.start, i.citation.end) if i.citation.kind == "long_context" else "" for i in items
    ]


def chunk_analyses(kb: KnowledgeBase, slugs: set[str], cache: TermCache) -> dict[str, list[str]]:
    """Each chunk's index terms ("\\n"-joined) by source, for the given sources, through the search
    index's own documents and cache: the index then finds them already segmented."""
    docs = chunk_docs(kb, slugs=slugs)
    by_page: dict[str, list[str]] = {}
    for doc, analysis in zip(docs, cache.analyses([d.text for d in docs])):
        by_page.setdefault(doc.page, []).append(analysis[0])
    return {slug: by_page.get(source_path(slug), []) for slug in slugs}


@dataclass
class Kept:
    """Audits kept between `mkdocs serve` rebuilds. A report's audits stand while its text and every
    document of its corpus are the same: its citations, claims, their words' weights and the
    chunks compared cannot have changed. (Strings kept from the corpus cache compare by identity.)"""

    corpora: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)  # key → (slug, title, body)
    reports: dict[str, tuple[str, list[Audit | None]]] = field(default_factory=dict)  # slug → (final text, audits)


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
) -> AuditRun:
    """Every report's final citations audited against its corpus; with `kept`, only the reports
    whose text or corpus changed since the last run. Corpora are audited on every core (forked
    workers) when there are PARALLEL_FROM citations or more, or when `parallel` says so: the same
    audits either way. The workers go on while the caller does (a build renders its source pages
    meanwhile, which show no audit); `AuditRun.result` waits for them."""
    kept = kept or Kept()
    by_corpus: dict[str, list[str]] = {}
    for slug, cited in kb.cited.items():
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if corpus and any(auditable(i) for i in cited.final):
            by_corpus.setdefault(corpus.key, []).append(slug)
    run = AuditRun(kb, kept)
    todo: dict[str, list[str]] = {}
    for key, reports in by_corpus.items():
        sources = (kb.loaded.sources[s] for s in kb.loaded.corpora[key].slugs if s)
        run.documents[key] = tuple((source.slug, source.title, source.body) for source in sources)
        same = kept.corpora.get(key) == run.documents[key]
        for slug in reports:
            final, done = kept.reports.get(slug, ("", None))
            if same and done is not None and final == kb.cited[slug].report.final:
                run.audits[slug] = done
            else:
                todo.setdefault(key, []).append(slug)
    cited_sources = {s for key in todo for s in kb.loaded.corpora[key].slugs if s}
    analyses = chunk_analyses(kb, cited_sources, cache) if todo else {}
    jobs = list(todo.items())
    if parallel is None:
        parallel = sum(len(kb.cited[slug].final) for _, reports in jobs for slug in reports) >= PARALLEL_FROM
    workers = os.cpu_count() or 1
    if parallel and workers > 1 and len(jobs) > 1:
        state = (kb, analyses, settings)  # inherited by the forked workers, not pickled
        run.pool = multiprocessing.get_context("fork").Pool(workers, _start_worker, (state,))
        run.pending = run.pool.map_async(_audit_job, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    else:
        chunks = Chunks(kb)  # chunks cited by several reports are folded once
        for key, reports in jobs:
            run.audits.update(audit_corpus(key, reports, kb, analyses, chunks, settings))
    return run


@dataclass
class AuditRun:
    """The audits of one `start_audit`: those already made, and the forked workers still making the rest."""

    kb: KnowledgeBase
    kept: Kept
    documents: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)  # corpus key → its sources
    audits: dict[str, list[Audit | None]] = field(default_factory=dict)  # by report
    pool: Pool | None = None
    pending: AsyncResult | None = None  # of the workers' jobs: one dict of audits each

    def result(self) -> dict[str, list[Audit | None]]:
        """Every report's audits in the knowledge base's order, once the workers are done; `kept`
        then holds them for the next run."""
        if self.pool is not None and self.pending is not None:
            try:
                for found in self.pending.get():
                    self.audits.update(found)
            finally:
                self.cancel()
        self.audits = {slug: self.audits[slug] for slug in self.kb.cited if slug in self.audits}
        self.kept.corpora = self.documents
        self.kept.reports = {slug: (self.kb.cited[slug].report.final, found) for slug, found in self.audits.items()}
        return self.audits

    def cancel(self) -> None:
        """Stops the workers: done, or the build failed (`kept` then keeps the last run's audits)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = self.pending = None


def audit_corpus(
    key: str,
    reports: list[str],
    kb: KnowledgeBase,
    analyses: dict[str, list[str]],
    chunks: Chunks,
    settings: AuditSettings,
) -> dict[str, list[Audit | None]]:
    """The audits of `reports`, all citing corpus `key`."""
    claims = {slug: report_claims(kb.cited[slug].report.final, kb.cited[slug].final) for slug in reports}
    words = {w for r in reports for claim in claims[r] if claim for w in claim_words(fold(claim))}
    terms = corpus_terms([s for s in kb.loaded.corpora[key].slugs if s], kb, analyses, words)
    return {
        slug: audit_report(kb.cited[slug].report.final, kb.cited[slug].final, kb, terms, claims[slug], chunks, settings)
        for slug in reports
    }


_worker: tuple[KnowledgeBase, dict[str, list[str]], AuditSettings, Chunks] | None = None  # in a forked worker only


def _start_worker(state: tuple[KnowledgeBase, dict[str, list[str]], AuditSettings]) -> None:
    global _worker
    kb, analyses, settings = state
    _worker = (kb, analyses, settings, Chunks(kb))


def _audit_job(job: tuple[str, list[str]]) -> dict[str, list[Audit | None]]:
    assert _worker is not None
    kb, analyses, settings, chunks = _worker
    return audit_corpus(*job, kb, analyses, chunks, settings)
