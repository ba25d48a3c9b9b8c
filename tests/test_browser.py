"""In a real browser (Playwright driving Debian's chromium): click, hover, read the reason."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from helpers import serve, served_report, write_page

pytestmark = [pytest.mark.browser, pytest.mark.pipeline]


@pytest.fixture(scope="module")
def served(imported):
    with serve(imported.site) as url:
        yield url


REPORT = "/reports/bench-case1114-003-2025-12-03-19-51-33/"


def test_click_lands_on_the_cited_chunk(served, page):
    page.goto(served + REPORT)
    link = page.locator('#final + .citekb-report a.citekb-cite[data-kind="long_context"]').first
    chunk = link.get_attribute("data-chunk")
    link.click()
    page.wait_for_url(f"**/sources/**#chunk-{chunk}")
    section = page.locator(f"section#chunk-{chunk}")
    assert section.is_visible()
    box = section.bounding_box()
    assert 0 <= box["y"] < 900  # scrolled into view
    assert page.evaluate("document.querySelector(':target').id") == f"chunk-{chunk}"


def chunk_text_of(page, url: str, fragment: str) -> str:
    page.goto(url)
    return page.evaluate(
        """id => { const t = document.getElementById(id).querySelector('.citekb-text').cloneNode(true);
                  t.querySelectorAll('summary').forEach(s => s.remove()); return t.textContent; }""",
        fragment,
    )


def test_hover_shows_the_supporting_span_under_a_header(served, page):
    page.goto(served + REPORT)
    link = page.locator('a.citekb-cite[data-kind="long_context"][data-verdict="supported"]').first
    preview = page.locator(".citekb-popover")
    assert not preview.is_visible()
    link.hover()
    preview.wait_for(state="visible")
    header = preview.locator(".citekb-preview-head").inner_text()
    assert f" · 块 {link.get_attribute('data-chunk')}" in header
    assert header.startswith(link.get_attribute("data-title")[:10])
    span = preview.locator("mark").inner_text()
    href = link.get_attribute("href")
    start, end = (int(n) for n in href.split("span=")[1].split("#")[0].split("-"))
    target_text = chunk_text_of(page, urljoin(served + REPORT, href), href.split("#")[1])
    assert span and target_text[start:end] == span  # the span in context, not the chunk's first lines


def test_the_preview_opens_below_and_leaves_the_claim_in_view(served, page):
    """A citation low on the screen, with less room below it than its preview is tall but more than
    a few lines: the preview opens below (scrolling in that room), not above over the claim."""
    page.goto(served + REPORT)
    link = page.locator('a.citekb-cite[data-kind="long_context"][data-verdict]').first
    link.evaluate("el => window.scrollBy(0, el.getBoundingClientRect().top - (window.innerHeight - 230))")
    link.hover()
    preview = page.locator(".citekb-popover")
    preview.wait_for(state="visible")
    cite, shown = link.bounding_box(), preview.bounding_box()
    tall = preview.evaluate("p => p.scrollHeight")
    assert tall > 900 - (cite["y"] + cite["height"])  # it does not fit below: it scrolls there
    assert preview.get_attribute("data-side") == "below" and shown["y"] >= cite["y"] + cite["height"]


def test_click_marks_the_supporting_span_and_scrolls_to_it(served, page):
    page.goto(served + REPORT)
    link = page.locator('a.citekb-cite[data-audit="supported"][href*="span="]').nth(2)
    href = link.get_attribute("href")
    start, end = (int(n) for n in href.split("span=")[1].split("#")[0].split("-"))
    link.click()
    page.wait_for_url("**/sources/**?span=*#chunk-*")
    mark = page.locator("mark.citekb-span").first
    mark.wait_for(state="visible")
    box = mark.bounding_box()
    assert 0 <= box["y"] < 900  # scrolled into view
    marked = page.evaluate("[...document.querySelectorAll('mark.citekb-span')].map(m => m.textContent).join('')")
    fragment = href.split("#")[1]
    assert page.evaluate("document.querySelector('mark.citekb-span').closest('section').id") == fragment
    assert len(marked) == end - start


@pytest.fixture(scope="module")
def better_elsewhere(tmp_path_factory):
    """A claim cited to a page on another subject and stated by another page of its corpus: its
    flag suggests that page's chunk. (The pipeline's one such citation was a label, `no_statement`.)"""
    root = tmp_path_factory.mktemp("better") / "kb"
    write_page(root, "a.txt", "天气随笔", "今天的天气很好，适合出门散步。\n\n" * 6 + "也有人提到了甲公司。")
    write_page(root, "b.txt", "模型发布", "甲公司发布的新模型参数量达到700亿，训练数据达到10万亿词元。")
    for n, topic in enumerate(["园艺", "烹饪", "旅行", "音乐", "绘画", "摄影", "书法", "围棋"]):  # rare words are rare
        write_page(root, f"other-{n}.txt", f"{topic}札记", f"关于{topic}的一些心得体会，写给同样喜欢{topic}的朋友。")
    claim = "甲公司发布的新模型参数量达到700亿，训练数据达到10万亿词元"
    with served_report(root, "r", f'# 报告\n\n{claim} [long_context: "天气随笔", chunk 0]。\n') as url:
        yield url


def test_flagged_citation_shows_its_reason_and_suggested_chunk(better_elsewhere, page):
    page.goto(better_elsewhere)
    flag = page.locator('.citekb-audit[data-audit="better_elsewhere"]:has(a.citekb-audit-better)').first
    assert flag.is_visible() and "别处依据更充分" in flag.inner_text()
    suggestion = flag.locator("a.citekb-audit-better")
    assert "建议" in suggestion.inner_text() and "块 " in suggestion.inner_text()
    suggestion.click()
    page.wait_for_url("**/sources/**#chunk-*")
    page.locator("mark.citekb-span").first.wait_for(state="visible")


def test_unresolved_citation_shows_its_reason(served, page):
    page.goto(served + "/reports/bench-case1104-001-2025-12-03-20-07-04/")
    cite = page.locator('.citekb-unresolved[data-status="unknown_source"]').first
    cite.hover()
    preview = page.locator(".citekb-popover")
    preview.wait_for(state="visible")
    assert "未知来源" in preview.inner_text() and "所用的语料不在流水线输出中" in preview.inner_text()
