"""Traditional Chinese pages (a Taiwan or Hong Kong site) read as Simplified by the search and the
audit (`build_tools/simplified.py`): a query or a claim typed in Simplified finds their words, and
the page is shown as written."""

from __future__ import annotations

import json
import random

import pytest
from helpers import kb, search_box, served_report, write_page
from test_search import built_searcher
from test_verdicts import kb_audit

from benchmarks import fold_bench
from build_tools.analysis import fold, tokenize
from build_tools.chunk import chunk_text
from build_tools.index import SearchDoc
from build_tools.models import document_text
from build_tools.simplified import SHORT, pairs, simplified

# Traditional → Simplified as any dictionary gives them (not read from the table under test).
KNOWN = [
    ("開源模型", "开源模型"),
    ("臺灣的人工智慧發展", "台湾的人工智慧发展"),
    ("這裡後來發佈了幾個版本", "这里后来发布了几个版本"),
    ("語言模型與資料庫", "语言模型与资料库"),
    ("OpenAI 開源 GPT-OSS，網頁：https://openai.com", "OpenAI 开源 GPT-OSS，网页：https://openai.com"),
    ("开源模型已经发布", "开源模型已经发布"),  # Simplified stays
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), KNOWN)
def test_traditional_characters_read_as_simplified(text, expected):
    assert simplified(text) == expected
    assert simplified(text * 40) == expected * 40  # a long text: the array path
    assert fold(text) == fold(expected)


def test_the_table_is_one_character_for_one_and_folding_twice_is_folding_once():
    traditional, plain = pairs()
    assert len(traditional) == len(plain) == len(set(traditional)) > 2500
    assert all(a != b and a < "\U00010000" and b < "\U00010000" for a, b in zip(traditional, plain))
    assert simplified(plain) == plain and simplified(traditional) == plain


def test_the_long_and_short_paths_fold_every_character_as_the_table_says():
    """Texts around `SHORT` of Traditional, Simplified and Latin letters, an astral character and a
    lone surrogate: each folded as translating every character through the table would."""
    traditional, plain = pairs()
    table = str.maketrans(traditional, plain)
    rng = random.Random(5)
    alphabet = traditional[:50] + plain[:50] + "abc 123，。\U00020000\ud800\udc00"  # lone surrogates, maybe in a row
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 2 * SHORT)))
        if rng.random() < 0.3:
            text = "".join(c for c in text if c not in traditional)
        assert simplified(text) == text.translate(table), repr(text)


def test_a_traditional_page_is_searched_in_simplified_and_the_other_way(tmp_path):
    docs = [
        SearchDoc("sources/tw/", "開源模型的發展", "chunk-0", "块 0", "臺灣廠商發佈了開源權重模型，採用混合專家架構。"),
        SearchDoc("sources/cn/", "闭源路线", "chunk-0", "块 0", "闭源厂商坚持商业授权，强调数据安全。"),
    ]
    searcher = built_searcher(docs, tmp_path / "index")
    assert [r["location"] for r in searcher.search("开源权重模型", 5)] == ["sources/tw/#chunk-0"]
    assert searcher.search("閉源廠商", 5)[0]["location"] == "sources/cn/#chunk-0"  # both hold 厂商
    assert {"开源", "模型", "发展"} <= set(tokenize("開源模型的發展"))


def test_a_simplified_claim_citing_a_traditional_page_is_checked_against_it(tmp_path, capsys):
    """The claim's words are found in the page written in Traditional characters: `supported`, the
    span is the page's own sentence, as written."""
    stated = "OpenAI於2025年8月發佈了開源權重模型gpt-oss，採用混合專家架構。"
    body = "\n\n".join([stated, *[f"第{n}段：業界對這次發佈的反應不一，討論仍在繼續。" * 4 for n in range(6)]])
    chunks = chunk_text(document_text("OpenAI開源", body))
    report = '# 报告\n\nOpenAI于2025年8月发布了开源权重模型gpt-oss，采用混合专家架构[long_context: "OpenAI開源", chunk 0]。\n'
    [audit] = kb_audit(tmp_path, capsys, {"OpenAI開源": body}, report)
    assert (audit["verdict"], audit["missing"]) == ("supported", [])
    start, end = audit["span"]
    assert chunks[0].text[start:end].strip("。") in stated


def opened_marks(page, home: str, query: str) -> tuple[list[str], list[str]]:
    """`query` typed in the search box: the first chunk result's text and its marked words, then,
    once it is clicked, the words marked on the page it opens (Material's search.highlight)."""
    search_box(page, home, query)
    first = page.locator('.md-search-result__list > li a[href*="#"] article').first
    first.wait_for(state="visible", timeout=15000)
    shown = [first.inner_text(), *first.locator("mark").all_inner_texts()]
    first.click()
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    return shown, page.locator("mark[data-md-highlight]").all_inner_texts()


@pytest.mark.browser
def test_the_search_box_finds_a_traditional_page_and_marks_its_words(tmp_path, page):
    """Typed in Simplified, the query finds the page written in Traditional characters; the snippet
    shows the page's own words, the matched ones marked, and so does the page it opens: each word
    whole (半導體, not its first two characters, a sub-word the query also holds)."""
    root = tmp_path / "kb"
    body = "臺灣廠商發佈了開源權重模型，採用混合專家架構，可在單張顯示卡上執行。臺灣的半導體供應鏈因此受惠。"
    write_page(root, "tw.txt", "臺灣開源模型觀察", body)
    write_page(root, "cn.txt", "闭源路线", "闭源厂商坚持商业授权，强调数据安全与服务质量。")
    with served_report(root, "r", '# 报告\n\n台湾的观察[long_context: "臺灣開源模型觀察", chunk 0]。\n') as url:
        home = url.rsplit("/reports/", 1)[0]
        (text, *snippet_marks), page_marks = opened_marks(page, home, "开源权重模型")
        assert "發佈了開源權重模型" in text and "開源權重模型" in "".join(snippet_marks)
        assert {"開源", "權重"} <= set(page_marks)
        _, page_marks = opened_marks(page, home, "半导体供应链")
        assert {"半導體", "供應鏈"} <= set(page_marks)
    found = json.loads(kb("search", "开源权重模型", "--site", str(root.parent / "site"), "--json").stdout)
    assert "臺灣開源模型觀察" in found[0]["title"]  # `kb search` reads the index as the browser does


def test_the_fold_bench_counts_the_texts_holding_traditional_characters():
    found = fold_bench.measure(["開源模型", "开源模型", "open weights"], runs=1)
    assert (found["texts"], found["characters"], found["holding_traditional"]) == (3, 20, 1)
