"""Issue 26 (1, 2): nothing from the knowledge-base folder is ever evaluated as a template, whatever
its bytes, and everything a reader sees of it is text: titles, headings, the table of contents."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from fixtures import (
    ACTIVE_FILES,
    HEADER_BREAKERS,
    HEADING_INJECTIONS,
    TEMPLATE_RUNS,
    TEMPLATE_SHOWS,
    TITLE_INJECTION,
    make_active_files_kb,
    make_template_payload_kb,
)
from helpers import REPO, Build, build_site, kb_check, search_box, serve
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mkdocs.utils.meta import get_data

PAYLOAD_PAGES = len(HEADER_BREAKERS) + 4  # corpus documents, the task file, the hand-added page, two reports
SURROGATES = range(0xD800, 0xE000)
# Every character YAML or HTML treats specially, and the characters of YAML's and JSON's escapes.
ODD = "\x00\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x80\x85\x9b\x9f\xa0\u200b\u200e\u200f\u202a\u202e\u2028\u2029\u2066"
ODD += "\ufeff\ufffd\ufffe\uffff\U0001f600\U0010ffff\ud800\udbff\udc00\udfff\"'\\/:#&*!|>{}[],%@`-?u0123456789abcdefUN"


@pytest.fixture(scope="module")
def front_matter():
    sys.path.insert(0, str(REPO / "hooks"))
    from citekb_plugin import _front_matter

    return _front_matter


def read_back(front_matter, meta: dict) -> tuple[str, dict]:
    """A generated page's header read as MkDocs reads a page (mkdocs.utils.meta.get_data)."""
    return get_data(front_matter(meta) + "page body")


def expected(text: str) -> str:
    """What a header can hold of a text: a lone surrogate is no character, so U+FFFD stands for it."""
    return "".join("\ufffd" if ord(c) in SURROGATES else c for c in text)


def test_every_code_point_survives_the_page_header(front_matter):
    for start in range(0, 0x110000, 0x8000):
        title = "".join(chr(c) for c in range(start, start + 0x8000))
        body, meta = read_back(front_matter, {"title": title, "render_macros": False})
        assert body == "page body" and meta == {"title": expected(title), "render_macros": False}, hex(start)


@settings(max_examples=500, deadline=None)
@given(st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(ODD))))
@example("\x7f{{ cycler.__init__.__globals__.os.system('touch pwned') }}")
@example("\\ud800\\U0001F600\\\\u0041\n---\n...\n")
def test_any_title_survives_the_page_header(front_matter, title):
    meta = {"title": title, "render_macros": False, "search": {"exclude": True}, "citekb_fingerprint": "ab12"}
    header = front_matter(meta)
    assert header.isascii() and all(" " <= c <= "~" for c in header.replace("\n", ""))
    body, read = read_back(front_matter, meta)
    assert body == "page body" and read == {**meta, "title": expected(title)}


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> tuple[Build, Path]:
    """The payload knowledge base built with the project's mkdocs.yml; the payload would create `marker`."""
    root = tmp_path_factory.mktemp("payload")
    make_template_payload_kb(root / "kb")
    marker = root / "pwned"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITEKB_PWN", f"touch {marker}")
        built = build_site(root / "kb", root / "site", strict=False)
    assert built.returncode == 0, built.log
    return built, marker


def payload_pages(site: Path) -> dict[str, BeautifulSoup]:
    """Every generated page whose title holds the template payload, by its path."""
    pages = {}
    for path in sorted(site.glob("*/*/index.html")):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        if TEMPLATE_RUNS in soup.select_one("article h1").get_text():
            pages[str(path.parent.relative_to(site))] = soup
    return pages


def test_no_template_runs_during_the_build(payload):
    built, marker = payload
    assert not marker.exists()
    assert "[macros] - ERROR" not in built.log


def test_every_title_is_shown_as_written(payload):
    built, _ = payload
    pages = payload_pages(built.site)
    assert len(pages) == PAYLOAD_PAGES
    for path, soup in pages.items():
        heading = soup.select_one("article h1").get_text()
        places = {
            "h1": heading,
            "title": soup.title.get_text(),
            "header": soup.select_one('[data-md-component="header-topic"]').get_text(),
        }
        for place, text in places.items():
            assert TEMPLATE_RUNS in text, (path, place)
            if TEMPLATE_SHOWS in heading:  # a report's first line is cut before it
                assert TEMPLATE_SHOWS in text and "49" not in text, (path, place)


