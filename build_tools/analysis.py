"""A text's search terms and word joins: the one definition the index, the query rule and the audit share.

Chinese runs are segmented with jieba's `cut_for_search` (through rjieba, the Rust port: identical
output, 15× faster), so a long word also yields its dictionary sub-words; other text is lower-cased
words with no stemming. Build and query both fold with NFKC, lower case and Traditional characters
as Simplified (`simplified`). Each text's terms and counts are cached by content hash across builds
(`TermCache`): segmentation is most of a build's time.

A join is where two adjacent words meet: the two characters that touch for Chinese (模型|的 → 型的),
both words for English. Joins have no names in the index: each is hashed into a bucket.
"""

from __future__ import annotations

import glob
import hashlib
import marshal
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from itertools import chain
from pathlib import Path

import numpy as np

from .lock import TEMPORARY_SUFFIX, Damaged, seal, unseal, write_atomic
from .reading import read_file
from .simplified import IDEOGRAPH_CLASS, SHORT, forms_with, simplified, through

CACHE_FORMAT = 9  # of the term cache file (7: sealed, see TermCache; 8: pairs as term places; 9: Traditional folded)
CACHE_KIND = b"ckbterms"
TERM_CACHE = ".cache/citekb/terms.marshal"  # where a site build keeps it, beside mkdocs.yml ($CITEKB_CACHE)
MAX_TF = 255  # a term's count in one text is kept in a byte
MAX_CACHE = 1 << 30  # bytes of a term cache read (the 10k-source benchmark base's is 120 MB)

_CJK = IDEOGRAPH_CLASS
_WORD = "a-z0-9\u00c0-\u024f"  # of an English word (a run that is not Chinese)
_RUNS = re.compile(rf"[{_CJK}]+|[{_WORD}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_HYPHENATED = re.compile(r"(?<![a-z0-9])([a-z]+)-([0-9][a-z0-9]*)(?![a-z0-9])")


# What Chinese text mostly needs NFKC for: full-width ASCII (，：（）Ａ１) and the ideographic space.
_FULL_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_FULL_WIDTH_CHAR = re.compile("[\uff01-\uff5e\u3000]")


def fold(text: str) -> str:
    """NFKC, lower case and Traditional characters as Simplified, as the worker folds. The
    full-width characters are mapped to their NFKC forms first, so most texts then pass NFKC's
    quick check and are not rebuilt: the same result (tests/test_search.py checks it against plain
    NFKC) with less work on every chunk the audit folds.
    A long text has its full-width and Traditional characters mapped at once, through one table
    (`simplified.through`): the table's ideographs are NFKC's own forms and compose with nothing,
    so the mapped text passes NFKC's check exactly where the text with full-width characters mapped
    alone does, and lower case changes none of them. 38% less time on the 10k base's chunks than
    mapping in two steps (BENCHMARKS.md, session 33). Otherwise each full-width kind present is
    replaced at once, from the first of it on (a set of the text's characters took 6× as long: a
    chunk holds a hundred full-width commas and stops, of a few kinds)."""
    if len(text) >= SHORT:
        mapped = through(_fold_forms(), text)
        if mapped is not None and unicodedata.is_normalized("NFKC", mapped):
            return mapped.lower()
    found = _FULL_WIDTH_CHAR.search(text)
    while found:  # a few kinds per text: one str.replace each, which keeps every offset
        char = found.group()
        text = text.replace(char, _FULL_WIDTH[char])
        found = _FULL_WIDTH_CHAR.search(text, found.start())
    return simplified(
        (text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)).lower()
    )


@cache
def _fold_forms() -> np.ndarray:
    return forms_with(_FULL_WIDTH)


def runs(text: str) -> list[str]:
    """A text's Chinese runs and other words, folded: what terms and queries are made of."""
    return _RUNS.findall(fold(text))


def is_cjk(run: str) -> bool:
    """Whether a run or term is Chinese (by its first character)."""
    return bool(_IS_CJK.match(run))


_GAPS = re.compile(rf"[^{_CJK}{_WORD}]+")
_WORDS = re.compile(rf"[{_WORD}]+")
_WORDS_APART = re.compile("\x00\n(?=\x00)")
_WORDS_IN_A_ROW = re.compile("\x00+")
SPLIT = "\n"  # where jieba reads a text in one call, what stands between runs
WORD = "\x00"  # and what stands for an English word


