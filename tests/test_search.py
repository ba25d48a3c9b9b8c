"""Search: tokens, the index format, query rule and ranking, the CLI, and the browser worker agreeing with it."""

from __future__ import annotations

import json
import random
import re
import shutil
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import REPO, kb, search_box, search_worker, serve

from build_tools import analysis, search
from build_tools.analysis import TermCache, tokenize
from build_tools.documents import search_docs
from build_tools.index import (
    SETTINGS,
    SITE_FOLDER,
    SearchDoc,
    SearchSettings,
    build_index,
    index_files,
    write_index,
)
from build_tools.knowledge_base import build
from build_tools.search import Clause, Searcher, query_terms
from build_tools.simplified import IDEOGRAPH_CLASS, IDEOGRAPHS, pairs, simplified

# Phrases each found in exactly one shipped chunk (the test checks that premise itself).
KNOWN_ITEMS = ["山姆·阿尔特曼", "Cognitive Services", "开源模型更注重效率优化"]


def test_query_rule_tries_every_indexed_substring():
    vocabulary = {"开源", "模型", "开源模型", "型", "大"}
    joins_nothing = analysis.join_rule({}, 100, SETTINGS.join_share)
    assert query_terms("开源模型", vocabulary.__contains__, joins_nothing) == [
        Clause("开源", False, 0b11),
        Clause("开源模型", False, 0b1111),
        Clause("模型", False, 0b1100),
    ]
    assert query_terms("开源大型", vocabulary.__contains__, joins_nothing) == [
        Clause("开源", False, 0b11),
        Clause("大", False, 0b100),
        Clause("型", False, 0b1000),
    ]
    assert query_terms("Ｌatency of LLM", set().__contains__, joins_nothing) == [
        Clause("latency", False, 0b1),
        Clause("of", False, 0b10),
        Clause("llm", True, 0b100),
    ]


def test_joins_are_looked_up_where_words_that_join_could_meet():
    """Two Chinese characters in a row may be where two words meet, two English words in a row are
    a join: each is looked up as its bucket where the words on either side are common enough to
    join (by the build's rule), and a bucket the index lacks is no clause."""

    def bucket(key: str) -> str:
        return analysis.bucket_term(analysis.join_hash(key) % 101)

    can_join = analysis.join_rule({"开源": 40, "模型": 30, "open": 50, "source": 20, "model": 2}, 100, 0.05)
    assert can_join("开源", "模型") and can_join("open", "source") and not can_join("source", "model")
    held = {"开源", "模型", bucket("开源"), bucket("源模"), bucket("open source"), bucket("source model")}
    assert query_terms("开源模型", held.__contains__, can_join, 101) == [  # 开|源 and 模|型: no words that join
        Clause("开源", False, 0b11),
        Clause("模型", False, 0b1100),
        Clause(bucket("源模"), False, 0b110, True),
    ]
    assert query_terms("open source model", held.__contains__, can_join, 101) == [
        Clause("open", False, 0b1),
        Clause("source", False, 0b10),
        Clause("model", True, 0b100),
        Clause(bucket("open source"), False, 0b11, True),
    ]
    assert query_terms("开源模型", {"开源", "模型"}.__contains__, can_join, 101) == [
        Clause("开源", False, 0b11),
        Clause("模型", False, 0b1100),
    ]


def test_join_hash_is_fnv1a():
    """The worker hashes with Math.imul over UTF-16 code units; these are FNV-1a's published values."""
    assert analysis.join_hash("") == 0x811C9DC5 and analysis.join_hash("a") == 0xE40C292C


def test_tokens_fold_case_and_width_and_segment_chinese():
    tokens = tokenize("ＯpenAI 发布了开源模型 Latency")
    assert {"openai", "latency", "开源", "模型"} <= set(tokens)