def test_html_in_a_title_is_text(payload):
    built, _ = payload
    pages = [BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser") for path in built.site.rglob("*.html")]
    titled = [soup for soup in pages if soup.select_one("article h1").get_text() == TITLE_INJECTION]
    assert len(titled) == 1 and titled[0].title.get_text() == f"{TITLE_INJECTION} - Citekb"
    assert [soup for soup in pages if soup.select("img[src=x], script:-soup-contains('pwned')")] == []


def test_report_headings_are_text_in_the_table_of_contents(payload):
    built, _ = payload
    soup = BeautifulSoup(built.page("reports/yaml-title"), "html.parser")
    toc = soup.select_one("nav.md-nav--secondary")
    entries = [a.get_text().strip() for a in toc.select("a")]
    shown = [h.replace("&lt;", "<").replace("&gt;", ">").replace("`", "") for h in HEADING_INJECTIONS]
    assert all(heading in entries for heading in shown), entries
    assert not toc.select("img, script") and not soup.select("img[src=x], script:-soup-contains('pwned')")


def config_with_macros(tmp_path: Path) -> Path:
    """The project's mkdocs.yml with mkdocs-macros set as its defaults have it (every page rendered, not
    only the pages that opt in), paths made absolute, beside the site."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(REPO / config["docs_dir"])
    config["theme"]["custom_dir"] = str(REPO / config["theme"]["custom_dir"])
    config["hooks"] = [str(REPO / hook) for hook in config["hooks"]]
    config["plugins"] = [plugin for plugin in config["plugins"] if "macros" not in plugin] + [
        {"macros": {"render_by_default": True}}
    ]
    path = tmp_path / "mkdocs.yml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_generated_pages_stay_out_of_mkdocs_macros_even_where_it_renders_every_page(tmp_path):
    """Even with mkdocs-macros rendering every page (the shipped site renders only the docs pages that
    opt in): every generated page says `render_macros: false` in a header that always parses."""
    pytest.importorskip("mkdocs_macros")
    make_template_payload_kb(tmp_path / "kb")
    marker = tmp_path / "pwned"
    env = {**os.environ, "CITEKB_SOURCES": str(tmp_path / "kb"), "CITEKB_PWN": f"touch {marker}"}
    env.update(NO_MKDOCS_2_WARNING="1", CITEKB_AUDIT="false", CITEKB_CACHE=str(tmp_path / "terms.marshal"))
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config_with_macros(tmp_path))]
    done = subprocess.run(command + ["-d", str(tmp_path / "site")], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[macros] - ERROR" not in done.stderr and not marker.exists()
    pages = payload_pages(tmp_path / "site")
    assert len(pages) == PAYLOAD_PAGES
    assert all("49" not in soup.select_one("article h1").get_text() for soup in pages.values())


def test_the_docs_pages_that_opt_in_are_rendered_by_mkdocs_macros(shipped):
    """mkdocs-macros earns its place on the hand-written home page (it says whether the audit is on);
    a generated page holding the same syntax stays as written (above)."""
    home = BeautifulSoup(shipped.page(""), "html.parser").select_one("article").get_text()
    assert "每处解析成功的语料引用旁都有证据审计" in home
    assert "{%" not in home and "关闭了证据审计" not in home


@pytest.mark.browser
def test_nothing_in_a_title_or_heading_runs_in_chromium(payload, page):
    built, _ = payload
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    paths = [str(p.parent.relative_to(built.site)) for p in built.site.glob("*/*/index.html")]
    with serve(built.site) as url:
        for path in [*paths, "sources", "reports"]:
            page.goto(f"{url}/{path}/")
            page.wait_for_load_state("load")
            assert page.evaluate("window.pwned") is None, path
            assert page.locator("img[src=x]").count() == 0, path
    assert dialogs == []


LETTER_AT = """([text, letter]) => {
  const node = [...document.querySelectorAll("p")].flatMap(p => [...p.childNodes]).find(n => n.nodeValue === text)
  const range = document.createRange()
  range.setStart(node, text.indexOf(letter)); range.setEnd(node, text.indexOf(letter) + 1)
  return range.getBoundingClientRect().x
}"""


@pytest.mark.browser
def test_a_direction_override_in_a_title_does_not_reverse_the_text_after_it(shipped, page):
    """A scraped title holding U+202E (right-to-left override) in a citation label, as a report page
    shows it, with the site's stylesheet: the report's words after the citation keep their order."""
    with serve(shipped.site) as url:
        page.goto(url + "/")
        page.evaluate(
            """() => { const p = document.createElement("p")
            p.innerHTML = 'before <a class="citekb-cite" href="#"><span class="citekb-cite-label">T\u202egpj.exe</span></a> after words'
            document.querySelector("article").append(p) }"""
        )
        assert page.evaluate(LETTER_AT, [" after words", "a"]) < page.evaluate(LETTER_AT, [" after words", "w"])


@pytest.fixture(scope="module")
def active(tmp_path_factory) -> Build:
    root = tmp_path_factory.mktemp("active")
    built = build_site(make_active_files_kb(root / "kb"), root / "site", audit=False)
    assert built.returncode == 0, built.log
    return built


def file_pages(built: Build) -> dict[str, tuple[str, BeautifulSoup]]:
    """Task file name → (its page's path, the parsed page), from the sources index."""
    index = BeautifulSoup(built.page("sources"), "html.parser")
    pages = {}
    for a in index.select("#files ~ table a"):
        path = "sources/" + a["href"].strip("./")
        pages[a.get_text()] = (path, BeautifulSoup(built.page(path), "html.parser"))
    return pages


def test_active_task_files_are_published_as_text_and_downloaded_by_their_name(active):
    pages = file_pages(active)
    for name in ACTIVE_FILES:
        path, soup = pages[name]
        download = soup.select_one("a[download]")
        assert download["download"] == name and download["href"] == f"file.{name.rsplit('.', 1)[1]}.txt"
        assert (active.site / path / download["href"]).read_text(encoding="utf-8") == ACTIVE_FILES[name]
        assert "纯文本" in soup.select_one("article").get_text()
    published = {p.name for p in active.site.glob("sources/*/file.*")}
    assert not published & {"file.html", "file.svg", "file.xml", "file.xhtml", "file.js"}
    assert {"file.pdf", "file.png"} <= published  # passive files keep their suffix
    assert kb_check(active.site)["broken"] == []  # every link to a published file lands


def test_an_svg_shows_as_an_image_from_its_own_bytes(active):
    _, soup = file_pages(active)["figure.svg"]
    src = soup.select_one("img.citekb-image")["src"]
    assert src.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).decode("utf-8") == ACTIVE_FILES["figure.svg"]
    report = BeautifulSoup(active.page("reports/active"), "html.parser")
    assert report.select_one('a.citekb-cite[data-kind="image"] img.citekb-thumb')["src"] == src


@pytest.mark.browser
def test_opening_an_active_task_file_runs_nothing(active, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    pages = file_pages(active)
    with serve(active.site) as url:
        for name in ACTIVE_FILES:
            path, soup = pages[name]
            page.goto(f"{url}/{path}/{soup.select_one('a[download]')['href']}")
            page.wait_for_load_state("load")
            assert page.evaluate("document.contentType") == "text/plain", name
            assert page.evaluate("window.pwned") is None, name
            assert "window.pwned" in page.evaluate("document.body.innerText"), name  # shown as text
            assert page.evaluate("document.querySelectorAll('script, img, svg, iframe').length") == 0, name
        for path in [pages["figure.svg"][0], "reports/active"]:  # the SVG shown as an image: drawn, inert
            page.goto(f"{url}/{path}/")
            page.wait_for_load_state("load")
            image = page.locator("article img[src^='data:image/svg+xml']").first
            assert image.evaluate("img => img.complete && img.naturalWidth") == 40, path
            assert page.evaluate("window.pwned") is None, path
    assert dialogs == []


HOVERED = """() => [...document.querySelectorAll('[title*="<"]')].map(e => {
  e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] })"""


@pytest.mark.browser
def test_hovering_a_title_attribute_runs_nothing(payload, page):
    """A title attribute holding a report's or source's title is a tooltip of text: Material's
    `content.tooltips` showed it as HTML (hovering a report's link on the health page ran it)."""
    built, _ = payload
    paths = [
        "health",
        "reports",
        *(str(p.parent.relative_to(built.site)) for p in built.site.glob("reports/*/index.html")),
    ]
    hovered = 0
    with serve(built.site) as url:
        for path in paths:
            page.goto(f"{url}/{path}/")
            page.wait_for_load_state("load")
            for n in range(len(page.evaluate(HOVERED))):
                page.mouse.move(0, 0)
                page.mouse.move(*page.evaluate(HOVERED)[n])
                page.wait_for_timeout(400)  # Material opens its tooltips after 250 ms
                hovered += 1
            assert page.evaluate("window.pwned") is None, path
    assert hovered >= 2  # the health page's links to the report titled with HTML


@pytest.mark.browser
def test_search_results_show_titles_headings_and_text_as_text(payload, page):
    """The search worker's titles, section labels (report headings) and snippets: escaped by
    citekb-search.js, put in as HTML by Material; then the result's page, its words highlighted."""
    built, _ = payload
    with serve(built.site) as url:
        search_box(page, url, "onerror pwned")
        results = page.locator(".md-search-result__list")
        results.locator("li").first.wait_for(state="visible", timeout=15000)
        shown = results.inner_text()
        assert "onerror" in shown and "<img" in shown  # the markup, as text
        assert results.locator("img, script, svg, iframe").count() == 0
        results.locator('a[href*="#"]').first.click()
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        assert "h=" in page.url and page.locator("mark[data-md-highlight]").count() > 0  # highlighted in place
        assert page.evaluate("window.pwned") is None


@pytest.mark.browser
def test_a_malformed_address_raises_no_script_error(payload, page):
    """citekb-span.js reads the address's fragment: a bad %-escape there is nothing to mark."""
    built, _ = payload
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    source = next(p.parent.name for p in built.site.glob("sources/lc-*/index.html"))
    with serve(built.site) as url:
        page.goto(f"{url}/sources/{source}/?span=1-3#%E0%A4%A")
        page.wait_for_load_state("load")
    assert errors == []
