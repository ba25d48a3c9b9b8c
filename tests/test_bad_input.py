"""Issue 26, point 3: bad input is a problem naming the file and line, never a traceback, and the
rest still builds: names that are not UTF-8 (shown with their bytes escaped, still published),
lone surrogates, anything the pipeline's JSON loader refuses, YAML values that are no values,
CRLF and BOM headers, folder trees deeper than Python's recursion limit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urljoin

import pytest
from bs4 import BeautifulSoup
from fixtures import make_sample_kb, pdf_bytes, png_bytes
from helpers import build_site, kb

from build_tools.check import check_site
from build_tools.chunk import chunk_text
from build_tools.ingest import load
from build_tools.models import document_text
from build_tools.reading import short_hash

GBK = "报告".encode("gbk")  # what unzipping a Windows archive leaves: b"\xb1\xa8\xb8\xe6"
GBK_SHOWN = r"\xb1\xa8\xb8\xe6"
SURROGATE_TITLE = "标题\ud800有孤立代理"
SURROGATE_BODY = ("正文\udfff一段。" * 200 + "\n\n") * 3


def write(root: Path, relative: bytes, data: bytes) -> None:
    """A file at a path given as bytes: names that are not UTF-8 are written as they are."""
    path = os.path.join(os.fsencode(root), relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)


def make_bad_input_kb(root: Path) -> Path:
    """make_sample_kb's knowledge base plus a task file, a task folder, a page, a corpus and a report
    folder named in GBK bytes, a task file named with an escape sequence, and a corpus whose
    strings hold lone surrogates."""
    make_sample_kb(root)
    write(root, b"files/t1/" + GBK + b".pdf", pdf_bytes(["GBK named file"]))
    write(root, b"files/" + GBK + b"/logo.png", png_bytes())
    write(root, b"files/t1/red\x1b[31m.png", png_bytes())
    write(root, b"pages/" + GBK + b".txt", "---\ntitle: GBK 文件名的页面\n---\n页面正文。\n".encode())
    corpus = [{"title": "GBK 文件名的语料", "page_body": "语料正文。"}]
    write(root, b"corpora/t1/" + GBK + b".json", json.dumps(corpus, ensure_ascii=False).encode())
    write(root, b"reports/" + GBK + b"/report.yaml", b"task: t1\ncorpus: corpora/t1/long_context_sampled_60\n")
    write(root, b"reports/" + GBK + b"/final_report.md", "# GBK 文件夹的报告\n\n见 [文档: paper.pdf]。\n".encode())
    surrogates = json.dumps([{"title": SURROGATE_TITLE, "page_body": SURROGATE_BODY, "url": "https://x.org/\ud83d"}])
    write(root, b"corpora/s/long_context_sampled_60.json", ("[\n" + surrogates[1:]).encode())
    return root


@pytest.fixture(scope="module")
def bad_input(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad_input")
    root = make_bad_input_kb(work / "kb")
    built = build_site(root, work / "site", strict=False, audit=False)
    assert built.returncode == 0, built.log
    return root, built


def test_names_that_are_not_utf8_are_reported_with_their_bytes_escaped(bad_input):
    _, built = bad_input
    for name in (
        rf"files/t1/{GBK_SHOWN}.pdf",
        rf"files/{GBK_SHOWN}",
        r"files/t1/red\x1b[31m.png",
        rf"pages/{GBK_SHOWN}.txt",
        rf"corpora/t1/{GBK_SHOWN}.json",
        rf"reports/{GBK_SHOWN}",
    ):
        assert any(line.startswith(f"WARNING -  citekb: {name}: the name is not UTF-8") for line in built.warnings), (
            name
        )
    assert "\x1b" not in built.log and "Traceback" not in built.log


def test_a_task_file_so_named_has_its_page_and_its_download(bad_input):
    root, built = bad_input
    loaded = load(root)
    for shown, data in [
        (rf"files/t1/{GBK_SHOWN}.pdf", (root / os.fsdecode(b"files/t1/" + GBK + b".pdf")).read_bytes()),
        (rf"files/{GBK_SHOWN}/logo.png", png_bytes()),
        (r"files/t1/red\x1b[31m.png", png_bytes()),
    ]:
        file = loaded.files[shown]
        page = BeautifulSoup(built.page(f"sources/{file.slug}"), "html.parser")
        assert shown.rsplit("/", 1)[-1] in page.select_one("article").get_text()
        links = [a["href"] for a in page.select("article a[href]") if "/file." in urljoin("x/", a["href"])]
        assert links, f"no download link on the page of {shown}"
        for href in links:
            published = built.site / unquote(urljoin(f"sources/{file.slug}/", href))
            assert published.read_bytes() == data


def test_everything_else_named_so_is_published(bad_input):
    root, built = bad_input
    loaded = load(root)
    titles = {s.title: s.slug for s in loaded.sources.values()}
    for title in ("GBK 文件名的页面", "GBK 文件名的语料"):
        assert title in built.page(f"sources/{titles[title]}")
    report = next(r for r in loaded.reports.values() if r.path == rf"reports/{GBK_SHOWN}")
    assert "GBK 文件夹的报告" in built.page(f"reports/{report.slug}")
    assert check_site(built.site)[1] == []
    for page in built.site.rglob("*.html"):
        page.read_bytes().decode("utf-8")  # every page is UTF-8 text


def test_a_strict_build_stops_naming_them(bad_input, tmp_path):
    root, _ = bad_input
    built = build_site(root, tmp_path / "site", strict=True, audit=False)
    assert built.returncode != 0
    assert rf"files/t1/{GBK_SHOWN}.pdf" in built.log and "Traceback" not in built.log


def test_lone_surrogates_are_replaced_one_for_one_and_reported_with_the_line(bad_input):
    root, built = bad_input
    loaded = load(root)
    problems = [str(p) for p in loaded.problems if p.path == "corpora/s/long_context_sampled_60.json"]
    assert len(problems) == 3 and all(
        p.startswith("corpora/s/long_context_sampled_60.json:2: item 0: its ") for p in problems
    )
    source = next(s for s in loaded.sources.values() if s.title.startswith("标题"))
    assert source.title == "标题\ufffd有孤立代理" and source.meta["origin"] == "https://x.org/\ufffd"
    # The pipeline chunks the text with its surrogates: the same windows, each read as U+FFFD.
    pipeline = chunk_text(document_text(SURROGATE_TITLE, SURROGATE_BODY))
    ours = chunk_text(source.text)
    assert [(c.start, c.end) for c in ours] == [(c.start, c.end) for c in pipeline]
    assert [c.text for c in ours] == [c.text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd") for c in pipeline]
    assert "标题\ufffd有孤立代理" in built.page(f"sources/{source.slug}")


def test_names_that_show_alike_are_both_kept(tmp_path):
    """An undecodable byte and a name holding its escape literally: both published, reported."""
    write(tmp_path, b"files/t/\xb1.png", png_bytes())
    write(tmp_path, rb"files/t/\xb1.png", b"literal")
    loaded = load(tmp_path)
    assert len(loaded.files) == 2 and len({f.slug for f in loaded.files.values()}) == 2
    assert {f.stored for f in loaded.files.values()} == {os.fsdecode(b"files/t/\xb1.png"), r"files/t/\xb1.png"}
    assert any("shows as that of" in p.message for p in loaded.problems)
    assert short_hash(os.fsdecode(b"\xb1")) != short_hash("\ufffd")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[\n" + "[" * 100_000 + "]" * 100_000 + "]", 2, "nested too deeply"),
        ('[\n{"title": "a"},\n{"title": ' + "9" * 5000 + "}]", 3, "more than 4300 digits"),
        ('[\n{"title": "a"}\n{"title": "b"}]', 3, "Expecting ',' delimiter"),
        ('[{"title": "a"},\n]', 2, "trailing comma"),
        ('[,{"title": "a"}]', 1, "invalid JSON"),
        ('{"documents": [{"title": "a"}],\n}', 2, "trailing comma"),
        ('{"documents": [{"title": "a"}]\n"x": 1}', 2, "Expecting ',' delimiter"),
        ('[{"title": "a"}]\n\x0c', 2, "extra data"),
    ],
)
def test_json_the_pipeline_refuses_is_a_problem_naming_the_line(tmp_path, text, line, message):
    with pytest.raises((ValueError, RecursionError)):
        json.loads(text)  # the pipeline's loader: json.load
    write(tmp_path, b"corpora/t/c.json", text.encode())
    write(tmp_path, b"corpora/t/good.json", json.dumps([{"title": "好", "page_body": "正文"}]).encode())
    loaded = load(tmp_path)
    [problem] = loaded.problems
    assert (problem.path, problem.line) == ("corpora/t/c.json", line) and message in problem.message
    assert [s.title for s in loaded.sources.values()] == ["好"]


def test_json_the_pipeline_loads_is_read_as_it_reads_it(tmp_path):
    """NaN and Infinity are numbers to Python's json; a byte-order mark is refused by it but read."""
    write(tmp_path, b"corpora/t/nan.json", b'[{"title": NaN, "content": Infinity}]')
    write(tmp_path, b"corpora/t/bom.json", b'\xef\xbb\xbf[{"title": "bom", "content": "x"}]')
    loaded = load(tmp_path)
    assert {(s.title, s.body) for s in loaded.sources.values()} == {("nan", "inf"), ("bom", "x")}
    assert [(p.path, p.line) for p in loaded.problems] == [("corpora/t/bom.json", 1)]


