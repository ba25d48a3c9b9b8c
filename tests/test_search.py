"""Search: query rule, the CLI over the prebuilt index, and the browser worker agreeing with it."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, kb, serve

from build_tools.index import query_terms, tokenize
from build_tools.knowledge_base import build

# Phrases each found in exactly one shipped chunk (the test checks that premise itself).
KNOWN_ITEMS = ["山姆·阿尔特曼", "Cognitive Services"]
AGREEMENT_QUERIES = ["开源模型", "开源大模型", "OpenAI 成功经验", "Hugging Face", "latency", "laten", "风险管理与合规性",
                     "闭源", "数据隐私 安全", "transformer 模型", "不存在的词语组合", "xyzzyqux"]


def test_query_rule_tries_every_indexed_substring():
    vocabulary = {"开源", "模型", "开源模型", "型", "大"}
    assert query_terms("开源模型", vocabulary.__contains__) == [("开源", False), ("开源模型", False), ("模型", False)]
    assert query_terms("开源大型", vocabulary.__contains__) == [("开源", False), ("大", False), ("型", False)]
    assert query_terms("Ｌatency of LLM", set().__contains__) == [("latency", False), ("of", False), ("llm", True)]


def test_tokens_fold_case_and_width_and_segment_chinese():
    tokens = tokenize("ＯpenAI 发布了开源模型 Latency")
    assert {"openai", "latency", "开源", "模型"} <= set(tokens)


def shipped_chunk_with(phrase: str) -> str:
    knowledge = build(REPO / "sources")
    hits = [f"sources/{slug}/#chunk-{c.index}" for slug, chunks in knowledge.chunks.items() for c in chunks
            if phrase.lower() in c.text.lower()]
    assert len(hits) == 1, (phrase, hits)
    return hits[0]


def cli_search(site, query: str, k: int = 10) -> list[str]:
    done = kb("search", query, "--site", str(site), "-k", str(k), "--json")
    return [item["location"] for item in json.loads(done.stdout)]


@pytest.mark.parametrize("phrase", KNOWN_ITEMS)
def test_cli_ranks_the_known_chunk_first(shipped, phrase):
    assert cli_search(shipped.site, phrase)[0] == shipped_chunk_with(phrase)


def test_hidden_boilerplate_is_not_indexed(shipped):
    assert "Spring Boot" in (REPO / "sources" / "pages" / "open-vs-closed-llm-landscape.txt").read_text(encoding="utf-8")
    assert cli_search(shipped.site, "Spring Boot") == []  # only in the 相关文章 list of seed 001


WORKER_QUERY = """async ([queries, k]) => {
  const config = JSON.parse(document.getElementById("__config").textContent)
  const worker = new Worker(config.search)
  const reply = message => new Promise(resolve => {
    worker.onmessage = event => resolve(event.data)
    worker.postMessage(message)
  })
  await reply({type: 0, data: {config: {}, docs: [], options: {}}})
  const out = []
  for (const query of queries) {
    const result = await reply({type: 2, data: query})
    out.push(result.data.items.slice(0, k).map(group => group[0].location))
  }
  worker.terminate()
  return out
}"""


def test_browser_worker_and_cli_agree(shipped, page):
    with serve(shipped.site) as url:
        page.goto(url + "/")
        browser = page.evaluate(WORKER_QUERY, [AGREEMENT_QUERIES, 10])
    for query, locations in zip(AGREEMENT_QUERIES, browser):
        assert locations == cli_search(shipped.site, query), query
    assert browser[-1] == [] and sum(map(bool, browser)) >= 8  # agreement on real result lists, not on empties


@pytest.mark.parametrize("query", ["山姆·阿尔特曼", "Cognitive Services"])
def test_search_box_finds_the_chunk_and_lands_on_it(shipped, page, query):
    expected = shipped_chunk_with(query)
    with serve(shipped.site) as url:
        with page.expect_response(lambda response: "search/citekb/docs.json" in response.url):
            page.goto(url + "/")  # the worker has loaded the index when docs.json has arrived
        box = page.locator("input.md-search__input")
        box.click()
        box.fill(query)
        box.press("End")  # Material queries on keyup, as when an input method commits the text
        first = page.locator(".md-search-result__list > li a").first
        first.wait_for(state="visible", timeout=15000)
        first.click()
        anchor = expected.split("#")[1]
        page.wait_for_url(f"**/{expected.split('#')[0]}**")
        assert page.evaluate("location.hash") == "#" + anchor
        assert page.evaluate("document.querySelector(':target').id") == anchor
        marks = page.locator(f"section#{anchor} mark")  # the query's words are highlighted in the chunk
        marks.first.wait_for(state="attached")
        assert all(mark.lower() in query.lower() for mark in marks.all_inner_texts())
