"""The search index's shard format (build_tools/shards.py), written and read back without the index:
varints, front-coded terms, Rice-coded postings. citekb-search.js reads the same bytes in the browser
(tests/test_search.py checks the worker ranks as the Python reader does)."""

from __future__ import annotations

import random

import numpy as np

from build_tools.shards import Shard, front_coded, read_varints, rice_coded, shard_file, varints

BOUNDARIES = [0, 1, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**32 - 1]


def test_varints_read_back_at_every_length():
    data = varints(np.array(BOUNDARIES, dtype=np.int64)).tobytes()
    assert len(data) == sum(1 + (v >= 128) + (v >= 2**14) + (v >= 2**21) + (v >= 2**28) for v in BOUNDARIES)
    assert read_varints(data, 0, len(BOUNDARIES)) == (BOUNDARIES, len(data))


def test_terms_are_front_coded():
    assert front_coded(["模型", "模型化", "模式", "model", "models"]) == (
        [0, 2, 1, 0, 5],
        ["模型", "化", "式", "model", "s"],
    )


def random_postings(rng: random.Random, terms: int) -> dict[str, tuple[list[tuple[int, int]], bool]]:
    """term → ((document, tf) in document order, counted): runs of consecutive documents (where the
    zero flag pays), long jumps, tf past one byte, and terms whose tf is not counted (join buckets)."""
    postings = {}
    for number in range(terms):
        document, found = -1, []
        for _ in range(rng.randint(1, 60)):
            document += 1 if rng.random() < 0.5 else rng.choice([2, 7, 300, 70_000])
            found.append((document, rng.choice([1, 1, 1, 2, 3, 17, 255])))
        counted = number % 5 != 0
        postings[f"t{number:03d}"] = ([(d, tf if counted else 1) for d, tf in found], counted)
    return postings


def encoded_shard(postings: dict[str, tuple[list[tuple[int, int]], bool]], batch: int = 1 << 20) -> bytes:
    """One shard of these terms, as the index builder writes one (gaps within a term, its first
    posting's document as is), the postings coded about `batch` at a time."""
    gap, tf, first, counted = [], [], [], []
    for found, is_counted in postings.values():
        previous = -1
        for number, (document, count) in enumerate(found):
            gap.append(document - previous - 1)
            tf.append(count)
            first.append(number == 0)
            counted.append(is_counted)
            previous = document
    data, term_at = rice_coded(np.array(gap), np.array(tf), np.array(first), np.array(counted), batch)
    spans = np.diff(np.append(term_at, len(data)))
    return shard_file(list(postings), spans, data.tobytes())


def test_postings_read_back_as_written():
    postings = random_postings(random.Random(7), 120)
    shard = Shard(encoded_shard(postings))
    assert shard.terms == list(postings)
    for term, (found, counted) in postings.items():
        assert shard.postings(term, counted=counted) == found, term


def test_postings_coded_in_batches_are_the_same_bytes():
    """The coder bounds its memory by coding about `batch` postings at a time, cut at term starts:
    terms are byte-aligned, so the batches join into the same file."""
    postings = random_postings(random.Random(8), 80)
    assert encoded_shard(postings, batch=64) == encoded_shard(postings)


def test_terms_with_a_prefix_are_found_in_the_shard():
    shard = Shard(encoded_shard({term: ([(0, 1)], True) for term in ["late", "latency", "latent", "lattice"]}))
    assert shard.with_prefix("laten") == ["latency", "latent"] and shard.with_prefix("x") == []


def test_an_empty_shard_reads_as_no_terms():
    assert Shard(shard_file([], np.zeros(0, dtype=np.int64), b"")).terms == []
