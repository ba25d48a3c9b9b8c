"""Stage 6: the prebuilt search index — one document per chunk, task-file part and report section.

Terms: Chinese runs are segmented with jieba's `cut_for_search` (through rjieba, the Rust port:
identical output, 15× faster), so a long word also yields its dictionary sub-words; other text is
lower-cased words with no stemming. Build and query both fold with NFKC. Each text's terms and
counts are cached by content hash across builds.

Format (BENCHMARKS.md has the measurements behind it): lunr's serialized index stores every
posting twice as JSON, about 2.5 KB gzip per chunk, so 40,000 chunks would need ~100 MB. Here a
posting is a Rice-coded document gap and a unary tf (`shards.rice_coded`: a bit less per
posting than varints under gzip), in binary shards keyed by a term's first character(s), their
terms front-coded: a query loads only the shards its own characters name. Where two adjacent
words are common enough that many chunks hold both (their shares of documents multiply to
`join_share`), their join is indexed too, so the chunk holding "模型的现状" or "the code" in a row
ranks first: the two characters that meet for Chinese (模型|的 → 型的), both words for English.
Joins have no names: each is hashed into one of a few thousand buckets (each in about
`join_density` of all documents), with no tf, so a join posting costs half a named one. A
bucket also holds other joins, but it only ranks documents that already hold the query's words.
Scores are lunr's BM25, computed at query time from tf and document length, so postings never
depend on corpus-wide numbers. In a large corpus, terms in more than `stop_share` of all
documents are stop words, as lunr leaves out "the" (so are common single characters, whose joins
carry them): they count only in a query that has nothing else (模型 alone), and keep only their
best `stop_keep` documents for it.

Queries cannot run jieba in the browser, so query segmentation is defined on the index itself:
every substring of a Chinese run that is an indexed term becomes a clause (single characters only
where no longer term covers them), and two characters (English words) in a row are looked up as a
join where two words of the query could meet there with their join indexed (the manifest lists
the words common enough to join, with their counts). Ranking: documents covering more of the
query's characters (and English words) with words first, then with joins, then BM25 (a typed
prefix counts as its best completion, not all). Then the first `checked` results are read from
their pages, as the worker does to show their snippets, and those that hold the query as typed
move first; while none does, the next is read, one at a time, up to `rechecked`: the index knows
which words a chunk has, its page knows their order. The tuning values are `SearchSettings`,
written into the manifest, so the worker and `Searcher` search as the index was built.
`query_terms`/`Searcher` here and `citekb-search.js` implement the same rules; a test proves they agree.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import marshal
import math
import os
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import commonmark
from .clean import cleaned
from .knowledge_base import KnowledgeBase
from .lock import write_atomic
from .models import Resolved
from .paths import chunk_anchor, part_anchor, report_path, source_path
from .render import part_label, unchanged
from .shards import Shard, rice_coded, shard_file

FORMAT = 7  # of the index files, checked by the worker and Searcher (7: the manifest's `settings`)
CACHE_FORMAT = 6  # of the term cache's entries (Analysis)
MAX_TF = 255
SITE_FOLDER = "search/citekb"  # where the index lives in the built site

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9\u00c0-\u024f]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_HYPHENATED = re.compile(r"(?<![a-z0-9])([a-z]+)-([0-9][a-z0-9]*)(?![a-z0-9])")


@dataclass(frozen=True)
class SearchSettings:
    """Every tuning value of search, written into the index's manifest (`settings`): the browser
    worker and `Searcher` read the query-side ones from there, so they search as the index was
    built. Chosen on the search benchmark (`python -m build_tools.bench_search KB --engine python
    --set name=value` tries one; BENCHMARKS.md has the runs)."""

    k1: float = 1.2
    """How soon repeats of a term stop raising a document's score (BM25's tf saturation). 0..3 in
    practice: at 0 a term counts once however often it occurs; the larger, the closer each
    occurrence counts in full. Default 1.2 (lunr's)."""

    b: float = 0.75
    """How much a document's length lowers its score (BM25's length normalisation). 0..1: 0
    ignores length; 1 weighs a term's count fully against the document's length relative to the
    average. Default 0.75 (lunr's)."""

    max_term: int = 8
    """Longest Chinese substring of a query looked up as a term, and longest word on either side of
    a join the query looks for. 2..: at 2, longer words are found only through their two-character
    sub-words and joins; higher values try more substrings per query character. Default 8."""

    coverage_bits: int = 30
    """Query positions (Chinese characters, English words) that coverage ranking tells apart:
    positions from this one on share one bit. 0..30: at 0 coverage only says that a document holds
    something of the query, so BM25 alone ranks; 30 is the most the worker's 32-bit signed masks
    hold. Default 30."""

    checked: int = 10
    """Results read from their pages for every query (the worker shows them with a snippet cut from
    there): those holding the query as typed move first. 0..: at 0 none is read at once (then
    `rechecked` alone reads); each more is a page fetch per query. Default 10, a screen of results."""

    rechecked: int = 50
    """While none of the results read holds the query as typed, the next are read one at a time,
    up to this rank. `checked`..: at `checked` none is read past those; each more can cost a page
    fetch for a query whose phrase the ranking missed. Default 50 (10 and 30 lose recall)."""

    join_share: float = 0.003
    """Two adjacent words have their join indexed when their shares of documents multiply to at
    least this (each being in `join_min_share`); the query rule reads it too. 0..1: 0 joins every
    pair of words common enough; larger values join fewer pairs (a smaller index, a phrase of
    common words found less often by ranking alone). Default 0.003."""

    join_min_share: float = 0.01
    """Each word of a join is in at least this share of documents (and in two). 0..1: 0 lets rare
    words join too (a larger index); larger values join fewer words, above 1 none. Default 0.01."""

    join_density: float = 0.02
    """Joins share buckets, each in about this share of documents (buckets: join postings over
    this share of the documents). 0..1: small values make more, sparser buckets (fewer documents
    ranked up by another join in their bucket, a larger index); at 1 every bucket is in about every
    document, so joins rank nothing. Default 0.02."""

    stop_share: float = 0.2
    """Terms in more than this share of documents (and in more than `stop_min_documents`) are stop
    words: they count only in a query made of nothing else, and keep only `stop_keep` postings.
    0..1: small values make more stop words (a smaller index, queries ranked by fewer words); 1
    makes none. Default 0.2."""

    stop_min_documents: int = 2000
    """A stop word is in more than this many documents, and single characters are stop words
    (`stop_single_share`) only in a corpus this large: a small corpus keeps every term whole. 0..:
    0 applies the shares at any size; large values keep every term. Default 2000."""

    stop_single_share: float = 0.03
    """Single Chinese characters in at least this share of documents are stop words too (their
    joins say where they matter). 0..1: 0 makes every single character one; at `stop_share` or
    more it adds none. Default 0.03."""

    stop_keep: int = 200
    """Postings a stop word keeps, its best by BM25, for a query made of stop words alone. 0..: 0
    keeps none (such a query finds nothing); each more costs index size. Default 200."""

    postings_per_shard: int = 150_000
    """About how many postings a shard file holds. 1..: small values make a query fetch less
    (more, smaller files); large ones mean fewer fetches while a session warms up, and better gzip.
    Default 150,000."""

    rice_batch: int = 1 << 20
    """Postings Rice-coded at a time (`shards.rice_coded`): bounds the coder's memory; the files
    do not depend on it (each term's postings are byte-aligned, so batches join). 1..; default 2**20."""


SETTINGS = SearchSettings()


@dataclass(frozen=True)
class SearchDoc:
    page: str  # site path of the page, e.g. sources/<slug>/
    page_title: str
    anchor: str  # e.g. chunk-3
    label: str  # e.g. chunk 3
    text: str

    @property
    def location(self) -> str:
        return f"{self.page}#{self.anchor}"

    @property
    def title(self) -> str:
        return f"{self.page_title} · {self.label}"


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """Index tokens of a text: jieba words for Chinese runs, lower-cased words otherwise; a name
    written with a hyphen before its number (`GPT-4`, `Llama-3`) also as one word, so the way
    people type it (`gpt4`) finds it."""
    import rjieba

    folded = fold(text)
    tokens: list[str] = []
    for run in _RUNS.findall(folded):
        if _IS_CJK.match(run):
            tokens.extend(rjieba.cut_for_search(run))
        else:
            tokens.append(run)
    tokens.extend(match.group(1) + match.group(2) for match in _HYPHENATED.finditer(folded))
    return tokens


# A text's distinct terms joined by "\n", their counts, its token count, and its distinct adjacent
# word pairs ("a\x01b", joined by "\n"): compact enough to cache 40,000 of them.
Analysis = tuple[str, bytes, int, str]
PAIR = "\x01"


def analyze(text: str) -> Analysis:
    """Terms as `tokenize` gives them, and adjacent word pairs: jieba's words (`cut`) within a
    Chinese run, consecutive English words."""
    import rjieba

    counts = Counter(tokenize(text))  # the one definition of index terms (tested against jieba)
    pairs: dict[str, None] = {}  # in order of appearance
    english = None
    for run in _RUNS.findall(fold(text)):
        if _IS_CJK.match(run):
            words = rjieba.cut(run)
            pairs.update(dict.fromkeys(a + PAIR + b for a, b in zip(words, words[1:])))
            english = None
        else:
            if english:
                pairs[english + PAIR + run] = None
            english = run
    return ("\n".join(counts), bytes(min(n, MAX_TF) for n in counts.values()), sum(counts.values()), "\n".join(pairs))


def join_key(a: str, b: str) -> str:
    """What a query holding two words in a row contains where they meet, hashed into the join's
    bucket. Chinese pairs keep only the two characters that meet (模型|的 → 型的): the word terms
    already say which words are there, the join says they touch, and a query finds it without
    knowing where its words end."""
    return a[-1] + b[0] if _IS_CJK.match(a) else f"{a} {b}"


def join_rule(words: dict[str, int], documents: int, share: float) -> Callable[[str, str], bool]:
    """Whether two words in a row have their join indexed, from the document counts of the words
    common enough to join (`words`): build_index indexes joins by it, and a query looks up only
    joins it could have, since a bucket holds other joins too and would rank chunks on them."""

    def can_join(a: str, b: str) -> bool:
        count_a, count_b = words.get(a), words.get(b)
        return count_a is not None and count_b is not None and count_a * count_b >= share * documents * documents

    return can_join


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


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()[:12]


class TermCache:
    """Each text's analysis by content hash, kept across builds (and in memory while serving)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[bytes, Analysis] = {}
        self.used: set[bytes] = set()
        if path and path.exists():
            try:
                loaded = marshal.loads(path.read_bytes())
                if isinstance(loaded, dict) and loaded.get("format") == CACHE_FORMAT:
                    self.entries = loaded["entries"]
            except (EOFError, ValueError, TypeError, KeyError):
                pass  # a damaged cache is only a slower build

    def analyses(self, texts: list[str], progress: Callable[[str], None] | None = None) -> list[Analysis]:
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self.entries}
        if missing:
            if progress:
                progress(f"segmenting {len(missing)} texts ({len(texts) - len(missing)} cached)")
            self.entries.update(zip(missing, analyze_all(list(missing.values()))))
        self.used.update(keys)
        return [self.entries[k] for k in keys]

    def save(self) -> None:
        """Keep only what this build used, so the cache never grows past the knowledge base."""
        if self.path:
            kept = {k: v for k, v in self.entries.items() if k in self.used}
            write_atomic(self.path, marshal.dumps({"format": CACHE_FORMAT, "entries": kept}))
            self.entries = kept
            self.used = set()


def analyze_all(texts: list[str]) -> list[Analysis]:
    """Analyze many texts, on every core when there are enough of them to pay for the processes."""
    workers = os.cpu_count() or 1
    if len(texts) < 2000 or workers < 2:
        return [analyze(t) for t in texts]
    import multiprocessing

    import rjieba

    rjieba.cut_for_search("预热")  # load the dictionary once, before forking
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(analyze, texts, chunksize=100)


# ---------------------------------------------------------------- documents


def report_sections(text: str, items: list[Resolved], section: str, label: str) -> list[tuple[str, str, str]]:
    """(anchor, label, text) for each part of a report between its headings, anchored as the page
    renders them; citation brackets left out (their words would match every report)."""
    spans = commonmark.disjoint((i.citation.start, i.citation.end) for i in items)
    kept = commonmark.replace_spans(text, spans, lambda _, start, end: " " + "\n" * text.count("\n", start, end))
    lines = kept.splitlines(keepends=True)  # line numbers stay those of `text`
    found = commonmark.headings(text, spans, section)
    starts = [0] + [h.line for h in found] + [len(lines)]
    names = [(section, label)] + [(h.anchor, f"{label} · {h.title}") for h in found]
    return [
        (anchor, name, "".join(lines[starts[i] : starts[i + 1]]))
        for i, (anchor, name) in enumerate(names)
        if "".join(lines[starts[i] : starts[i + 1]]).strip()
    ]


def chunk_docs(kb: KnowledgeBase, whole: bool = False) -> list[SearchDoc]:
    """One document per chunk, in a stable order, hidden boilerplate left out. The index leaves out
    the overlap a chunk shares with the next one too (a phrase there is found in the next chunk,
    which holds it as well): 13% fewer postings. `whole` keeps it, as a reader sees the chunk."""
    docs: list[SearchDoc] = []
    for slug in sorted(kb.chunks):
        source = kb.loaded.sources[slug]
        chunks = kb.chunks[slug]
        for number, chunk in enumerate(chunks):
            end = chunks[number + 1].start if number + 1 < len(chunks) and not whole else chunk.end
            kept = cleaned(source.text, chunk.start, end, kb.removals[slug]).strip()
            docs.append(
                SearchDoc(source_path(slug), source.title, chunk_anchor(chunk.index), f"chunk {chunk.index}", kept)
            )
    return docs


def search_docs(kb: KnowledgeBase) -> list[SearchDoc]:
    """One document per chunk (`chunk_docs`), per page, slide, sheet or text of a task file, and per
    report section (the query, and each part of the final and original reports between headings),
    in a stable order."""
    docs = chunk_docs(kb)
    for file in sorted(kb.loaded.files.values(), key=lambda f: f.slug):
        for part in file.parts:
            if part.text.strip():
                docs.append(
                    SearchDoc(source_path(file.slug), file.name, part_anchor(part), part_label(part), part.text)
                )
    for slug in sorted(kb.cited):
        cited = kb.cited[slug]
        report = cited.report
        sections = [("query", "查询", report.query)] if report.query.strip() else []
        sections += report_sections(report.final, cited.final, "final", "最终报告")
        if not unchanged(report):  # an unchanged original is not on the page, so not in search either
            sections += report_sections(report.original or "", cited.original, "original", "原始报告")
        for anchor, label, text in sections:
            docs.append(SearchDoc(report_path(slug), report.title, anchor, label, text))
    return docs


# ---------------------------------------------------------------- the index


def shard_key(term: str) -> int:
    """Chinese terms by their first character, others by their first two (so a typed prefix of
    three or more letters finds all its completions in one shard), join buckets by number.
    Mirrored in citekb-search.js."""
    if is_bucket(term):
        return int(term[1:])
    if _IS_CJK.match(term) or len(term) == 1:
        return ord(term[0])
    return ord(term[0]) * 65536 + ord(term[1])


def shard_of(term: str, shards: int) -> int:
    return shard_key(term) % shards


@dataclass
class BuiltIndex:
    files: dict[str, bytes]  # path under the site's search folder → content
    documents: int
    terms: int
    postings: int
    stop_words: int


def bm25(tf, df, length, documents: int, average: float, settings: SearchSettings, log=math.log):
    """lunr's BM25 term weight (lunr.idf, then tf saturation with length normalisation), for
    numbers or numpy arrays (with log=np.log); citekb-search.js `weight` is its mirror."""
    k1, b = settings.k1, settings.b
    idf = log(1 + abs((documents - df + 0.5) / (df + 0.5)))
    return idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * length / average) + tf)


def _without_stop_tails(term_of, doc_of, tf_of, df, stop, lengths, settings: SearchSettings):
    """Which postings to keep: all of ordinary terms, a stop word's `stop_keep` best by BM25 (they
    answer a query made of stop words only)."""
    import numpy as np

    kept = ~stop[term_of]
    at = np.flatnonzero(~kept)
    if not len(at):
        return kept
    term = term_of[at]
    weight = bm25(
        tf_of[at].astype(np.float64), df[term], lengths[doc_of[at]], len(lengths), lengths.mean(), settings, np.log
    )
    best = np.lexsort((-weight, term))  # by term, each term's best first (ties: document order)
    first = np.flatnonzero(np.r_[True, term[best][1:] != term[best][:-1]])
    place = np.arange(len(best)) - np.repeat(first, np.diff(np.r_[first, len(best)]))
    kept[at[best[place < settings.stop_keep]]] = True
    return kept


def build_index(
    docs: list[SearchDoc],
    cache: TermCache,
    settings: SearchSettings = SETTINGS,
    progress: Callable[[str], None] | None = None,
) -> BuiltIndex:
    """Binary postings shards, the document table and the manifest (see the module doc)."""
    import numpy as np

    n = len(docs)
    analyses = cache.analyses([d.text for d in docs], progress)
    df: Counter = Counter()
    for terms, *_ in analyses:
        df.update(terms.split("\n") if terms else ())
    joinable = dict(sorted((term, count) for term, count in df.items() if count >= max(settings.join_min_share * n, 2)))
    can_join = join_rule(joinable, n, settings.join_share)
    del df
    joins = []  # per document, the hashes of its joins
    hashes: dict[str, int] = {}  # each join key hashed once: keys recur across documents
    for *_, pair_text in analyses:
        found_joins = set()
        for pair in pair_text.split("\n") if pair_text else ():
            a, b = pair.split(PAIR)
            if can_join(a, b):
                key = join_key(a, b)
                if key not in hashes:
                    hashes[key] = join_hash(key)
                found_joins.add(hashes[key])
        joins.append(array("I", found_joins))
    del hashes
    buckets = max(1, math.ceil(sum(map(len, joins)) / (settings.join_density * n))) if n else 1
    vocabulary: dict[str, int] = {}
    term_ids = array("I")
    counts = array("I")
    frequencies = bytearray()
    lengths = []
    for (terms, tfs, length, _), hashes in zip(analyses, joins):
        found = dict(zip(terms.split("\n"), tfs)) if terms else {}
        found.update((bucket_term(h % buckets), 1) for h in hashes)  # tf not counted
        term_ids.extend(vocabulary.setdefault(t, len(vocabulary)) for t in found)
        counts.append(len(found))
        frequencies += bytes(found.values())
        lengths.append(length)
    del analyses, joins
    terms_list = list(vocabulary)
    del vocabulary
    term_of = np.frombuffer(term_ids, dtype=np.uint32)
    df = np.bincount(term_of, minlength=len(terms_list))
    bucket = np.array([is_bucket(term) for term in terms_list], dtype=bool)
    stop = (df > max(settings.stop_share * n, settings.stop_min_documents)) & ~bucket
    if n >= settings.stop_min_documents:
        single = np.array([len(term) == 1 and bool(_IS_CJK.match(term)) for term in terms_list], dtype=bool)
        stop |= single & (df >= settings.stop_single_share * n)
    doc_of = np.repeat(np.arange(n, dtype=np.uint32), np.frombuffer(counts, dtype=np.uint32))
    tf_of = np.frombuffer(bytes(frequencies), dtype=np.uint8)
    del frequencies
    kept = _without_stop_tails(term_of, doc_of, tf_of, df, stop, np.array(lengths, dtype=np.float64), settings)
    term_of, doc_of, tf_of = term_of[kept], doc_of[kept], tf_of[kept]
    del kept, term_ids
    postings = len(term_of)
    shards = max(1, math.ceil(postings / settings.postings_per_shard))
    # Rank terms by (shard, term): each shard's terms are then one sorted, contiguous run.
    shard_numbers = [shard_of(term, shards) for term in terms_list]
    order = sorted(range(len(terms_list)), key=lambda i: (shard_numbers[i], terms_list[i]))
    in_order = np.array(order, dtype=np.int64)
    rank = np.empty(len(terms_list), dtype=np.uint32)
    rank[in_order] = np.arange(len(order), dtype=np.uint32)
    key = rank[term_of]
    del term_of
    by_term = np.argsort(key, kind="stable")  # stable: documents stay in order
    term_rank, doc_sorted, tf_sorted = key[by_term], doc_of[by_term], tf_of[by_term]
    del key, by_term, doc_of, tf_of
    first = np.ones(postings, dtype=bool)
    first[1:] = term_rank[1:] != term_rank[:-1]
    counted = ~bucket[in_order][term_rank]  # join buckets' tf is not counted
    del term_rank
    gap = doc_sorted.copy()  # doc - previous doc - 1 within a term, the doc itself at a term's start
    gap[1:] -= doc_sorted[:-1] + 1
    gap[first] = doc_sorted[first]
    del doc_sorted
    encoded, term_start = rice_coded(gap, tf_sorted, first, counted, settings.rice_batch)
    term_end = np.append(term_start[1:], len(encoded))
    del gap, tf_sorted, first, counted

    files: dict[str, bytes] = {}
    boundaries = np.searchsorted(np.array(shard_numbers, dtype=np.int64)[in_order], np.arange(shards + 1), side="left")
    raw = encoded.tobytes()
    del encoded
    for s in range(shards):
        lo, hi = int(boundaries[s]), int(boundaries[s + 1])
        body = raw[int(term_start[lo]) : int(term_end[hi - 1])] if hi > lo else b""
        files[f"shard-{s}.bin"] = shard_file(
            [terms_list[i] for i in order[lo:hi]], term_end[lo:hi] - term_start[lo:hi], body
        )
    files.update(_tables(docs, lengths))
    files["manifest.json"] = _json(
        {
            "format": FORMAT,
            "settings": asdict(settings),
            "shards": shards,
            "documents": n,
            "average_length": (sum(lengths) / n) if n else 1.0,
            "join_buckets": buckets,
            "join_words": joinable,
            "stop_words": {terms_list[i]: int(df[i]) for i in np.flatnonzero(stop)},
        }
    )
    if progress:
        progress(
            f"search index: {n} documents, {len(order)} terms ({int(stop.sum())} stop words kept in part), "
            f"{postings} postings, {shards} shards, {len(raw) / 1e6:.1f} MB postings"
        )
    return BuiltIndex(files, n, len(order), postings, int(stop.sum()))


def _tables(docs: list[SearchDoc], lengths: list[int]) -> dict[str, bytes]:
    """docs.json: each page once, with its documents' anchors and lengths in document order; a
    chunk's anchor as its number, a report section's by name (its label under "labels"). Result
    snippets are not stored: the browser cuts them from the result's own page, around the match."""
    pages: list[list] = []
    labels: dict[str, str] = {}
    for doc, length in zip(docs, lengths):
        if not pages or pages[-1][0] != doc.page:
            pages.append([doc.page, doc.page_title, [], []])
        number = doc.anchor.removeprefix("chunk-")
        if number.isdigit() and doc.label == f"chunk {number}" and doc.anchor == f"chunk-{int(number)}":
            entry: int | str | list = int(number)
        elif labels.setdefault(doc.anchor, doc.label) == doc.label:
            entry = doc.anchor
        else:
            entry = [doc.anchor, doc.label]
        pages[-1][2].append(entry)
        pages[-1][3].append(length)
    return {"docs.json": _json({"pages": pages, "labels": labels})}


