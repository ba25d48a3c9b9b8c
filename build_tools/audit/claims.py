"""What a claim states that a passage can be checked for: its numbers (as written, rounded, or as a
chunk writes them in Chinese numerals), its names and content words, weighted by idf over the chunks
of the report's corpus (`Facts`)."""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np

from ..analysis import fold, tokenize
from ..cite.parse import NUMBER_LIST
from ..knowledge_base import KnowledgeBase
from ..simplified import IDEOGRAPH_RANGES, IDEOGRAPHS, code_units
from .settings import AuditSettings

_NUMBER = re.compile(r"(?<![a-z0-9.])(?<![a-z]-)\d+(?:\.\d+)?")
_DIGIT = re.compile(r"\d")  # what every number of _NUMBER starts with
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# "3）利用…", "：1) 党的…；2) 人民…", "(2) …": a list's numbering, not a number the claim states
_ENUMERATOR = re.compile(r"(?:^|(?<=[\s:：;；,，。]))[（(]?\d{1,2}[)）.、](?!\d)")
# "第 2、3 页", "p. 12", "pages 3-5": where the claim says it read something, not what it read (the
# pages listed as a citation's locator lists them)
_PAGE_REFERENCE = re.compile(rf"第\s*+{NUMBER_LIST}\s*+页|(?<![a-z])(?:pages?|pp?\.)\s*+{NUMBER_LIST}")
MAX_ROUNDED_PLACES = 8  # a claim states a cited decimal rounded to fewer places than this
MAX_NUMERAL = 24  # characters of a Chinese numeral: longer runs (万万万…) are no number anyone cites


def numbers_of(text: str, rounded: bool = False) -> frozenset[str]:
    """The numbers of a folded text, as written without thousands separators or trailing zeros;
    with `rounded`, also each decimal rounded and cut to fewer places (6894.91 also as 6894.9,
    6895 and 6894), so a claim that rounds a number it cites still finds it: to fewer than
    MAX_ROUNDED_PLACES places, each as precise as the number is long (π to 35 places in a page
    raised InvalidOperation at the default 28 digits; rounding to every place was quadratic)."""
    found: set[str] = set()
    for number in _written_numbers(text):
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


def _written_numbers(text: str) -> list[str]:
    """The numbers of a folded text as written, thousands separators left out (`_NUMBER`)."""
    if not _DIGIT.search(text):  # most chunks: no number, and a scan for a digit is 20× quicker
        return []
    return _NUMBER.findall(_THOUSANDS.sub("", text))


_CHINESE_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9)))
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}
_CHINESE_GROUPS = {"万": 10**4, "亿": 10**8}
_CHINESE_NUMERAL = re.compile(f"[{''.join(_CHINESE_DIGITS | _CHINESE_UNITS | _CHINESE_GROUPS)}]+")


@lru_cache(maxsize=4096)  # the same few numerals (一, 两, 三, 万) in every chunk
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
    """The numbers a folded claim states: a list's numbering and the pages it names left out."""
    return frozenset(claim_number_order(claim))


def claim_number_order(claim: str) -> tuple[str, ...]:
    """`claim_numbers` each once, in the order the claim states them: a set's order changes from one
    process to the next (PYTHONHASHSEED), and what a reader is shown must not."""
    text = _ENUMERATOR.sub("", _PAGE_REFERENCE.sub(" ", claim))
    return tuple(dict.fromkeys(_plain_number(number) for number in _written_numbers(text)))


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


_UNKNOWN = np.empty(0)  # a word not yet asked for (`CorpusTerms.rare_postings`)


def no_name(word: str) -> bool:
    """Whether a claim word is no name's key: a name is a run of a-z, 0-9 and .+_- (`claim_facts`),
    so a word holding any other character (a Chinese word) is weighed, and found, as itself."""
    return not word.isascii()


