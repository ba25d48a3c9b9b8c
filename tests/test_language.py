"""Issue 28 point 7: one language. Every word the site shows is Chinese (块 N, 网页, PDF 文档, the
footer…): English only in `kb … --json`. Dark mode follows the system setting and has a toggle, and
every Citekb colour says what it means in both schemes.

The in-process test renders each page kind over a knowledge base whose data is Chinese, takes the
text a reader sees (and the tooltips and labels a screen reader reads), strips the data strings put
in (titles, file names, the citations as the model wrote them), and looks for our English labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from helpers import REPO, search_box, serve

from build_tools import render
from build_tools.documents import search_docs
from build_tools.ingest import FILE_KINDS, Loaded
from build_tools.knowledge_base import KnowledgeBase, assemble
from build_tools.messages import FILE_KIND_LABELS
from build_tools.models import Audit, Corpus, FilePart, FileSource, Report, Source

A, B = "开源模型的崛起", "闭源模型的护城河"
BODY = "开源模型在二〇二四年发布了很多版本，社区的贡献也越来越多。" * 60  # several chunks, overlapping
FINAL = f"""# 开源与闭源的比较

## 一、背景

开源模型发展很快 [long_context: "{A}", chunk 1]。闭源模型依然领先 [long_context: "{B}", chunk 0]。

## 二、文件

