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
shards, join buckets, the words common enough to join, the stop words with their true counts)
and the `SearchSettings` the index was built with, which `search.Searcher` and the browser worker
search by.
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .analysis import PAIR, TermCache, bucket_term, is_bucket, is_cjk, join_hash, join_key, join_rule
from .lock import write_atomic
from .messages import CHUNK
from .shards import rice_coded, shard_file

FORMAT = 8  # of the index files, checked by the worker and Searcher (8: docs.json's `chunk` label)
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
        single = np.array([len(term) == 1 and is_cjk(term) for term in terms_list], dtype=bool)
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