@dataclass
class CorpusTerms:
    """The chunks of one report corpus, and in which of them each claim word is (from the search
    index's cached segmentation of each chunk, overlap with the next chunk left out)."""

    chunks: list[tuple[str, int]]  # (source slug, chunk index) by position
    positions: dict[tuple[str, int], int]
    postings: dict[str, list[int]] = field(default_factory=dict)
    idfs: dict[str, float] = field(default_factory=dict, init=False, repr=False)  # by word, made when asked
    facts: dict[str, tuple[int, float, str]] = field(default_factory=dict, init=False, repr=False)  # `fact_weight`'s
    rare: dict[float, dict[str, np.ndarray | None]] = field(default_factory=dict, init=False, repr=False)

    def df(self, word: str) -> int:
        """In how many chunks the word is."""
        return len(self.postings.get(word, ()))

    def weights(self, words: Iterable[str]) -> dict[str, float]:
        """Each word's idf, computed once per corpus (a claim's words recur in its report's claims)."""
        idfs = self.idfs
        for word in words:
            if word not in idfs:
                idfs[word] = idf(len(self.postings.get(word, ())), len(self.chunks))
        return {word: idfs[word] for word in words}

    def fact_weight(self, key: str, name: bool) -> tuple[int, float, str]:
        """A fact's document frequency, idf and index word; a name's those of its rarest index word
        (`name_words`; "" and a frequency of 0 when it has none): once per corpus, facts recur in
        its claims."""
        known = self.facts.get(key)
        if known is None:
            word = min(name_words(key), key=self.df, default="") if name else key
            df = self.df(word)
            known = self.facts[key] = (df, idf(df, len(self.chunks)), word)
        return known

    def weigh(self) -> None:
        """`fact_weight` of every word with postings that is no name's (`no_name`), made at once:
        the 10k base's corpora hold 1,300 claim words each, most asked for once."""
        size = len(self.chunks)
        self.facts.update(
            {word: (len(found), idf(len(found), size), word) for word, found in self.postings.items() if no_name(word)}
        )

    def rare_postings(
        self, weights: dict[str, float], limit: float, names: frozenset[str] = frozenset()
    ) -> list[tuple[np.ndarray, float]]:
        """The postings (`array`) and weight of each of the words in at least one and at most `limit`
        chunks, in the words' order; a name's are its rarest index word's (`fact_weight`). Which
        words those are is kept per corpus and limit: words recur in its claims."""
        known = self.rare.get(limit)
        if known is None:  # the postings of the words that are no name's are their own: taken at once
            flat, spans = self.flat
            known = self.rare[limit] = {
                word: flat[start:end] if end - start <= limit else None
                for word, (start, end) in spans.items()
                if no_name(word)
            }
        found = []
        for key, weight in weights.items():
            postings = known.get(key, _UNKNOWN)
            if postings is _UNKNOWN:
                word = self.fact_weight(key, True)[2] if key in names else key
                postings = known[key] = self.array(word) if 0 < self.df(word) <= limit else None
            if postings is not None:
                found.append((postings, weight))
        return found

    @cached_property
    def spans(self) -> dict[str, tuple[int, int]]:
        """Each source's first position and the one after its last: a source's chunks are in a row."""
        spans: dict[str, tuple[int, int]] = {}
        for at, (slug, _) in enumerate(self.chunks):
            spans[slug] = (spans.get(slug, (at, at))[0], at + 1)
        return spans

    @cached_property
    def flat(self) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
        """Every word's postings in one array, and where each word's are in it: made once per corpus
        (an array per word took longer to make than the sums it served)."""
        spans: dict[str, tuple[int, int]] = {}
        at = 0
        for word, found in self.postings.items():
            spans[word] = (at, at + len(found))
            at += len(found)
        return np.fromiter(itertools.chain.from_iterable(self.postings.values()), np.int64, at), spans

    def array(self, word: str) -> np.ndarray:
        """The word's postings as an array (a view of `flat`)."""
        flat, spans = self.flat
        start, end = spans.get(word, (0, 0))
        return flat[start:end]


@dataclass(frozen=True)
class Picked:
    """The words picked by source (`workers.source_words`: its corpora's claim words), and of each
    chunk a build segmented, those of its source's among its index terms ("\n"-joined,
    `analysis.analyze_picking`; None for a chunk whose terms were cached), by source: a few words of
    each chunk instead of its hundreds of terms, where every claim word of the corpus is among its
    source's words."""

    words: dict[str, frozenset[str]]
    by_source: dict[str, list[str | None]]