def _jieba_text(folded: str) -> tuple[str, list[str]]:
    """A folded text as jieba reads it in one call (a call per run costs twice the segmentation), and
    its English words in order: Chinese runs as they are; each English word a WORD, words in a row
    (nothing Chinese between) adjacent; SPLIT everywhere else. jieba cuts each stretch of Chinese
    apart from the rest, and yields SPLIT and WORD as tokens of their own."""
    spaced = _GAPS.sub(SPLIT, folded)
    english = _WORDS.findall(spaced)
    if english:
        spaced = _WORDS_IN_A_ROW.sub(SPLIT + r"\g<0>" + SPLIT, _WORDS_APART.sub(WORD, _WORDS.sub(WORD, spaced)))
    return spaced, english


def _with_words(tokens: list[str], english: list[str]) -> list[str]:
    """jieba's tokens with each WORD the English word it stands for."""
    if not english:
        return tokens
    words = iter(english)
    return [next(words) if token == WORD else token for token in tokens]


def _tokens(folded: str, spaced: str, english: list[str]) -> list[str]:
    """`tokenize`'s tokens of a folded text read as `_jieba_text` gives it, SPLIT still among them."""
    import rjieba

    # looked for only in a text with a hyphen (a fifth of chunks): the search took 5% of `analyze`
    hyphenated = [match.group(1) + match.group(2) for match in _HYPHENATED.finditer(folded)] if "-" in folded else []
    return _with_words(rjieba.cut_for_search(spaced), english) + hyphenated


def tokenize(text: str) -> list[str]:
    """Index tokens of a text: jieba words for Chinese runs, lower-cased words otherwise; a name
    written with a hyphen before its number (`GPT-4`, `Llama-3`) also as one word, so the way
    people type it (`gpt4`) finds it."""
    folded = fold(text)
    return list(filter(SPLIT.__ne__, _tokens(folded, *_jieba_text(folded))))


# A text's distinct terms joined by "\n", their counts, its token count, and its distinct adjacent
# word pairs, each as the places of its two words among those terms (little-endian 32-bit numbers,
# two a pair): compact enough to cache 40,000 of them, and the index reads them as arrays.
Analysis = tuple[str, bytes, int, bytes]
PAIR_PLACES = "<u4"  # numpy's name for the pairs' numbers


def analyze(text: str) -> Analysis:
    """Terms as `tokenize` gives them, and adjacent word pairs: jieba's words (`cut`) within a
    Chinese run, consecutive English words. Every word of a pair is a term: `cut_for_search`
    yields each of `cut`'s words (with its sub-words), and an English word is its own term."""
    return analyze_picking(text, frozenset())[0]


def analyze_picking(text: str, picked: frozenset[str]) -> tuple[Analysis, str]:
    """`analyze`, and those of the words `picked` that are among the text's terms ("\n"-joined):
    what a reader of a few words (the audit, of its claims' words) reads instead of every term."""
    import numpy as np
    import rjieba

    folded = fold(text)
    spaced, english = _jieba_text(folded)
    counts = Counter(_tokens(folded, spaced, english))  # the one definition of index terms (tested against jieba)
    counts.pop(SPLIT, None)  # as tokenize leaves it out
    try:
        tfs = bytes(counts.values())
    except ValueError:  # a count past a byte
        tfs = bytes(min(n, MAX_TF) for n in counts.values())
    place = dict(zip(counts, range(1, len(counts) + 1)))  # from 1: `all` keeps the pairs of two words
    words = list(map(place.get, _with_words(rjieba.cut(spaced), english)))  # SPLIT: None
    pairs = dict.fromkeys(filter(all, zip(words, words[1:])))  # in order of appearance
    places = np.fromiter(chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs)) - 1
    analysis = "\n".join(counts), tfs, sum(counts.values()), places.astype(PAIR_PLACES).tobytes()
    return analysis, "\n".join(picked.intersection(counts)) if picked else ""


def join_key(a: str, b: str) -> str:
    """What a query holding two words in a row contains where they meet, hashed into the join's
    bucket. Chinese pairs keep only the two characters that meet (模型|的 → 型的): the word terms
    already say which words are there, the join says they touch, and a query finds it without
    knowing where its words end."""
    return a[-1] + b[0] if is_cjk(a) else f"{a} {b}"


