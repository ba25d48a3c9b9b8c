"""Search: tokens, the index format, query rule and ranking, the CLI, and the browser worker agreeing with it."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import REPO, kb, search_worker, serve

from build_tools import index, shards
from build_tools.index import Clause, SearchDoc, Searcher, TermCache, build_index, query_terms, tokenize, write_index
from build_tools.knowledge_base import build

# Phrases each found in exactly one shipped chunk (the test checks that premise itself).
KNOWN_ITEMS = ["山姆·阿尔特曼", "Cognitive Services", "开源模型更注重效率优化"]
AGREEMENT_QUERIES = [
    "开源模型",
    "开源大模型",
    "OpenAI 成功经验",
    "Hugging Face",
    "latency",
    "laten",
    "风险管理与合规性",
    "闭源",
    "数据隐私 安全",
    "transformer 模型",
    "不存在的词语组合",
    "xyzzyqux",
]


def test_query_rule_tries_every_indexed_substring():
    vocabulary = {"开源", "模型", "开源模型", "型", "大"}
    joins_nothing = index.join_rule({}, 100, index.JOIN_SHARE)
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
        return index.bucket_term(index.join_hash(key) % 101)

    can_join = index.join_rule({"开源": 40, "模型": 30, "open": 50, "source": 20, "model": 2}, 100, 0.05)
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
    assert index.join_hash("") == 0x811C9DC5 and index.join_hash("a") == 0xE40C292C


def test_tokens_fold_case_and_width_and_segment_chinese():
    tokens = tokenize("ＯpenAI 发布了开源模型 Latency")
    assert {"openai", "latency", "开源", "模型"} <= set(tokens)


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


def built_searcher(docs: list[SearchDoc], folder: Path) -> Searcher:
    write_index(build_index(docs, TermCache(None)), folder)
    return Searcher(folder)


def test_postings_decode_to_each_documents_term_counts(tmp_path, monkeypatch):
    """The numpy encoder, read back by the reader the CLI uses: every (term, document, tf) survives,
    including long gaps, counts past one byte (kept at 255), and terms coded in separate batches."""
    monkeypatch.setattr(index, "STOP_MIN_DOCUMENTS", 10)
    monkeypatch.setattr(shards, "RICE_BATCH", 64)
    monkeypatch.setattr(index, "JOIN_SHARE", 0)  # every two words in a row are joined
    monkeypatch.setattr(index, "JOIN_MIN_SHARE", 0)
    docs = random_docs(600)
    docs.append(SearchDoc("sources/big/", "Big", "chunk-0", "chunk 0", "rare " * 300 + "omega"))
    searcher = built_searcher(docs, tmp_path)
    expected: dict[str, dict[int, int]] = {}
    for number, doc in enumerate(docs):
        for term, tf in Counter(tokenize(doc.text)).items():
            expected.setdefault(term, {})[number] = min(tf, 255)
    limit = index.STOP_SHARE * len(docs)
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
                joined.setdefault(index.bucket_term(index.join_hash(f"{a} {b}") % buckets), {})[number] = 1
    assert len(joined) > 10
    for term, found in joined.items():
        assert dict(searcher.shard(term).postings(term, counted=False)) == found, term


def test_document_table_keeps_every_anchor_and_label(tmp_path):
    """docs.json writes a chunk's anchor as its number and a section's label once; all read back."""
    docs = [
        SearchDoc("sources/s/", "S", "chunk-3", "chunk 3", "alpha"),
        SearchDoc("sources/s/", "S", "chunk-12", "chunk 12", "beta"),
        SearchDoc("reports/r/", "R", "final", "最终报告", "gamma"),
        SearchDoc("reports/q/", "Q", "final", "Final", "delta"),  # the same anchor, another label
        SearchDoc("reports/q/", "Q", "chunk-x", "chunk x", "epsilon"),
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


def test_stop_words_count_only_in_a_query_of_stop_words(tmp_path, monkeypatch):
    """A word in most documents does not decide a query that has other words; asked alone it still
    finds its best documents (the most occurrences in the shortest text) from its cut-short list."""
    monkeypatch.setattr(index, "STOP_MIN_DOCUMENTS", 10)
    monkeypatch.setattr(index, "STOP_KEEP", 3)
    docs = [
        SearchDoc("sources/s/", "S", f"chunk-{n}", f"chunk {n}", f"common filler{n} 模型 " + "pad " * n)
        for n in range(40)
    ]
    docs.append(SearchDoc("sources/t/", "T", "chunk-0", "chunk 0", "common common common"))
    searcher = built_searcher(docs, tmp_path)
    assert {"common": 41, "模型": 40}.items() <= searcher.manifest["stop_words"].items()  # true counts
    assert len(searcher.shard("common").postings("common")) == 3
    assert [r["location"] for r in searcher.search("common filler7")] == ["sources/s/#chunk-7"]
    assert [r["location"] for r in searcher.search("common")] == [
        "sources/t/#chunk-0",
        "sources/s/#chunk-0",
        "sources/s/#chunk-1",
    ]


def test_a_common_single_character_counts_by_its_joins(tmp_path, monkeypatch):
    """上 is in 3 of 40 documents: below the stop-word share, but a single character that common is
    a stop word too. The join 子上 still finds it after 兔子; asked alone, it still finds its documents."""
    monkeypatch.setattr(index, "STOP_MIN_DOCUMENTS", 10)
    docs = [SearchDoc("sources/s/", "S", f"chunk-{n}", f"chunk {n}", f"其他{n} 跑步") for n in range(36)]
    docs += [SearchDoc("sources/t/", "T", f"chunk-{n}", f"chunk {n}", "上 山 兔子") for n in range(3)]
    docs.append(SearchDoc("sources/u/", "U", "chunk-0", "chunk 0", "兔子上山"))  # 兔子|上山
    searcher = built_searcher(docs, tmp_path)
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


def test_the_query_as_typed_moves_first_among_the_checked_results(tmp_path, monkeypatch):
    """BM25 prefers the short chunks holding both words apart (joins are not indexed here); the one
    holding "vector search" as typed is read from its page (here: `texts`) among the first results
    and moves first; while none of the results read holds it, the next is read, one at a time, up
    to RECHECKED."""
    monkeypatch.setattr(index, "JOIN_MIN_SHARE", 2.0)
    padding = " ".join(f"word{n}" for n in range(60))
    docs = [
        SearchDoc("sources/a/", "A", "chunk-0", "chunk 0", "search search vector vector"),
        SearchDoc("sources/a/", "A", "chunk-1", "chunk 1", "search vector vector"),
        SearchDoc("sources/b/", "B", "chunk-0", "chunk 0", f"the vector search, {padding}"),
        SearchDoc("sources/c/", "C", "chunk-0", "chunk 0", "vector"),
    ]  # one word: last
    write_index(build_index(docs, TermCache(None)), tmp_path)
    typed, last = "sources/b/#chunk-0", "sources/c/#chunk-0"
    read: list[str] = []

    def ranked(text=lambda location: "") -> list[str]:
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
    assert ranked(texts)[0] == typed and read == apart + [typed, last]  # all among the first CHECKED
    monkeypatch.setattr(index, "CHECKED", 1)
    assert ranked(texts)[0] == typed and read == apart + [typed]  # then one at a time: found before the last
    monkeypatch.setattr(index, "RECHECKED", 2)  # the typed one is not among the results read
    assert ranked(texts) == apart + [typed, last] and read == apart


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


def test_browser_worker_and_cli_agree(shipped, page):
    browser = search_worker(page, shipped.site, AGREEMENT_QUERIES)
    for query, locations in zip(AGREEMENT_QUERIES, browser):
        assert locations == cli_search(shipped.site, query), query
    assert browser[-1] == [] and sum(map(bool, browser)) >= 8  # agreement on real result lists, not on empties


@pytest.mark.parametrize("query", ["开源模型更注重效率优化", "Cognitive Services"])
def test_search_box_finds_the_chunk_and_lands_on_it(shipped, page, query):
    expected = shipped_chunk_with(query)
    with serve(shipped.site) as url:
        with page.expect_response(lambda response: "search/citekb/docs.json" in response.url):
            page.goto(url + "/")  # the worker has loaded the index when docs.json has arrived
        box = page.locator("input.md-search__input")
        box.click()
        box.fill(query)
        box.press("End")  # Material queries on keyup, as when an input method commits the text
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
    background = index.section_text(html, "final-一背景")
    assert background.startswith("一、背景") and "在大型语言模型的发展中" in background
    assert "二、开源生态" not in background  # the section ends at the next heading
    assert "chunk" not in background and "大模型的未来竞争格局" not in background  # no citation label or preview


def test_the_result_count_says_it_counts_the_best_results_only(shipped):
    """The worker returns the LIMIT best results, so the count must not read as "this many match"."""
    config = BeautifulSoup(shipped.page(""), "html.parser").select_one("#__config").string
    assert json.loads(config)["translations"]["search.result.other"] == "最相关的 # 个结果"