def read_tables(tables: dict) -> tuple[list[list], list[list]]:
    """docs.json as [path, title] per page and [page, anchor, label, length] per document (the
    worker's `readTables` mirrors it)."""
    pages, docs = [], []
    for number, (path, title, anchors, lengths) in enumerate(tables["pages"]):
        pages.append([path, title])
        for entry, length in zip(anchors, lengths):
            if isinstance(entry, int):
                anchor, label = f"chunk-{entry}", f"chunk {entry}"
            elif isinstance(entry, str):
                anchor, label = entry, tables["labels"][entry]
            else:
                anchor, label = entry
            docs.append([number, anchor, label, length])
    return pages, docs


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_index(built: BuiltIndex, folder: Path) -> None:
    """Replace the folder's index files (a smaller index must not leave stale shards behind)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in {p.name for p in folder.iterdir()} - set(built.files):
        (folder / stale).unlink()
    for name, data in built.files.items():
        (folder / name).write_bytes(data)


def index_files(site: Path) -> list[Path]:
    return sorted(p for p in (site / SITE_FOLDER).glob("*") if p.is_file())


def byte_sizes(paths: Iterable[Path]) -> tuple[int, int]:
    """(raw, gzip) bytes of files, as the benchmarks report index sizes."""
    data = [path.read_bytes() for path in paths]
    return sum(map(len, data)), sum(len(gzip.compress(d, mtime=0)) for d in data)


# ---------------------------------------------------------------- queries (mirrored in citekb-search.js)


@dataclass(frozen=True)
class Clause:
    term: str
    prefix: bool  # also match longer terms (the last English word may still be being typed)
    positions: int  # bit mask of the query characters / words this clause covers
    joined: bool = False  # a join bucket: ranks after the words' coverage


def _bits(start: int, end: int, settings: SearchSettings) -> int:
    """The coverage mask of query positions start..end-1."""
    mask = 0
    for position in range(start, end):
        mask |= 1 << min(position, settings.coverage_bits)
    return mask


def join_places(
    runs: list[str], can_join: Callable[[str, str], bool], settings: SearchSettings
) -> list[tuple[str, int]]:
    """Where a query's joins are looked up, as (join key, first position): English words in a row,
    and two characters in a row where two words of the run that join could meet."""
    found: list[tuple[str, int]] = []
    position = 0
    for number, run in enumerate(runs):
        if not _IS_CJK.match(run):
            if number and not _IS_CJK.match(runs[number - 1]) and can_join(runs[number - 1], run):
                found.append((join_key(runs[number - 1], run), position - 1))
            position += 1
            continue
        for i in range(len(run) - 1):
            ending = [run[start : i + 1] for start in range(max(0, i + 1 - settings.max_term), i + 1)]
            starting = [run[i + 1 : end] for end in range(i + 2, min(len(run), i + 1 + settings.max_term) + 1)]
            if any(can_join(a, b) for a in ending for b in starting):
                found.append((run[i : i + 2], position + i))
        position += len(run)
    return found


def query_terms(
    query: str,
    has_term: Callable[[str], bool],
    can_join: Callable[[str, str], bool],
    buckets: int = 1,
    settings: SearchSettings = SETTINGS,
) -> list[Clause]:
    """The clauses of a query: see the module docstring for the rule."""
    clauses: list[Clause] = []
    runs = _RUNS.findall(fold(query))
    position = 0
    for number, run in enumerate(runs):
        if not _IS_CJK.match(run):
            clauses.append(
                Clause(run, number == len(runs) - 1 and len(run) >= 3, _bits(position, position + 1, settings))
            )
            position += 1
            continue
        covered = [False] * len(run)
        for start in range(len(run)):
            for end in range(start + 2, min(len(run), start + settings.max_term) + 1):
                if has_term(run[start:end]):
                    clauses.append(Clause(run[start:end], False, _bits(position + start, position + end, settings)))
                    covered[start:end] = [True] * (end - start)
        clauses += [
            Clause(c, False, _bits(position + i, position + i + 1, settings))
            for i, c in enumerate(run)
            if not covered[i] and has_term(c)
        ]
        position += len(run)
    for key, start in join_places(runs, can_join, settings):
        term = bucket_term(join_hash(key) % buckets)
        if has_term(term):
            clauses.append(Clause(term, False, _bits(start, start + 2, settings), True))
    merged: dict[tuple[str, bool], Clause] = {}
    for clause in clauses:
        had = merged.get((clause.term, clause.prefix))
        merged[clause.term, clause.prefix] = (
            replace(clause, positions=clause.positions | had.positions) if had else clause
        )
    return list(merged.values())


def phrase_key(text: str) -> str:
    """A text's words and Chinese runs, folded, one space apart: the query as typed is in a text
    when its key is in the text's key (a last word may still be being typed)."""
    return " ".join(_RUNS.findall(fold(text)))


