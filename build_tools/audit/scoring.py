"""Where a claim sits in a chunk: a chunk's score for a claim (its best window of one or two
sentences, the span shown, mixed with the whole chunk), the chunks compared with the cited one
(`proposed`), each chunk folded once per build (`Chunks`)."""

from __future__ import annotations

import bisect
import re
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..analysis import fold
from ..knowledge_base import KnowledgeBase
from ..models import FilePart, Resolved
from ..paths import file_part
from .claims import CorpusTerms, Evidence, chunk_numbers
from .settings import AuditSettings

_ENDS = "。！？!?；;"  # what ends a sentence, besides a line end
# A sentence as `Folded.bounds` cuts it, trimmed of spaces: from its first character that is no
# space, through its ends (or, ended by a line end or the text's, its last character that is no
# space); or its ends alone, after nothing but spaces.
_SENTENCE = re.compile(rf"[^\s{_ENDS}](?:[^{_ENDS}\n]*+[{_ENDS}]+|(?:[^{_ENDS}\n]*[^\s{_ENDS}])?)|[{_ENDS}]+")


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
        spans = [match.span() for match in _SENTENCE.finditer(self.raw)]
        return [start for start, _ in spans], [end for _, end in spans]

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

    def _found(self, evidence: Evidence, words: list[str]) -> dict[int, set[str]]:
        """The claim's `words` (those in the chunk) in each sentence that holds any, by sentence
        index: from each word's occurrences in the folded chunk (a word never crosses a sentence's
        end), else, where folding moved offsets, by looking in each sentence."""
        found: dict[int, set[str]] = {}
        if not self.same:
            for i, sentence in enumerate(self._sentence_texts):
                held = set(evidence.present(sentence)).intersection(words)
                if held:
                    found[i] = held
            return found
        text, (starts, ends) = self.text, self.bounds
        for word in words:
            for at, end in evidence.places(word, text):
                i = bisect.bisect_right(starts, at) - 1
                if i >= 0 and end <= ends[i]:
                    found.setdefault(i, set()).add(word)
        return found

    def present(self, evidence: Evidence) -> list[str]:
        """`evidence.present` in the chunk, kept for the last claim asked while it is alive (a weak
        reference: a chunk kept for the whole audit keeps no claim): a cited chunk is asked for a
        claim's facts twice (their best window, then which of them it holds)."""
        last = self.__dict__.get("_last")
        if last is None or last[0]() is not evidence:
            last = self.__dict__["_last"] = (weakref.ref(evidence), evidence.present(self.text))
        return last[1]

    def found(self, evidence: Evidence) -> set[str]:
        """The claim's words and numbers the chunk holds (`Evidence.found`)."""
        held = set(self.present(evidence))
        return held | (evidence.numbers & self.numbers) if evidence.numbers else held  # most claims have none

    def _held(self, evidence: Evidence) -> tuple[list[str], frozenset[str]]:
        """The claim's words (`present`) and numbers the chunk holds."""
        return self.present(evidence), evidence.numbers & self.numbers if evidence.numbers else frozenset()

    def whole(self, evidence: Evidence) -> float:
        """The whole chunk's share of the claim: no window of it scores more, nor the chunk (`best`)."""
        words, numbers = self._held(evidence)
        return evidence.share(set(words), numbers, words)

    def best(self, evidence: Evidence) -> tuple[float, Window | None]:
        """The chunk's score (its best window's mixed with the whole chunk's, `chunk_weight`) and the
        best window (None when no window holds any of the claim): one-sentence windows first, then
        two, the first of equal scores kept. Only windows holding some of the claim are scored, and
        only the claim's words found in the chunk looked for."""
        words, shared_numbers = self._held(evidence)
        if not (words or shared_numbers):
            return 0.0, None
        whole = self.whole(evidence)
        found = self._found(evidence, words)
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
    """Folded chunks by (source slug, chunk index), and task files' parts by (file slug, −number),
    each folded once per build."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.done: dict[tuple[str, int], Folded] = {}

    def __call__(self, slug: str, index: int) -> Folded:
        key = (slug, index)
        if key not in self.done:
            self.done[key] = folded_chunk(self.kb.chunks[slug][index].text)
        return self.done[key]

    def part(self, slug: str, part: FilePart) -> Folded:
        key = (slug, -part.number)
        if key not in self.done:
            self.done[key] = folded_chunk(part.text)
        return self.done[key]


def cited_parts(item: Resolved, kb: KnowledgeBase, limit: int) -> list[FilePart]:
    """The places of a task file a resolved citation is checked against, those with text the
    pipeline extracted: the page, slide or sheet it names, or, citing the whole file, each of them
    (the audit keeps the one stating most). None for an image, a video, a file without text, a
    place named in a form not read (`place_unread`), or where the text to read passes `limit`
    characters (`AuditSettings.file_chars`)."""
    file = kb.files_by_slug.get(item.source_slug or "")
    # A place named in a form not read: which one was meant is not known, so none is checked in its stead.
    unread = item.reason is not None and item.reason.holds("place_unread")
    if file is None or item.status != "resolved" or not item.target or unread:
        return []
    named = file_part(file, item.target)
    parts = [part for part in ([named] if named else file.parts) if part.text.strip()]
    return parts if sum(len(part.text) for part in parts) <= limit else []


def proposed(
    evidence: Evidence, terms: CorpusTerms, cited: tuple[str, int], settings: AuditSettings
) -> list[tuple[str, int]]:
    """The chunks sharing most of the claim's rarer words (by idf), the cited one left out: up to
    `source_candidates` of the cited source and `candidates` of the corpus's other sources
    (`proposals` of one claim)."""
    return proposals([(evidence, cited)], terms, settings)[0]


PROPOSAL_CELLS = 1 << 20  # claims × chunks summed at once: 8 MB a matrix, whatever the corpus's size


def proposals(
    claims: list[tuple[Evidence, tuple[str, int]]], terms: CorpusTerms, settings: AuditSettings
) -> list[list[tuple[str, int]]]:
    """`proposed` of each (claim, cited chunk), parallel to `claims`, summed in one `np.bincount`
    per PROPOSAL_CELLS (a claim's own took 79 µs on the 10k base, 42 µs at once: BENCHMARKS.md,
    session 37). A chunk's sum is its words' weights added in the claim's order (`np.bincount` adds
    in the order given: the sums of a loop over the words), the first of equal sums chosen first;
    weights are idf's, never 0, so a chunk sharing a word sums above 0."""
    size = max(1, len(terms.chunks))
    rows = max(1, PROPOSAL_CELLS // size)
    found: list[list[tuple[str, int]]] = []
    for start in range(0, len(claims), rows):
        found += _proposals(claims[start : start + rows], terms, settings)
    return found


def _proposals(
    claims: list[tuple[Evidence, tuple[str, int]]], terms: CorpusTerms, settings: AuditSettings
) -> list[list[tuple[str, int]]]:
    size = len(terms.chunks)
    limit = settings.common_share * size
    postings: list[np.ndarray] = []
    weights: list[float] = []
    rows: list[int] = []
    for row, (evidence, _) in enumerate(claims):
        for places, weight in terms.rare_postings(evidence.weights, limit, evidence.names):
            postings.append(places)
            weights.append(weight)
            rows.append(row * size)
    if not postings:
        return [[] for _ in claims]
    lengths = [len(places) for places in postings]
    cells = np.concatenate(postings) + np.repeat(np.array(rows), lengths)
    sums = np.bincount(cells, np.repeat(np.array(weights), lengths), minlength=len(claims) * size)
    sums = sums.reshape(len(claims), size)
    cited = [terms.positions.get(key, -1) for _, key in claims]
    held = [n for n, at in enumerate(cited) if at >= 0]
    sums[held, [cited[n] for n in held]] = 0.0
    spans = np.array([terms.spans.get(key[0], (0, 0)) for _, key in claims])  # one row a claim
    columns = np.arange(size)
    own = (columns >= spans[:, :1]) & (columns < spans[:, 1:])  # the cited source's chunks, in a row
    same, other = np.where(own, sums, 0.0), np.where(own, 0.0, sums)
    picked = zip(_ranked(same, settings.source_candidates), _ranked(other, settings.candidates))
    return [[terms.chunks[at] for at in first + second] for first, second in picked]


def _ranked(sums: np.ndarray, count: int) -> list[list[int]]:
    """Of each row, the positions of the `count` highest sums above 0, the first of equals first."""
    if count == 1:  # the usual case: argmax gives the first of equals
        best = sums.argmax(axis=1)
        return [
            [at] if value > 0 else [] for at, value in zip(best.tolist(), sums[np.arange(len(sums)), best].tolist())
        ]
    ranked = []
    for row in sums:
        found = np.flatnonzero(row)
        ranked.append(found[np.lexsort((found, -row[found]))][:count].tolist())
    return ranked