def test_values_nested_deeper_than_str_can_print_are_a_problem(tmp_path):
    """str() of a list nested about 1,000 deep raises RecursionError (how deep depends on the stack)."""
    nested = "[" * 150 + "]" * 150
    write(tmp_path, b"corpora/t/c.json", f'[{{"title": {nested}}},\n{{"title": "b", "url": {nested}}}]'.encode())
    loaded = load(tmp_path)
    assert [(p.line, p.message) for p in loaded.problems] == [
        (1, "item 0: a title or text nested more than 100 levels deep"),
        (2, "item 1: a url nested more than 100 levels deep"),
    ]
    assert [s.title for s in loaded.sources.values()] == ["b"]


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("2025-13-45", 3),
        ("2025-02-30 10:00:00", 3),
        ("0x" + "f" * 5000, 3),
        ("1:" * 3000 + "1", 3),
        ("9" * 5000, 3),
        # PyYAML's constructors raise other errors on these: KeyError, AttributeError, IndexError
        ("!!bool maybe", 3),
        ("!!timestamp garbage", 3),
        ('!!int "-"', 3),
        ('!!binary "QUJD"', 3),  # bytes: no text (it showed as "b'ABC'")
    ],
)
def test_yaml_values_that_are_no_values_are_a_problem_naming_the_line(tmp_path, value, line):
    write(tmp_path, b"pages/p.txt", f"---\ntitle: 页\nretrieved: {value}\n---\n正文\n".encode())
    write(tmp_path, b"reports/r/report.yaml", f"task: t\n\ngenerated: {value}\n".encode())
    write(tmp_path, b"reports/r/final_report.md", "# 报告\n".encode())
    loaded = load(tmp_path)
    assert sorted((p.path, p.line) for p in loaded.problems) == [("pages/p.txt", line), ("reports/r/report.yaml", line)]
    assert all(p.message.startswith("invalid YAML metadata: ") for p in loaded.problems)


