"""Report pages over a hand-made knowledge base: backlinks, the health page, file pages, hostile reports."""

from __future__ import annotations

from urllib.parse import unquote, urljoin

import pytest
from bs4 import BeautifulSoup
from fixtures import ALPHA, alpha_body, make_sample_kb
from helpers import build_site, landed, section_text, serve, unisolated

from build_tools.chunk import chunk_text
from build_tools.cite.parse import parse_citations
from build_tools.knowledge_base import Sentences
from build_tools.models import Resolved, document_text

REPORT_URL = "/reports/demo/"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    built = build_site(make_sample_kb(root / "kb", hostile=True), root / "site")
    assert built.returncode == 0, built.log
    return built


def soup_of(built, path: str) -> BeautifulSoup:
    return BeautifulSoup(built.page(path), "html.parser")


def test_chunk_sections_list_the_sentences_that_cite_them(demo):
    report = soup_of(demo, "reports/demo")
    link = report.select_one(f'a.citekb-cite[data-title="{ALPHA}"][data-chunk="1"]')
    section = landed(demo.site, REPORT_URL, link["href"])
    assert section_text(section) == chunk_text(alpha_body())[1].text
    backlinks = section.select(".citekb-backlinks li")
    assert len(backlinks) == 1
    assert "Open models are spreading fast" in backlinks[0].get_text()
    assert "long_context" not in backlinks[0].get_text()  # the citation bracket itself is not repeated
    back = landed(demo.site, urljoin(REPORT_URL, link["href"]).split("#")[0], backlinks[0].a["href"])
    assert back == link  # the backlink lands on the citation itself, not the top of the report
    assert back["id"] == "cite-final-0"
    other = section.find_parent().select_one("#chunk-0 .citekb-backlinks")
    assert other is None  # chunk 0 of this source is cited by no report


def test_pdf_citation_lands_on_its_page_and_image_is_shown(demo):
    report = soup_of(demo, "reports/demo")
    pdf = report.select_one('a.citekb-cite[data-kind="document"]')
    assert pdf["href"].endswith("#page-2")
    page_section = landed(demo.site, REPORT_URL, pdf["href"]).find_parent("section")  # lands on its heading
    assert page_section.select_one(".citekb-text").get_text().strip() == "Second page about latency budgets"
    image = report.select_one('a.citekb-cite[data-kind="image"]')
    image_page = landed(demo.site, REPORT_URL, image["href"])
    src = image_page.select_one("img.citekb-image")["src"]
    shown = demo.site / urljoin(urljoin(REPORT_URL, image["href"]), src).strip("/")
    assert shown.read_bytes() == (demo.site.parent / "kb" / "files" / "t1" / "logo.png").read_bytes()


def test_health_page_groups_what_is_still_missing_by_status(demo):
    health = soup_of(demo, "health")
    rows: dict[str, list[list[str]]] = {}  # status → [cited thing, reason, times]
    for reason in health.select("details.citekb-reason"):
        rows.setdefault(f"status-{reason['data-status']}", []).extend(
            [
                tr.td.get_text(),
                unisolated(reason.select_one(".citekb-reason-text").get_text()),
                tr.select("td")[1].get_text(),
            ]
            for tr in reason.select("tbody tr")
        )
    assert ["Gamma never imported", "报告的语料中没有这个标题的来源", "1"] in rows["status-unknown_source"]
    assert ["missing.pdf", "files/t1 中没有文件「missing.pdf」", "1"] in rows["status-missing_file"]
    count = len(chunk_text(document_text(ALPHA, alpha_body())))
    assert [ALPHA, f"「{ALPHA}」只有 {count} 块（0–{count - 1}）", "1"] in rows["status-chunk_out_of_range"]
    invented = [tr.td.get_text() for tr in health.select("#invented + p + table tbody tr")]
    assert "Gamma never imported" in invented and ALPHA not in invented  # ALPHA exists: a wrong chunk, not invented
    demo_row = next(
        tr for tr in health.select("#reports + table tbody tr") if tr.a.get_text() == "Demo report on open models"
    )
    counts = demo_row.select("td")[1].get_text()
    assert "已解析 4" in counts and "未知来源 1" in counts and "块号超出范围 1" in counts and "缺少文件 1" in counts


def test_hostile_report_is_classified_and_inert(demo):
    report = soup_of(demo, "reports/hostile")
    article = report.select_one("article")
    statuses = [c["data-status"] for c in article.select(".citekb-cite")]
    assert "resolved" not in statuses and statuses.count("malformed") >= 5
    assert not article.select("script, img, b#injected, #injected")
    assert not article.select('a[href^="javascript"]')
    hrefs = [unquote(a["href"]) for a in article.select("a[href]")]
    assert not [h for h in hrefs if "passwd" in h or "logo.png" in h or "javascript" in h]
    text = article.get_text()
    assert "{{ config.site_name }}" in text and '<b id="injected">bold</b>' in text


def test_hostile_report_runs_nothing_in_a_browser(demo, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with serve(demo.site) as url:
        page.goto(url + "/reports/hostile/")
        page.wait_for_load_state("load")
        assert page.evaluate("window.pwned") is None
        assert page.locator("#injected").count() == 0
        assert page.locator("article img").count() == 0
        cite = page.locator('.citekb-unresolved[data-status="malformed"]').first
        cite.hover()
        assert "格式错误" in page.locator(".citekb-popover").inner_text()
    assert dialogs == []


def test_health_rows_land_on_the_citation_they_list(demo):
    health = soup_of(demo, "health")
    rows = health.select("details.citekb-reason tbody tr")
    assert rows
    for row in rows:
        status = row.td["data-status"]
        for place in row.select("td:last-child a"):
            target = landed(demo.site, "/health/", place["href"])
            assert "citekb-cite" in target["class"] and target["data-status"] == status


def test_a_question_mark_inside_a_cited_title_does_not_end_the_backlink_sentence():
    text = '开源模型正在普及 [long_context: "模型会开源吗？", chunk 0]，而且速度很快。下一句。'
    items = [Resolved(c, "resolved") for c in parse_citations(text)]
    assert (
        Sentences(text, (i.citation for i in items)).around(items[0].citation.start, items[0].citation.end)
        == "开源模型正在普及 ，而且速度很快。"
    )
