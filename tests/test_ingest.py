"""Bad input is named (file, line, what is wrong) and never costs the other sources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from helpers import build_site, kb, write_page

from build_tools import stats
from build_tools.ingest import load
from build_tools.knowledge_base import Memo, build


def make_bad_folder(root: Path) -> None:
    write_page(root, "good.txt", "好的来源", "这是一篇正常的文章。\n")
    (root / "pages" / "empty.txt").write_text("---\ntitle: 空\n---\n  \n", encoding="utf-8")
    (root / "pages" / "latin1.txt").write_bytes("---\ntitle: x\n---\nline one\ncaf\xe9\n".encode("latin-1"))
    (root / "pages" / "no-header.txt").write_text("just text\n", encoding="utf-8")
    corpora = root / "corpora" / "009"
    corpora.mkdir(parents=True)
    (corpora / "broken.json").write_text('[\n {"title": "a", "page_body": "b"},\n {"title": "c", \n', encoding="utf-8")
    (corpora / "items.json").write_text(
        '[\n {"title": "完整条目", "page_body": "正文。"},\n {"title": "只有标题"},\n 42,\n {"url": null},\n {"title": 7, "content": null, "page_body": null},\n {"content": [1]}\n]',
        encoding="utf-8",
    )


def test_each_defect_is_named_with_file_and_line(tmp_path):
    make_bad_folder(tmp_path)
    loaded = load(tmp_path)
    messages = sorted(str(p) for p in loaded.problems)
    assert any(m.startswith("pages/empty.txt: empty source") for m in messages)
    assert any(m.startswith("pages/latin1.txt:5: not UTF-8") for m in messages)
    assert any(m.startswith("pages/no-header.txt:1: missing the YAML header") for m in messages)
    assert any(m.startswith("corpora/009/broken.json:4:") and "invalid JSON" in m for m in messages)
    assert "corpora/009/items.json:4: item 2 is not an object {title, content/page_body, url}" in messages
    assert not any(m.startswith("corpora/009/items.json:5:") for m in messages)  # valid: an empty document
    assert "corpora/009/items.json:7: item 5: the text is not a string and there is no title" in messages
    # A title alone is a document to the pipeline, and a number title is formatted as Python does.
    titles = {s.title: s for s in loaded.sources.values()}
    assert set(titles) == {"完整条目", "只有标题", "", "7", "好的来源"}
    assert titles["7"].text == "7\n\nNone"  # f"{title}\n\n{content}" with `None or None`
    slugs = loaded.corpora["corpora/009/items"].slugs
    assert all(slugs[i] for i in (0, 1, 3, 4)) and slugs[2] == slugs[5] == ""


def test_kb_chunk_reports_bad_items_and_keeps_doc_index(tmp_path):
    corpus = tmp_path / "c.json"
    corpus.write_text(json.dumps(["x", {"title": "第二篇", "page_body": "内容"}], ensure_ascii=False), encoding="utf-8")
    done = kb("chunk", str(corpus), check=False)
    assert done.returncode == 1
    assert "c.json:1: item 0 is not an object" in done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["doc_index"], r["content"]) for r in rows] == [(1, "第二篇\n\n内容")]
    (tmp_path / "bad.json").write_bytes(b'[{"title": "\xff"}]')
    done = kb("chunk", str(tmp_path / "bad.json"), check=False)
    assert done.returncode == 1 and "bad.json:1: not UTF-8" in done.stderr


def test_build_keeps_good_sources_and_strict_names_the_bad_file(tmp_path):
    sources = tmp_path / "kb"
    make_bad_folder(sources)
    lenient = build_site(sources, tmp_path / "site", strict=False)
    assert lenient.returncode == 0, lenient.log
    index = lenient.page("sources")
    assert "好的来源" in index and "完整条目" in index
    assert any("pages/latin1.txt:5: not UTF-8" in w for w in lenient.warnings)
    for quiet in (False, True):  # -q drops warnings before MkDocs counts them: our own error must stop it
        strict = build_site(sources, tmp_path / f"strict-{quiet}", quiet=quiet)
        assert strict.returncode != 0
        assert "corpora/009/items.json:4: item 2 is not an object" in strict.log
        assert "pages/latin1.txt:5: not UTF-8" in strict.log


def test_an_empty_or_missing_final_report_is_a_failed_run_not_a_problem(tmp_path):
    """A run that stopped before its validation wrote only initial_report.md: a failed run with its
    original report kept (it was a problem, and the run had no page)."""
    empty, initial, none = (tmp_path / "reports" / name for name in ("empty-run", "initial-only", "no-report"))
    for folder in (empty, initial, none):
        folder.mkdir(parents=True)
    (empty / "final_report.md").write_text("\n", encoding="utf-8")
    (initial / "initial_report.md").write_text('# 初稿\n\n论断[long_context: "T", chunk 1]。\n', encoding="utf-8")
    (none / "notes.json").write_text("{}", encoding="utf-8")
    loaded = load(tmp_path)
    assert {slug: (r.final, r.original) for slug, r in loaded.reports.items()} == {
        "empty-run": ("\n", None),
        "initial-only": ("", '# 初稿\n\n论断[long_context: "T", chunk 1]。\n'),
    }
    assert [str(p) for p in loaded.problems] == [
        "reports/no-report: no report text found (expected *_comparison.txt, final_report.md or a report .md)"
    ]
    assert all(stats.failed(r.final) for r in loaded.reports.values())


def test_a_serve_rebuild_rereads_exactly_the_corpora_that_changed(tmp_path):
    """`mkdocs serve` keeps corpora between rebuilds (knowledge_base.Memo): an edited, added or
    removed corpus file shows at once, and a kept one is a fresh copy each time."""
    corpora = tmp_path / "corpora" / "001"
    corpora.mkdir(parents=True)
    first, second = corpora / "a.json", corpora / "b.json"
    first.write_text(json.dumps([{"title": "甲", "content": "第一版。"}], ensure_ascii=False), encoding="utf-8")
    second.write_text(json.dumps([{"title": "乙", "content": "不变。"}], ensure_ascii=False), encoding="utf-8")
    memo = Memo()
    before = build(tmp_path, memo)
    before.loaded.sources[before.loaded.corpora["corpora/001/b"].slugs[0]].meta["touched"] = "x"
    first.write_text(json.dumps([{"title": "甲", "content": "第二版，更长。"}], ensure_ascii=False), encoding="utf-8")
    third = corpora / "c.json"
    third.write_text(json.dumps([{"title": "丙", "content": "新的。"}], ensure_ascii=False), encoding="utf-8")
    after = build(tmp_path, memo)
    bodies = {s.title: s for s in after.loaded.sources.values()}
    assert bodies["甲"].body == "第二版，更长。" and bodies["丙"].body == "新的。"
    assert "touched" not in bodies["乙"].meta  # what a build did to a kept source stays in that build
    third.unlink()
    assert set(build(tmp_path, memo).loaded.corpora) == {"corpora/001/a", "corpora/001/b"}
    assert set(memo.corpora) == {first, second}


def test_a_kept_report_folder_is_read_again_when_any_of_its_files_changes(tmp_path):
    """`mkdocs serve` keeps each report folder's read: a file added, or one rewritten to the same
    size, is read again; an untouched folder is not, and each read gets its own Report to rename."""
    import os

    from build_tools.ingest import load_report_kept

    root = tmp_path / "kb"
    folder = root / "reports" / "r1"
    folder.mkdir(parents=True)
    (folder / "report.yaml").write_text("title: First\n", encoding="utf-8")
    (folder / "final_report.md").write_text("# R\n\nThe final text.\n", encoding="utf-8")
    kept: dict = {}
    first, _ = load_report_kept(folder, root, kept)
    again, _ = load_report_kept(folder, root, kept)
    assert again == first and again is not first and again.meta is not first.meta
    (folder / "initial_report.md").write_text("# R\n\nThe first draft.\n", encoding="utf-8")
    assert "The first draft." in load_report_kept(folder, root, kept)[0].original
    stat = (folder / "report.yaml").stat()
    (folder / "report.yaml").write_text("title: Other\n", encoding="utf-8")  # the same size
    os.utime(folder / "report.yaml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_report_kept(folder, root, kept)[0].title == "Other"
    (folder / "final_report.md").unlink()
    assert load_report_kept(folder, root, kept) == load_report_kept(folder, root, {})  # no report, a problem


def _corpus(root: Path, task: str, docs: list[dict]) -> None:
    path = root / "corpora" / task / "long_context_sampled_60.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")


def _report(root: Path, name: str, task: str, final: str) -> None:
    folder = root / "reports" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.yaml").write_text(
        f"task: {task}\ncorpus: corpora/{task}/long_context_sampled_60\n", encoding="utf-8"
    )
    (folder / "final_report.md").write_text(final, encoding="utf-8")


def test_a_serve_rebuild_resolves_again_exactly_the_reports_whose_inputs_changed(tmp_path):
    """`mkdocs serve` keeps each report's resolved citations and backlinks (Memo.cited) while the
    report, its corpus's chunk counts and every source's title, header and corpus stay the same:
    after each edit the knowledge base is the one a first build makes, and a report the edit could
    not change is not resolved again."""
    long_body = "".join(f"第{n}句话讲的是检索增强生成的评测细节。" for n in range(400))
    a_docs = [
        {"title": "甲文章", "page_body": "甲说模型下载量破三千万。", "url": "https://a.example/1"},
        {"title": "乙文章", "page_body": "乙说了另一件事。"},
    ]
    b_docs = [{"title": "丙文章", "page_body": "丙说罚款671万元。"}]
    _corpus(tmp_path, "t1", a_docs)
    _corpus(tmp_path, "t2", b_docs)
    _report(
        tmp_path,
        "r1",
        "t1",
        '# 一\n\n下载量破三千万[long_context: "甲文章", chunk 0]。后来又说[long_context: "甲文章", chunk 3]。'
        "网址[https://a.example/1]。\n",
    )
    _report(tmp_path, "r2", "t2", '# 二\n\n罚款671万元[long_context: "丙文章", chunk 0]。\n')
    memo = Memo()

    def rebuilt() -> tuple[dict, dict]:
        served, fresh = build(tmp_path, memo), build(tmp_path)
        assert {s: (c.final, c.original) for s, c in served.cited.items()} == {
            s: (c.final, c.original) for s, c in fresh.cited.items()
        }
        assert served.backlinks == fresh.backlinks
        assert list(served.backlinks) == list(fresh.backlinks)  # in the same order
        return served.cited, {s: c.final for s, c in served.cited.items()}

    before, _ = rebuilt()
    _corpus(tmp_path, "t1", [{**a_docs[0], "page_body": "甲说模型下载量破三千万次。"}, a_docs[1]])
    after, final = rebuilt()  # the text alone: nothing to resolve again
    assert after["r1"] is before["r1"] and after["r2"] is before["r2"]
    assert final["r1"][1].status == "chunk_out_of_range"
    _corpus(tmp_path, "t1", [{**a_docs[0], "page_body": long_body}, a_docs[1]])
    longer, final = rebuilt()  # more chunks: the corpus's reports only
    assert longer["r1"] is not after["r1"] and longer["r2"] is after["r2"]
    assert final["r1"][1].status == "resolved"
    _corpus(tmp_path, "t1", [{**a_docs[0], "page_body": long_body, "title": "甲文章改名"}, a_docs[1]])
    renamed, final = rebuilt()  # a title: every report
    assert renamed["r1"] is not longer["r1"] and renamed["r2"] is not longer["r2"]
    assert final["r1"][0].status == "unknown_source"
    _corpus(tmp_path, "t1", [{**a_docs[0], "page_body": long_body, "url": "https://a.example/2"}, a_docs[1]])
    moved, final = rebuilt()  # a URL
    assert final["r1"][2].status == "unknown_source" and moved["r2"] is not renamed["r2"]
    _report(
        tmp_path,
        "r2",
        "t2",
        '# 二\n\n罚款671万元[long_context: "丙文章", chunk 0]。又说[long_context: "丙文章", chunk 0]。\n',
    )
    edited, final = rebuilt()  # a report's text: that report
    assert edited["r1"] is moved["r1"] and len(final["r2"]) == 2


def body_hash_clash() -> tuple[str, str]:
    """Two bodies whose hashes share their first 6 hex digits (found in the first 600 tried)."""
    seen: dict[str, str] = {}
    for n in range(100_000):
        body = f"正文{n}"
        prefix = hashlib.sha1(body.encode("utf-8")).hexdigest()[:6]
        if prefix in seen:
            return seen[prefix], body
        seen[prefix] = body
    raise AssertionError("no clash in 100,000 bodies")


def test_same_titled_documents_whose_body_hashes_clash_are_all_published_without_a_problem(tmp_path):
    """Documents sharing a title are told apart by a short hash of their body; among 4,000 untitled
    pages two such hashes are likely to clash. That is no defect of the input: no problem (which
    would fail a strict build), and each document keeps a page of its own."""
    first, second = body_hash_clash()
    docs = [{"title": "(无标题)", "page_body": body} for body in (first, second, "另一篇")]
    path = tmp_path / "corpora" / "001" / "long_context_sampled_60.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    loaded = load(tmp_path)
    assert loaded.problems == []
    slugs = next(iter(loaded.corpora.values())).slugs
    assert len(set(slugs)) == 3 and [loaded.sources[s].body for s in slugs] == [first, second, "另一篇"]
    assert slugs[0].endswith(hashlib.sha1(first.encode("utf-8")).hexdigest()[:6])
