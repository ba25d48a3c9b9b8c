"""The prebuilt search index: its settings, how it is built from search documents, its files.

Format (BENCHMARKS.md has the measurements behind it): lunr's serialized index stores every
posting twice as JSON, about 2.5 KB gzip per chunk, so 40,000 chunks would need ~100 MB. Here a
posting is a Rice-coded document gap and a unary tf (`shards.rice_coded`: a bit less per
posting than varints under gzip), in binary shards keyed by a term's first character(s), their
terms front-coded: a query loads only the shards its own characters name. Terms are those of
`analysis`. Where two adjacent words are common enough that many chunks hold both (their shares
of documents multiply to `join_share`), their join is indexed too, so the chunk holding "模型的现状"
or "the code" in a row ranks first. Joins have no names: each is hashed into one of a few
thousand buckets (each in about `join_density` of all documents), with no tf, so a join posting
costs half a named one. A bucket also holds other joins, but it only ranks documents that already
hold the query's words. Scores are lunr's BM25, computed at query time from tf and document
length, so postings never depend on corpus-wide numbers. In a large corpus, terms in more than
`stop_share` of all documents are stop words, as lunr leaves out "the" (so are common single
characters, whose joins carry them): they count only in a query that has nothing else (模型
alone), and keep only their best `stop_keep` documents for it.

Files (under SITE_FOLDER): `shard-N.bin` (`shards.py`), `docs.json` (`_tables`) and
`manifest.json`: the format, the corpus-wide numbers a query needs (documents, average length,
shards, join buckets, the words common enough to join, the stop words with their true counts, the
Traditional characters folded as Simplified) and the `SearchSettings` the index was built with,
which `search.Searcher` and the browser worker search by.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from array import array
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .analysis import (
    PAIR_PLACES,
    Analysis,
    TermCache,
    bucket_term,
    is_bucket,
    is_cjk,
    join_hash,
    join_key,
    join_least,
)
from .lock import write_atomic
from .messages import CHUNK
from .shards import rice_coded, shard_file
from .simplified import pairs

if TYPE_CHECKING:
    import numpy as np

FORMAT = 9  # of the index files, checked by the worker and Searcher (8: docs.json's `chunk` label; 9: `simplified`)
SITE_FOLDER = "search/citekb"  # where the index lives in the built site


@dataclass(frozen=True)
class SearchSettings:
    """Every tuning value of search, written into the index's manifest (`settings`): the browser
    worker and `Searcher` read the query-side ones (k1, b, max_term, coverage_bits, checked,
    rechecked, join_share) from there, so they search as the index was built. Chosen on the search
    benchmark (`python -m benchmarks.search KB --engine python --set name=value` tries
    one; BENCHMARKS.md has the runs)."""

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
    """Each word of a join is in at least this share of documents (and in at least two). 0..1: 0
    lets rare words join too (a larger index); larger values join fewer words, above 1 none.
    Default 0.01."""

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
    joins say where they matter). 0..1: 0 makes every single character one, 1 only those in
    every document. Default 0.03."""

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
    label: str  # e.g. 块 3 (messages.CHUNK)
    text: str

    @property
    def location(self) -> str:
        return f"{self.page}#{self.anchor}"

    @property
    def title(self) -> str:
        return f"{self.page_title} · {self.label}"


def shard_key(term: str) -> int:
    """Chinese terms by their first character, others by their first two (so a typed prefix of
    three or more letters finds all its completions in one shard), join buckets by number.
    Mirrored in citekb-search.js."""
    if is_bucket(term):
        return int(term[1:])
    if is_cjk(term) or len(term) == 1:
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


JOIN_BATCH = 1 << 20  # word pairs judged at a time by `_joins`: bounds its arrays' memory


def _term_numbers(analyses: list[Analysis]) -> tuple[list[str], np.ndarray]:
    """Every document's terms in turn, as numbers (uint32), and the terms by number: numbered in
    order of first appearance, the order the manifest lists stop words in. One dictionary look-up
    a term, in C: each is filed under the place it first appears, then places become numbers."""
    import numpy as np

    first_at: dict[str, int] = {}
    seen = array("q")
    places = itertools.count()
    for terms, *_ in analyses:
        if terms:
            seen.extend(map(first_at.setdefault, terms.split("\n"), places))
    number = np.empty(len(seen), dtype=np.uint32)
    number[np.fromiter(first_at.values(), dtype=np.int64, count=len(first_at))] = np.arange(len(first_at))
    return list(first_at), number[np.frombuffer(seen, dtype=np.int64)]


