"""Issue 18: the bookkeeping around hostile input. Nothing is silently lost (colliding names),
nothing outside the knowledge base is published (links), no input costs far more than its size
(YAML aliases), and every repair path ends in a message naming the file, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fixtures import REPORT, make_sample_app_folder, make_sample_kb, png_bytes
from helpers import REPO, build_site, kb, write_page

from build_tools.check import check_site
from build_tools.cite.parse import parse_citations
from build_tools.cite.resolve import Scope, resolve
from build_tools.importer import SKIP_LARGE, SKIP_OUTSIDE, import_app
from build_tools.ingest import load
from build_tools.knowledge_base import build
from build_tools.lock import LOCK_NAME, write_atomic
from build_tools.models import Source
from build_tools.reading import MAX_TEXT, read_text

SECRET = "SECRET-OUTSIDE-THE-KNOWLEDGE-BASE"
ALIKE = ("Report 1", "report-1", "report_1")
LONG_NAME = "报告" + "x" * 240  # a folder name of 246 bytes


def link_outside(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def make_bookkeeping_kb(root: Path, outside: Path) -> Path:
    """make_sample_kb's knowledge base plus every input issue 18 names: folders and files whose names slug
    alike, links to a file and a folder outside, hidden and temporary files, a `#` in a page's path."""
    make_sample_kb(root)
    (outside / "secret.txt").write_text(f"---\ntitle: 机密\n---\n{SECRET}\n", encoding="utf-8")
    (outside / "folder").mkdir()
    (outside / "folder" / "secret.png").write_text(SECRET, encoding="utf-8")
    (outside / "corpus.json").write_text(json.dumps([{"title": SECRET, "page_body": SECRET}]), encoding="utf-8")
    for name in (*ALIKE, "index", LONG_NAME):
        folder = root / "reports" / name
        folder.mkdir(parents=True)
        (folder / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
        (folder / "final_report.md").write_text(REPORT.replace("Demo report", f"Report {name[:20]}"), encoding="utf-8")
    link_outside(root / "files" / "t1" / "passwd.png", outside / "secret.txt")
    link_outside(root / "files" / "linked", outside / "folder")
    link_outside(root / "pages" / "linked.txt", outside / "secret.txt")
    link_outside(root / "corpora" / "t1" / "linked.json", outside / "corpus.json")
    link_outside(root / "reports" / "linked", outside)
    link_outside(root / "reports" / "demo" / "final_report_2.md", outside / "secret.txt")
    for name in (".paper.pdf.abcd1234.tmp", ".hidden.png", "~$draft.png", "x.png.part", "x.png.swp", "y.tmp"):
        (root / "files" / "t1" / name).write_text(SECRET, encoding="utf-8")
    (root / "pages" / ".draft.txt").write_text(f"---\ntitle: {SECRET}\n---\n{SECRET}\n", encoding="utf-8")
    write_page(root, "Same Name.txt", "第一篇同名页", "第一篇的正文。\n")
    write_page(root, "same-name.txt", "第二篇同名页", "第二篇的正文。\n")
    write_page(root, "index.txt", "名为 index 的页面", "不能顶替来源索引。\n")
    write_page(root, "a#1.txt", "路径里有井号", "正文。\n")
    (root / "files" / "t1" / "Logo.PNG").write_bytes(png_bytes())
    return root


@pytest.fixture(scope="module")
def bookkeeping(tmp_path_factory):
    work = tmp_path_factory.mktemp("bookkeeping")
    (work / "outside").mkdir()
    root = make_bookkeeping_kb(work / "kb", work / "outside")
    built = build_site(root, work / "site", strict=False, dirty=True)
    assert built.returncode == 0, built.log
    return built


def site_text(site: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in site.rglob("*") if p.is_file())


def test_reports_whose_names_slug_alike_are_all_published_and_reported(bookkeeping):
    index = BeautifulSoup(bookkeeping.page("reports"), "html.parser")
    titles = {a.get_text() for a in index.select("article a")}
    for name in (*ALIKE, "index"):
        assert f"Report {name} on open models" in titles, name
    assert index.select_one("h1").get_text().startswith("报告")  # a report folder named `index` did not replace it
    published = [p.parent.name for p in (bookkeeping.site / "reports").glob("report-1*/index.html")]
    assert len(published) == 3 and "report-1" in published
    warned = "\n".join(bookkeeping.warnings)
    assert "reports/report-1: its address reports/report-1/ is taken by reports/Report 1" in warned
    assert "reports/report_1: its address reports/report-1/ is taken by reports/Report 1" in warned
    assert "reports/index: its address reports/index/ is taken by the reports index" in warned


def test_pages_and_task_files_whose_names_collide_are_kept_and_reported(bookkeeping):
    index = bookkeeping.page("sources")
    for title in ("第一篇同名页", "第二篇同名页", "名为 index 的页面"):
        assert title in index, title
    assert BeautifulSoup(index, "html.parser").select_one("h1").get_text().startswith("来源")
    assert any(
        "pages/same-name.txt: slug 'same-name' is taken by pages/Same Name.txt" in w for w in bookkeeping.warnings
    )
    assert any("files/t1/logo.png: a citation cannot tell it from files/t1/Logo.PNG" in w for w in bookkeeping.warnings)


def test_long_report_folder_names_build_with_dirty(bookkeeping):
    titles = BeautifulSoup(bookkeeping.page("reports"), "html.parser").get_text()
    assert f"Report {LONG_NAME[:20]}" in titles
    assert all(len(p.name.encode()) <= 255 for p in (REPO / ".cache" / "citekb" / "pages").rglob("*"))


def test_nothing_outside_the_knowledge_base_hidden_or_temporary_is_published(bookkeeping):
    assert SECRET not in site_text(bookkeeping.site)
    for link in (
        "files/t1/passwd.png",
        "files/linked",
        "pages/linked.txt",
        "corpora/t1/linked.json",
        "reports/linked",
        "reports/demo/final_report_2.md",
    ):
        assert any(f"{link}: a link to outside the knowledge-base folder" in w for w in bookkeeping.warnings), link
    assert not any(name in bookkeeping.log for name in (".paper.pdf", ".hidden", "~$draft", "x.png.part", "y.tmp"))


def test_strict_build_fails_naming_the_collision_and_the_link(bookkeeping, tmp_path):
    strict = build_site(bookkeeping.site.parent / "kb", tmp_path / "strict")
    assert strict.returncode != 0
    assert "reports/report-1: its address" in strict.log and "files/t1/passwd.png" in strict.log


def test_a_hash_in_a_page_path_is_kept_on_the_sources_index(bookkeeping):
    assert "pages/a#1.txt" in bookkeeping.page("sources")


def test_knowledge_base_inside_docs_dir_is_refused(tmp_path):
    docs = REPO / "docs"
    built = build_site(docs, tmp_path / "site")
    assert built.returncode != 0 and "must not be inside docs_dir" in built.log


def build_with_settings(tmp_path: Path, citekb: dict, **environment: str) -> subprocess.CompletedProcess:
    """`mkdocs build --strict -q` of the shipped knowledge base with these `extra.citekb` settings and
    environment variables (and no others): a minimal mkdocs.yml (JSON is YAML) beside the site."""
    config = {
        "site_name": "settings",
        "docs_dir": str(REPO / "docs"),
        "hooks": [str(REPO / "hooks" / "citekb.py")],
        "extra": {"citekb": {"sources": str(REPO / "sources"), **citekb}},
    }
    (tmp_path / "mkdocs.yml").write_text(json.dumps(config), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITEKB_")}
    env.update(NO_MKDOCS_2_WARNING="1", CITEKB_CACHE=str(tmp_path / "terms.marshal"), **environment)
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(tmp_path / "mkdocs.yml")]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "citekb, environment, named",
    [
        (
            {"search": "fast"},
            {},
            "'extra.citekb.search': Expected one of: ('prebuilt', 'material') but received: 'fast'",
        ),
        (
            {},
            {"CITEKB_AUDIT": "maybe"},
            "'extra.citekb.audit' (set by $CITEKB_AUDIT): Expected true or false but received: 'maybe'",
        ),
        ({"audit": "yes"}, {}, "'extra.citekb.audit': Expected true or false but received: 'yes'"),
        ({"serach": "material"}, {}, "'extra.citekb.serach': Unrecognised configuration name: serach"),
        (
            {},
            {"CITEKB_SOURCES": str(REPO / "README.md")},
            f"'extra.citekb.sources' (set by $CITEKB_SOURCES): {REPO / 'README.md'} is a file, not a knowledge-base folder",
        ),
    ],
)
def test_a_bad_setting_stops_the_build_naming_its_key_and_value(tmp_path, citekb, environment, named):
    built = build_with_settings(tmp_path, citekb, **environment)
    assert built.returncode != 0 and named in built.stderr, built.stderr


