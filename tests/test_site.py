"""The shipped site: strict build, exact chunk sections, boilerplate hidden not lost, offline, inert, reproducible."""

from __future__ import annotations

import gzip
import json
import os
import re
import struct

from bs4 import BeautifulSoup
from fixtures import make_sample_kb
from helpers import REPO, build_site, section_text, write_page

from build_tools.chunk import chunk_text
from build_tools.ingest import load


def test_strict_build_has_no_warnings(shipped):
    assert shipped.warnings == []


def test_every_shipped_chunk_is_on_its_page_exactly(shipped):
    loaded = load(REPO / "sources")
    assert len(loaded.sources) == 3
    for source in loaded.sources.values():
        soup = BeautifulSoup(shipped.page(f"sources/{source.slug}"), "html.parser")
        sections = soup.select("section.citekb-chunk")
        chunks = chunk_text(source.text)
        assert [s["id"] for s in sections] == [f"chunk-{c.index}" for c in chunks]
        for section, chunk in zip(sections, chunks):
            assert section_text(section) == chunk.text
            assert f"字符 {chunk.start}–{chunk.end}" in section.get_text()
            assert section.select_one(f'a.headerlink[href="#chunk-{chunk.index}"]')


def test_seed_001_hides_related_list_and_breadcrumb_but_keeps_them(shipped):
    soup = BeautifulSoup(shipped.page("sources/open-vs-closed-llm-landscape"), "html.parser")
    hidden = soup.select("details.citekb-boilerplate")
    rules = {d["data-rule"] for d in hidden}
    assert {"breadcrumb", "related_list", "repeated_title"} <= rules
    for details in hidden:
        details.decompose()
    visible = soup.select_one("article").get_text()
    assert "相关文章" not in visible and "当前位置" not in visible
    assert "学习设计模式《一》——简单工厂" not in visible
    full = BeautifulSoup(shipped.page("sources/open-vs-closed-llm-landscape"), "html.parser").get_text()
    assert "学习设计模式《一》——简单工厂" in full and "当前位置: 首页 > news >正文" in full


def test_overlap_with_neighbours_is_marked(shipped):
    soup = BeautifulSoup(shipped.page("sources/openai-success-lessons"), "html.parser")
    second = soup.select_one("#chunk-2")
    overlaps = second.select(".citekb-overlap")
    assert overlaps and overlaps[0]["title"] == "与块 1 重叠"
    assert overlaps[-1]["title"] == "与块 3 重叠"


def test_site_makes_no_external_requests(shipped):
    external = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")
    for page in shipped.site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
        for tag in BeautifulSoup(html, "html.parser").select("script[src], link[href], img[src]"):
            assert not external.search(str(tag)), f"{page}: {tag}"


def test_scraped_text_is_never_interpreted(tmp_path):
    body = (
        "<script>window.pwned = 1</script>\n<img src=x onerror=alert(1)>\n"
        "{{ config.site_name }} {% include 'x' %}\n[link](javascript:alert(1))\n# not a heading\n"
    )
    write_page(tmp_path / "kb", "hostile.txt", "<b>title</b> {{ 7*7 }}", body)
    built = build_site(tmp_path / "kb", tmp_path / "site")
    assert built.returncode == 0, built.log
    soup = BeautifulSoup(built.page("sources/hostile"), "html.parser")
    article = soup.select_one("article")
    assert not article.select("script, img, b") and not article.select('a[href^="javascript"]')
    text = article.get_text()
    for literal in (
        "<script>window.pwned = 1</script>",
        "{{ config.site_name }}",
        "{% include 'x' %}",
        "[link](javascript:alert(1))",
        "# not a heading",
        "<b>title</b> {{ 7*7 }}",
    ):
        assert literal in text
    assert "49" not in soup.select_one("h1").get_text()