def test_fold_is_nfkc_lower_case_and_simplified_exactly():
    """The quick path (full-width forms mapped first) must fold as plain NFKC does: the worker folds
    queries with String.normalize("NFKC") (then Traditional characters as Simplified, as here), and
    a differing fold would miss terms."""
    rng = random.Random(7)
    # Traditional characters (漢開發), a compatibility ideograph NFKC maps to one (豈), kana a voiced
    # mark composes with (か\u3099), Greek's final sigma, lone surrogates (\ud800\udc00 apart).
    alphabet = (
        "ａＡ１，：（）\u3000 Ｑ\u0301\u0308é\u00bd\u2460ﬁ㎏①ｶﾞ漢字開發豈か\u3099Σσ\ud800\udc00。！？Aa1\u00a0\u2126İẞ"
    )
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12))) for _ in range(5000)]
    long = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(100, 300))) for _ in range(500)]  # one table
    for text in [*texts, *long, "ＧＰＴ－４，２０２５年" * 20, "Ａ\u0301" * 60, "開發者，" * 30]:
        assert analysis.fold(text) == simplified(unicodedata.normalize("NFKC", text).lower()), text


def test_segmentation_is_jiebas_cut_for_search():
    """rjieba stands in for jieba for speed; on every Chinese run of the shipped sources it must agree."""
    import jieba

    runs = [
        run
        for source in build(REPO / "sources").loaded.sources.values()
        for run in re.findall(r"[\u4e00-\u9fff]+", source.text)
    ]
    assert len(runs) > 500
    assert [tokenize(run) for run in runs] == [list(jieba.cut_for_search(run)) for run in runs]


WORDS = ["alpha", "beta", "gamma", "delta", "模型", "开源", "数据", "安全", "检索", "向量", "latency", "cache"]


def random_docs(count: int, seed: int = 1) -> list[SearchDoc]:
    rng = random.Random(seed)
    docs = []
    for number in range(count):
        words = [rng.choice(WORDS[: rng.randint(2, len(WORDS))]) for _ in range(rng.randint(0, 40))]
        docs.append(
            SearchDoc(
                f"sources/s{number // 4}/",
                f"S{number // 4}",
                f"chunk-{number % 4}",
                f"chunk {number % 4}",
                " ".join(words),
            )
        )
    return docs


def built_searcher(docs: list[SearchDoc], folder: Path, settings: SearchSettings = SETTINGS) -> Searcher:
    write_index(build_index(docs, TermCache(None), settings), folder)
    return Searcher(folder)


def test_postings_decode_to_each_documents_term_counts(tmp_path):
    """The numpy encoder, read back by the reader the CLI uses: every (term, document, tf) survives,
    including long gaps, counts past one byte (kept at 255), and terms coded in separate batches."""
    settings = replace(  # every two words in a row are joined
        SETTINGS, stop_min_documents=10, rice_batch=64, join_share=0, join_min_share=0
    )
    docs = random_docs(600)
    docs.append(SearchDoc("sources/big/", "Big", "chunk-0", "chunk 0", "rare " * 300 + "omega"))
    searcher = built_searcher(docs, tmp_path, settings)
    expected: dict[str, dict[int, int]] = {}
    for number, doc in enumerate(docs):
        for term, tf in Counter(tokenize(doc.text)).items():
            expected.setdefault(term, {})[number] = min(tf, 255)
    limit = settings.stop_share * len(docs)
    indexed = {term: found for term, found in expected.items() if len(found) <= limit}
    assert {"rare", "omega"} <= set(indexed) and len(indexed) < len(expected)  # some stop words, some kept
    for term, found in indexed.items():
        assert dict(searcher.shard(term).postings(term)) == found, term
    assert dict(searcher.shard("rare").postings("rare")) == {600: 255}
    buckets = searcher.manifest["join_buckets"]
    joined: dict[str, dict[int, int]] = {}  # a join bucket's tf is not counted: 1
    for number, doc in enumerate(docs[:600]):  # (rare and omega, in one document each, join nothing)
        for run in re.split(r"[^a-z ]+", doc.text):  # English words in a row, not across Chinese ones
            words = run.split()
            for a, b in zip(words, words[1:]):
                joined.setdefault(analysis.bucket_term(analysis.join_hash(f"{a} {b}") % buckets), {})[number] = 1
    assert len(joined) > 10
    for term, found in joined.items():
        assert dict(searcher.shard(term).postings(term, counted=False)) == found, term