def corpus_terms(
    slugs: list[str], kb: KnowledgeBase, analyses: dict[str, list[str]], words: set[str], picked: Picked | None = None
) -> CorpusTerms:
    """Postings of `words` (every claim word of the corpus's reports) over the corpus's chunks,
    from the chunks' `picked` words where those of their source hold every one of `words` (read as
    they are where they are `words`, a cold build's: the 10k base's 100 corpora in 0.4–0.6 s, from
    each chunk's terms in 1.4–1.7 s)."""
    chunks = [(slug, c.index) for slug in dict.fromkeys(slugs) for c in kb.chunks.get(slug, [])]
    terms = CorpusTerms(chunks, {key: n for n, key in enumerate(chunks)})
    postings = terms.postings
    fits: dict[int, tuple[bool, bool]] = {}  # by a source's words (one set for a corpus's): usable, exact
    first = 0  # the source's first chunk's position: `chunks` holds each source's in a row, in this order
    for slug in dict.fromkeys(slugs):
        held = picked.words.get(slug) if picked is not None else None
        if held is not None and id(held) not in fits:
            usable = words <= held
            fits[id(held)] = usable, usable and len(held) == len(words)  # exact: the source's words are `words`
        usable, exact = fits[id(held)] if held is not None else (False, False)
        texts = analyses.get(slug, [])  # parallel to the source's chunks, as `own` is
        own = picked.by_source.get(slug) if picked is not None and usable else None
        # A chunk's terms are read only where nothing was picked: in a forked worker, each text
        # touched is a page copied (30,000 of the 10k base's, for its 49,170 chunks).
        for at, pick in enumerate(own if own is not None else [None] * len(texts), first):
            lines = (texts[at - first] if pick is None else pick).split("\n")  # "" (nothing picked): no claim word
            for word in lines if exact and pick else words.intersection(lines):
                postings.setdefault(word, []).append(at)  # one int for the chunk's words, not one each
        first += len(kb.chunks.get(slug, ()))
    terms.weigh()
    return terms


@dataclass(frozen=True)
class Evidence:
    """Words and numbers to look for in a text, the words weighted: found as substrings (`Facts`
    finds names whole). The evidence benchmark proposes chunks by a claim's index words with it."""

    weights: dict[str, float]
    numbers: frozenset[str]
    settings: AuditSettings
    names: frozenset[str] = frozenset()  # of the weights' keys, those that are names (`Facts`)

    @cached_property
    def total(self) -> float:
        return sum(self.weights.values())

    def present(self, text: str) -> list[str]:
        """The claim's words found in a folded text, in the claim's order."""
        return [t for t in self.weights if t in text]

    def places(self, word: str, text: str) -> Iterator[tuple[int, int]]:
        """Where a word of the claim is in a folded text: (start, end) of each occurrence."""
        at = text.find(word)
        while at >= 0:
            yield at, at + len(word)
            at = text.find(word, at + 1)

    def score(self, text: str, numbers: frozenset[str]) -> float:
        """The weighted share of the claim's words in a folded text, mixed with its numbers' share."""
        return self.share(set(self.present(text)), numbers)

    def share(self, found: set[str], numbers: frozenset[str], words: Iterable[str] | None = None) -> float:
        """The score of a text holding the `found` words (of `words`, the only ones worth summing,
        in the claim's order) and `numbers`."""
        total = self.total
        weights = self.weights
        found_share = (
            sum([weights[t] for t in (weights if words is None else words) if t in found]) / total if total else 0.0
        )
        if not self.numbers:
            return found_share
        share = len(self.numbers & numbers) / len(self.numbers)
        weight = self.settings.number_weight
        return share if not total else (1 - weight) * found_share + weight * share

    def found(self, text: str, numbers: frozenset[str]) -> set[str]:
        return set(self.present(text)) | (self.numbers & numbers)