def join_rule(words: dict[str, int], documents: int, share: float) -> Callable[[str, str], bool]:
    """Whether two words in a row have their join indexed, from the document counts of the words
    common enough to join (`words`): build_index indexes joins by it (over arrays: `join_least`),
    and a query looks up only joins it could have, since a bucket holds other joins too and would
    rank chunks on them."""
    least = join_least(documents, share)

    def can_join(a: str, b: str) -> bool:
        count_a, count_b = words.get(a), words.get(b)
        return count_a is not None and count_b is not None and count_a * count_b >= least

    return can_join


def join_least(documents: int, share: float) -> float:
    """The least product of two joinable words' document counts that has their join indexed."""
    return share * documents * documents


def join_hash(key: str) -> int:
    """FNV-1a over UTF-16 code units (as the worker's `joinBucket`): a join's bucket is this
    modulo the index's bucket count."""
    value = 2166136261
    for unit in memoryview(key.encode("utf-16-le")).cast("H"):
        value = ((value ^ unit) * 16777619) & 0xFFFFFFFF
    return value


def bucket_term(number: int) -> str:
    """A join bucket's name among the terms: no word holds "|"."""
    return f"|{number}"


def is_bucket(term: str) -> bool:
    """Whether a term names a join bucket (the worker's `isJoin`)."""
    return term.startswith("|")


KEY_BYTES = 12


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()[:KEY_BYTES]