def test_document_table_keeps_every_anchor_and_label(tmp_path):
    """docs.json writes a chunk's anchor as its number and a section's label once; all read back."""
    docs = [
        SearchDoc("sources/s/", "S", "chunk-3", "块 3", "alpha"),
        SearchDoc("sources/s/", "S", "chunk-12", "块 12", "beta"),
        SearchDoc("reports/r/", "R", "final", "最终报告", "gamma"),
        SearchDoc("reports/q/", "Q", "final", "Final", "delta"),  # the same anchor, another label
        SearchDoc("reports/q/", "Q", "chunk-x", "块 x", "epsilon"),
        SearchDoc("sources/t/", "T", "chunk-4", "chunk 4", "zeta"),  # an old label: kept as written
    ]
    searcher = built_searcher(docs, tmp_path)
    assert [(searcher.pages[page][0], anchor, label) for page, anchor, label, _ in searcher.docs] == [
        (d.page, d.anchor, d.label) for d in docs
    ]


def test_weights_are_lunrs_bm25(tmp_path):
    """Scores are lunr's: a lunr.py index over the same tokens gives every (document, term) the same weight."""
    from lunr.builder import Builder

    docs = random_docs(8, seed=3)  # few documents: no term reaches the stop-word share
    searcher = built_searcher(docs, tmp_path)
    builder = Builder()
    builder.ref("id")
    builder.field("text")
    builder.tokenizer = lambda text, *args, **kwargs: [__import__("lunr").token.Token(t) for t in tokenize(text)]
    for number, doc in enumerate(docs):
        builder.add({"id": str(number), "text": doc.text})
    reference = builder.build()
    terms = sorted(reference.inverted_index, key=lambda t: reference.inverted_index[t]["_index"])
    checked = 0
    for key, vector in reference.field_vectors.items():
        document = int(key.split("/")[1])
        for position, lunr_weight in zip(vector.elements[::2], vector.elements[1::2]):
            term = terms[int(position)]
            postings = dict(searcher.shard(term).postings(term))
            ours = searcher.weight(postings[document], len(postings), searcher.docs[document][3])
            assert abs(ours - lunr_weight) <= 0.0005, (term, document)
            checked += 1
    assert checked > 50


def test_stop_words_count_only_in_a_query_of_stop_words(tmp_path):
    """A word in most documents does not decide a query that has other words; asked alone it still
    finds its best documents (the most occurrences in the shortest text) from its cut-short list."""
    docs = [
        SearchDoc("sources/s/", "S", f"chunk-{n}", f"chunk {n}", f"common filler{n} 模型 " + "pad " * n)
        for n in range(40)
    ]
    docs.append(SearchDoc("sources/t/", "T", "chunk-0", "chunk 0", "common common common"))
    searcher = built_searcher(docs, tmp_path, replace(SETTINGS, stop_min_documents=10, stop_keep=3))
    assert {"common": 41, "模型": 40}.items() <= searcher.manifest["stop_words"].items()  # true counts
    assert len(searcher.shard("common").postings("common")) == 3
    assert [r["location"] for r in searcher.search("common filler7")] == ["sources/s/#chunk-7"]
    assert [r["location"] for r in searcher.search("common")] == [
        "sources/t/#chunk-0",
        "sources/s/#chunk-0",
        "sources/s/#chunk-1",
    ]