# jieba's tags (rjieba.tag) of words that state no fact of their own: adjectives and adverbs (the
# framing a reader does not ask a source for: 显著, 重要, 日益, 迅速), pronouns, prepositions,
# conjunctions, particles, time and direction words, measure words, interjections.
FRAMING_TAGS = frozenset(
    {"a", "ad", "d", "vd", "r", "p", "c", "u", "uj", "ul", "uz", "uv", "ud", "ug", "t", "f", "q", "mq", "y", "e", "o"}
)
_LATIN_RUN = re.compile(r"[a-z0-9][a-z0-9.+_-]*(?: [a-z0-9][a-z0-9.+_-]*)*")
_NAME_PART = re.compile(r"[a-z]+|[0-9]+")
_LETTER = re.compile(r"[a-z]")
_NAME_MARK = re.compile(r"[A-Z0-9]")
SHOWN_FACTS = 6  # held and missing facts named beside a citation, each
MAX_NAME_WORDS = 3  # Latin-script words in a row that are one name (Hugging Face, DeepResearch Bench)
ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "with",
    ]
)


class Fact(NamedTuple):
    """One thing a claim states that a passage can be checked for (a tuple: a 10k build makes 300,000
    of them, and a tuple is made faster than a frozen dataclass)."""

    key: str  # what is looked for: a folded word or name, a number as `numbers_of` writes it
    kind: str  # "number" | "name" (written in Latin script) | "word"
    shown: str  # as the claim writes it


FoundFacts = dict[str, tuple[str, str]]  # claim → its facts and its reading, texts (`found_facts`)

_found: dict[str, str] = {}  # `remember_facts`'s facts, each taken by `claim_facts` when first asked
_readings: dict[str, str] = {}  # and readings, each taken by `claim_reading` when first asked
_FACT, _FIELD = "\x1e", "\x1f"  # between facts, between a fact's fields (a fact holding one is not written)


def found_facts(claims: Iterable[str]) -> FoundFacts:
    """Each claim's `claim_facts` and `claim_reading` as texts: a word shown as it is looked for is
    itself, any other fact its three fields; the reading's parts `_FIELD` apart. Found in another
    process, 15,000 claims' are read back in 13 ms (as tuples, 350 ms: one object each). A claim
    whose facts held a separator would be left out (found again where asked)."""
    found = {}
    for claim in claims:
        facts = claim_facts(claim)
        numbers, pairs = claim_reading(claim)
        if not any(_FACT in field or _FIELD in field for fact in facts for field in fact):
            written = _FACT.join(
                fact.key if fact.kind == "word" and fact.shown == fact.key else _FIELD.join(fact) for fact in facts
            )
            # Numbers and Latin words hold no line end: each list is one line-separated field; the
            # pairs are Chinese characters.
            parts = ("\n".join(numbers), pairs.chinese, "\n".join(pairs.latin))
            found[claim] = (written, _FIELD.join(parts))
    return found


def remember_facts(found: FoundFacts) -> None:
    """Claims' facts and readings found elsewhere (`found_facts`), read by `claim_facts` and
    `claim_reading` instead of finding them."""
    _found.clear()
    _readings.clear()
    for claim, (facts, reading) in found.items():
        _found[claim] = facts
        _readings[claim] = reading


def _remembered(text: str) -> tuple[Fact, ...]:
    """The facts `found_facts` wrote as `text`."""
    if not text:
        return ()
    return tuple(
        Fact(*fact.split(_FIELD)) if _FIELD in fact else Fact(fact, "word", fact) for fact in text.split(_FACT)
    )


@lru_cache(maxsize=65536)  # each claim is tagged once per build, not once per use
def claim_facts(claim: str) -> tuple[Fact, ...]:
    """A claim's names and content words, in its order. A name is a run of up to MAX_NAME_WORDS
    Latin-script words, each with a capital or a digit when there are several (`GPT-4`, `Hugging
    Face`, `MLX-LM`: one fact each, looked for whole; another run is English prose, each of its
    words but function words a fact); a content word is a jieba word of two or more characters not
    tagged as framing or function (FRAMING_TAGS). Those `remember_facts` holds are taken from it."""
    known = _found.pop(claim, None)
    if known is not None:
        return _remembered(known)
    folded = fold(claim)
    same = len(folded) == len(claim)  # folding kept every offset: names are shown as written
    facts = {
        word: Fact(word, "word", word) for word, tag in _tagged(folded) if len(word) > 1 and tag not in FRAMING_TAGS
    }
    for match in _LATIN_RUN.finditer(folded):
        words = match.group().split(" ")
        written = claim[match.start() : match.end()].split(" ") if same else words
        if _english_prose(written, cased=same):  # each word but function words a fact, not one name
            places = [match.start() + n for n in itertools.accumulate((len(w) + 1 for w in words[:-1]), initial=0)]
            runs = [(at, word) for at, word in zip(places, words) if word not in ENGLISH_FUNCTION_WORDS]
        else:
            runs = [(match.start(), match.group())]
        for start, run in runs:
            name = run.rstrip(".+_-")
            if len(name) > 1 and _LETTER.search(name):
                facts.setdefault(name, Fact(name, "name", claim[start : start + len(name)] if same else name))
    return tuple(facts.values())