def test_environment_overrides_mkdocs_yml(tmp_path):
    built = build_with_settings(
        tmp_path, {"search": "material", "audit": True}, CITEKB_SEARCH="prebuilt", CITEKB_AUDIT="0"
    )
    assert built.returncode == 0, built.stderr
    site = tmp_path / "site"
    assert (site / "search/citekb").is_dir()  # the prebuilt index
    assert "data-audit=" not in (site / "reports/example-open-vs-closed/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "where, text",
    [
        (
            "pages/bomb.txt",
            "---\ntitle: x\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\nbody\n",
        ),
        (
            "reports/r/report.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        ),
        ("reports/r/report.yaml", "task: " + "[" * 50000 + "]" * 50000 + "\n"),
        ("reports/r/report.yaml", "title: " + "x" * 70000 + "\n"),
        ("reports/r/report.yaml", "task: {a: b}\n"),
        ("pages/bomb.txt", "---\ntitle: x\nkind: [" + ", ".join(["x"] * 500) + "]\n---\nbody\n"),
    ],
)
def test_metadata_is_bounded_and_the_problem_names_its_file(tmp_path, where, text):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    if where.startswith("reports/"):
        (path.parent / "final_report.md").write_text("# 报告\n\n正文。\n", encoding="utf-8")
    started = time.monotonic()
    loaded = load(tmp_path)
    assert time.monotonic() - started < 2
    assert [p.path for p in loaded.problems] == [where] and not loaded.reports and not loaded.sources


def test_build_survives_files_vanishing_while_it_reads(tmp_path):
    """A writer creating and deleting task files, pages and report folders beside repeated loads."""
    make_sample_kb(tmp_path)
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            folder = tmp_path / "reports" / f"r{n % 5}"
            folder.mkdir(exist_ok=True)
            (folder / "final_report.md").write_text("# x\n\ny\n", encoding="utf-8")
            (tmp_path / "files" / "t1" / f"f{n % 5}.pdf").write_bytes(b"%PDF-1.4 broken")
            write_page(tmp_path, f"p{n % 5}.txt", "页", "正文。\n")
            for path in (
                folder / "final_report.md",
                tmp_path / "files" / "t1" / f"f{(n + 2) % 5}.pdf",
                tmp_path / "pages" / f"p{(n + 2) % 5}.txt",
            ):
                path.unlink(missing_ok=True)
            if n % 3 == 0:
                folder.rmdir()

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        for _ in range(30):
            build(tmp_path)  # must not raise
    finally:
        stop.set()
        writer.join()
    assert read_text(tmp_path / "gone.txt", tmp_path)[1].message.startswith("no such file")


def test_import_ignores_links_leaving_the_app_folder_and_removes_its_leftovers(tmp_path):
    app = make_sample_app_folder(tmp_path / "app")
    (tmp_path / "secret.pdf").write_text(SECRET, encoding="utf-8")
    (tmp_path / "secret-task").mkdir()
    (tmp_path / "secret-task" / "secret.pdf").write_text(SECRET, encoding="utf-8")
    link_outside(app / "datasets" / "101" / "passwd.pdf", tmp_path / "secret.pdf")
    link_outside(app / "datasets" / "103", tmp_path / "secret-task")
    link_outside(app / "results" / "bench_case1" / "101.md", tmp_path / "secret.pdf")
    link_outside(app / "results" / "results_32k" / "modelx" / "101_x" / "final_report.md", tmp_path / "secret.pdf")
    root = tmp_path / "kb"
    leftover = root / "files" / "101" / ".notes.md.abcd_123.tmp"  # as a killed import leaves it
    leftover.parent.mkdir(parents=True)
    leftover.write_text("half a file", encoding="utf-8")
    result = import_app(app, root)
    assert not leftover.exists()
    assert sorted(result.skipped[SKIP_OUTSIDE]) == sorted(
        str(p)
        for p in (
            app / "datasets" / "101" / "passwd.pdf",
            app / "datasets" / "103",
            app / "results" / "bench_case1" / "101.md",
            app / "results" / "results_32k" / "modelx" / "101_x" / "final_report.md",
        )
    )
    assert not any(SECRET in p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


def test_imported_files_and_the_lock_respect_the_umask(tmp_path):
    app = make_sample_app_folder(tmp_path / "app")
    root = tmp_path / "kb"
    code = (
        "import os, sys; os.umask(0o027); from build_tools.cli import main; "
        f"sys.exit(main(['import', {str(app)!r}, '--sources', {str(root)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    modes = {oct(p.stat().st_mode & 0o777) for p in root.rglob("*") if p.is_file()}
    assert modes == {oct(0o640)} and (root / LOCK_NAME).is_file()
    (root / LOCK_NAME).chmod(0o604)
    write_atomic(root / LOCK_NAME, b"{}")  # a rewritten file keeps its mode
    assert (root / LOCK_NAME).stat().st_mode & 0o777 == 0o604


@pytest.mark.parametrize("verb", [["chunk"], ["cites", "--corpus", "/no/such/corpus.json"]])
def test_kb_on_a_missing_file_says_so(tmp_path, verb):
    missing = str(tmp_path / "missing.json")
    args = [verb[0], missing, *verb[1:]]
    done = kb(*args, check=False)
    assert (done.returncode, done.stderr) == (1, f"kb: {missing}: no such file\n")


def test_kb_check_reads_urls_as_a_browser_does(tmp_path):
    hrefs = [
        "java\tscript:alert(1)",
        " \x01javascript:alert(2)",
        "jav&#x0A;ascript:alert(3)",
        "java\x00script:x",
        "a/" + "x" * 300 + "/",
        "ok.html",
        "a%00b.html",
    ]
    (tmp_path / "ok.html").write_text("<p>ok</p>", encoding="utf-8")
    (tmp_path / "index.html").write_text(
        "".join(f'<a href="{h}">{n}</a>' for n, h in enumerate(hrefs)), encoding="utf-8"
    )
    _, broken = check_site(tmp_path)
    reasons = {b.text: b.reason for b in broken}
    assert reasons["0"].startswith("unsafe") and reasons["1"].startswith("unsafe") and reasons["2"].startswith("unsafe")
    assert reasons["3"].startswith("unsafe")
    assert reasons["4"] == reasons["6"] == "no such file in the site" and "5" not in reasons


def test_kb_check_reads_only_the_regular_files_of_the_site(tmp_path):
    """A site folder's entries that are no regular file are reported, never read, and no link
    leads to them: a pipe would wait for ever, /dev/zero never end, a link leave the site."""
    site, outside = tmp_path / "site", tmp_path / "outside"
    site.mkdir()
    outside.mkdir()
    (outside / "index.html").write_text(f'<p id="x">{SECRET}</p>', encoding="utf-8")
    (outside / "page.html").write_text(f'<p id="x">{SECRET}</p>', encoding="utf-8")
    os.mkfifo(site / "pipe.html")
    (site / "zero.html").symlink_to("/dev/zero")
    (site / "out.html").symlink_to(outside / "page.html")
    (site / "folder").symlink_to(outside, target_is_directory=True)
    (site / "ok.html").write_text('<p id="here">ok</p>', encoding="utf-8")
    hrefs = ["pipe.html", "zero.html", "out.html#x", "folder/", "folder/page.html#x", "ok.html#here"]
    (site / "index.html").write_text("".join(f'<a href="{h}">{n}</a>' for n, h in enumerate(hrefs)), encoding="utf-8")
    pages, broken = check_site(site)
    assert pages == 2  # index.html and ok.html
    by_link = {b.text: b.reason for b in broken if b.text}
    assert by_link == {str(n): "no such file in the site" for n in range(5)}
    unread = {b.page: b.reason for b in broken if not b.text}
    assert unread == dict.fromkeys(["out.html", "pipe.html", "zero.html"], unread["pipe.html"])
    assert "not a regular file" in unread["pipe.html"]


def test_short_titles_get_no_nonsense_hints():
    sources = [
        Source(f"s{i}", title, "正文。") for i, title in enumerate(["AI", "GPT", "大模型发布", "OpenAI 开源模型发布会"])
    ]
    scope = Scope(sources, {s.slug: 1 for s in sources})

    def hint(title: str) -> str | None:
        suggestion = resolve(parse_citations(f'[long_context: "{title}", chunk 0]')[0], scope).suggestion
        return suggestion and str(suggestion)

    assert [hint(t) for t in ("A", "AB", "GPX", "Bx")] == [None] * 4
    assert hint("大模型发不") is not None and "OpenAI 开源模型发布会" in hint("OpenAI 开源模形发布会")


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("{reason: corpus_absent, corpus: old_60}", "知识库中没有语料 old_60.json"),  # as `kb import` records one
        ("{reason: corpus_absent}", "此报告的语料不在知识库中：{'reason': 'corpus_absent'}"),  # lacks its values
        ("语料已丢失", "此报告的语料不在知识库中：语料已丢失"),  # a note in the writer's words
    ],
)
def test_a_recorded_reason_for_a_missing_corpus_is_read_never_trusted(tmp_path, written, reason):
    report = tmp_path / "reports" / "r"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text(f"task: t\ncorpus_missing: {written}\n", encoding="utf-8")
    (report / "final_report.md").write_text('正文[long_context: "某页", chunk 1]。\n', encoding="utf-8")
    built = build(tmp_path)
    assert not built.problems
    [item] = built.cited["r"].final
    assert item.status == "unknown_source" and item.reason.chinese() == reason


def test_import_reads_no_file_larger_than_a_knowledge_base_file_and_names_it(tmp_path):
    """`kb import` read every file whole: a sparse file claiming 1 GiB took 1.1 GB. Past MAX_TEXT
    (what the knowledge base reads of a file) a file is skipped and named."""
    app = make_sample_app_folder(tmp_path / "app")
    big = app / "datasets" / "101" / "video.mp4"
    with open(big, "wb") as sparse:
        sparse.truncate(MAX_TEXT + 1)  # no bytes written: a sparse file
    report = app / "results" / "bench_case9999" / "101_2025-01-01_00-00-00.md"
    with open(report, "wb") as sparse:
        sparse.truncate(MAX_TEXT + 1)
    result = import_app(app, tmp_path / "kb")
    assert sorted(result.skipped[SKIP_LARGE]) == sorted([str(big), str(report)])
    assert not (tmp_path / "kb" / "files" / "101" / "video.mp4").exists()
    assert result.written  # the rest is imported


def test_import_never_merges_two_runs_whose_folder_names_join_alike(tmp_path):
    """Model `m-001_a` with run `001_b`, and model `m` with run `001_a-001_b`, both made
    `reports/results_32k-m-001_a-001_b/`: one folder with the final report of one run and the
    initial of the other, compared by the validation diff, and no problem said."""
    app = make_sample_app_folder(tmp_path / "app")
    runs = {("m-001_a", "001_b"): "第一个运行", ("m", "001_a-001_b"): "第二个运行"}
    for (model, run), text in runs.items():
        folder = app / "results" / "results_32k" / model / run
        folder.mkdir(parents=True)
        (folder / ("final_report.md" if model == "m" else "initial_report.md")).write_text(
            f"# {text}\n", encoding="utf-8"
        )
    root = tmp_path / "kb"
    import_app(app, root)
    again = import_app(app, root)  # the same folders each time
    folders = sorted(p.parent.name for p in root.glob("reports/results_32k-m-001_a-001_b*/*_report.md"))
    assert len(folders) == 2 and len(set(folders)) == 2 and not again.written


def test_an_imported_run_whose_model_folder_is_not_utf8_is_published_with_its_name_escaped(tmp_path):
    """The model folder's undecodable byte reached report.yaml as `"bad\\uDCFFname"`, which YAML
    refuses: the run was not published."""
    app = make_sample_app_folder(tmp_path / "app")
    model = os.fsdecode(b"bad\xffname")
    folder = app / "results" / "results_32k" / model / "001_20250101_000000"
    folder.mkdir(parents=True)
    (folder / "final_report.md").write_text("# 报告\n\n正文。\n", encoding="utf-8")
    root = tmp_path / "kb"
    import_app(app, root)
    knowledge = build(root)
    assert not knowledge.problems
    (report,) = [c.report for c in knowledge.cited.values() if "bad" in str(c.report.meta.get("model"))]
    assert report.meta["model"] == "bad\\xffname"