@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_crlf_headers_and_reports_are_read_and_bodies_kept_verbatim(tmp_path, bom):
    body = "第一行\r\n\r\n第二行\r\n"
    write(tmp_path, b"pages/crlf.txt", f"{bom}---\r\ntitle: CRLF 页\r\nkind: web\r\n---\r\n{body}".encode())
    write(tmp_path, b"reports/r/report.yaml", f"{bom}task: t1\r\ncorpus: pages\r\n".encode())
    report = (
        'Task: t1\r\n\r\n## Query\r\n问题\r\n\r\n## Report\r\n# 报告\r\n见 [long_context: "CRLF 页", chunk 0]。\r\n'
    )
    write(tmp_path, b"reports/r/final_report.md", f"{bom}{report}".encode())
    loaded = load(tmp_path)
    assert loaded.problems == []
    [source] = loaded.sources.values()
    assert (source.title, source.body, source.meta) == ("CRLF 页", body, {"kind": "web"})
    [read] = loaded.reports.values()
    assert (read.task, read.corpus, read.query) == ("t1", "pages", "问题")
    assert read.final == '# 报告\n见 [long_context: "CRLF 页", chunk 0]。'


def test_a_folder_tree_deeper_than_the_recursion_limit_is_read(tmp_path):
    folder = os.fsencode(tmp_path / "files" / "t")
    os.makedirs(folder)
    for _ in range(1500):  # os.makedirs itself recurses once per level
        folder += b"/d"
        os.mkdir(folder)
    write(tmp_path, folder[len(os.fsencode(tmp_path)) + 1 :] + b"/deep.png", png_bytes())
    os.symlink(".", tmp_path / "files" / "t" / "loop")
    try:
        loaded = load(tmp_path)
        assert [f.name for f in loaded.files.values()] == ["deep.png"] and loaded.problems == []
    finally:  # shutil.rmtree (pytest's clean-up of old folders) recurses once per level too
        os.remove(folder + b"/deep.png")
        while folder != os.fsencode(tmp_path / "files" / "t"):
            os.rmdir(folder)
            folder = folder.rsplit(b"/", 1)[0]


