"""What a claim states that a passage can be checked for: its numbers (as written, rounded, or as a
chunk writes them in Chinese numerals) and its informative words, weighted by idf over the chunks
of the report's corpus (`Evidence`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cached_property, lru_cache

from ..analysis import fold, tokenize
from ..knowledge_base import KnowledgeBase
from .settings import AuditSettings

_NUMBER = re.compile(r"(?<![a-z0-9.])(?<![a-z]-)\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# "3）利用…", "：1) 党的…；2) 人民…", "(2) …": a list's numbering, not a number the claim states
_ENUMERATOR = re.compile(r"(?:^|(?<=[\s:：;；,，。]))[（(]?\d{1,2}[)）.、](?!\d)")
MAX_ROUNDED_PLACES = 8  # a claim states a cited decimal rounded to fewer places than this
MAX_NUMERAL = 24  # characters of a Chinese numeral: longer runs (万万万…) are no number anyone cites


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
