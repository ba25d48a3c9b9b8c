"""The search index's build as it was before issue 29 made it faster: a test oracle, not library
code. `tokenize` (jieba called once a run), `analyze` (pairs as "a\x01b" strings) and
`build_index` (one document at a time) are copied from build_tools at commit c9c8ef9, the term
cache left out, with `shard_file` and its `front_coded`; what they call that did not change is
imported from the library.
tests/test_index_speed.py checks that the library builds the same bytes from the same documents."""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter
from dataclasses import asdict

from build_tools.analysis import (
    _HYPHENATED,
    _RUNS,
    MAX_TF,
    bucket_term,
    fold,
    is_bucket,
    is_cjk,
    join_hash,
    join_key,
    join_rule,
    runs,
)
from build_tools.index import (
    FORMAT,
    SETTINGS,
    BuiltIndex,
    SearchDoc,
    SearchSettings,
    _json,
    _tables,
    _without_stop_tails,
    shard_of,
)
from build_tools.shards import rice_coded, varints
from build_tools.simplified import pairs

PAIR = "\x01"


def tokenize(text: str) -> list[str]:
    import rjieba

    folded = fold(text)
    tokens: list[str] = []
    for run in _RUNS.findall(folded):
        if is_cjk(run):
            tokens.extend(rjieba.cut_for_search(run))
        else:
            tokens.append(run)
    tokens.extend(match.group(1) + match.group(2) for match in _HYPHENATED.finditer(folded))
    return tokens


def analyze(text: str) -> tuple[str, bytes, int, str]:
    import rjieba

    counts = Counter(tokenize(text))
    pairs: dict[str, None] = {}
    english = None
    for run in runs(text):
        if is_cjk(run):
            words = rjieba.cut(run)
            pairs.update(dict.fromkeys(a + PAIR + b for a, b in zip(words, words[1:])))
            english = None
        else:
            if english:
                pairs[english + PAIR + run] = None
            english = run
    return ("\n".join(counts), bytes(min(n, MAX_TF) for n in counts.values()), sum(counts.values()), "\n".join(pairs))


def front_coded(terms: list[str]) -> tuple[list[int], list[str]]:
    shared, suffixes, previous = [], [], ""
    for term in terms:
        common = len(os.path.commonprefix([previous, term]))
        shared.append(common)
        suffixes.append(term[common:])
        previous = term
    return shared, suffixes


def shard_file(terms: list[str], spans, postings: bytes) -> bytes:
    import numpy as np

    shared, suffixes = front_coded(terms)
    words = "\n".join(suffixes).encode("utf-8")
    return (
        varints(np.array([len(terms), len(words)])).tobytes()
        + varints(np.array(shared, dtype=np.int64)).tobytes()
        + words
        + varints(np.asarray(spans)).tobytes()
        + postings
    )


def build_index(docs: list[SearchDoc], settings: SearchSettings = SETTINGS) -> BuiltIndex:
    """build_index as it was, each document's analysis made here."""
    import numpy as np

    n = len(docs)
    analyses = [analyze(d.text) for d in docs]
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
            "simplified": pairs(),  # format 9's table (build_tools/simplified.py), added since
        }
    )
    return BuiltIndex(files, n, len(order), postings, int(stop.sum()))
