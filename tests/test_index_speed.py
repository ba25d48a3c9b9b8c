"""The search index's faster build (issue 29) against the build it replaced, kept as a plain oracle
in tests/reference_index.py: the same files byte for byte over varied small inputs, the shipped
sources and the imported pipeline output; each text's analysis the same terms, counts, length and
word pairs; and a term cache of the previous format rebuilt, never misread."""

from __future__ import annotations

import json
import marshal
import struct
from dataclasses import astuple, replace
from pathlib import Path
from unittest import mock

import pytest
import reference_index as reference
from doubling import Shape, assert_linear
from helpers import REPO
from hypothesis import example, given, settings
from hypothesis import strategies as st

from build_tools import analysis, index, lock
from build_tools.analysis import TermCache, analyze
from build_tools.documents import chunk_docs, search_docs
from build_tools.index import SETTINGS, SearchDoc, build_index
from build_tools.knowledge_base import build
from build_tools.models import Source

# Pieces of text with what segmentation and joins treat apart: common and rare Chinese words, a
# long word with dictionary sub-words, single characters, a CJK Extension A character, English
# words (also accented, full-width, hyphenated before a number), numbers, and separators.
PIECES = [
    "模型",
    "开源",
    "的",
    "现状",
    "数据",
    "安全",
    "中华人民共和国",
    "研究生命起源",
    "起源",
    "了",
    "\u3400",
    "\u9fd6",
    "the",
    "code",
    "open",
    "café",
    "ＧＰＴ",
    "GPT-4",
    "llama-3",
    "2025",
    " ",
    " ",
    "，",
    "。",
    "\n",
    "-",
    "|",
]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
DOCS = st.lists(st.tuples(TEXTS, st.integers(0, 3)), max_size=24).map(
    lambda drawn: [
        SearchDoc(f"sources/s{page}/", f"S{page}", f"chunk-{number}", f"块 {number}", text)
        for number, (text, page) in enumerate(sorted(drawn, key=lambda d: d[1]))
    ]
)
# Settings that make small corpora join, stop, shard and code in batches as a large one does.
SETTINGS_VARIANTS = st.builds(
    lambda **values: replace(SETTINGS, **values),
    join_min_share=st.sampled_from([0.0, 0.01, 0.3]),
    join_share=st.sampled_from([0.0, 0.003, 0.25]),
    join_density=st.sampled_from([0.02, 0.5, 1.0]),
    stop_share=st.sampled_from([0.2, 0.6]),
    stop_min_documents=st.sampled_from([0, 3, 2000]),
    stop_single_share=st.sampled_from([0.0, 0.03]),
    stop_keep=st.sampled_from([0, 2, 200]),
    postings_per_shard=st.sampled_from([1, 7, 150_000]),
    rice_batch=st.sampled_from([1, 5, 1 << 20]),
)
EDGE = ["open code", "open code", "数据", "安全"]
SAME_ENDS = ["模型开源", "模型起源", "模型开源", "模型起源"]  # two joins of 模型 whose next words end alike
SMALL = replace(SETTINGS, stop_min_documents=20, stop_keep=5, postings_per_shard=500, rice_batch=300)


def same_index(docs: list[SearchDoc], settings=SETTINGS) -> None:
    try:
        expected = reference.build_index(docs, settings)
    except IndexError:  # every posting a stop word's, none kept (stop_keep=0): the reference fails so
        with pytest.raises(IndexError):
            build_index(docs, TermCache(None), settings)
        return
    built = build_index(docs, TermCache(None), settings)
    assert built.files.keys() == expected.files.keys()
    for name in expected.files:
        assert built.files[name] == expected.files[name], name
    assert astuple(built)[1:] == astuple(expected)[1:]


@settings(max_examples=60, deadline=None)
@given(docs=DOCS, variant=SETTINGS_VARIANTS, join_batch=st.sampled_from([1, 3, index.JOIN_BATCH]))
@example(docs=[], variant=SETTINGS, join_batch=index.JOIN_BATCH)
@example(  # the join rule's bound itself: words in 2 of 4 documents, 2 × 2 = 0.25 × 4 × 4
    docs=[SearchDoc("sources/s0/", "S0", f"chunk-{i}", f"块 {i}", text) for i, text in enumerate(EDGE)],
    variant=replace(SETTINGS, join_min_share=0.0, join_share=0.25),
    join_batch=index.JOIN_BATCH,
)
@example(
    docs=[SearchDoc("sources/s0/", "S0", f"chunk-{i}", f"块 {i}", text) for i, text in enumerate(SAME_ENDS)],
    variant=replace(SETTINGS, join_min_share=0.0, join_share=0.0),
    join_batch=index.JOIN_BATCH,
)
def test_the_index_is_the_reference_build_byte_for_byte(docs, variant, join_batch):
    with mock.patch.object(index, "JOIN_BATCH", join_batch):
        same_index(docs, variant)


def decoded(found: analysis.Analysis) -> tuple[str, bytes, int, str]:
    """An analysis with its pairs written as the reference writes them ("a\\x01b", "\\n"-joined)."""
    terms = found[0].split("\n")
    places = struct.unpack(f"<{len(found[3]) // 4}I", found[3])
    pairs = [terms[a] + reference.PAIR + terms[b] for a, b in zip(places[::2], places[1::2])]
    return found[0], found[1], found[2], "\n".join(pairs)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_an_analysis_is_the_reference_analysis(text):
    assert analysis.tokenize(text) == reference.tokenize(text)
    assert decoded(analyze(text)) == reference.analyze(text)


@pytest.fixture(scope="module")
def shipped_docs() -> list[SearchDoc]:
    return search_docs(build(REPO / "sources"))


