"""The chunker must name exactly the chunks the pipeline's retriever named."""

from __future__ import annotations

import json

import pytest
from helpers import corpus_files, kb, need_pipeline

from build_tools.chunk import chunk_text
from build_tools.models import document_text


@pytest.mark.pipeline
@pytest.mark.parametrize("corpus", corpus_files() or [None], ids=lambda p: p and f"{p.parent.name}/{p.name}")
def test_kb_chunk_equals_reference_table(corpus):
    pipeline = need_pipeline()
    reference = pipeline / "reference_chunks" / corpus.parent.name / corpus.name.replace(".json", ".chunks.jsonl")
    expected = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines()]
    produced = [json.loads(line) for line in kb("chunk", str(corpus)).stdout.splitlines()]
    fields = ("doc_index", "chunk_index", "title", "start_char", "end_char", "content")
    assert len(produced) == len(expected)
    for mine, theirs in zip(produced, expected):
        assert {k: mine[k] for k in fields} == {k: theirs[k] for k in fields}


def test_paragraph_break_is_preferred_and_the_tail_repeats():
    text = "A" * 1000 + "\n\n" + "B" * 1000
    chunks = chunk_text(text)
    # window 0..1500 is cut after the blank line; the next starts 200 before that cut.
    assert [(c.start, c.end) for c in chunks] == [(0, 1002), (802, 2002), (1802, 2002)]
    assert chunks[0].text == "A" * 1000
    assert chunks[1].text == "A" * 198 + "\n\n" + "B" * 1000
    assert chunks[2].text == "B" * 200


def test_sentence_break_order_and_hard_cut():
    sentence = "字" * 699 + "。"  # 700 characters ending in a full stop
    text = sentence * 3  # 2100 characters, no newline anywhere
    chunks = chunk_text(text)
    assert chunks[0].end == 1400  # after the last 。 inside the first 1500 characters
    assert chunks[1].start == 1200
    no_breaks = "x" * 1600
    assert [(c.start, c.end) for c in chunk_text(no_breaks)] == [(0, 1500), (1300, 1600), (1400, 1600)]


def test_title_is_chunk_zero_and_empty_documents():
    # A short document is one window: title and body together.
    assert [c.text for c in chunk_text(document_text("标题", "正文。"))] == ["标题\n\n正文。"]
    # A long one is cut after the blank line that follows the title.
    titled = chunk_text(document_text("标题", "正文" * 800))
    assert (titled[0].text, titled[0].end, titled[1].start) == ("标题", 4, 4)
    assert [c.text for c in chunk_text(document_text("只有标题", ""))] == ["只有标题"]
    assert [c.text for c in chunk_text("")] == ["[Empty Document]"]
    assert [c.text for c in chunk_text(" \n\n \n")] == ["[Empty Document]"]


def test_whitespace_windows_take_no_number():
    # 0..102 is "a"s; the window 102..1602 holds only spaces (skipped); 1402.. and 1614.. hold the "b"s.
    text = "a" * 100 + "\n\n" + " " * 1700 + "\n\n" + "b" * 10
    chunks = chunk_text(text)
    assert [(c.index, c.start, c.text) for c in chunks] == [(0, 0, "a" * 100), (1, 1402, "b" * 10), (2, 1614, "b" * 10)]


def test_chunk_ids_follow_content_only():
    same = [chunk_text(document_text("T", "body")) for _ in range(2)]
    other = chunk_text(document_text("T", "another body"))
    assert same[0][0].id == same[1][0].id
    assert same[0][0].id != other[0].id
    assert len(same[0][0].id) == 16