_BOILERPLATE = re.compile(r'<details[^>]*class="citekb-boilerplate"[\s\S]*?</details>')
# A citation's label and preview: words of the cited source, not of the page (no nested span in either).
_CITATION = re.compile(r'<span class="citekb-(?:preview|cite-label)"[\s\S]*?</span>')
_TAGS = re.compile(r"<[^>]+>")
_ENTITY = re.compile(r"&(#x[0-9a-f]+|#\d+|\w+);", re.IGNORECASE)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}
_CHUNK_TEXT = re.compile(r'<div class="citekb-text">([\s\S]*?)</div>')
_HEADING = re.compile(r"<h[1-6][\s>]")  # a section ends at the next heading (report headings are sections)


def _entity(match: re.Match) -> str:
    name = match.group(1)
    if not name.startswith("#"):
        return _ENTITIES.get(name, match.group(0))
    return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))


def plain(html: str) -> str:
    """Page HTML as the reader sees it, hidden boilerplate and citation markup left out (the worker's `plain`)."""
    text = _TAGS.sub("", _CITATION.sub(" ", _BOILERPLATE.sub(" ", html)))
    return " ".join(_ENTITY.sub(_entity, text).split())


def section_text(html: str, anchor: str) -> str:
    """The text of one chunk or report section of a built page (the worker's `sectionText`)."""
    at = html.find(f'id="{anchor}"')
    if at < 0:
        return ""
    if anchor.startswith("chunk-"):
        found = _CHUNK_TEXT.search(html, at)
        return plain(found.group(1)) if found else ""
    rest = html[html.find(">", at) + 1 :]
    end = _HEADING.search(rest)
    return plain(rest[: end.start()] if end else rest)