def test_a_path_longer_than_the_system_looks_up_is_a_problem(tmp_path):
    """Made with relative paths (each folder opened in turn): no absolute path names its file."""
    (tmp_path / "files" / "t").mkdir(parents=True)
    write(tmp_path, b"files/t/ok.png", png_bytes())
    name, folders = "x" * 250, [os.open(tmp_path / "files" / "t", os.O_RDONLY)]
    try:
        for _ in range(20):
            os.mkdir(name, dir_fd=folders[-1])
            folders.append(os.open(name, os.O_RDONLY, dir_fd=folders[-1]))
        os.close(os.open("far.png", os.O_WRONLY | os.O_CREAT, dir_fd=folders[-1]))
        loaded = load(tmp_path)
        assert [f.name for f in loaded.files.values()] == ["ok.png"]
        [problem] = loaded.problems
        assert problem.path.startswith(f"files/t/{name}/") and problem.message == "cannot read: File name too long"
    finally:
        os.unlink("far.png", dir_fd=folders[-1])
        for inner, outer in zip(reversed(folders[1:]), reversed(folders[:-1])):
            os.close(inner)
            os.rmdir(name, dir_fd=outer)
        os.close(folders[0])


def test_metadata_names_of_any_type_are_text(tmp_path):
    """`1:`, `null:`, `3.5:`, a date as a name: pages and reports sort their metadata by name (a
    header with `1:` beside `kind:` stopped the build with a TypeError)."""
    names = "1: a\nnull: b\n3.5: c\n2025-01-01: d\nkind: web\n"
    write(tmp_path, b"pages/p.txt", f"---\ntitle: 页\n{names}---\n正文\n".encode())
    write(tmp_path, b"reports/r/report.yaml", f"corpus: pages\n{names}".encode())
    write(tmp_path, b"reports/r/final_report.md", "# 报告\n".encode())
    loaded = load(tmp_path)
    [source], [report] = loaded.sources.values(), loaded.reports.values()
    assert sorted(source.meta) == sorted(report.meta) == ["1", "2025-01-01", "3.5", "None", "kind"]


@pytest.mark.parametrize("written", ["12:30", "yes", "0x1F", "1_000", ".5", "1.50", "off"])
def test_a_title_is_shown_as_written_not_as_yaml_reads_it(tmp_path, written):
    """YAML 1.1 reads an unquoted `12:30` as 750 (base 60), `yes` as True, `0x1F` as 31: the page
    was titled 750. A title, and any value, reads as written; a plain `3` or a date still do."""
    write(
        tmp_path,
        b"pages/p.txt",
        f"---\ntitle: {written}\nretrieved: 2025-01-01\ntags: [{written}, 3]\n---\n正文\n".encode(),
    )
    [source] = load(tmp_path).sources.values()
    assert source.title == written and str(source.meta["retrieved"]) == "2025-01-01"
    assert source.meta["tags"] == str([written, 3])  # a list's items too (a list reads as its text)


@pytest.mark.parametrize("title", ["' '", '"\\u200b\\u200c\\u200d\\ufeff"', '"\\u200e "'])
def test_a_page_whose_title_shows_nothing_is_a_problem(tmp_path, title):
    """Zero-width characters alone made an invisible heading and an invisible link on the index."""
    write(tmp_path, b"pages/p.txt", f"---\ntitle: {title}\n---\n正文\n".encode())
    loaded = load(tmp_path)
    assert not loaded.sources
    assert [(p.path, p.line) for p in loaded.problems] == [("pages/p.txt", 2)]


