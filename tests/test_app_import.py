"""`kb import` of a pipeline app folder mixing both corpus schemas and every report layout
(tests/fixtures.py `make_sample_app_folder`): nothing dropped, every new citation form lands where it says."""

from __future__ import annotations

import json

import pytest
import yaml
from bs4 import BeautifulSoup
from fixtures import OLD_SCHEMA_TITLE, PLAN, PLAN_URL, make_sample_app_folder
from helpers import build_site, kb, kb_check, landed, linkchecker

from build_tools.knowledge_base import build


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    make_sample_app_folder(root / "app")
    done = kb("import", str(root / "app"), "--sources", str(root / "kb"))
    site = build_site(root / "kb", root / "site", quiet=True)
    assert site.returncode == 0, site.log
    assert site.log == "", site.log  # -q is quiet: no third-party noise (jieba's dictionary lines, PDF fonts)
    return root, done, site


def soup_of(site, path: str) -> BeautifulSoup:
    return BeautifulSoup(site.page(path), "html.parser")


def test_every_item_of_both_schemas_is_a_source(app):
    root, done, _ = app
    knowledge = build(root / "kb")
    assert knowledge.problems == []
    for key, items in [("corpora/101/long_context_sampled_60", 3), ("corpora/102/long_context_sampled_32k", 2)]:
        slugs = knowledge.loaded.corpora[key].slugs
        assert len(slugs) == items and all(slugs)
    titles = {s.title: s for s in knowledge.loaded.sources.values()}
    assert titles["两个字段"].body == "content 字段的正文。"  # the pipeline's precedence
    assert titles["只有标题"].text == "只有标题\n\n"  # a title alone is a document
    assert titles[PLAN].meta["origin"] == PLAN_URL


def test_import_prints_a_row_per_task_and_names_what_it_skipped(app):
    _, done, _ = app
    rows = {
        line.split()[1]: line.split()[2:]
        for line in done.stdout.splitlines()
        if line.split()[1:2] in (["101"], ["102"])
    }
    # task: sources files reports citations unresolved problems
    assert rows["101"][:3] == ["3", "0", "2"] and rows["101"][-1] == "0"
    assert rows["102"][:3] == ["2", "2", "1"] and rows["102"][-1] == "0"
    assert "skipped 1 (the agent's turn-by-turn transcript, not a report)" in done.stderr


def test_bench_corpus_is_inferred_from_the_cited_titles(app):
    root, _, site = app
    meta = yaml.safe_load((root / "kb/reports/bench_case9999-101_2025-01-01_10-00-00/report.yaml").read_text())
    assert meta["corpus"] == "corpora/101/long_context_sampled_60"
    evidence = {"reason": "corpus_evidence", "cited": 4, "found": 4}  # per file: 101.md 1, the run 2, its comparison 1
    assert meta["corpus_evidence"] == evidence
    untimed = soup_of(site, "reports/bench-case9999-101")  # `101.md`, a run without a time
    assert "引用的 4 个语料标题中有 4 个在其中" in untimed.select_one("table").get_text()  # in the reader's words
    link = untimed.select_one('a.citekb-cite[data-status="resolved"]')
    assert link["data-title"] == OLD_SCHEMA_TITLE and link["data-chunk"] == "1"