论文第二页 [文档: 资料.pdf, page 2]，标志 [图片: 标志.png]，数据表 [文档: 数据.xlsx]，视频 [视频: 演示.mp4]。
被当作语料的文件 [long_context: "资料.pdf", chunk 3]。编造的标题 [long_context: "不存在的标题", chunk 0]。
"""
ORIGINAL = FINAL.replace("发展很快", "发展得非常快") + f'\n删除的一句 [long_context: "{B}", chunk 2]。\n'
META = {"model": "模型甲", "context": "三十二千", "retrieved": "二〇二五年"}

# Our English labels, as they were (`chunk 3`, `类型 web`, `任务文件 · pdf`, the footer's words…): the
# kinds are codes in lower case (a format's name, PDF or CSV, is a name in any language).
KINDS = {*FILE_KINDS.values(), "other", "long_context", "document", "image", "video", "web", "rag"}
ENGLISH = re.compile(
    r"(?i:(?:chunk|page|slide|sheet)\s*\d|\bid\b|made with|material|mkdocs|not found)|"
    + "|".join(rf"\b{re.escape(k)}\b" for k in KINDS)
)


def knowledge() -> KnowledgeBase:
    loaded = Loaded(Path("/kb"))
    sources = [Source("s0", A, BODY, meta={"kind": "web", "retrieved": "二〇二五年"}), Source("s1", B, BODY)]
    loaded.sources = {s.slug: s for s in sources}
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", [s.slug for s in sources])
    files = [
        FileSource(
            "f1", "资料.pdf", "files/t/资料.pdf", "pdf", "t", [FilePart("page", n, f"第{n}页的文字") for n in (1, 2)]
        ),
        FileSource("f2", "标志.png", "files/t/标志.png", "image", "t"),
        FileSource(
            "f3",
            "数据.xlsx",
            "files/t/数据.xlsx",
            "xlsx",
            "t",
            [FilePart("sheet", 1, "", "表一", (("甲", "乙"), ("一", "二")), 1)],
        ),
        FileSource("f4", "演示.mp4", "files/t/演示.mp4", "video", "t"),
        FileSource("f5", "说明.txt", "files/t/说明.txt", "text", "t", [FilePart("text", 1, "一段说明")]),
    ]
    loaded.files = {f.path: f for f in files}
    loaded.reports["r"] = Report(
        "r", "比较报告", "reports/r", FINAL, ORIGINAL, "查询的内容", "t", "corpora/t/c", "files/t", dict(META)
    )
    kb = assemble(loaded)
    kb.audits["r"] = [
        Audit("better_elsewhere", 0.3, "开源模型发展很快", (0, 6), ("发展",), ("s1", 2), (0, 4), ("开源",), "partial")
        if item.status == "resolved" and item.citation.kind == "long_context"
        else None
        for item in kb.cited["r"].final
    ]
    kb.audits["r"][1] = Audit("supported", 0.9, "闭源模型依然领先", (0, 8), held=("闭源",))
    return kb


def data_strings(kb: KnowledgeBase) -> list[str]:
    """What the knowledge base put on the pages: its titles, names, paths, texts and citations as
    written. Longest first, so a title goes whole before a name inside it."""
    found = {kb.loaded.root.as_posix(), "corpora/t/c", "files/t", "reports/r", *META.values()}
    for source in kb.loaded.sources.values():
        found |= {source.title, *source.origins}  # not its kind: a code we name (web → 网页)
    for file in kb.loaded.files.values():
        found |= {file.name, file.path}
    for cited in kb.cited.values():
        found |= {cited.report.title, cited.report.path}
        found |= {item.citation.raw for item in cited.final + cited.original}
    return sorted((s for s in found if s), key=len, reverse=True)


def shown(html: str) -> str:
    """What a reader sees of a page and what a screen reader reads: its text, its tooltips and labels."""
    soup = BeautifulSoup(html, "html.parser")
    for element in soup(["script", "style", "code"]):  # code: a command or an id, typed as it is
        element.decompose()
    said = [
        str(element[name])
        for element in soup.find_all(True)
        for name in ("title", "aria-label", "alt", "data-open", "placeholder")
        if element.has_attr(name)
    ]
    return " ".join([soup.get_text(" "), *said])


def pages(kb: KnowledgeBase) -> dict[str, str]:
    def link(target: str) -> str:
        return target

    out = {
        "source": render.source_page(kb, kb.loaded.sources["s0"], link),
        "report": render.report_page(kb, kb.cited["r"], link),
        "health": render.health_page(kb, link),
        "comparison": render.stats_page(kb, link),
        "sources": render.sources_index(kb, link),
        "reports": render.reports_index(kb, link),
        "search": "\n".join(f"<p>{render.esc(doc.title)}</p>" for doc in search_docs(kb)),
    }
    out |= {f"file {file.name}": render.file_page(kb, file, link) for file in kb.loaded.files.values()}
    return out


def test_every_page_kind_shows_none_of_our_english_labels():
    kb = knowledge()
    data = data_strings(kb)
    statuses = {item.status for item in kb.cited["r"].final}
    assert {"resolved", "unknown_source", "file_as_chunk"} <= statuses  # the premise: every kind of citation
    for name, html in pages(kb).items():
        text = shown(html)
        for value in data:
            text = text.replace(value, " ")
        assert not ENGLISH.findall(text), (name, ENGLISH.findall(text), text)
    report = pages(kb)["report"]
    assert "块 1" in shown(report) and 'href="sources/s0/?span=0-6#chunk-1"' in report  # the words, not the anchor
    assert "类型" in shown(pages(kb)["source"]) and "网页" in shown(pages(kb)["source"])
    assert "任务文件 · PDF 文档" in shown(pages(kb)["file 资料.pdf"])


def test_every_task_file_kind_has_its_chinese_name():
    assert set(FILE_KINDS.values()) | {"other"} == set(FILE_KIND_LABELS)
    for kind, label in FILE_KIND_LABELS.items():  # a Chinese word, never the code (PDF, Word stay: names)
        assert re.search(r"[\u4e00-\u9fff]", label) and not ENGLISH.search(label), (kind, label)


# ---------------------------------------------------------------- dark mode


def test_the_palette_follows_the_system_and_has_a_toggle():
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    palette = config["theme"]["palette"]
    assert [(p["media"], p["scheme"]) for p in palette] == [
        ("(prefers-color-scheme: light)", "default"),
        ("(prefers-color-scheme: dark)", "slate"),
    ]
    for option in palette:
        assert option["toggle"]["icon"] and re.search(r"[\u4e00-\u9fff]", option["toggle"]["name"])
    assert config["extra"]["generator"] == "false"  # no "Made with Material for MkDocs"


def test_every_stylesheet_colour_has_a_dark_value():
    """An opaque colour of ours is a variable with a value for each scheme (the two blocks at the top
    of citekb.css), so none is left light-on-light in slate; outside them only Material's variables
    (with a fallback), translucent shades (#9994: a grey over either background) and the chart's own
    colour attributes, which the stylesheet overrides, name a colour."""
    css = (REPO / "docs/stylesheets/citekb.css").read_text(encoding="utf-8")
    schemes = re.findall(r"(:root|\[data-md-color-scheme=\"slate\"\]) \{([^}]*)\}", css)
    assert [name for name, _ in schemes] == [":root", '[data-md-color-scheme="slate"]']
    light, dark = (set(re.findall(r"(--citekb-[\w-]+):", body)) for _, body in schemes)
    assert light == dark  # every colour named for both schemes
    rest = css
    for _, body in schemes:
        rest = rest.replace(body, "")
    rest = re.sub(r"/\*.*?\*/", "", rest, flags=re.DOTALL)  # comments
    rest = re.sub(r"var\(--md-[\w-]+, #[0-9a-fA-F]+\)", "", rest)  # Material's, with a fallback
    rest = re.sub(r'\[fill="#[0-9a-fA-F]+"\]', "", rest)  # the chart's attributes, overridden
    opaque = [c for c in re.findall(r"#[0-9a-fA-F]{3,8}\b", rest) if len(c) in (4, 7)]
    assert opaque == [], opaque


def luminance(rgb: tuple[float, ...]) -> float:
    channels = [c / 255 for c in rgb[:3]]
    return sum(
        w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        for w, c in zip((0.2126, 0.7152, 0.0722), channels)
    )


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(n) for n in re.findall(r"[\d.]+", css))


HUES = {  # what each count's colour must say: (red, green) dominance
    "good": lambda r, g, b: g > r and g > b,
    "amber": lambda r, g, b: r > b and g > b and r >= g,
    "bad": lambda r, g, b: r > g and r > b,
}
MEANING = {
    '[data-verdict="supported"]': "good",
    '[data-audit="supported"]': "good",
    '[data-status="resolved"]': "good",
    '[data-verdict="partial"]': "amber",
    '[data-status="file_as_chunk"], [data-status="locator_out_of_range"]': "amber",  # linked, not as written
    '[data-audit="better_elsewhere"], [data-audit="weak"], [data-audit="numbers_missing"]': "amber",
    '[data-verdict="unsupported"]': "bad",
    '[data-verdict="unresolved"]': "bad",
    '[data-status="unknown_source"], [data-status="missing_file"]': "bad",
}

# Each element's colour and the background it is read on: the backgrounds under it composited up
# to the first opaque one (a row's translucent hover tint is not the background, only a tint of it).
COLOURS = """selector => [...document.querySelectorAll(selector)].map(e => {
  const layers = []
  for (let back = e; back; back = back.parentElement) {
    const [r, g, b, a = 1] = getComputedStyle(back).backgroundColor.match(/[\\d.]+/g).map(Number)
    if (a > 0) layers.push([r, g, b, a])
    if (a >= 1) break
  }
  let colour = [255, 255, 255]  // the canvas, under everything
  for (const [r, g, b, a] of layers.reverse()) colour = [r, g, b].map((c, i) => a * c + (1 - a) * colour[i])
  return [getComputedStyle(e).color, `rgb(${colour.join(", ")})`, e.textContent]
})"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_each_count_colour_says_what_it_means_in_both_schemes(shipped, browser, scheme):
    """The system's dark setting (prefers-color-scheme, emulated) turns the site slate; a preview's
    background is dark there; each verdict and status count is green, amber or red as it means
    (有依据 was red) with its words beside it, readable on its background (contrast 4.5)."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    with serve(shipped.site) as url:
        seen: set[str] = set()
        for path in ("health/", "reports/example-open-vs-closed/"):
            tab.goto(f"{url}/{path}")
            assert tab.evaluate("document.body.dataset.mdColorScheme") == {"light": "default", "dark": "slate"}[scheme]
            for selector, meaning in MEANING.items():
                for colour, background, words in tab.evaluate(COLOURS, f".citekb-count:is({selector})"):
                    seen.add(meaning)
                    assert HUES[meaning](*rgb(colour)), (path, selector, colour, words)
                    assert contrast(rgb(colour), rgb(background)) >= 4.5, (path, selector, colour, background)
                    assert re.search(r"[\u4e00-\u9fff]", words)  # a word, not colour alone
        assert seen == set(HUES)
        tab.locator(".citekb-report .citekb-cite[data-verdict]").first.focus()
        popover = tab.locator(".citekb-popover")
        popover.wait_for(state="visible")
        background = rgb(popover.evaluate("p => getComputedStyle(p).backgroundColor"))
        text = rgb(popover.evaluate("p => getComputedStyle(p).color"))
        assert (luminance(background) < 0.05) == (scheme == "dark") and contrast(text, background) >= 7
    tab.close()


def test_search_results_name_a_chunk_in_chinese(shipped, browser):
    """Material's search box over our worker: a chunk result's heading reads 块 N (its link stays
    #chunk-N); the label is the index's own (docs.json), not the worker's."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    with serve(shipped.site) as url:
        search_box(tab, url, "开源模型")
        result = tab.locator('.md-search-result__list > li a[href*="#chunk-"]').first
        result.wait_for(state="visible", timeout=15000)
        number = result.get_attribute("href").rpartition("#chunk-")[2]
        assert result.locator("article h2").inner_text() == f"块 {number}"
    tab.close()
