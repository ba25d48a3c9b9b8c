"""A hostile knowledge base: the build survives, loses no chunk, and nothing runs in chromium."""

from __future__ import annotations

import unicodedata

import pytest
from bs4 import BeautifulSoup
from fixtures import INJECTIONS, hostile_sources, make_hostile_sample_kb
from helpers import build_site, kb, section_text, serve

from build_tools.chunk import chunk_text
from build_tools.cite.parse import parse_citations
from build_tools.cite.resolve import Scope, file_key, resolve
from build_tools.models import FileSource


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    make_hostile_sample_kb(root / "kb")
    built = build_site(root / "kb", root / "site", strict=False)
    assert built.returncode == 0, built.log
    return built


def source_pages(built) -> dict[str, BeautifulSoup]:
    """title → parsed page, for every source page listed on the sources index."""
    index = BeautifulSoup(built.page("sources"), "html.parser")
    pages: dict[str, list[BeautifulSoup]] = {}
    for a in index.select("table.citekb-index a"):
        soup = BeautifulSoup(built.page("sources/" + a["href"].strip("./")), "html.parser")
        pages.setdefault(soup.select_one("h1").get_text().rstrip("¶"), []).append(soup)
    return pages


def test_unusable_file_is_named_and_strict_build_fails_on_it(hostile, tmp_path):
    assert any("pages/latin1.txt" in w and "not UTF-8" in w for w in hostile.warnings)
    strict = build_site(hostile.site.parent / "kb", tmp_path / "strict")
    assert strict.returncode != 0 and "pages/latin1.txt" in strict.log


def test_every_chunk_of_every_usable_source_is_present(hostile):
    pages = source_pages(hostile)
    expected = {title: [body] for title, body in hostile_sources().items()}
    expected["重复标题"].append("正文二，另一篇同名文档。" * 10)
    expected["Markdown {{ 7*7 }} <b>bold</b>"] = [INJECTIONS]
    assert set(pages) == set(expected)
    for title, bodies in expected.items():
        assert len(pages[title]) == len(bodies), title
        found = sorted([section_text(s) for s in soup.select("section.citekb-chunk")] for soup in pages[title])
        wanted = sorted([c.text for c in chunk_text(f"{title}\n\n{body}")] for body in bodies)
        assert found == wanted, title


def test_hostile_site_links_all_resolve(hostile):
    done = kb("check", str(hostile.site), check=False)
    assert done.returncode == 0, done.stdout


def test_nothing_runs_or_appears_in_chromium(hostile, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    index = BeautifulSoup(hostile.page("sources"), "html.parser")
    paths = ["sources/" + a["href"].strip("./") for a in index.select("table.citekb-index a")]
    with serve(hostile.site) as url:
        for path in paths + ["reports/hostile", "health"]:
            page.goto(f"{url}/{path}/")
            page.wait_for_load_state("load")
            assert page.evaluate("window.pwned") is None, path
            assert page.locator("#injected").count() == 0, path
            assert page.locator("article script, article img, article iframe, article svg, article style").count() == 0
            assert page.locator("article").is_visible(), path  # an injected <style> did not hide the page
    assert dialogs == []


def test_task_file_names_in_any_unicode_form_resolve_and_no_hint_repeats_the_cited_name():
    """Issue 18 item 4: NFD and full-width names cited exactly resolve; a hint never names what was cited."""
    names = (unicodedata.normalize("NFD", "café.png"), "ＡＩ报告２０２４.png")
    files = {file_key(name): FileSource(f"f{i}", name, f"files/t/{name}", "image") for i, name in enumerate(names)}
    where = Scope([], {}, files=files, files_folder="files/t")
    for cited in (*names, "café.png", "AI报告2024.png"):
        assert resolve(parse_citations(f"[图片: {cited}]")[0], where).status == "resolved", cited
    for cited in ("cafe.png", "caf.png", "AI报告2025.png", "ＡＩ报告２０２５.png"):
        row = resolve(parse_citations(f"[图片: {cited}]")[0], where)
        assert row.status == "missing_file"
        assert row.suggestion is None or file_key(dict(row.suggestion.values)["name"]) != file_key(cited), cited