class Searcher:
    """`kb search`: the browser worker's algorithm over the same files, with the settings the
    index was built with. The first `checked` results are read from their pages (the worker shows
    them with a snippet cut from there), and the next one at a time up to `rechecked` while none
    holds the query as typed; `texts` stands in for the pages where there is no built site
    (location → the section's text)."""

    def __init__(self, folder: Path, texts: Callable[[str], str] | None = None):
        self.folder = folder
        self.texts = texts or self.page_text
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if self.manifest.get("format") != FORMAT:
            raise ValueError(
                f"{folder}: search index format {self.manifest.get('format')}, expected {FORMAT}; rebuild the site"
            )
        self.pages, self.docs = read_tables(json.loads((folder / "docs.json").read_text(encoding="utf-8")))
        self.settings = SearchSettings(**self.manifest["settings"])
        self.can_join = join_rule(self.manifest["join_words"], self.manifest["documents"], self.settings.join_share)
        self._shards: dict[int, Shard] = {}
        self._pages: dict[Path, str] = {}

    def shard(self, term: str) -> Shard:
        number = shard_of(term, self.manifest["shards"])
        if number not in self._shards:
            self._shards[number] = Shard((self.folder / f"shard-{number}.bin").read_bytes())
        return self._shards[number]

    def clauses(self, query: str) -> list[Clause]:
        """The query's clauses; stop words only where the query has nothing else."""
        stop, buckets = self.manifest["stop_words"], self.manifest["join_buckets"]
        ordinary = [
            clause
            for clause in query_terms(
                query, lambda t: t not in stop and t in self.shard(t).offsets, self.can_join, buckets, self.settings
            )
            if clause.term not in stop
        ]  # English words become clauses unlooked-up
        return ordinary or query_terms(
            query, lambda t: t in self.shard(t).offsets, self.can_join, buckets, self.settings
        )

    def weight(self, tf: int, df: int, length: int) -> float:
        m = self.manifest
        return bm25(tf, df, length, m["documents"], m["average_length"], self.settings)

    def search(self, query: str, limit: int = 10) -> list[dict]:
        stop = self.manifest["stop_words"]
        scores: dict[int, float] = {}
        covered: dict[int, int] = {}  # query positions a document holds words of ...
        joined: dict[int, int] = {}  # ... and where its joins meet the query's
        for clause in self.clauses(query):
            shard = self.shard(clause.term)
            best: dict[int, float] = {}  # a prefix counts as its best completion in each document
            for term in shard.with_prefix(clause.term) if clause.prefix else [clause.term]:
                if term in stop and term != clause.term:
                    continue  # a stop word's postings are cut short: no completion of an ordinary word
                postings = shard.postings(term, not clause.joined) if term in shard.offsets else []
                df = stop.get(term, len(postings))
                for document, tf in postings:
                    best[document] = max(best.get(document, 0.0), self.weight(tf, df, self.docs[document][3]))
            held = joined if clause.joined else covered
            for document, weight in best.items():
                scores[document] = scores.get(document, 0.0) + weight
                held[document] = held.get(document, 0) | clause.positions
        ranked = sorted(
            scores,
            key=lambda d: (
                -bin(covered.get(d, 0)).count("1"),
                -bin(joined.get(d, 0)).count("1"),
                -round(scores[d], 6),
                d,
            ),
        )
        key = phrase_key(query)

        def typed_among(documents: list[int]) -> list[int]:
            return [d for d in documents if key and key in phrase_key(self.texts(self.location(d)))]

        typed = typed_among(ranked[: self.settings.checked])
        for document in ranked[self.settings.checked : self.settings.rechecked]:  # then the next while none holds it
            if typed:
                break
            typed = typed_among([document])
        moved = set(typed)
        ranked = typed + [d for d in ranked[: limit + len(typed)] if d not in moved]
        return [self.result(d, scores[d], bin(covered.get(d, 0)).count("1")) for d in ranked[:limit]]

    def location(self, document: int) -> str:
        page, anchor, _, _ = self.docs[document]
        return f"{self.pages[page][0]}#{anchor}"

    def page_text(self, location: str) -> str:
        """A section's text from the built site this index belongs to (site/search/citekb/)."""
        path, anchor = location.split("#")
        page = self.folder.parent.parent / path / "index.html"
        if page not in self._pages:
            self._pages[page] = page.read_text(encoding="utf-8") if page.exists() else ""
        return section_text(self._pages[page], anchor)

    def result(self, document: int, score: float, matched: int) -> dict:
        page, _, label, _ = self.docs[document]
        return {
            "location": self.location(document),
            "title": f"{self.pages[page][1]} · {label}",
            "score": round(score, 6),
            "matched": matched,
        }