class TermCache:
    """Each text's analysis by content hash, kept across builds (and in memory while serving).

    The file is `lock.seal`ed marshal data: marshal trusts its input (five bytes can make it
    allocate gigabytes, a changed byte changes a term), so the checksum is verified first, and the
    entries' shapes after. A cache that fails either, or cannot be read or written, is noted through
    `note` and the texts are segmented again: a slower build, never a different or a failed one."""

    def __init__(self, path: Path | None, note: Callable[[str], None] = lambda _: None):
        self.path = path
        self.note = note
        self.entries: dict[bytes, Analysis] = {}
        self.used: set[bytes] = set()
        if path is None:
            return
        try:
            data = read_file(path, MAX_CACHE)  # none from a pipe or a device ($CITEKB_CACHE names any path)
        except FileNotFoundError:
            return
        except OSError as error:
            note(f"{path}: cannot be read ({error.strerror}); segmenting every text again")
            return
        if data is None:  # nor written: a build would replace the pipe or device with its file
            note(f"{path}: not a regular file; neither read nor written, segmenting every text again")
            self.path = None
            return
        if len(data) > MAX_CACHE:
            note(f"{path}: larger than {MAX_CACHE >> 20} MiB; not read, segmenting every text again")
            return
        try:
            self.entries = _entries(marshal.loads(unseal(CACHE_KIND, CACHE_FORMAT, data)))
        except (Damaged, EOFError, ValueError, TypeError) as error:
            note(f"{path}: damaged ({error or 'unreadable'}); discarded, segmenting every text again")

    def analyses(self, texts: list[str], progress: Callable[[str], None] | None = None) -> list[Analysis]:
        return self.analyses_picking(texts, [], progress)[0]

    def analyses_picking(
        self, texts: list[str], picked: Sequence[frozenset[str]], progress: Callable[[str], None] | None = None
    ) -> tuple[list[Analysis], list[str | None]]:
        """`analyses`, and of each text segmented now, the words of its `picked` (parallel to
        `texts`; none picked where empty) among its terms (`analyze_picking`; None for a text found
        in the cache: its terms are to be read whole). A text at several places is segmented once,
        picking the words of each (rarely: a page in two corpora), each place then given its own."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        wanted: dict[bytes, frozenset[str]] = {}  # what each text segmented now picks
        for at, key in enumerate(keys):
            if key not in self.entries:
                missing[key] = texts[at]
                words = picked[at] if picked else _NOTHING
                known = wanted.setdefault(key, words)
                if known is not words:
                    wanted[key] = known | words
        picks: dict[bytes, str] = {}
        if missing:
            if progress:
                progress(f"segmenting {len(missing)} texts ({len(texts) - len(missing)} cached)")
            made = analyze_all_picking(list(missing.values()), [wanted[key] for key in missing])
            self.entries.update(zip(missing, (analysis for analysis, _ in made)))
            if picked:
                picks = dict(zip(missing, (pick for _, pick in made)))
        self.used.update(keys)
        return [self.entries[k] for k in keys], [
            _own_pick(picks[key], wanted[key], picked[at]) if key in picks else None for at, key in enumerate(keys)
        ]

    def save(self) -> None:
        """Keep only what this build used, so the cache never grows past the knowledge base."""
        if self.path:
            kept = {k: v for k, v in self.entries.items() if k in self.used}
            try:
                write_atomic(self.path, seal(CACHE_KIND, CACHE_FORMAT, marshal.dumps(kept)))
                for stopped in self.path.parent.glob(f".{glob.escape(self.path.name)}.*{TEMPORARY_SUFFIX}"):
                    stopped.unlink(missing_ok=True)  # as large as the cache: left by a build killed while saving
            except OSError as error:
                self.note(f"{error.filename}: cannot be written ({error.strerror}); the next build segments again")
            self.entries = kept
            self.used = set()


def _entries(loaded: object) -> dict[bytes, Analysis]:
    """The cache's entries when every one has the shape `analyze` gives (else ValueError), each
    pair's words among its own terms."""
    import numpy as np

    if not isinstance(loaded, dict):
        raise ValueError("not a table of analyses")
    for key, value in loaded.items():
        if not (
            isinstance(key, bytes)
            and len(key) == KEY_BYTES
            and type(value) is tuple
            and len(value) == 4
            and isinstance(value[0], str)
            and isinstance(value[1], bytes)
            and isinstance(value[2], int)
            and isinstance(value[3], bytes)
            and len(value[1]) == (value[0].count("\n") + 1 if value[0] else 0)
            and len(value[3]) % 8 == 0
        ):
            raise ValueError("an entry of the wrong shape")
    places = np.frombuffer(b"".join(value[3] for value in loaded.values()), dtype=PAIR_PLACES)
    terms = np.fromiter((len(value[1]) for value in loaded.values()), dtype=np.uint32, count=len(loaded))
    terms = np.repeat(terms, [len(value[3]) // 4 for value in loaded.values()])  # each place's bound
    if (places >= terms).any():
        raise ValueError("a word pair whose words are not among its terms")
    return loaded


ANALYZED_AT_ONCE = 100  # texts a worker of analyze_all analyzes per task
_NOTHING: frozenset[str] = frozenset()  # no words to pick


def _own_pick(pick: str, made_with: frozenset[str], words: frozenset[str]) -> str:
    """Of a text's `pick` of `made_with`, its `words` (all of them but where the text was picked
    for several places)."""
    if words is made_with or not pick:
        return pick
    return "\n".join(word for word in pick.split("\n") if word in words)


def analyze_all(texts: list[str]) -> list[Analysis]:
    """Analyze many texts, on every core when there are enough of them to pay for the processes."""
    return [analysis for analysis, _ in analyze_all_picking(texts, [])]


def analyze_all_picking(texts: list[str], picked: Sequence[frozenset[str]]) -> list[tuple[Analysis, str]]:
    """`analyze_picking` of many texts, each with its `picked` (parallel; none where empty), on every
    core when there are enough of them to pay for the processes. The forked workers inherit the
    texts and the words and are sent only where each task's begin: only the analyses are pickled."""
    picked = picked or [_NOTHING] * len(texts)
    workers = os.cpu_count() or 1
    if len(texts) < 2000 or workers < 2:
        return list(map(analyze_picking, texts, picked))
    import multiprocessing

    import rjieba

    rjieba.cut_for_search("预热")  # load the dictionary once, before forking
    with multiprocessing.get_context("fork").Pool(workers, _inherit, (texts, picked)) as pool:
        parts = pool.map(_analyze_from, range(0, len(texts), ANALYZED_AT_ONCE))
    return [found for part in parts for found in part]


_inherited: tuple[list[str], Sequence[frozenset[str]]] = ([], [])  # in a worker of analyze_all_picking


def _inherit(texts: list[str], picked: Sequence[frozenset[str]]) -> None:
    global _inherited
    _inherited = texts, picked


def _analyze_from(start: int) -> list[tuple[Analysis, str]]:
    texts, picked = _inherited
    end = start + ANALYZED_AT_ONCE
    return list(map(analyze_picking, texts[start:end], picked[start:end]))