def test_two_builds_of_the_same_input_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEKB_REUSE", "0")  # both render every page (a warm build: tests/test_warm_build.py)
    kb_root = tmp_path / "kb"
    make_sample_kb(kb_root)
    first = build_site(kb_root, tmp_path / "one")
    for path in kb_root.rglob("*"):
        os.utime(path, (path.stat().st_atime + 86400 * 3, path.stat().st_mtime + 86400 * 3))  # "three days later"
    second = build_site(kb_root, tmp_path / "two")
    assert first.returncode == second.returncode == 0, first.log + second.log
    files = sorted(p.relative_to(first.site) for p in first.site.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second.site) for p in second.site.rglob("*") if p.is_file())
    differing = [f for f in files if (first.site / f).read_bytes() != (second.site / f).read_bytes()]
    assert differing == []
    sitemap = (first.site / "sitemap.xml").read_text(encoding="utf-8")
    assert "<lastmod>" not in sitemap
    gz = (first.site / "sitemap.xml.gz").read_bytes()
    assert struct.unpack("<I", gz[4:8])[0] < 86400  # gzip header time: the pinned epoch, not today
    assert gzip.decompress(gz).decode("utf-8") == sitemap


def test_example_report_shows_each_kind_of_citation_working_and_failing(shipped):
    """The shipped example report: its resolved citations land on the chunk whose text the page's
    own chunking gives; section 四 has one broken citation of each kind."""
    soup = BeautifulSoup(shipped.page("reports/example-open-vs-closed"), "html.parser")
    final = soup.select_one("#final + .citekb-report")
    statuses = [a["data-status"] for a in final.select(".citekb-cite")]
    assert statuses.count("resolved") >= 10
    assert {"unknown_source", "chunk_out_of_range", "malformed", "missing_file", "file_as_chunk"} <= set(statuses)
    pages = {s.title: s for s in load(REPO / "sources").sources.values()}
    for link in final.select('a.citekb-cite[data-status="resolved"][data-kind="long_context"]'):
        chunk = chunk_text(pages[link["data-title"]].text)[int(link["data-chunk"])]
        target = BeautifulSoup(shipped.page(f"sources/{link['href'].split('/')[-2]}"), "html.parser")
        assert section_text(target.select_one(f"#chunk-{chunk.index}")) == chunk.text
    assert final.select_one("code").get_text() == '[long_context: "示例", chunk 0]'  # in code: not a citation
    assert soup.select_one("#final + .citekb-report img, #final + .citekb-report a[data-kind=image]")


def test_materials_own_index_is_empty_beside_ours(shipped):
    """With the prebuilt search, Material's index (which its worker would read, ours never does) holds
    no page: indexing the hand-written pages loaded jieba's dictionary, a second of every build."""
    material = json.loads((shipped.site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert material["docs"] == [] and (shipped.site / "search" / "citekb" / "manifest.json").is_file()


def test_other_plugins_markdown_step_is_left_out_on_generated_pages(tmp_path, monkeypatch):
    """A generated page's Markdown is empty and its header says `render_macros: false`: another
    plugin's on_page_markdown (mkdocs-macros copied each page there) is not run on it, and is on a
    hand-written page."""
    from types import SimpleNamespace

    from mkdocs.config import load_config

    monkeypatch.setenv("CITEKB_SOURCES", str(tmp_path / "kb"))
    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    config.plugins.on_startup(command="build", dirty=False)
    seen = []
    config.plugins.events["page_markdown"].insert(0, lambda markdown, *, page, **_: seen.append(page) or markdown + "!")
    config = config.plugins.on_config(config)
    plugin = next(hook.plugin for hook in config.plugins.values() if hasattr(hook, "plugin"))
    plugin.generated = {"sources/a.md": ({}, "", lambda: "")}
    generated, written = (SimpleNamespace(file=SimpleNamespace(src_uri=uri)) for uri in ("sources/a.md", "index.md"))
    first = config.plugins.events["page_markdown"][0]
    assert first("", page=generated, config=config, files=None) == ""
    assert first("# Home", page=written, config=config, files=None) == "# Home!"
    assert seen == [written]