def _joins(
    analyses: list[Analysis], words: list[str], term_of, per_doc, counts, n: int, settings: SearchSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Every document's distinct join hashes, as (document, hash) arrays in document order: its
    word pairs that `join_rule` joins (both words in `counts`, the document counts of joinable
    words, 0 for others; their product at least `join_least`), each join key hashed once: a pair's
    code names its key (a Chinese word's key is its last character and the next word's first, an
    English pair's is both words), so `join_key` runs once a code. Pairs are read JOIN_BATCH at a time."""
    import numpy as np

    least = join_least(n, settings.join_share)
    last, first, chinese = (np.zeros(len(words), dtype=np.int64) for _ in range(3))
    for word in np.flatnonzero(counts).tolist():
        last[word], first[word], chinese[word] = ord(words[word][-1]), ord(words[word][0]), is_cjk(words[word])
    first_term = np.cumsum(per_doc) - per_doc  # each document's first term in `term_of`
    count_of = counts[term_of].astype(np.int32)  # each posting's term's document count if joinable, else 0
    pair_count = np.fromiter((len(pairs) // 8 for *_, pairs in analyses), dtype=np.int64, count=n)
    pairs_end = np.cumsum(pair_count)
    coded: dict[int, int] = {}  # a code's join hash
    found = [np.zeros(0, dtype=np.int64)]  # document << 32 | hash
    lo = 0
    while lo < n:
        hi = max(lo + 1, int(np.searchsorted(pairs_end, pairs_end[lo] - pair_count[lo] + JOIN_BATCH, side="right")))
        places = np.frombuffer(b"".join(pairs for *_, pairs in analyses[lo:hi]), dtype=PAIR_PLACES).reshape(-1, 2)
        start = np.repeat(first_term[lo:hi], pair_count[lo:hi])
        at_a, at_b = start + places[:, 0], start + places[:, 1]  # the words' places in `term_of`
        count_a, count_b = count_of[at_a], count_of[at_b]
        joined = (count_a > 0) & (count_b > 0) & (count_a.astype(np.int64) * count_b >= least)
        a, b = term_of[at_a[joined]].astype(np.int64), term_of[at_b[joined]].astype(np.int64)
        pair_doc = np.repeat(np.arange(lo, hi, dtype=np.int64), pair_count[lo:hi])[joined]
        code = np.where(chinese[a] == 1, last[a] << 21 | first[b], (1 << 42) + a * len(words) + b)
        codes, one, which = np.unique(code, return_index=True, return_inverse=True)
        hashed = np.zeros(len(codes), dtype=np.int64)
        for at, (number, pair) in enumerate(zip(codes.tolist(), one.tolist())):
            if number not in coded:
                coded[number] = join_hash(join_key(words[a[pair]], words[b[pair]]))
            hashed[at] = coded[number]
        found.append(_distinct(pair_doc << 32 | hashed[which]))
        lo = hi
    doc_hash = np.concatenate(found)
    return doc_hash >> 32, doc_hash & 0xFFFFFFFF


def _distinct(values):
    """The distinct values of an array, sorted (np.unique without its slow hash table)."""
    import numpy as np

    values = np.sort(values)
    new = np.ones(len(values), dtype=bool)
    new[1:] = values[1:] != values[:-1]
    return values[new]


def build_index(
    docs: list[SearchDoc],
    cache: TermCache,
    settings: SearchSettings = SETTINGS,
    progress: Callable[[str], None] | None = None,
) -> BuiltIndex:
    """Binary postings shards, the document table and the manifest (see the module doc). Every
    step works on arrays of all postings (a term's number, its document, its tf), not per document."""
    import numpy as np

    n = len(docs)
    analyses = cache.analyses([d.text for d in docs], progress)
    words, term_of = _term_numbers(analyses)
    df = np.bincount(term_of, minlength=len(words))
    common = df >= max(settings.join_min_share * n, 2)
    joinable = dict(sorted((words[i], int(df[i])) for i in np.flatnonzero(common)))
    per_doc = np.fromiter((len(tfs) for _, tfs, *_ in analyses), dtype=np.int64, count=n)
    doc_of = np.repeat(np.arange(n, dtype=np.uint32), per_doc)
    tf_of = np.frombuffer(b"".join(tfs for _, tfs, *_ in analyses), dtype=np.uint8)
    joined_doc, joined_hash = _joins(analyses, words, term_of, per_doc, np.where(common, df, 0), n, settings)
    buckets = max(1, math.ceil(len(joined_hash) / (settings.join_density * n))) if n else 1
    # Each document's buckets once (its joins can share one), with tf 1 (not counted).
    in_bucket = _distinct(joined_doc * buckets + joined_hash % buckets)
    used = np.flatnonzero(np.bincount(in_bucket % buckets, minlength=buckets))
    bucket_number = np.searchsorted(used, in_bucket % buckets)
    terms_list = words + [bucket_term(number) for number in used.tolist()]
    term_of = np.concatenate([term_of, (len(words) + bucket_number).astype(np.uint32)])
    doc_of = np.concatenate([doc_of, (in_bucket // buckets).astype(np.uint32)])
    tf_of = np.concatenate([tf_of, np.ones(len(in_bucket), dtype=np.uint8)])
    df = np.concatenate([df, np.bincount(bucket_number, minlength=len(used))])
    lengths = [length for _, _, length, _ in analyses]
    del analyses, joined_doc, joined_hash, in_bucket, bucket_number
    bucket = np.arange(len(terms_list)) >= len(words)
    stop = (df > max(settings.stop_share * n, settings.stop_min_documents)) & ~bucket
    if n >= settings.stop_min_documents:
        single = np.zeros(len(terms_list), dtype=bool)
        single[[i for i, word in enumerate(words) if len(word) == 1 and is_cjk(word)]] = True
        stop |= single & (df >= settings.stop_single_share * n)
    kept = _without_stop_tails(term_of, doc_of, tf_of, df, stop, np.array(lengths, dtype=np.float64), settings)
    term_of, doc_of, tf_of = term_of[kept], doc_of[kept], tf_of[kept]
    del kept
    postings = len(term_of)
    shards = max(1, math.ceil(postings / settings.postings_per_shard))
    # Rank terms by (shard, term): each shard's terms are then one sorted, contiguous run.
    shard_numbers = np.array([shard_of(term, shards) for term in terms_list], dtype=np.int64)
    alphabetical = np.array(sorted(range(len(terms_list)), key=terms_list.__getitem__), dtype=np.int64)
    in_order = alphabetical[np.argsort(shard_numbers[alphabetical], kind="stable")]
    order = in_order.tolist()
    rank = np.empty(len(terms_list), dtype=np.uint32)
    rank[in_order] = np.arange(len(order), dtype=np.uint32)
    # Postings by (term rank, document), each packed with its tf into one 64-bit number: sorting
    # numbers is several times faster than an argsort (a term rank below 2**32 and a document below
    # 2**24 fit, far past what a build holds in memory).
    doc_shift = np.uint64(max(n, 1).bit_length() + 8)
    packed = rank[term_of].astype(np.uint64) << doc_shift | doc_of.astype(np.uint64) << np.uint64(8) | tf_of
    del term_of, doc_of, tf_of
    packed.sort()
    term_rank = (packed >> doc_shift).astype(np.uint32)
    doc_sorted = ((packed & ((np.uint64(1) << doc_shift) - np.uint64(1))) >> np.uint64(8)).astype(np.uint32)
    tf_sorted = (packed & np.uint64(255)).astype(np.uint8)
    del packed
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
    boundaries = np.searchsorted(shard_numbers[in_order], np.arange(shards + 1), side="left")
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
            "simplified": pairs(),  # the browser folds Traditional characters with it, as `analysis.fold`
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
    chunk's anchor as its number (its label `chunk`, messages.CHUNK, with the number), a report
    section's by name (its label under "labels"). Result snippets are not stored: the browser cuts
    them from the result's own page, around the match."""
    pages: list[list] = []
    labels: dict[str, str] = {}
    for doc, length in zip(docs, lengths):
        if not pages or pages[-1][0] != doc.page:
            pages.append([doc.page, doc.page_title, [], []])
        number = doc.anchor.removeprefix("chunk-")
        if number.isdigit() and doc.label == CHUNK.format(number=number) and doc.anchor == f"chunk-{int(number)}":
            entry: int | str | list = int(number)
        elif labels.setdefault(doc.anchor, doc.label) == doc.label:
            entry = doc.anchor
        else:
            entry = [doc.anchor, doc.label]
        pages[-1][2].append(entry)
        pages[-1][3].append(length)
    return {"docs.json": _json({"pages": pages, "labels": labels, "chunk": CHUNK})}


def read_tables(tables: dict) -> tuple[list[list], list[list]]:
    """docs.json as [path, title] per page and [page, anchor, label, length] per document (the
    worker's `readTables` mirrors it)."""
    pages, docs = [], []
    for number, (path, title, anchors, lengths) in enumerate(tables["pages"]):
        pages.append([path, title])
        for entry, length in zip(anchors, lengths):
            if isinstance(entry, int):
                anchor, label = f"chunk-{entry}", tables["chunk"].format(number=entry)
            elif isinstance(entry, str):
                anchor, label = entry, tables["labels"][entry]
            else:
                anchor, label = entry
            docs.append([number, anchor, label, length])
    return pages, docs


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_index(built: BuiltIndex, folder: Path) -> None:
    """Replace the folder's index files, each atomically (a browser reading the site while it is
    served never gets half a shard), the manifest, which names the others, last; then remove the
    stale ones (a smaller index must not leave shards behind, nor a stopped build its temporaries)."""
    for name in sorted(built.files, key=lambda name: name == "manifest.json"):
        write_atomic(folder / name, built.files[name])
    for stale in {p.name for p in folder.iterdir()} - set(built.files):
        (folder / stale).unlink(missing_ok=True)


def index_files(site: Path) -> list[Path]:
    return sorted(p for p in (site / SITE_FOLDER).glob("*") if p.is_file())


def byte_sizes(paths: Iterable[Path]) -> tuple[int, int]:
    """(raw, gzip) bytes of files, as the benchmarks report index sizes."""
    data = [path.read_bytes() for path in paths]
    return sum(map(len, data)), sum(len(gzip.compress(d, mtime=0)) for d in data)