def test_a_common_single_character_counts_by_its_joins(tmp_path):
    """上 is in 3 of 40 documents: below the stop-word share, but a single character that common is
    a stop word too. The join 子上 still finds it after 兔子; asked alone, it still finds its documents."""
    docs = [SearchDoc("sources/s/", "S", f"chunk-{n}", f"chunk {n}", f"其他{n} 跑步") for n in range(36)]
    docs += [SearchDoc("sources/t/", "T", f"chunk-{n}", f"chunk {n}", "上 山 兔子") for n in range(3)]
    docs.append(SearchDoc("sources/u/", "U", "chunk-0", "chunk 0", "兔子上山"))  # 兔子|上山
    searcher = built_searcher(docs, tmp_path, replace(SETTINGS, stop_min_documents=10))
    stop_words = searcher.manifest["stop_words"]
    assert {"上": 3, "山": 3}.items() <= stop_words.items() and "兔子" not in stop_words
    assert searcher.search("兔子上山", 1)[0]["location"] == "sources/u/#chunk-0"
    assert [r["location"] for r in searcher.search("上")] == [f"sources/t/#chunk-{n}" for n in range(3)]


def test_common_words_in_a_row_outrank_the_same_words_apart(tmp_path):
    """Joins: every document holds 模型, 的, 现状, the code and the words of "the code" apart; only
    the two that hold them in a row match the query's joins (型的, 的现; "the code"), and they come first."""
    filler = [f"其他内容{n} 模型 的 结构 现状 分析 code review of the plan" for n in range(30)]
    docs = [SearchDoc("sources/s/", "S", f"chunk-{n}", f"chunk {n}", text) for n, text in enumerate(filler)]
    padding = " ".join(f"word{n}" for n in range(40))  # longer than the rest: BM25's length rule is against them
    docs.append(SearchDoc("sources/p/", "P", "chunk-0", "chunk 0", f"报告 模型的现状 如下 the plan {padding}"))
    docs.append(SearchDoc("sources/q/", "Q", "chunk-0", "chunk 0", f"we review the code of review {padding}"))
    searcher = built_searcher(docs, tmp_path)
    assert searcher.search("模型的现状", 1)[0]["location"] == "sources/p/#chunk-0"
    assert searcher.search("the code", 1)[0]["location"] == "sources/q/#chunk-0"


def test_a_typed_prefix_counts_as_its_best_completion(tmp_path):
    """ "paper" may still be typed, so it also matches longer words, but many completions in one
    document do not add up: the document with the word twice wins."""
    docs = [
        SearchDoc("sources/a/", "A", "chunk-0", "chunk 0", "paper paper notes here"),
        SearchDoc("sources/b/", "B", "chunk-0", "chunk 0", "papers paperwork paperback here"),
    ]
    assert [r["location"] for r in built_searcher(docs, tmp_path).search("paper")] == [
        "sources/a/#chunk-0",
        "sources/b/#chunk-0",
    ]


def test_documents_covering_more_of_the_query_rank_first(tmp_path):
    """One document repeats a rare word many times; the one holding every query word still wins."""
    docs = [
        SearchDoc("sources/a/", "A", "chunk-0", "chunk 0", "向量 " * 30 + "其他内容"),
        SearchDoc("sources/b/", "B", "chunk-0", "chunk 0", "向量检索 数据库 的 性能"),
        SearchDoc("sources/c/", "C", "chunk-0", "chunk 0", "数据库 运维"),
    ]
    ranked = [r["location"] for r in built_searcher(docs, tmp_path).search("向量检索数据库")]
    assert ranked[0] == "sources/b/#chunk-0" and set(ranked) == {d.location for d in docs}


