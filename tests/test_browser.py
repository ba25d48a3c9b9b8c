"""In a real browser (Playwright driving Debian's chromium): click, hover, read the reason."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from conftest import serve

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


def test_hover_shows_the_chunk_text(served, page):
    page.goto(served + REPORT)
    link = page.locator('a.citekb-cite[data-kind="long_context"]').nth(1)
    preview = page.locator(".citekb-popover")
    assert not preview.is_visible()
    link.hover()
    preview.wait_for(state="visible")
    shown = preview.evaluate("""p => { const body = p.cloneNode(true);
        body.querySelector('.citekb-preview-head').remove(); return body.textContent }""").rstrip("…")
    href = link.get_attribute("href")
    page.goto(urljoin(served + REPORT, href))  # read the target's text from its own page
    fragment = href.split("#")[1]
    target_text = page.evaluate(
        """id => { const t = document.getElementById(id).querySelector('.citekb-text').cloneNode(true);
                  t.querySelectorAll('summary').forEach(s => s.remove()); return t.textContent; }""", fragment)
    assert shown and target_text.startswith(shown[:200])


def test_unresolved_citation_shows_its_reason(served, page):
    page.goto(served + "/reports/bench-case1104-001-2025-12-03-20-07-04/")
    cite = page.locator('.citekb-unresolved[data-status="unknown_source"]').first
    cite.hover()
    preview = page.locator(".citekb-popover")
    preview.wait_for(state="visible")
    assert "未知来源" in preview.inner_text() and "所用的语料不在流水线输出中" in preview.inner_text()