def test_a_name_written_twice_is_a_problem_naming_its_second_line(tmp_path):
    """YAML keeps the last of two `title:` lines silently: which one was meant cannot be known."""
    write(tmp_path, b"pages/p.txt", "---\ntitle: 一\nkind: web\ntitle: 二\n---\n正文\n".encode())
    loaded = load(tmp_path)
    assert not loaded.sources and [(p.path, p.line, p.message) for p in loaded.problems] == [
        ("pages/p.txt", 4, "invalid YAML metadata: `title` is written twice")
    ]


def test_a_problem_quotes_a_metadata_name_shown_and_cut(tmp_path):
    """A name in double quotes may hold a line break and an escape sequence: a forged log line."""
    name = '"a\\nWARNING -  citekb: forged\\x1b[31m' + "k" * 100 + '"'
    write(tmp_path, b"reports/r/report.yaml", f"{name}: {{x: 1}}\n".encode())
    write(tmp_path, b"reports/r/final_report.md", b"# r\n")
    [problem] = load(tmp_path).problems
    assert "\n" not in problem.message and "\x1b" not in problem.message and len(problem.message) < 160
    assert r"`a\x0aWARNING -  citekb: forged\x1b[31mkk" in problem.message


def test_kb_cites_reads_a_folder_of_task_files_named_so(tmp_path):
    folder = os.fsencode(tmp_path) + b"/" + GBK
    write(tmp_path, GBK + b"/paper.pdf", pdf_bytes(["page one"]))
    write(tmp_path, GBK + b"/report.md", "# 报告\n\n见 [文档: paper.pdf]。\n".encode())
    done = kb("cites", os.fsdecode(folder + b"/report.md"), "--files", os.fsdecode(folder))
    [row] = json.loads(done.stdout)
    assert row["status"] == "resolved", row


def test_pipes_and_oversized_metadata_are_not_read(tmp_path):
    """A pipe named report.yaml blocked the build forever (read_bytes waited for a writer); a
    report.yaml of gigabytes was read whole before its 64 KiB bound was checked."""
    write(tmp_path, b"reports/r/final_report.md", "# 报告\n".encode())
    os.mkfifo(tmp_path / "reports" / "r" / "report.yaml")
    os.mkfifo(tmp_path / "reports" / "r" / "final_report_2.md")
    (tmp_path / "pages").mkdir()
    os.mkfifo(tmp_path / "pages" / "p.txt")
    with open(tmp_path / "reports" / "big.yaml", "wb") as file:  # sparse: no disk space taken
        file.truncate(1 << 33)
    write(tmp_path, b"reports/s/final_report.md", "# 报告\n".encode())
    os.symlink(tmp_path / "reports" / "big.yaml", tmp_path / "reports" / "s" / "report.yaml")
    loaded = load(tmp_path)
    assert sorted((p.path, p.message) for p in loaded.problems) == [
        ("pages/p.txt", "not a file or a folder (a pipe, a socket or a device): not read"),
        ("reports/r/report.yaml", "not a file or a folder (a pipe, a socket or a device): not read"),
        ("reports/s/report.yaml", "larger than 64 KiB: not read"),
    ]


def test_a_text_file_is_read_to_its_bound(tmp_path):
    """Sparse files of 8 GiB as a page, a corpus and a report: each a problem, none read whole."""
    for relative in ("pages/p.txt", "corpora/t/c.json", "reports/r/final_report.md"):
        (tmp_path / relative).parent.mkdir(parents=True)
        with open(tmp_path / relative, "wb") as file:
            file.truncate(1 << 33)
    problems = sorted((p.path, p.message) for p in load(tmp_path).problems)
    assert problems == [
        (path, "larger than 256 MiB: not read")
        for path in ("corpora/t/c.json", "pages/p.txt", "reports/r/final_report.md")
    ]


def test_the_cli_names_a_bad_file_it_was_given_by_its_full_path(tmp_path, capsys):
    """`kb cites`/`kb audit` read the report and corpus they are given with `/` as the root: the
    problem names the file as the user can find it, not with its leading `/` cut."""
    from build_tools import cli

    report, corpus = tmp_path / "report.md", tmp_path / "corpus.json"
    report.write_bytes(b"x\xff y\n")
    corpus.write_text("[", encoding="utf-8")
    assert cli.main(["cites", str(report)]) == 1
    assert capsys.readouterr().err.startswith(f"kb: {report}:1: ")
    report.write_text("ok\n", encoding="utf-8")
    assert cli.main(["audit", str(report), "--corpus", str(corpus)]) == 1
    assert capsys.readouterr().err.startswith(f"kb: {corpus}:")