def test_the_query_as_typed_moves_first_among_the_checked_results(tmp_path):
    """BM25 prefers the short chunks holding both words apart (joins are not indexed here); the one
    holding "vector search" as typed is read from its page (here: `texts`) among the first results
    and moves first; while none of the results read holds it, the next is read, one at a time, up
    to `rechecked`. Both come from the index's manifest, as the settings it was built with."""
    padding = " ".join(f"word{n}" for n in range(60))
    docs = [
        SearchDoc("sources/a/", "A", "chunk-0", "chunk 0", "search search vector vector"),
        SearchDoc("sources/a/", "A", "chunk-1", "chunk 1", "search vector vector"),
        SearchDoc("sources/b/", "B", "chunk-0", "chunk 0", f"the vector search, {padding}"),
        SearchDoc("sources/c/", "C", "chunk-0", "chunk 0", "vector"),
    ]  # one word: last
    unjoined = replace(SETTINGS, join_min_share=2.0)
    typed, last = "sources/b/#chunk-0", "sources/c/#chunk-0"
    read: list[str] = []

    def ranked(text=lambda location: "", settings: SearchSettings = unjoined) -> list[str]:
        write_index(build_index(docs, TermCache(None), settings), tmp_path)
        read.clear()
        return [
            r["location"]
            for r in Searcher(tmp_path, lambda location: read.append(location) or text(location)).search(
                "Vector Search"
            )
        ]

    apart = ranked()[:2]
    assert ranked()[2:] == [typed, last] and set(apart) == {docs[0].location, docs[1].location}
    texts = {d.location: d.text for d in docs}.get
    assert ranked(texts)[0] == typed and read == apart + [typed, last]  # all among the first `checked`
    one = replace(unjoined, checked=1)
    assert ranked(texts, one)[0] == typed and read == apart + [typed]  # then one at a time: found before the last
    two = replace(one, rechecked=2)  # the typed one is not among the results read
    assert ranked(texts, two) == apart + [typed, last] and read == apart


def shipped_chunk_with(phrase: str) -> str:
    knowledge = build(REPO / "sources")
    hits = [
        f"sources/{slug}/#chunk-{c.index}"
        for slug, chunks in knowledge.chunks.items()
        for c in chunks
        if phrase.lower() in c.text.lower()
    ]
    assert len(hits) == 1, (phrase, hits)
    return hits[0]


def cli_search(site, query: str, k: int = 10) -> list[str]:
    done = kb("search", query, "--site", str(site), "-k", str(k), "--json")
    return [item["location"] for item in json.loads(done.stdout)]


@pytest.mark.parametrize("phrase", KNOWN_ITEMS)
def test_cli_ranks_the_known_chunk_first(shipped, phrase):
    assert cli_search(shipped.site, phrase)[0] == shipped_chunk_with(phrase)


def test_hidden_boilerplate_is_not_indexed(shipped):
    assert "Spring Boot" in (REPO / "sources" / "pages" / "open-vs-closed-llm-landscape.txt").read_text(
        encoding="utf-8"
    )
    assert cli_search(shipped.site, "Spring Boot") == []  # only in the 相关文章 list of seed 001


@pytest.mark.parametrize(
    ("char", "chinese"),
    [
        ("\u33ff", False),
        ("\u3400", True),
        ("\u4dbf", True),
        ("\u4dc0", False),
        ("\u4dff", False),
        ("\u4e00", True),
        ("\u9fff", True),
        ("\ua000", False),
        ("a", False),
        ("\uf900", False),
    ],
)
def test_the_browser_the_index_and_the_audit_read_the_same_characters_as_chinese(char: str, chinese: bool) -> None:
    """One definition of a Chinese character (`simplified.IDEOGRAPH_RANGES`): the index's runs, the
    audit's share of Chinese letters, and the worker's own copy of the class, which cuts a query's
    runs in the browser (read from the script: it cannot import it)."""
    from build_tools.audit.claims import chinese_share

    script = (REPO / "overrides/assets/javascripts/citekb-search.js").read_text(encoding="utf-8")
    written = re.search(r'^const CJK = "([^"]*)"$', script, re.MULTILINE)
    assert written is not None
    assert written.group(1).encode("ascii").decode("unicode_escape") == IDEOGRAPH_CLASS
    assert bool(IDEOGRAPHS.fullmatch(char)) is chinese
    assert analysis.is_cjk(char) is chinese
    assert chinese_share(char + "a") == (0.5 if chinese else 0.0)


