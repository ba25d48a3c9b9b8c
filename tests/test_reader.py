"""The reader's experience in chromium (issue 16): no page wider than a phone, a citation preview that
stays on screen (mouse, keyboard, touch), link targets clear of the sticky header, generated tables
in Material's table look."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from fixtures import ALPHA, make_sample_kb
from helpers import build_site, serve

pytestmark = pytest.mark.browser

WIDTHS = [(1280, 900), (390, 844)]
LONG_TITLE = "https://example.org/" + "unbreakable-title-" * 8
LONG_ORIGIN = "https://example.org/" + "a" * 300
# Sentences of every length, so citations end up at every horizontal position on the line.
EDGES = (
    "# Edges\n\n| 列 | 说明 |\n|---|---|\n| 一 | 二 |\n\n"
    + "\n\n".join(
        f'第 {i} 段：{"填充的文字。" * (i % 9)} [long_context: "{ALPHA}", chunk {i % 7}] 结束。' for i in range(40)
    )
    + f'\n\n一个很长的网址 {LONG_ORIGIN} 和 [图片: logo.png] [long_context: "没有这个来源", chunk 0]\n'
    + f'\n1. 第一项\n   - 子项甲 [long_context: "{ALPHA}", chunk 2]\n   - 子项乙\n2. 第二项\n'
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("reader")
    kb = make_sample_kb(root / "kb")
    page = kb / "pages" / "long.txt"
    page.parent.mkdir()
    page.write_text(
        f"---\ntitle: {LONG_TITLE}\nkind: web\norigin: {LONG_ORIGIN}\n---\n" + "正文。" * 300, encoding="utf-8"
    )
    (kb / "reports" / "edges").mkdir()
    (kb / "reports" / "edges" / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n")
    (kb / "reports" / "edges" / "final_report.md").write_text(EDGES, encoding="utf-8")
    built = build_site(kb, root / "site", strict=False)
    assert built.returncode == 0, built.log
    with serve(built.site) as url:
        yield url


def source_pages(tab, url: str) -> list[str]:
    """The pages of the corpus document, the hand-added source and the PDF, as the sources index links them."""
    tab.goto(url + "/sources/")
    return [
        urljoin(url + "/sources/", tab.get_by_role("link", name=name, exact=True).get_attribute("href"))
        for name in (ALPHA, LONG_TITLE, "paper.pdf")
    ]


POPOVER_BOX = """() => { const p = document.querySelector('.citekb-popover');
  if (!p || p.hidden) return null;
  const r = p.getBoundingClientRect(), h = document.querySelector('.md-header').getBoundingClientRect();
  return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, headerBottom: h.bottom,
           width: document.documentElement.clientWidth, height: innerHeight, side: p.dataset.side } }"""


def assert_on_screen(box: dict) -> None:
    assert box is not None, "no popover shown"
    assert box["left"] >= 0 and box["right"] <= box["width"], box
    assert box["headerBottom"] <= box["top"] and box["bottom"] <= box["height"], box


@pytest.mark.parametrize("width,height", WIDTHS)
def test_no_page_is_wider_than_the_screen(site, browser, width, height):
    tab = browser.new_page(viewport={"width": width, "height": height})
    pages = [
        site + p for p in ("/", "/sources/", "/reports/", "/reports/demo/", "/reports/edges/", "/health/", "/stats/")
    ]
    for url in pages + source_pages(tab, site):
        tab.goto(url)
        wide = tab.evaluate("document.documentElement.scrollWidth")
        assert wide <= tab.evaluate("innerWidth"), f"{url} is {wide}px wide at {width}px"
    tab.close()


@pytest.mark.parametrize("width,height", WIDTHS)
def test_the_preview_stays_inside_the_viewport_near_every_edge(site, browser, width, height):
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.goto(site + "/reports/edges/")
    cites = tab.locator("article .citekb-cite")
    shifted = flipped = 0
    for i in range(cites.count()):
        for block in ("center", "end"):  # "end": the citation at the bottom edge
            cite = tab.evaluate(f"""() => {{ const c = document.querySelectorAll('article .citekb-cite')[{i}];
                c.scrollIntoView({{ block: '{block}' }}); c.focus({{ preventScroll: true }});
                const r = c.getClientRects()[0]; return {{ left: r.left, top: r.top }} }}""")
            box = tab.evaluate(POPOVER_BOX)
            assert_on_screen(box)
            shifted += cite["left"] + (box["right"] - box["left"]) > box["width"]  # it would run off the right
            flipped += box["side"] == "above" and box["bottom"] <= cite["top"]
    assert shifted and flipped
    cites.first.hover()  # the mouse, at the left edge of a phone
    assert_on_screen(tab.evaluate(POPOVER_BOX))
    tab.close()


def test_the_preview_has_a_header_with_an_open_link_and_shows_images(site, page):
    page.goto(site + "/reports/demo/")
    cite = page.locator(f'a.citekb-cite[data-title="{ALPHA}"][data-chunk="1"]')
    cite.hover()
    popover = page.locator(".citekb-popover")
    popover.wait_for(state="visible")
    head = popover.locator(".citekb-preview-head")
    assert head.inner_text().startswith(f"{ALPHA} · 块 1") and "打开" in head.inner_text()
    assert popover.get_by_role("link", name="打开").get_attribute("href") == cite.get_attribute("href")
    assert cite.get_attribute("aria-describedby") == "citekb-popover"
    page.mouse.move(0, 0)
    popover.wait_for(state="hidden")
    page.locator('a.citekb-cite[data-kind="document"]').hover()
    assert popover.locator(".citekb-preview-head").inner_text().startswith("paper.pdf · 第 2 页")
    assert "Second page about latency budgets" in popover.inner_text()
    page.mouse.move(0, 0)
    popover.wait_for(state="hidden")
    page.locator('a.citekb-cite[data-kind="image"]').hover()
    thumbnail = popover.locator("img.citekb-thumb")
    thumbnail.wait_for(state="visible")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 1  # the 1×1 logo itself


def test_an_unresolved_citation_has_one_tooltip(site, page):
    page.goto(site + "/reports/demo/")
    assert page.locator("article .citekb-cite[title], article .citekb-cite [title]").count() == 0
    cite = page.locator('.citekb-unresolved[data-status="unknown_source"]')
    cite.hover()
    popover = page.locator(".citekb-popover")
    popover.wait_for(state="visible")
    assert "未知来源" in popover.inner_text() and "报告的语料中没有这个标题的来源" in popover.inner_text()
    assert not cite.locator(".citekb-preview").is_visible()  # the in-line box gives way to the popover


def test_keyboard_focus_opens_the_preview_and_escape_closes_it(site, page):
    page.goto(site + "/reports/demo/")
    for _ in range(100):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.citekb-cite')"):
            break
    popover = page.locator(".citekb-popover")
    popover.wait_for(state="visible")
    assert ALPHA in popover.inner_text()
    page.keyboard.press("Escape")
    popover.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.matches('.citekb-cite')")  # focus stays on the citation
    page.keyboard.press("Tab")
    popover.wait_for(state="visible")
    assert "Beta" in popover.inner_text()


def test_a_tap_previews_and_a_second_tap_follows(site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    tab = context.new_page()
    report = site + "/reports/demo/"
    tab.goto(report)
    cite = tab.locator(f'a.citekb-cite[data-title="{ALPHA}"][data-chunk="1"]')
    popover = tab.locator(".citekb-popover")
    cite.tap()
    popover.wait_for(state="visible")
    assert tab.url == report
    assert_on_screen(tab.evaluate(POPOVER_BOX))
    tab.locator("h1").tap()  # a tap elsewhere closes it
    popover.wait_for(state="hidden")
    unresolved = tab.locator('.citekb-unresolved[data-status="missing_file"]')
    unresolved.tap()
    popover.wait_for(state="visible")
    assert "missing.pdf" in popover.inner_text()
    cite.tap()
    popover.wait_for(state="visible")
    popover.get_by_role("link", name="打开").tap()
    tab.wait_for_url("**/sources/**#chunk-1")
    tab.goto(report)
    cite.tap()
    popover.wait_for(state="visible")
    cite.tap()
    tab.wait_for_url("**/sources/**#chunk-1")
    context.close()


@pytest.mark.parametrize("width,height", WIDTHS)
def test_a_jump_to_a_chunk_page_or_citation_lands_below_the_header(site, browser, width, height):
    tab = browser.new_page(viewport={"width": width, "height": height})
    alpha, _, pdf = source_pages(tab, site)
    for url, selector in [
        (alpha + "#chunk-4", "#chunk-4 > h2"),
        (pdf + "#page-2", "#page-2"),
        (site + "/reports/edges/#cite-final-30", "#cite-final-30"),
    ]:
        tab.goto(url)
        tab.wait_for_load_state("load")
        box = tab.evaluate(f"""() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();
            return [document.querySelector('.md-header').getBoundingClientRect().bottom, r.top, r.bottom, innerHeight] }}""")
        header, top, bottom, viewport = box
        assert header <= top and bottom <= viewport, (url, box)
    tab.close()


def test_generated_tables_look_like_materials_tables(site, page):
    """Material styles only tables without a class; ours (which have one) match its look."""
    look = """sel => { const t = document.querySelector(sel), th = t.querySelector('th'), s = getComputedStyle(t);
        return [s.fontSize, s.borderTopWidth, s.borderTopStyle, s.borderTopColor, getComputedStyle(th).fontWeight] }"""
    page.goto(site + "/reports/edges/")
    material = page.evaluate(look, "article table:not([class])")
    assert page.evaluate(look, "table.citekb-meta") == material
    for path in ("/reports/", "/sources/", "/health/", "/stats/"):
        page.goto(site + path)
        assert page.evaluate(look, "table.citekb-index") == material, path


def test_a_backlink_lands_on_its_citation_and_marks_it(site, page):
    page.goto(site + "/sources/")
    page.get_by_role("link", name=ALPHA, exact=True).click()
    backlink = page.locator("#chunk-1 .citekb-backlinks a").first
    backlink.click()
    page.wait_for_url("**/reports/**#cite-*")
    target = page.locator(":target")
    assert "citekb-cite" in target.get_attribute("class") and target.get_attribute("data-chunk") == "1"
    assert page.evaluate("getComputedStyle(document.querySelector(':target')).outlineStyle") != "none"
    assert 0 < target.bounding_box()["y"] < 844


def test_a_nested_list_renders_nested(site, page):
    page.goto(site + "/reports/edges/")
    items = page.locator("article ol > li > ul > li")
    assert items.count() == 2 and "子项甲" in items.first.inner_text()
    assert page.locator("article ol > li").count() == 2


def test_the_example_reports_citations_land_on_their_chunks(shipped, page):
    with serve(shipped.site) as url:
        page.goto(url + "/reports/example-open-vs-closed/")
        links = page.locator('#final + .citekb-report a.citekb-cite[data-status="resolved"][data-kind="long_context"]')
        assert links.count() >= 8
        for n in (0, 3):
            link = links.nth(n)
            chunk = link.get_attribute("data-chunk")
            link.click()
            page.wait_for_url(f"**/sources/**#chunk-{chunk}")
            assert page.evaluate("document.querySelector(':target').id") == f"chunk-{chunk}"
            page.go_back()