def test_new_citation_forms_land_where_they_say(app):
    _, _, site = app
    page = "/reports/results-32k-modelx-102-20250101-000000/"
    soup = soup_of(site, page.strip("/"))
    cites = soup.select("article .citekb-cite")
    by_raw = {c["data-raw"] if c.has_attr("data-raw") else c.get_text(): c for c in cites}
    statuses = [(c["data-kind"], c["data-status"]) for c in cites]
    assert statuses == [
        ("long_context", "resolved"),
        ("long_context", "resolved"),  # retyped quotes, then [chunk 1]
        ("long_context", "malformed"),
        ("long_context", "resolved"),  # no chunk; the next one survives
        ("web", "resolved"),
        ("long_context", "file_as_chunk"),
        ("document", "resolved"),
        ("document", "resolved"),
    ], by_raw
    first, follow_on = (landed(site.site, page, c["href"]) for c in cites[:2])
    assert first["id"] == "chunk-0" and follow_on["id"] == "chunk-1"
    assert first.find_parent("article").select_one("h1").get_text().startswith(PLAN)
    web = landed(site.site, page, cites[4]["href"])
    assert web.select_one(f'.citekb-meta a[href="{PLAN_URL}"]') is not None  # the source page links its URL
    flagged = cites[5]
    assert (
        "citekb-flagged" in flagged["class"]
        and "把任务文件当作语料文档引用" in flagged.select_one(".citekb-preview").get_text()
    )
    assert landed(site.site, page, flagged["href"])["id"] == "page-2"
    assert landed(site.site, page, cites[6]["href"])["id"] == "page-2"


def test_no_broken_link_or_anchor(app):
    _, _, site = app
    assert kb_check(site.site)["broken"] == []
    assert linkchecker(site.site) == []


def test_kb_cites_emits_the_url(app):
    root, _, _ = app
    done = kb(
        "cites",
        str(root / "app/results/results_32k/modelx/102_20250101_000000/final_report.md"),
        "--corpus",
        str(root / "app/datasets/102/long_context_sampled_32k.json"),
        "--files",
        str(root / "app/datasets/102"),
    )
    rows = json.loads(done.stdout)
    assert [r["url"] for r in rows if r["kind"] == "web"] == [PLAN_URL]
    assert rows[0]["status"] == "resolved" and rows[0]["url"] == PLAN_URL
    assert rows[3]["status"] == "resolved" and rows[3]["url"] == ""  # a source scraped without a URL


def test_report_headings_are_in_the_toc_and_are_search_sections(app):
    _, _, site = app
    soup = soup_of(site, "reports/results-32k-modelx-102-20250101-000000")
    toc = [(a["href"], a.get_text(strip=True)) for a in soup.select("nav.md-nav--secondary a.md-nav__link")]
    assert ("#final", "最终报告") in toc and ("#final-规划报告", "规划报告") in toc
    assert soup.select_one("article h3#final-规划报告")
    hits = json.loads(kb("search", "后面的引用仍有效", "--site", str(site.site), "--json").stdout)
    assert hits[0]["location"].endswith("reports/results-32k-modelx-102-20250101-000000/#final-规划报告")


def test_reports_are_titled_by_their_run_and_grouped_by_task(app):
    _, _, site = app
    page = soup_of(site, "reports/results-32k-modelx-102-20250101-000000")
    assert page.select_one("article h1").get_text().rstrip("¶") == "任务 102 · modelx · 32k · 2025-01-01 00:00"
    assert page.select_one(".citekb-subtitle").get_text() == "规划报告"
    untimed = soup_of(site, "reports/bench-case9999-101")
    assert untimed.select_one("article h1").get_text().rstrip("¶") == "任务 101 · bench_case9999 · 2025-01-01 09:00"
    index = soup_of(site, "reports")
    groups = {h2.get_text(): len(h2.find_next("table").select("tbody tr")) for h2 in index.select("article h2")}
    assert groups == {"任务 101（2 份）": 2, "任务 102（1 份）": 1}


def test_a_task_asked_for_that_the_app_folder_does_not_hold_is_an_error(tmp_path):
    """`--task 999` where the app holds 101 and 102: nothing imported for it is not a quiet
    success: exit 1, naming it and the tasks the folder holds; a task it holds is imported."""
    make_sample_app_folder(tmp_path / "app")
    absent = kb("import", str(tmp_path / "app"), "--sources", str(tmp_path / "kb"), "--task", "999", check=False)
    assert absent.returncode == 1
    assert "no task 999" in absent.stderr and "101, 102" in absent.stderr
    held = kb("import", str(tmp_path / "app"), "--sources", str(tmp_path / "kb2"), "--task", "101", check=False)
    assert held.returncode == 0, held.stderr
    assert {cited.report.task for cited in build(tmp_path / "kb2").cited.values()} == {"101"}