WORKER_LIMIT = 100  # results the worker returns (citekb-search.js LIMIT)
# Every query-side setting away from its default, stop words in a corpus this small, several shards:
# the worker agrees only if it searches by the settings in the index's manifest.
TUNED = replace(
    SETTINGS,
    k1=1.6,
    b=0.5,
    max_term=2,
    coverage_bits=6,
    checked=2,
    rechecked=6,
    join_share=0.01,
    join_density=0.05,
    stop_share=0.3,
    stop_min_documents=0,
    stop_single_share=0.1,
    stop_keep=3,
    postings_per_shard=400,
)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z][A-Za-z0-9]*)*")
QUERY_KINDS = {  # kind → how many
    "chinese": 90,  # a substring of a Chinese run, 1 to 10 characters, anywhere
    "across words": 40,  # the end of one jieba word and the start of the next
    "long word": 15,  # an indexed word of 4 or more characters, in context
    "english word": 30,
    "english phrase": 30,
    "prefix": 25,  # a last English word still being typed
    "mixed": 25,  # an English word and Chinese of the same document, in either order
    "folded": 15,  # upper-case or full-width
    "traditional": 15,  # Chinese as above, typed in Traditional characters
    "stop words": 20,  # one or two of the tuned index's: answered from their cut-short lists
    "no hit": 15,
}


