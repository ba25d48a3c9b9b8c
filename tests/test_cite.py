"""Citation parsing and resolution: every form, hostile text, and the `kb cites` interface."""

from __future__ import annotations

import json

import pytest
from conftest import kb, need_pipeline

from build_tools.chunk import chunk_text
from build_tools.cite.parse import parse_citations
from build_tools.cite.resolve import Scope, resolve
from build_tools.models import FileSource, Source


def parsed(text: str) -> list[tuple]:
    return [(c.kind, c.title, c.chunk, c.file, c.locator, c.error is not None) for c in parse_citations(text)]


@pytest.mark.parametrize("text, expected", [
    ('[long_context: "OpenAI 开源模型重磅回归", chunk 1]', [("long_context", "OpenAI 开源模型重磅回归", 1, None, None, False)]),
    ("[long_context: “弯引号标题”, chunk 2]", [("long_context", "弯引号标题", 2, None, None, False)]),
    ('[long_context:   "空格"  ，  chunk   4 ]', [("long_context", "空格", 4, None, None, False)]),
    ('[long_context: "T", chunk 1, 2]', [("long_context", "T", 1, None, None, False), ("long_context", "T", 2, None, None, False)]),
    ('[long_context: "T", chunk 0-1]', [("long_context", "T", 0, None, None, False), ("long_context", "T", 1, None, None, False)]),
    ('[long_context: "A", chunk 0; long_context: "B", chunk 3]', [("long_context", "A", 0, None, None, False), ("long_context", "B", 3, None, None, False)]),
    ("[文档: gpt-4 technical report.pdf]", [("document", None, None, "gpt-4 technical report.pdf", None, False)]),
    ("[Doc: paper.pdf, Table 7]", [("document", None, None, "paper.pdf", "Table 7", False)]),
    ("[文档: paper.pdf, 第3节]", [("document", None, None, "paper.pdf", "第3节", False)]),
    ("[图片:logo.png][Image: image0.png]", [("image", None, None, "logo.png", None, False), ("image", None, None, "image0.png", None, False)]),
    ("[视频: demo.mp4] [Video: b.webm]", [("video", None, None, "demo.mp4", None, False), ("video", None, None, "b.webm", None, False)]),
    ("[Web: https://huggingface.co/]", [("web", "https://huggingface.co/", None, None, None, False)]),
    ("见[RAG-3]。", [("rag", None, None, None, "3", False)]),
    ("[paper.pdf, page 3]", [("document", None, None, "paper.pdf", "page 3", False)]),
    ("[long_context]", [("long_context", None, None, None, None, True)]),
    ("[文档]", [("document", None, None, None, None, True)]),
    ('[long_context: "no chunk"]', [("long_context", None, None, None, None, True)]),
    ('[long_context: "T", chunk -1]', [("long_context", None, None, None, None, True)]),
    ('[long_context: "T", chunk 9-2]', [("long_context", None, None, None, None, True)]),
    ('[long_context: "unclosed", chunk 1 and the line goes on', [("long_context", None, None, None, None, True)]),
    ('[long_context: "a]b", chunk 1]', [("long_context", "a]b", 1, None, None, False)]),
    ('[long_context: "say "hi" <script>", chunk 2]', [("long_context", 'say "hi" <script>', 2, None, None, False)]),
    ("[1] [0] [] [start:end] [Document type] plain text", []),
])
def test_parse_forms(text, expected):
    assert parsed(text) == expected


def test_huge_chunk_number_is_parsed_not_crashed():
    (citation,) = parse_citations('[long_context: "T", chunk 99999999999]')
    assert citation.chunk == 99999999999


def scope(*bodies: tuple[str, str], files: tuple[FileSource, ...] = ()) -> Scope:
    sources = [Source(f"s{i}", title, body) for i, (title, body) in enumerate(bodies)]
    return Scope(sources, {s.slug: len(chunk_text(s.text)) for s in sources},
                 files={f.name.lower(): f for f in files}, files_folder="files/003")


def resolved(text: str, where: Scope) -> list[tuple]:
    return [(r.status, r.target, r.suggestion) for r in (resolve(c, where) for c in parse_citations(text))]