def test_shipped_sources_analyse_as_the_reference(shipped_docs):
    assert [analysis.tokenize(doc.text) for doc in shipped_docs] == [
        reference.tokenize(doc.text) for doc in shipped_docs
    ]
    assert [decoded(analyze(doc.text)) for doc in shipped_docs] == [reference.analyze(doc.text) for doc in shipped_docs]


@pytest.mark.parametrize("variant", [SETTINGS, SMALL], ids=["site", "small"])
def test_the_shipped_sites_index_is_the_reference_build(shipped_docs, variant):
    same_index(shipped_docs, variant)


@pytest.mark.pipeline
@pytest.mark.parametrize("variant", [SETTINGS, SMALL], ids=["site", "small"])
def test_the_imported_pipelines_index_is_the_reference_build(imported, variant):
    same_index(search_docs(build(imported.site.parent / "kb")), variant)


TEXT = "开源模型正在改变大模型的竞争格局 open source models"


def cache_file(path: Path, version: int, entry: tuple) -> Path:
    path.write_bytes(lock.seal(analysis.CACHE_KIND, version, marshal.dumps({analysis.text_key(TEXT): entry})))
    return path


@pytest.mark.parametrize(
    "version, entry",
    [
        (7, reference.analyze(TEXT)),  # the previous format: pairs as strings
        (analysis.CACHE_FORMAT, analyze(TEXT)[:3] + (struct.pack("<2I", 0, 99),)),  # a word past its terms
    ],
    ids=["previous format", "pair past its terms"],
)
def test_a_cache_entry_not_of_this_format_is_discarded_and_segmented_again(tmp_path, version, entry):
    notes: list[str] = []
    cache = TermCache(cache_file(tmp_path / "terms.marshal", version, entry), note=notes.append)
    assert len(notes) == 1 and cache.entries == {}
    assert cache.analyses([TEXT]) == [analyze(TEXT)]


def test_analyzing_on_every_core_gives_every_texts_analysis_in_order():
    texts = [
        f"第{number}章 模型的现状 open source {number % 7}" for number in range(2 * analysis.ANALYZED_AT_ONCE * 11 + 3)
    ]
    assert len(texts) >= 2000  # analyze_all's workers take it
    assert analysis.analyze_all(texts) == [analyze(text) for text in texts]


def test_words_picked_as_texts_are_segmented_are_those_among_their_terms(tmp_path):
    """Each text's own words to pick (the claim words of its chunk's corpus) among its terms, picked
    where the texts are segmented (on every core for many texts), a text at two places with other
    words each picking each place's own; a text found in the cache has none picked (its terms are
    read whole)."""
    texts = [
        f"第{number}章 开源模型的现状 open source {number % 7}" for number in range(2 * analysis.ANALYZED_AT_ONCE * 11)
    ]
    texts.append(texts[6])  # segmented once, picked for both places
    first, second = frozenset({"开源", "模型", "source", "3", "缺席"}), frozenset({"现状", "open", "模型"})
    words = [first if at % 2 == 0 else second for at in range(len(texts) - 1)] + [second]
    cache = TermCache(None)
    cache.analyses(texts[:5])
    found, picks = cache.analyses_picking(texts, words)
    assert found == [analyze(text) for text in texts]
    assert picks[:5] == [None] * 5
    expected = [own.intersection(analysis_[0].split("\n")) for own, analysis_ in zip(words[5:], found[5:])]
    assert [set(pick.split("\n")) for pick in picks[5:]] == expected
    assert expected[1] == {"开源", "模型", "source"} and expected[-1] == {"现状", "open", "模型"}  # texts[6] twice
    assert any("3" in e for e in expected) and not any("缺席" in e for e in expected)
    assert cache.analyses_picking(texts[:3], words[:3]) == (found[:3], [None] * 3)  # cached now
    assert TermCache(None).analyses_picking(texts[:3], []) == (found[:3], [None] * 3)  # none to pick


def test_the_index_bench_makes_its_own_cache_and_reports_cpu_seconds(tmp_path, capsys):
    from benchmarks import index_bench

    cache = tmp_path / "terms.marshal"
    assert index_bench.main([str(REPO / "sources"), "--cache", str(cache), "--runs", "2", "--segment", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert cache.is_file() and TermCache(cache).entries  # made on the first run, every text in it
    assert figures["documents"] == len(search_docs(build(REPO / "sources"))) and figures["runs"] == 2
    for name in ("index_cpu_seconds", "segmentation_cpu_seconds", "segmentation_wall_seconds"):
        assert 0 < figures[name]["min"] <= figures[name]["median"] <= figures[name]["max"]


@pytest.mark.parametrize(
    "shape",
    [
        Shape("", "open "),  # English words in a row: one placeholder each, all adjacent
        Shape("", "模型a"),  # Chinese and English touching: a line end put between each
        Shape("", "模型的现状"),  # one long Chinese run
        Shape("", "gpt-4 "),  # hyphenated names
        Shape("", "，\u3000ＧＰＴ"),  # full-width characters to fold
    ],
    ids=repr,
)
def test_analysis_is_linear(shape):
    assert_linear(analyze, shape)


def test_a_sources_text_is_made_once_for_all_of_its_chunks_search_documents():
    """`Source.text` is made (title and body joined) once per source, not once per chunk: made per
    chunk, a long scraped page's documents cost its length times its number of chunks (quadratic in
    the page's length: a 1 GB page would take hours)."""
    kb = build(REPO / "sources")
    made = []
    text = Source.text

    def counted(source: Source) -> str:
        made.append(source.slug)
        return text.fget(source)

    with mock.patch.object(Source, "text", property(counted)):
        docs = chunk_docs(kb)
    assert len(docs) > len(kb.chunks)  # sources of several chunks: made once each
    assert sorted(made) == sorted(kb.chunks)