def generated_queries(docs: list[SearchDoc], stop_words: list[str], seed: int = 17) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from the documents' text, the same on every run."""
    import rjieba

    rng = random.Random(seed)
    han = [_HAN_RUN.findall(d.text) for d in docs]
    english = [[run.split() for run in _ENGLISH_RUN.findall(d.text)] for d in docs]
    words = [[w for run in runs for w in run if len(w) >= 3] for runs in english]
    both = [n for n in range(len(docs)) if han[n] and words[n]]
    long_words = sorted({t for d in docs for t in tokenize(d.text) if len(t) >= 4 and _HAN_RUN.fullmatch(t)})
    traditional_forms: dict[str, str] = {}  # 发 → 發髮: a Simplified character's Traditional forms
    for written, plain in zip(*pairs()):
        traditional_forms[plain] = traditional_forms.get(plain, "") + written

    def chinese(runs: list[str], longest: int) -> str:
        run = rng.choice(runs)
        size = rng.randint(1, min(longest, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return run[start : start + size]

    def across() -> str | None:
        parts = rjieba.cut(rng.choice(rng.choice([runs for runs in han if runs])))
        if len(parts) < 2:
            return None
        i = rng.randrange(len(parts) - 1)
        a, b = parts[i], parts[i + 1]
        return a[-rng.randint(1, len(a)) :] + b[: rng.randint(1, len(b))]

    def long_word() -> str:
        word = rng.choice(long_words)
        run = rng.choice([run for runs in han for run in runs if word in run])
        at = run.index(word)
        return run[max(0, at - rng.randint(0, 2)) : at + len(word) + rng.randint(0, 2)]

    def phrase() -> str | None:
        runs = [run for run in rng.choice(english) if len(run) >= 2]
        if not runs:
            return None
        run = rng.choice(runs)
        size = rng.randint(2, min(3, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return " ".join(run[start : start + size])

    def prefix() -> str:
        run = rng.choice([run for runs in english for run in runs if len(run[-1]) >= 4])
        word = run[-1][: rng.randint(3, len(run[-1]) - 1)]
        return f"{run[-2]} {word}" if len(run) > 1 and rng.random() < 0.5 else word

    def mixed() -> str:
        n = rng.choice(both)
        parts = [rng.choice(words[n]), chinese(han[n], 6)]
        rng.shuffle(parts)
        return rng.choice([" ", ""]).join(parts)

    def folded() -> str:
        text = phrase() or rng.choice(rng.choice([w for w in words if w]))
        if rng.random() < 0.5:
            return text.upper()
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" for c in text)  # full-width

    def traditional() -> str | None:
        text = chinese(rng.choice([runs for runs in han if runs]), 10)
        typed = "".join(rng.choice(traditional_forms.get(c, c)) for c in text)
        return typed if typed != text else None

    def no_hit() -> str:
        return rng.choice(
            [
                "".join(rng.choice("qxzjvk") for _ in range(rng.randint(5, 9))),
                "".join(chr(rng.randint(0x3400, 0x3500)) for _ in range(rng.randint(2, 4))),  # rare characters
                "".join(rng.sample("，。！？、；：…", 3)),  # no words at all
            ]
        )

    make = {
        "chinese": lambda: chinese(rng.choice([runs for runs in han if runs]), 10),
        "across words": across,
        "long word": long_word,
        "english word": lambda: rng.choice(rng.choice([w for w in words if w])),
        "english phrase": phrase,
        "prefix": prefix,
        "mixed": mixed,
        "folded": folded,
        "traditional": traditional,
        "stop words": lambda: rng.choice([" ", ""]).join(rng.sample(stop_words, rng.randint(1, 2))),
        "no hit": no_hit,
    }
    queries: dict[str, str] = {}  # query → kind, each query once
    for kind, count in QUERY_KINDS.items():
        made = 0
        while made < count:
            query = make[kind]()
            if query and query not in queries:
                queries[query] = kind
                made += 1
    return [(kind, query) for query, kind in queries.items()]


def test_browser_worker_and_searcher_agree_on_generated_queries(shipped, page, tmp_path):
    """About 300 queries of every kind, over the site as built and over the same documents indexed
    with every query-side setting changed (TUNED): the worker in chromium and `Searcher` (`kb search`)
    return the same ranked results with the same scores, all the worker returns. A rule or setting
    the two read differently shows as the first query they disagree on."""
    docs = search_docs(build(REPO / "sources"))
    assert build_index(docs, TermCache(None)).files == {p.name: p.read_bytes() for p in index_files(shipped.site)}
    tuned = tmp_path / "site"
    shutil.copytree(shipped.site, tuned)
    write_index(build_index(docs, TermCache(None), TUNED), tuned / SITE_FOLDER)
    stop_words = list(Searcher(tuned / SITE_FOLDER).manifest["stop_words"])
    queries = generated_queries(docs, stop_words)
    assert len(queries) == sum(QUERY_KINDS.values()) and len(stop_words) > 5
    found = {}
    for site in (shipped.site, tuned):
        searcher = Searcher(site / SITE_FOLDER)
        browser = search_worker(page, site, [query for _, query in queries], WORKER_LIMIT)
        for (kind, query), results in zip(queries, browser):
            expected = [(r["location"], r["score"]) for r in searcher.search(query, WORKER_LIMIT)]
            assert [location for location, _ in results] == [location for location, _ in expected], (kind, query)
            assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(results, expected)), (kind, query)
        found[site] = [bool(results) for results in browser]
    kinds = [kind for kind, _ in queries]
    for site, hits in found.items():  # agreement on real result lists, not on empties
        assert not any(hit for kind, hit in zip(kinds, hits) if kind == "no hit")
        assert sum(hits) >= 0.9 * sum(kind != "no hit" for kind in kinds), site
    assert all(hit for kind, hit in zip(kinds, found[tuned]) if kind == "stop words")


@pytest.mark.parametrize("query", ["开源模型更注重效率优化", "Cognitive Services"])
def test_search_box_finds_the_chunk_and_lands_on_it(shipped, page, query):
    expected = shipped_chunk_with(query)
    with serve(shipped.site) as url:
        search_box(page, url, query)
        first = page.locator('.md-search-result__list > li a[href*="#"]').first  # the chunk under its page
        first.wait_for(state="visible", timeout=15000)
        article = first.locator("article")
        teaser = article.inner_text().removeprefix(article.locator("h2").inner_text())
        shown = " ".join(teaser.strip().strip("…").split())
        assert article.locator(":scope > mark").count() > 0  # cut around a match, which is highlighted
        first.click()
        anchor = expected.split("#")[1]
        page.wait_for_url(f"**/{expected.split('#')[0]}**")
        assert page.evaluate("location.hash") == "#" + anchor
        assert page.evaluate("document.querySelector(':target').id") == anchor
        landed_text = page.evaluate(f"document.querySelector('section#{anchor} .citekb-text').innerText")
        assert len(shown) > 20 and shown in " ".join(landed_text.split())  # the snippet is the chunk's own text
        marks = page.locator(f"section#{anchor} mark")  # the query's words are highlighted in the chunk
        marks.first.wait_for(state="attached")
        assert all(mark.lower() in query.lower() for mark in marks.all_inner_texts())


def test_a_hyphenated_model_name_is_found_as_people_type_it(shipped):
    assert tokenize("GPT-4 与 Llama-3")[-2:] == ["gpt4", "llama3"] and "state" in tokenize("state-of-the-art")
    knowledge = build(REPO / "sources")
    written = {
        f"sources/{slug}/#chunk-{c.index}"
        for slug, chunks in knowledge.chunks.items()
        for c in chunks
        if re.search(r"GPT-3(?!\d)", c.text)
    }
    assert written and set(cli_search(shipped.site, "gpt3", k=50)) >= written


def test_a_report_section_reads_as_its_text_without_citation_markup(shipped):
    html = (shipped.site / "reports/example-open-vs-closed/index.html").read_text(encoding="utf-8")
    background = search.section_text(html, "final-一背景")
    assert background.startswith("一、背景") and "在大型语言模型的发展中" in background
    assert "二、开源生态" not in background  # the section ends at the next heading
    assert "块 " not in background and "大模型的未来竞争格局" not in background  # no citation label or preview


def test_a_report_pages_last_section_ends_with_the_article(shipped):
    """The last section has no next heading: its text stops at the article's end, not in the
    theme's footer and inline scripts after it."""
    html = (shipped.site / "reports/example-open-vs-closed/index.html").read_text(encoding="utf-8")
    last = BeautifulSoup(html, "html.parser").select("article [id]")[-1]
    text = search.section_text(html, last["id"])
    article = BeautifulSoup(html, "html.parser").select_one("article").get_text(" ")
    assert text and all(word in article for word in text.split()[-5:])
    assert "__md_scope" not in text and "localStorage" not in text and "Material" not in text


def test_the_result_count_says_it_counts_the_best_results_only(shipped):
    """The worker returns the LIMIT best results, so the count must not read as "this many match"."""
    config = BeautifulSoup(shipped.page(""), "html.parser").select_one("#__config").string
    assert json.loads(config)["translations"]["search.result.other"] == "最相关的 # 个结果"


def test_a_sections_text_leaves_out_its_headings_permalink_and_its_citations_marks():
    """What a snippet is cut from and the query as typed is looked for in (the worker's `plain`):
    the words of the page, not the heading's ¶ nor a citation's verdict, label or preview."""
    html = (
        '<h2 id="s">开源趋势<a class="headerlink" href="#s" title="链接">¶</a></h2><p>开源模型增多'
        '<a class="citekb-cite"><span class="citekb-verdict"><b aria-hidden="true">✓</b><em>有依据 </em></span>'
        '<span class="citekb-cite-label">某来源 · 块 1</span><span class="citekb-preview">预览文字</span></a>。</p>'
        '<h2 id="t">下一节</h2><p>别的</p>'
    )
    text = search.section_text(html, "s")
    assert "开源趋势" in text and "开源模型增多" in text
    assert not any(hidden in text for hidden in ("¶", "✓", "有依据", "某来源", "预览文字", "下一节"))
