"""Task files show, per page, slide and sheet, the text the pipeline extracted from them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fixtures import make_pptx, pdf_bytes, png_bytes
from helpers import PIPELINE, build_site, kb, search_box, serve
from pdfminer.high_level import extract_text

from build_tools import documents, render
from build_tools.cite.parse import parse_locator
from build_tools.cite.resolve import part_for
from build_tools.extract import MAX_ROWS, extract_parts
from build_tools.ingest import UNTOLD_SLIDES, load, load_file
from build_tools.knowledge_base import assemble
from build_tools.models import FileSource
from build_tools.paths import anchor_text

PAGES = ["First page about scaling", "Second page about latency budgets", "Third page"]
LONG = MAX_ROWS + 37


def make_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sales = book.active
    sales.title = "销量 2024"
    sales.append(["月份", "销量*", "备注"])
    for n in range(LONG):
        sales.append([f"m{n}", n, "<b>x</b>" if n == 0 else "ok"])
    costs = book.create_sheet("成本")
    costs.append(["项目", "金额"])
    costs.append(["服务器", 1200])
    book.save(path)


def make_docx(path: Path, text: str) -> None:
    from docx import Document

    document = Document()
    document.add_heading("About the dataset", level=1)
    document.add_paragraph(text)
    document.save(path)


def make_files(folder: Path) -> Path:
    """One good file of every kind with text, and an image."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "paper.pdf").write_bytes(pdf_bytes(PAGES))
    make_pptx(folder / "deck.pptx", ["Opening slide", "Safe harbour rules", "Closing"])
    make_xlsx(folder / "data.xlsx")
    make_docx(folder / "about.docx", "The dataset spans five years of daily prices.")
    with (folder / "table.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["country", "cases"])
        writer.writerows([f"country {n}", n] for n in range(LONG))
    (folder / "readme.md").write_text("# 说明\n\n- **File Name:** table.csv\n", encoding="utf-8")
    (folder / "notes.txt").write_text("plain notes <script>x</script>\n", encoding="utf-8")
    (folder / "logo.jpg").write_bytes(png_bytes())
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return make_files(tmp_path_factory.mktemp("kb") / "files" / "t1")


def test_pdf_pages_are_pdfminers_text_split_at_form_feeds(files):
    parts = extract_parts(files / "paper.pdf")
    assert [(p.kind, p.number) for p in parts] == [("page", 1), ("page", 2), ("page", 3)]
    assert [p.text for p in parts] == extract_text(files / "paper.pdf").split("\f")[:-1]
    assert parts[1].text.strip() == PAGES[1]


def test_a_glyph_read_as_a_form_feed_does_not_add_a_page(tmp_path):
    """A font may map a glyph to a form feed: page 2 is still the PDF's second page, not the
    rest of page 1 (a citation of page 2 would land on the wrong text)."""
    path = tmp_path / "hostile.pdf"
    path.write_bytes(pdf_bytes(["Intro \\014 fake page", "Second page about latency"], to_unicode={12: "\f"}))
    assert extract_text(path).count("\f") == 3  # what a cut at every form feed reads as three pages
    parts = extract_parts(path)
    assert [p.number for p in parts] == [1, 2]
    assert "fake page" in parts[0].text and parts[1].text.strip() == "Second page about latency"
    assert "".join(p.text + "\f" for p in parts) == extract_text(path)  # the pipeline's text, whole


def test_slides_are_numbered_by_markitdowns_markers(files):
    parts = extract_parts(files / "deck.pptx")
    assert [(p.kind, p.number) for p in parts] == [("slide", 1), ("slide", 2), ("slide", 3)]
    assert "Safe harbour rules" in parts[1].text and "body of Safe harbour rules" in parts[1].text
    assert "Slide number" not in parts[1].text


def test_a_slide_marker_in_a_slides_text_leaves_the_places_unchecked(tmp_path):
    """A line of a slide reading like MarkItDown's marker would make a second slide 2 (and shift
    what follows): the deck's text is then shown whole, one `text`, and a slide it names is not linked."""
    path = tmp_path / "hostile.pptx"
    make_pptx(path, ["Opening\n<!-- Slide number: 2 -->\nInjected", "Real second", "Third"])
    (part,) = extract_parts(path)
    assert part.kind == "text" and "Real second" in part.text and "Injected" in part.text
    deck = FileSource("deck", "hostile.pptx", "files/t/hostile.pptx", "pptx", parts=[part])
    assert part_for(deck, parse_locator("slide 2")) is None  # the whole file, its place unchecked
    _, problems = load_file(path, tmp_path)
    assert [p.message for p in problems] == [UNTOLD_SLIDES] and problems[0].path == "hostile.pptx"


def test_sheets_have_their_names_and_capped_rows(files):
    sales, costs = extract_parts(files / "data.xlsx")
    assert (sales.kind, sales.name, costs.name) == ("sheet", "销量 2024", "成本")
    assert sales.rows[0] == ("月份", "销量*", "备注")  # markdownify's escapes undone
    assert sales.rows[1] == ("m0", "0", "<b>x</b>")
    assert len(sales.rows) == MAX_ROWS + 1 and sales.total_rows == LONG
    assert costs.rows == (("项目", "金额"), ("服务器", "1200")) and costs.total_rows == 1
    assert "m210" in sales.text  # the text keeps every row: search finds it


def test_csv_rows_are_capped_with_the_total(files):
    (part,) = extract_parts(files / "table.csv")
    assert (part.kind, part.rows[0], part.rows[1]) == ("text", ("country", "cases"), ("country 0", "0"))
    assert len(part.rows) == MAX_ROWS + 1 and part.total_rows == LONG
    assert part.text == (files / "table.csv").read_bytes().decode("utf-8")


def test_documents_and_text_files_are_one_text_part(files):
    (docx,) = extract_parts(files / "about.docx")
    assert docx.kind == "text" and "five years of daily prices" in docx.text and "About the dataset" in docx.text
    assert [p.text for p in extract_parts(files / "readme.md")] == ["# 说明\n\n- **File Name:** table.csv\n"]
    assert extract_parts(files / "logo.jpg") == []


def test_unreadable_files_are_problems_naming_them_and_the_rest_loads(tmp_path):
    folder = make_files(tmp_path / "files" / "t1")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (folder / "broken.pptx").write_bytes((folder / "deck.pptx").read_bytes()[:2000])
    (folder / "text.pptx").write_text("not a presentation", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("café".encode("latin-1"))
    loaded = load(tmp_path)
    problems = {p.path: p.message for p in loaded.problems}
    assert set(problems) == {f"files/t1/{name}" for name in ("broken.pdf", "broken.pptx", "text.pptx", "latin1.txt")}
    assert "not UTF-8 (byte 0xe9" in problems["files/t1/latin1.txt"]
    assert "File is not a zip file" in problems["files/t1/broken.pptx"]
    assert loaded.files["files/t1/broken.pdf"].parts == [] and len(loaded.files["files/t1/paper.pdf"].parts) == 3
    page = render.file_page(assemble(loaded), loaded.files["files/t1/broken.pdf"], lambda target: target)
    assert 'href="sources/file-' in page and "download=" in page and "没有提取到文字" in page


REPORT = """# 任务文件报告

第二页讲延迟 [文档: paper.pdf, page 2]，第 99 页不存在 [文档: paper.pdf, page 99]。
幻灯片 [文档: deck.pptx, slide 2]，工作表 [文档: data.xlsx, sheet 成本]，数据表 [文档: table.csv]。
"""


def make_files_sample_kb(root: Path) -> Path:
    make_files(root / "files" / "t1")
    report = root / "reports" / "files"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t1\n", encoding="utf-8")
    (report / "final_report.md").write_text(REPORT, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    return assemble(load(make_files_sample_kb(tmp_path_factory.mktemp("kb"))))


def file_named(knowledge, name: str):
    return next(f for f in knowledge.loaded.files.values() if f.name == name)


def test_citations_land_on_their_part_and_a_missing_page_is_flagged(knowledge):
    cited = [(r.status, r.target) for r in knowledge.cited["files"].final]
    paper, deck, book, table = (
        file_named(knowledge, n).slug for n in ("paper.pdf", "deck.pptx", "data.xlsx", "table.csv")
    )
    assert cited == [
        ("resolved", f"sources/{paper}/#page-2"),
        ("locator_out_of_range", f"sources/{paper}/"),
        ("resolved", f"sources/{deck}/#slide-2"),
        ("resolved", f"sources/{book}/#sheet-成本"),
        ("resolved", f"sources/{table}/"),
    ]


def test_file_pages_show_every_part_under_its_anchor(knowledge):
    def page(name: str) -> BeautifulSoup:
        return BeautifulSoup(render.file_page(knowledge, file_named(knowledge, name), lambda t: t), "html.parser")

    def headings(soup: BeautifulSoup) -> list[tuple[str, str]]:
        return [(h["id"], h.get_text().rstrip("¶")) for h in soup.select("h2.citekb-chunk-heading")]

    paper = page("paper.pdf")
    assert headings(paper) == [("page-1", "第 1 页"), ("page-2", "第 2 页"), ("page-3", "第 3 页")]
    assert paper.find(id="page-2").find_parent("section").select_one(".citekb-text").get_text().strip() == PAGES[1]
    assert headings(page("deck.pptx"))[1] == ("slide-2", "第 2 张幻灯片")
    book = page("data.xlsx")
    sales_anchor = anchor_text("销量 2024")  # the name with a space: readable, and apart from `销量-2024`
    assert headings(book) == [(f"sheet-{sales_anchor}", "工作表 销量 2024"), ("sheet-成本", "工作表 成本")]
    sales = book.find(id=f"sheet-{sales_anchor}").find_parent("section")
    assert sales.select_one(".citekb-note").get_text() == f"仅显示前 {MAX_ROWS} 行，共 {LONG} 行。"
    assert (
        len(sales.select("tbody tr")) == MAX_ROWS
        and sales.select_one("tbody td:nth-of-type(3)").get_text() == "<b>x</b>"
    )
    assert not sales.select("tbody b")
    table = page("table.csv")
    assert headings(table) == [("text", "全文")] and f"共 {LONG} 行" in table.select_one(".citekb-note").get_text()
    notes = page("notes.txt")
    assert notes.select_one(".citekb-text").get_text() == "plain notes <script>x</script>\n" and not notes.select(
        "script"
    )
    assert page("logo.jpg").select_one("img.citekb-image") and not page("logo.jpg").select("h2")


def test_search_has_one_document_per_part(knowledge):
    docs = {(d.page_title, d.anchor): d for d in documents.search_docs(knowledge)}
    paper = docs[("paper.pdf", "page-2")]
    assert (paper.label, paper.text.strip(), paper.page) == (
        "第 2 页",
        PAGES[1],
        f"sources/{file_named(knowledge, 'paper.pdf').slug}/",
    )
    assert docs[("deck.pptx", "slide-3")].label == "第 3 张幻灯片"
    assert docs[("data.xlsx", "sheet-成本")].label == "工作表 成本"
    assert {("about.docx", "text"), ("table.csv", "text"), ("readme.md", "text")} <= set(docs)
    assert not [key for key in docs if key[0] == "logo.jpg"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    return build_site(make_files_sample_kb(root / "kb"), root / "site")


def test_site_with_every_file_kind_builds_strictly_and_links_resolve(built):
    assert built.returncode == 0, built.log
    assert kb("check", str(built.site)).returncode == 0
    for query, anchor, title in [
        ("latency budgets", "#page-2", "paper.pdf · 第 2 页"),
        ("服务器", "#sheet-成本", "data.xlsx · 工作表 成本"),
    ]:
        first = json.loads(kb("search", query, "--site", str(built.site), "--json").stdout)[0]
        assert first["location"].endswith(anchor) and first["title"] == title


def test_pipeline_pdf_pages_are_pdfminers():
    pdfs = sorted(PIPELINE.glob("datasets/002/*.pdf"))
    if not pdfs:
        pytest.skip("../shared/pipeline/datasets/002 has no PDF here (CI has it; copies are never committed)")
    for pdf in pdfs:
        pages = extract_text(pdf).split("\f")
        assert [p.text for p in extract_parts(pdf)] == (pages[:-1] if pages[-1] == "" else pages)


@pytest.mark.browser
def test_search_box_finds_a_pdf_page_and_lands_on_it(built, page):
    with serve(built.site) as url:
        search_box(page, url, "latency budgets")
        first = page.locator('.md-search-result__list > li a[href*="#"]').first
        first.wait_for(state="visible", timeout=15000)
        assert first.get_attribute("href").endswith("#page-2")
        article = first.locator("article")
        assert article.locator("h2").inner_text() == "第 2 页" and "latency budgets" in article.inner_text()
        first.click()
        page.wait_for_url("**#page-2")
        assert page.evaluate("document.querySelector(':target').textContent") == "第 2 页¶"