def _english_prose(words: list[str], cased: bool) -> bool:
    """Latin-script words in a row that are English prose, not one name: more than MAX_NAME_WORDS,
    or, where their case is known (`cased`), several with one lacking a capital or a digit
    ("rerankers reorder passages"; a name's words carry one: "Claude 3 Opus")."""
    return len(words) > MAX_NAME_WORDS or (cased and len(words) > 1 and not all(map(_NAME_MARK.search, words)))


@lru_cache(maxsize=65536)
def _tagged(folded: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and tags of a folded text's Chinese runs. One call for all the runs: jieba
    cuts text at each line end, so each run is tagged as on its own (and a line end is no word of
    two characters)."""
    import rjieba

    return tuple(rjieba.tag("\n".join(IDEOGRAPHS.findall(folded))))


LABEL_CHARACTERS = 30  # the longest claim read as a label (`states_nothing`)
# Besides verbs, jieba's tags of words that make a phrase a statement: numerals (首个, 万亿, 第一),
# adjectives (最大的开源模型: a fact about the model), adverbs (也已, 均为: they modify a predicate)
# and idioms (难分高下, 未公开, 一家独大: predicates in one word). A held-out claim a blind reader
# judged stated ("开源模型与闭源模型也已难分高下") was read as a label without the last two.
STATING_TAGS = frozenset({"m", "mq", "a", "ad", "an", "d", "i", "l"})


def states_nothing(claim: str) -> bool:
    """A claim that is a label, not a statement: a table cell or list entry naming a kind of source
    or a benchmark ("arxiv官方与主论文源", "DeepResearch Bench"). No passage can state it, so no
    passage supports it: at most LABEL_CHARACTERS characters, no number, no Chinese word jieba tags
    as a verb, a numeral or an adjective (STATING_TAGS), and Latin-script words only as names
    (`_english_prose`: "arxiv", "Claude Opus"; not "models reason"). Blind readers judged none of
    the 37 labels of the judged set `states` (BENCHMARKS.md)."""
    text = claim.strip()
    if len(text) > LABEL_CHARACTERS:
        return False
    folded = fold(text)
    if claim_numbers(folded):
        return False
    if any(tag.startswith("v") or tag in STATING_TAGS for _, tag in _tagged(folded)):
        return False
    same = len(folded) == len(text)
    for match in _LATIN_RUN.finditer(folded):
        written = text[match.start() : match.end()] if same else match.group()  # folded: read as lower case
        if _english_prose(written.split(" "), cased=True):
            return False
    return True


# Where the letters `chinese_share` counts start and end, as UTF-16 code units in order: A-Z, a-z,
# then the ranges of IDEOGRAPHS (all of one code unit, no surrogate half among them).
_LETTER_BOUNDS = np.array(
    [0x41, 0x5B, 0x61, 0x7B, *(bound for first, last in IDEOGRAPH_RANGES for bound in (first, last + 1))],
    dtype=np.uint16,
)


def chinese_share(text: str) -> float:
    """The share of a text's letters (Chinese characters, Latin letters) that are Chinese; 1.0 for a
    text without letters (nothing in it is written in another script). Counted by the range each
    code unit falls in, at once (2.7× quicker than removing each kind by a pattern and measuring)."""
    counts = np.bincount(
        np.searchsorted(_LETTER_BOUNDS, code_units(text), side="right"), minlength=len(_LETTER_BOUNDS) + 1
    )
    chinese, latin = int(counts[5::2].sum()), int(counts[1] + counts[3])  # inside a range: after its start
    return chinese / (chinese + latin) if chinese + latin else 1.0


_LATIN = "a-z0-9"  # a folded text's letters and digits, as a character class
_LATIN_WORD = re.compile(f"[{_LATIN}]+")
_NO_CODES = np.empty(0, dtype=np.uint32)


def pair_codes(text: str) -> np.ndarray:
    """Each two code units in a row of a text's UTF-16 form as one number (first × 65,536 + second).
    A Chinese character (`IDEOGRAPHS`) is one code unit and no half of a surrogate pair: two of
    them in a row are a pair of the text exactly where their number is among these."""
    units = code_units(text).astype(np.uint32)
    return (units[:-1] << 16) | units[1:]


@dataclass(frozen=True)
class Pairs:
    """A folded claim's distinct Chinese character pairs and Latin-script words: what a passage
    saying the claim in other words or cutting its words otherwise (商业利益 as 商业变现, 得分率 as
    得分) still shares with it, where whole words are missing. The pairs are one text, two
    characters each, in the order of their numbers (`pair_codes`): read as numbers at once, and
    carried from the process that finds them as they are (as sets of fifty strings a claim, made
    again in every audit worker, they took 0.3 s and most of the 87 MB the 10k base's claims held
    there: BENCHMARKS.md, session 35)."""

    chinese: str
    latin: frozenset[str]

    @classmethod
    def of(cls, folded: str) -> Pairs:
        runs = IDEOGRAPHS.findall(folded)
        pairs = {run[i : i + 2] for run in runs for i in range(len(run) - 1)}
        # A Chinese character is one code unit: the order of the strings is that of their numbers.
        return cls("".join(sorted(pairs)), frozenset(_LATIN_WORD.findall(folded)))

    @cached_property
    def codes(self) -> np.ndarray:
        """The Chinese pairs as numbers, sorted: each pair's two UTF-16 code units (`pair_codes`)."""
        return pair_codes(self.chinese)[::2] if self.chinese else _NO_CODES

    def share(self, text: str) -> float:
        """The share of them a folded text holds (pairs anywhere, words as words); 0.0 for none.
        The pairs are looked up among the text's own pairs of characters, as numbers (a sorted
        array, searched once): fifty pairs looked for one by one read the text fifty times, 2.7×
        as long on the 10k base's passages (BENCHMARKS.md, session 30)."""
        total = len(self.chinese) // 2 + len(self.latin)
        if not total:
            return 0.0
        found = 0
        if self.chinese and len(text) > 1:
            held = np.sort(pair_codes(text))
            at = held.searchsorted(self.codes)
            found = int(np.count_nonzero(held[np.minimum(at, len(held) - 1)] == self.codes))
        if self.latin:
            found += sum(1 for word in self.latin if holds_run(text, word))
        return found / total


_NOT_LATIN = re.compile(f"[^{_LATIN}]")


def holds_run(text: str, word: str) -> bool:
    """Whether a folded text holds `word` (letters and digits) as one of its runs of letters and
    digits: `word in _LATIN_WORD.findall(text)` without making each run of the text a string (a
    third of `Pairs.share`'s time). Linear: past an occurrence inside a longer run, the search goes
    on after that run."""
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if (not at or text[at - 1] not in _ALNUM) and (end == len(text) or text[end] not in _ALNUM):
            return True
        after = _NOT_LATIN.search(text, end)  # where the run holding this occurrence ends
        if after is None:
            return False
        at = text.find(word, after.end())
    return False


@lru_cache(maxsize=65536)  # a claim cited with several chunks is read once
def claim_reading(claim: str) -> tuple[tuple[str, ...], Pairs]:
    """What is read of a claim whatever the corpus: its numbers in its order (`claim_number_order`)
    and character pairs (`Pairs`) of its folded text. Those `remember_facts` holds are taken from it."""
    known = _readings.pop(claim, None)
    if known is not None:
        numbers, chinese, latin = known.split(_FIELD)
        return tuple(numbers.split("\n")) if numbers else (), Pairs(chinese, _lines(latin))
    folded = fold(claim)
    return claim_number_order(folded), Pairs.of(folded)


def _lines(text: str) -> frozenset[str]:
    return frozenset(text.split("\n")) if text else frozenset()


def checked_facts(claim: str) -> tuple[Fact, ...]:
    """What a claim is checked for: its facts (`claim_facts`), or its index words when every word of
    it is framing."""
    return claim_facts(claim) or tuple(Fact(w, "word", w) for w in claim_words(fold(claim)))


def claim_terms(claim: str) -> set[str]:
    """The words of a claim whose postings its audit reads (`Facts.of`): its facts' words and its
    names' index words."""
    words = set()
    for key, kind, _ in checked_facts(claim):
        if kind == "word":
            words.add(key)
        else:
            words.update(name_words(key))
    return words


@lru_cache(maxsize=65536)
def name_parts(name: str) -> tuple[str, ...]:
    """A folded name's letter and digit runs (`gpt-4o` → gpt, 4, o)."""
    return tuple(_NAME_PART.findall(name))


@lru_cache(maxsize=65536)
def name_words(name: str) -> tuple[str, ...]:
    """The index words of a folded name that hold a letter: what its weight is read from."""
    return tuple(t for t in tokenize(name) if _LETTER.search(t))


_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_ALNUM = _LETTERS | frozenset("0123456789")
_BETWEEN = frozenset(" \t\n\r\f\v._-")  # what may stand between a name's parts


def name_places(name: str, text: str) -> Iterator[tuple[int, int]]:
    """Where a folded name is in a folded text, as a text may write it: its letter and digit runs
    in order, with or without spaces, hyphens, dots or underscores between them (`gpt-4`, `gpt4`,
    `gpt 4`; `hugging face`, `huggingface`), not inside a longer word or number (`gpt-4` is not in
    `gpt-4o`, `gpt-40` or `gpt-4.5`; `bench` is not in `benchmark`). A run of letters ends where
    digits start, as between the name's own parts: a name starting or ending with letters is found
    against a number (a scraped table's cells run together: `…-32b67.570.1qwenlong-l1-32b…`).
    Linear in the text: each occurrence of the first run is followed at most through the name's
    length and one run of separators per part."""
    parts = name_parts(name)
    if not parts:
        return
    first, size = parts[0], len(text)
    starts_with_letter, ends_with_letter = first[0] in _LETTERS, parts[-1][-1] in _LETTERS
    at = text.find(first)
    while at >= 0:
        before = text[at - 1 : at]  # "" at the start: in neither set
        if before not in _ALNUM or (starts_with_letter and before not in _LETTERS):
            end = at + len(first)
            for part in parts[1:]:
                while end < size and text[end] in _BETWEEN:
                    end += 1
                if not text.startswith(part, end):
                    break
                end += len(part)
            else:
                after = text[end : end + 2]
                ends = not after or (after[0] not in _ALNUM and not (after[0] == "." and after[1:].isdigit()))
                if ends or (ends_with_letter and after[0] not in _LETTERS):  # or a number right after its letters
                    yield at, end
        at = text.find(first, at + 1)


@dataclass(frozen=True)
class Facts(Evidence):
    """A claim's key facts (`checked_facts` and its numbers) ready to be looked for in a passage:
    whole words weighted by idf, names found by `name_places`. What the audit reads of a claim."""

    shown: dict[str, str] = field(default_factory=dict)  # key → as the claim writes it
    rare: frozenset[str] = frozenset()  # the words and names worth naming to a reader (not common in the corpus)
    unheld: frozenset[str] = frozenset()  # the claim's words (not names) no chunk of the corpus holds
    pairs: Pairs = Pairs("", frozenset())

    @classmethod
    def of(cls, claim: str, terms: CorpusTerms, settings: AuditSettings) -> Facts:
        common = settings.common_share * len(terms.chunks)
        known = terms.facts  # `fact_weight`'s, read here first: most of a claim's facts recur in its corpus
        weights: dict[str, float] = {}
        shown: dict[str, str] = {}
        rare, names, unheld = [], [], []
        for key, kind, written in checked_facts(claim):
            df, weights[key], _ = known.get(key) or terms.fact_weight(key, kind == "name")
            shown[key] = written
            if df <= common:
                rare.append(key)
            if kind == "name":
                names.append(key)
            elif df == 0:
                unheld.append(key)
        ordered, pairs = claim_reading(claim)  # the claim's numbers, in its order: they are named in it
        numbers = frozenset(ordered)
        for number in ordered:
            shown[number] = number
        return cls(weights, numbers, settings, frozenset(names), shown, numbers.union(rare), frozenset(unheld), pairs)

    def present(self, text: str) -> list[str]:
        names = self.names
        if not names:  # most claims: words alone
            return [t for t in self.weights if t in text]
        return [t for t in self.weights if (t in text if t not in names else next(name_places(t, text), None))]

    def places(self, word: str, text: str) -> Iterator[tuple[int, int]]:
        return name_places(word, text) if word in self.names else super().places(word, text)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """The claim's `key_facts` rarest words and names (by idf, the first in the claim's order
        among equals; with `key_known`, of those some chunk holds)."""
        unheld = self.unheld if self.settings.key_known else frozenset()
        candidates = [t for t in self.weights if t not in unheld]
        return tuple(heapq.nlargest(self.settings.key_facts, candidates, key=self.weights.__getitem__))

    @cached_property
    def _key_weights(self) -> tuple[tuple[tuple[str, float], ...], float]:
        """Each `key` fact with its weight, and their sum: a citation asks `key_share` several times."""
        weighted = tuple((t, self.weights[t]) for t in self.key)
        return weighted, sum(weight for _, weight in weighted)

    def key_share(self, held: set[str]) -> float:
        """The weighted share of the claim's `key` facts that are among `held`; 1.0 for a claim
        without any."""
        weighted, total = self._key_weights
        return sum(weight for t, weight in weighted if t in held) / total if total else 1.0

    def name_share(self, held: set[str]) -> float:
        """The share of the claim's names (Latin-script, `name_places`) that are among `held`; 1.0
        for a claim without any. A passage that never names what the claim names does not state it."""
        return len(self.names & held) / len(self.names) if self.names else 1.0

    def factor(self, held: set[str]) -> float:
        """What a passage holding `held` states of the claim's facts, per unit of score: the square
        root of `key_share` times `name_share` to the power `name_power` (support's whole-word part,
        `support`; what a file's places are ranked by, `verdicts.best_place`)."""
        return self.key_share(held) ** 0.5 * self.name_share(held) ** self.settings.name_power

    def support(self, score: float, held: set[str], text: str) -> float:
        """Support of a folded passage scoring `score` and holding `held`: `score` times the square
        root of `key_share`, mixed with the share of the claim's character pairs it holds
        (`pairs_weight`), times `name_share` to the power `name_power` (a passage writing the claim
        word for word of another name shares every pair but the name's)."""
        weight = self.settings.pairs_weight
        stated = (1 - weight) * score * self.key_share(held) ** 0.5 + weight * self.pairs.share(text)
        return stated * self.name_share(held) ** self.settings.name_power

    def unread(self, held: set[str], text: str) -> frozenset[str]:
        """The claim's Chinese words a folded passage cannot be checked for: where it holds none of
        them and Chinese makes up less than `read_share` of its letters (a Chinese claim citing an
        English page). Unread, not missing: names (English prose's words too) and numbers are read
        in any passage."""
        words = self.weights.keys() - self.names  # a claim's words but its names are Chinese (`claim_facts`)
        if not words or held.intersection(words) or chinese_share(text) >= self.settings.read_share:
            return frozenset()
        return frozenset(words)

    @cached_property
    def _ranked(self) -> tuple[str, ...]:
        """The rare facts in the order they are named (`named`): numbers, then names, then words by
        weight (the rarest first), in the claim's order among equals (a stable sort of them in that
        order). Made once: a citation names facts twice."""
        numbers, names, weights = self.numbers, self.names, self.weights
        in_claim_order = [key for key in self.shown if key in self.rare]
        return tuple(sorted(in_claim_order, key=lambda k: (k not in numbers, k not in names, -weights.get(k, 0.0))))

    def named(self, keys: set[str]) -> tuple[str, ...]:
        """The rare ones among `keys`, as the claim writes them, in `_ranked`'s order, at most SHOWN_FACTS."""
        return tuple(itertools.islice((self.shown[k] for k in self._ranked if k in keys), SHOWN_FACTS))