LONG_TITLE = "OpenAI 开源模型重磅回归：技术突破与行业范式的双重革命，以及它对全球开源社区的长期影响-今日头条"


def test_resolution_statuses():
    where = scope((LONG_TITLE, "正文" * 1000), ("Hugging Face – The AI community", "短文。"),
                  files=(FileSource("f1", "logo.png", "files/003/logo.png", "image"),))
    cut = LONG_TITLE[:50]
    assert resolved(f'[long_context: "{cut}", chunk 1]', where) == [("resolved", "sources/s0/#chunk-1", None)]
    assert resolved('[long_context: "Hugging Face – The AI community", chunk 0]', where)[0][:2] == ("resolved", "sources/s1/#chunk-0")
    assert resolved('[long_context: "Hugging Face – The AI community", chunk 5]', where)[0][0] == "chunk_out_of_range"
    assert resolved('[long_context: "T", chunk 99999999999]', where)[0][0] == "unknown_source"
    near = resolved('[long_context: "Hugging Face – The AI comunity", chunk 0]', where)
    assert near[0][0] == "unknown_source" and near[0][1] is None and "Hugging Face – The AI community" in near[0][2]
    assert resolved('[long_context: "Hugging", chunk 0]', where)[0][0] == "unknown_source"  # too short to be a cut
    assert resolved("[图片: LOGO.png]", where) == [("resolved", "sources/f1/", None)]
    assert resolved("[文档: gpt-4 technical report.pdf]", where)[0][0] == "missing_file"
    for hostile in ("[文档: ../../etc/passwd]", "[图片: ..\\logo.png]", "[文档: .hidden]"):
        assert resolved(hostile, where)[0][:2] == ("malformed", None)


def test_invisible_characters_and_width_do_not_break_matching():
    where = scope(("ＧＰＴ－４ 技术报告\u200b解读", "正文。"),)
    assert resolved('[long_context: "GPT-4 技术报告解读", chunk 0]', where)[0][0] == "resolved"


def test_rag_references_resolve_through_the_reference_list():
    where = scope(("Deep Research类产品深度测评：下一个大模型产品跃迁点到来了吗？-网易", "正文。"),)
    where.rag_titles = {"1": "Deep Research类产品深度测评：下一个大模型产品跃迁点到来了吗？-网易"}
    assert resolved("见[RAG-1]与[RAG-2]", where) == [
        ("resolved", "sources/s0/", None), ("unknown_source", None, None)]


@pytest.mark.pipeline
def test_kb_cites_targets_hold_the_reference_chunk_text():
    pipeline = need_pipeline()
    report = pipeline / "results/bench_case1114/003_2025-12-03_19-51-33_comparison.txt"
    corpus = pipeline / "datasets/003/long_context_sampled_60.json"
    rows = json.loads(kb("cites", str(report), "--corpus", str(corpus), "--files", str(corpus.parent)).stdout)
    assert rows and all(set(r) >= {"kind", "raw", "title", "chunk", "status", "target"} for r in rows)
    table = [json.loads(line) for line in
             (pipeline / "reference_chunks/003/long_context_sampled_60.chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    done = [r for r in rows if r["kind"] == "long_context" and r["status"] == "resolved"]
    assert len(done) >= 10
    page_of_title: dict[str, str] = {}
    for row in done:
        titles = {t["title"] for t in table if t["title"].startswith(row["title"])}
        assert len(titles) == 1, row  # cited titles are cut prefixes of exactly one document
        (title,) = titles
        assert any(t["title"] == title and t["chunk_index"] == row["chunk"] for t in table)
        page_of_title.setdefault(title, row["target"].split("#")[0])
        assert row["target"] == f"{page_of_title[title]}#chunk-{row['chunk']}"
    assert len(set(page_of_title.values())) == len(page_of_title)  # one page per document
    statuses = {r["status"] for r in rows}
    assert statuses <= {"resolved", "unknown_source", "chunk_out_of_range", "missing_file", "malformed"}
    logo = [r for r in rows if r["kind"] == "image"]
    assert logo and all(r["status"] == "resolved" for r in logo)
