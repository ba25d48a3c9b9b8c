"""Boilerplate rules: generic, named, and never changing what the chunker sees."""

from __future__ import annotations

import pytest
from helpers import SEEDS
from hypothesis import example, given
from hypothesis import strategies as st

from build_tools.chunk import chunk_text
from build_tools.clean import cleaned, find_boilerplate
from build_tools.models import Source, document_text

# A page written for this test: other wording than seed 001 for every kind of boilerplate.
HAND_WRITTEN = """您的位置：首页 > 科技频道 > 人工智能 > 正文
向量数据库的三种索引
向量数据库的三种索引
作者：某某 2025-03-01

向量检索依赖近似最近邻索引。常见的三种是 IVF、HNSW 与 PQ。
……
……
HNSW 在内存充足时召回率最高。

上一篇：大模型推理加速综述
下一篇：RAG 系统的评测方法
分享到：微博 微信
相关阅读
  1. 某地春季运动会圆满落幕
  2. 一季度 GDP 同比增长 5.3%
  3. 如何挑选一台空气净化器
Copyright © 2025 某某网 版权所有 京ICP备12345678号
"""


def hidden(text: str) -> dict[str, list[str]]:
    by_rule: dict[str, list[str]] = {}
    for removal in find_boilerplate(text):
        by_rule.setdefault(removal.rule, []).append(text[removal.start : removal.end])
    return by_rule


def test_hand_written_page():
    text = document_text("向量数据库的三种索引", HAND_WRITTEN)
    rules = hidden(text)
    assert rules["breadcrumb"] == ["您的位置：首页 > 科技频道 > 人工智能 > 正文\n"]
    assert rules["repeated_title"] == ["向量数据库的三种索引\n", "向量数据库的三种索引\n"]
    assert rules["related_list"][0].startswith("相关阅读\n") and "空气净化器" in rules["related_list"][0]
    assert [s.split("：")[0] for s in rules["navigation"]] == ["上一篇", "下一篇", "分享到"]
    assert "京ICP备" in "".join(sum(rules.values(), []))  # the footer after the list is hidden too
    kept = cleaned(text, 0, len(text), find_boilerplate(text))
    assert kept.startswith("向量数据库的三种索引\n\n")  # the title itself (chunk 0) stays
    for content in ("近似最近邻索引", "……\n……", "HNSW 在内存充足时召回率最高", "作者：某某"):
        assert content in kept
    for junk in ("首页 >", "运动会", "上一篇", "分享到", "版权所有"):
        assert junk not in kept


def test_content_that_only_looks_like_boilerplate_is_kept():
    body = (
        "相关阅读\n"
        "这一段是正文，恰好以“相关阅读”为小标题开头，随后是一段很长的论述，长度远远超过一个新闻标题，"
        "因此它不是推荐列表，而是文章自己的内容，必须保留在页面上并参与检索。\n"
        "| 指标 | 有效 |\n| 指标 | 有效 |\n"
        "首页设计原则：简洁\n"
    )
    assert find_boilerplate(document_text("标题", body)) == []


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seed_001_related_list_and_breadcrumb():
    body = (SEEDS / "001_6b8bba4ee18cdc74.txt").read_text(encoding="utf-8")
    text = document_text("开源 vs. 闭源:大模型的未来竞争格局", body)
    rules = hidden(text)
    assert rules["breadcrumb"] == ["当前位置: 首页 > news >正文\n"]
    related = rules["related_list"][0]
    assert related.startswith("相关文章:") and related.rstrip().endswith("创今年新高")
    kept = cleaned(text, 0, len(text), find_boilerplate(text))
    assert "相关文章" not in kept and "当前位置" not in kept
    assert kept.rstrip().endswith("将是所有参与者成功的关键。")


def test_cleaning_never_changes_chunking():
    text = document_text("向量数据库的三种索引", HAND_WRITTEN * 5)
    before = chunk_text(text)
    find_boilerplate(text)
    assert chunk_text(text) == before


@pytest.mark.parametrize(
    ("line", "hidden_as_navigation"),
    [
        ("上一篇：大模型推理加速综述", True),
        ("Share this: Twitter", True),
        ("我们在上一篇文章中谈到推理加速", False),  # a navigation word, not at the line's start
        ("本文谈到版权所有的问题", False),
        ("地址：北京市海淀区 京ICP备12345678号-1", True),  # a registration number anywhere in the line
        ("京公网安备 11010802020000号", True),
        ("粤icp证123456号", True),
        ("ICP 许可的申请流程很长", False),
        ("联系我们 京ICP备12345678号" + "，" * 100, False),  # too long for a footer line
    ],
)
def test_navigation_lines(line, hidden_as_navigation):
    text = document_text("标题", f"正文第一段。\n{line}\n正文第二段。")
    assert (hidden(text).get("navigation") == [f"{line}\n"]) is hidden_as_navigation


@given(st.text(max_size=12), st.text(max_size=30), st.integers(0, 50), st.integers(0, 50))
@example("00000", "00", 7, 6)  # ends before it starts, inside the body: "" (it gave "0")
def test_a_sources_window_is_the_slice_of_its_text(title, body, start, end):
    """`Source.window` (a preview's chunk read without making the whole text): the same as slicing
    it, wherever the window falls (the title, the blank line after it, the body, beyond the end)."""
    source = Source("s", title, body)
    assert source.window(start, end) == source.text[start:end]
