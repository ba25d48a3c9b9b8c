"""Arrival at the evidence (issue 27, point 5), in chromium at a laptop's and a phone's size: a click
on a citation shows its marked span on screen, centred below Material's sticky header, after the
browser's own jump to `#chunk-N`, however deep in its chunk the span starts; a span taller than the
window shows its start; the same on back/forward and when only the fragment changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup
from helpers import landed, section_text, serve

pytestmark = [pytest.mark.browser, pytest.mark.pipeline]

SIZES = {"laptop": (1280, 900), "phone": (390, 844)}
DEEP = 700  # characters into its chunk: about the fold on a laptop, far below it on a phone, from the chunk's top
SETTLE_MS = 300  # after `load`: whatever still moves the page has moved
NEAR = 40  # CSS px: "just below the header", within two lines of text


@dataclass(frozen=True)
class Cited:
    report: str  # the report page's path, e.g. /reports/x/
    href: str  # as written on it: ../../sources/<slug>/?span=START-END#chunk-N
    start: int
    end: int


def citations(site) -> list[Cited]:
    """Every distinct citation link of the built site's reports that names a span, deepest first."""
    found = set()
    for page in (site / "reports").glob("*/index.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for link in soup.select('a.citekb-cite[href*="?span="]'):
            start, end = (int(n) for n in re.search(r"span=(\d+)-(\d+)", link["href"]).groups())
            found.add(Cited(f"/reports/{page.parent.name}/", link["href"], start, end))
    return sorted(found, key=lambda c: (-c.start, c.href))


def longest_chunk(site) -> tuple[str, str, int]:
    """(source page path, chunk id, text length) of the longest chunk of the built site."""
    best = ("", "", -1)
    for page in sorted((site / "sources").glob("lc-*/index.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for section in soup.select("section.citekb-chunk"):
            length = len(section_text(section))
            if length > best[2]:
                best = (f"/sources/{page.parent.name}/", section["id"], length)
    return best


def most_chunks(site) -> tuple[str, list[str]]:
    """(source page path, chunk ids) of the built site's source with the most chunks."""
    pages = sorted((site / "sources").glob("lc-*/index.html"))
    counts = {page: page.read_text(encoding="utf-8").count('<section class="citekb-chunk"') for page in pages}
    page = max(pages, key=counts.__getitem__)
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return f"/sources/{page.parent.name}/", [section["id"] for section in soup.select("section.citekb-chunk")]


# Where the marked span (all its <mark> pieces), the header and the page are, in CSS pixels.
WHERE = """() => {
  const marks = [...document.querySelectorAll("mark.citekb-span")];
  const boxes = marks.map(m => m.getBoundingClientRect());
  return {
    top: Math.min(...boxes.map(b => b.top)), bottom: Math.max(...boxes.map(b => b.bottom)),
    text: marks.map(m => m.textContent).join(""), section: marks.length ? marks[0].closest("section").id : null,
    above: document.querySelector(".md-header").getBoundingClientRect().bottom,
    height: document.documentElement.clientHeight, y: scrollY,
    most: document.documentElement.scrollHeight - document.documentElement.clientHeight,
  };
}"""


def heading_top(page, chunk: str) -> float:
    return page.evaluate(f"document.getElementById({chunk!r}).getBoundingClientRect().top")


def assert_centred(where: dict) -> None:
    """The span lies between the header and the window's bottom, centred in that room (unless the
    page cannot scroll that far)."""
    assert where["above"] <= where["top"] and where["bottom"] <= where["height"], where
    off = (where["top"] + where["bottom"]) / 2 - (where["above"] + where["height"]) / 2
    assert abs(off) <= 2 or where["y"] in (0, where["most"]), where


@pytest.fixture(scope="module")
def site(imported):
    return imported.site


@pytest.fixture(scope="module")
def served(site):
    with serve(site) as url:
        yield url


@pytest.fixture(params=list(SIZES))
def tab(request, browser):
    width, height = SIZES[request.param]
    opened = browser.new_page(viewport={"width": width, "height": height})
    yield opened
    opened.close()


def arrive(tab, served: str, cited: Cited) -> dict:
    """Open the report, click the citation, wait for the source page to load and settle: where the span is."""
    tab.goto(served + cited.report)
    tab.locator(f'a.citekb-cite[href="{cited.href}"]').first.click()
    tab.wait_for_url(f"**/sources/**?span={cited.start}-{cited.end}#chunk-*")
    tab.wait_for_timeout(SETTLE_MS)
    return tab.evaluate(WHERE)


def test_a_click_shows_a_span_deep_in_its_chunk(site, served, tab):
    cited = citations(site)
    deep = [c for c in cited if c.start > DEEP]
    assert len(deep) >= 4, (len(deep), len(cited))  # 16 of 54 on ../shared/pipeline (the "about a third")
    for one in deep[:4]:
        where = arrive(tab, served, one)
        assert_centred(where)
        chunk = landed(site, one.report, one.href)
        assert where["section"] == chunk["id"] and where["text"] == section_text(chunk)[one.start : one.end]


def test_a_span_taller_than_the_window_shows_its_start(site, served, tab):
    source, chunk, length = longest_chunk(site)
    start = DEEP if tab.viewport_size["width"] < 600 else 0  # a span of the longest chunk taller than the room
    tab.goto(f"{served}{source}?span={start}-{length}#{chunk}")
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert where["bottom"] - where["top"] > where["height"] - where["above"]  # it cannot be centred
    assert where["above"] <= where["top"] <= where["above"] + NEAR, where  # its first line just below the header


def test_a_chunk_without_a_span_lands_on_its_heading(site, served, tab):
    source, chunks = most_chunks(site)
    chunk = chunks[len(chunks) // 2]
    tab.goto(f"{served}{source}#{chunk}")
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert where["text"] == "" and where["y"] > 0
    assert where["above"] <= heading_top(tab, chunk) <= where["above"] + NEAR


def test_back_and_forward_show_the_span_again(site, served, tab):
    """Back to the report, forward to the source (scrolled away meanwhile), a reload: the span is shown again."""
    cited = citations(site)[0]
    assert_centred(arrive(tab, served, cited))
    tab.evaluate("window.scrollTo(0, 0)")
    tab.go_back()
    tab.wait_for_url(f"**{cited.report}")
    tab.go_forward()
    tab.wait_for_url(f"**?span={cited.start}-{cited.end}#chunk-*")
    tab.wait_for_timeout(SETTLE_MS)
    assert_centred(tab.evaluate(WHERE))
    tab.evaluate("window.scrollTo(0, 0)")
    tab.reload()
    tab.wait_for_timeout(SETTLE_MS)
    assert_centred(tab.evaluate(WHERE))


def test_another_chunk_of_the_page_drops_the_span_and_back_brings_it(site, served, tab):
    """A link to another chunk of the open page changes the fragment alone (it keeps the query): the
    reader lands on that chunk's heading and the address no longer names the span, which belonged to
    the chunk it came with; back shows the span again, forward the other chunk."""
    cited = citations(site)[0]
    arrive(tab, served, cited)
    spanned = tab.url
    chunk = cited.href.split("#")[1]
    other = tab.evaluate(
        "c => [...document.querySelectorAll('section.citekb-chunk')].map(s => s.id).find(id => id !== c)", chunk
    )
    tab.locator(f'.citekb-chunk-nav a[href="#{other}"]').first.click()
    tab.wait_for_url(f"**#{other}")
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert "span=" not in tab.url and where["text"] == ""
    assert where["above"] <= heading_top(tab, other) <= where["above"] + NEAR or where["y"] == where["most"]
    tab.go_back()
    tab.wait_for_url(spanned)
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert_centred(where)
    assert where["section"] == chunk and len(where["text"]) == cited.end - cited.start
    tab.go_forward()
    tab.wait_for_url(f"**#{other}")
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert "span=" not in tab.url and where["text"] == ""
    assert where["above"] <= heading_top(tab, other) <= where["above"] + NEAR or where["y"] == where["most"]
    tab.reload()
    assert tab.evaluate(WHERE)["text"] == ""  # the reloaded address marks nothing in the other chunk


# A theme asking for smooth scrolling (as many Material sites' extra CSS does), and every position
# the window takes after `pageshow`.
GLIDING = """
document.addEventListener("DOMContentLoaded", () => { document.documentElement.style.scrollBehavior = "smooth"; });
window.__positions = null;
addEventListener("pageshow", () => { window.__positions = []; });
addEventListener("scroll", () => { if (window.__positions) window.__positions.push(scrollY); });
"""


def test_reduced_motion_jumps_to_the_span_without_gliding(site, served, tab):
    """A reader who asks for reduced motion sees no smooth scrolling, whatever the stylesheet says."""
    tab.emulate_media(reduced_motion="reduce")
    tab.add_init_script(GLIDING)
    cited = citations(site)[0]
    where = arrive(tab, served, cited)
    assert_centred(where)
    assert tab.evaluate("window.__positions") == [where["y"]]  # one jump, straight to the span


def test_another_span_of_the_open_page_is_shown_alone(site, served, tab):
    """The source page is open at one citation's span; the address changes to another span of the
    same page (the query changes): the new span is marked and shown, the old one no longer marked."""
    by_page: dict[str, list[Cited]] = {}
    for one in citations(site):  # deepest first
        by_page.setdefault(one.href.split("?")[0], []).append(one)
    deep, *_, first = next(spans for spans in by_page.values() if len({(c.start, c.end) for c in spans}) > 1)
    assert deep.start > DEEP
    arrive(tab, served, first)
    tab.goto(urljoin(tab.url, f"?span={deep.start}-{deep.end}#{deep.href.split('#')[1]}"))
    tab.wait_for_timeout(SETTLE_MS)
    where = tab.evaluate(WHERE)
    assert_centred(where)
    assert len(where["text"]) == deep.end - deep.start and where["section"] == deep.href.split("#")[1]
