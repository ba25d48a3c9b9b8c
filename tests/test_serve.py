"""`mkdocs serve` watches the knowledge-base folder: edits and new sources show up without a restart;
with --dirty only the pages an edit changes are rendered again."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from helpers import REPO, build_site, kb, write_page

from benchmarks.browser import free_port
from build_tools import forked


def wait_for(url: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                last = response.read().decode("utf-8")
            if text in last:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not show {text!r} within {timeout} s")


@pytest.fixture
def server(tmp_path):
    kb_root = tmp_path / "kb"
    write_page(kb_root, "first.txt", "First source", "Original paragraph about retrieval.")
    port = free_port()
    env = {**os.environ, "CITEKB_SOURCES": str(kb_root), "NO_MKDOCS_2_WARNING": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-f", str(REPO / "mkdocs.yml"), "-a", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield kb_root, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_edited_and_added_sources_show_up_while_serving(server):
    kb_root, url = server
    wait_for(f"{url}/sources/first/", "Original paragraph about retrieval.")
    write_page(kb_root, "first.txt", "First source", "Edited paragraph about reranking.")
    wait_for(f"{url}/sources/first/", "Edited paragraph about reranking.")
    write_page(kb_root, "second.txt", "Second source", "A source added while serving.")
    wait_for(f"{url}/sources/second/", "A source added while serving.")
    wait_for(f"{url}/sources/", "Second source")


def test_dirty_build_renders_only_what_the_edit_changed(tmp_path):
    kb_root, site = tmp_path / "kb", tmp_path / "site"
    write_page(kb_root, "first.txt", "First source", "Original paragraph about retrieval.")
    write_page(kb_root, "second.txt", "Second source", "A paragraph nobody edits.")
    assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
    edited, untouched = site / "sources/first/index.html", site / "sources/second/index.html"
    before = {page: (page.stat().st_mtime_ns, page.read_bytes()) for page in (edited, untouched)}
    time.sleep(0.05)
    write_page(kb_root, "first.txt", "First source", "Edited paragraph about reranking.")
    assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
    assert "Edited paragraph about reranking." in edited.read_text(encoding="utf-8")
    assert (untouched.stat().st_mtime_ns, untouched.read_bytes()) == before[untouched]  # not written again
    found = json.loads(kb("search", "reranking", "--site", str(site), "--json").stdout)
    assert [item["location"] for item in found] == ["sources/first/#chunk-0"]


def test_dirty_build_renders_a_source_again_when_a_report_starts_citing_it(tmp_path):
    """A source page shows its backlinks, so a report edit alone must re-render it."""
    kb_root, site = tmp_path / "kb", tmp_path / "site"
    corpus = kb_root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True)
    corpus.write_text(json.dumps([{"title": "Cited source", "page_body": "Text about rerankers."}]), encoding="utf-8")
    report = kb_root / "reports" / "r1"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
    (report / "final_report.md").write_text("# R\n\nNothing cited yet.\n", encoding="utf-8")
    assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
    page = next(site.glob("sources/*/index.html"))
    assert "Backlink sentence" not in page.read_text(encoding="utf-8")
    (report / "final_report.md").write_text(
        '# R\n\nBacklink sentence [long_context: "Cited source", chunk 0].\n', encoding="utf-8"
    )
    assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
    assert "Backlink sentence" in page.read_text(encoding="utf-8")


def test_dirty_build_renders_a_report_again_when_what_it_cites_changes(tmp_path):
    """A report's previews show the cited chunk: editing the cited source re-renders the report,
    editing a source it does not cite leaves it alone."""
    kb_root, site = tmp_path / "kb", tmp_path / "site"
    corpus = kb_root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True)
    docs = [
        {"title": "Cited source", "page_body": "Old text about rerankers."},
        {"title": "Other source", "page_body": "Text nobody cites."},
    ]
    corpus.write_text(json.dumps(docs), encoding="utf-8")
    report = kb_root / "reports" / "r1"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
    (report / "final_report.md").write_text(
        '# R\n\nA claim [long_context: "Cited source", chunk 0].\n', encoding="utf-8"
    )
    assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
    page = site / "reports/r1/index.html"
    written = page.stat().st_mtime_ns
    for edit, changes in (("Other source", False), ("Cited source", True)):
        time.sleep(0.05)
        docs = [{**d, "page_body": d["page_body"] + " Edited."} if d["title"] == edit else d for d in docs]
        corpus.write_text(json.dumps(docs), encoding="utf-8")
        assert build_site(kb_root, site, strict=False, dirty=True).returncode == 0
        assert (page.stat().st_mtime_ns != written) == changes, edit
        written = page.stat().st_mtime_ns
    assert "Old text about rerankers. Edited." in page.read_text(encoding="utf-8")


def test_dirty_fingerprints_wait_for_the_audit_only_when_the_report_pages_render(tmp_path, monkeypatch):
    """Under `build --dirty` a page's fingerprint stub is written when MkDocs asks whether the page changed,
    in page order: on_files leaves the audit running (the source pages render meanwhile) and the
    first report page asked for waits for it."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files

    kb_root = tmp_path / "kb"
    corpus = kb_root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True)
    corpus.write_text(json.dumps([{"title": "Cited source", "page_body": "Rerankers reorder passages."}]))
    report = kb_root / "reports" / "r1"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
    (report / "final_report.md").write_text('# R\n\nRerankers reorder [long_context: "Cited source", chunk 0].\n')
    monkeypatch.setenv("CITEKB_SOURCES", str(kb_root))
    monkeypatch.setenv("CITEKB_AUDIT", "true")
    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    config.plugins.on_startup(command="build", dirty=True)
    config = config.plugins.on_config(config)
    plugin = next(hook.plugin for hook in config.plugins.values() if hasattr(hook, "plugin"))  # hooks/citekb.py's
    plugin.stub_folder = tmp_path / "stubs"  # not the project's .cache
    files = config.plugins.on_files(Files([]), config=config)
    assert plugin.auditing is not None  # nothing waited for the audit yet
    assert not (tmp_path / "stubs").exists()  # no fingerprint taken yet
    pages = {file.src_uri: file for file in files}
    source = next(uri for uri in pages if uri.startswith("sources/") and uri != "sources/index.md")
    assert pages[source].is_modified()  # a source page's turn: its stub now, the audit still running
    assert plugin.auditing is not None
    assert pages["reports/r1.md"].is_modified()
    assert plugin.auditing is None  # the report's fingerprint holds its audits
    stub = json.loads((tmp_path / "stubs" / "reports/r1.md").read_text(encoding="utf-8").split("\n")[1])
    assert stub["citekb_fingerprint"]


def test_templates_compile_once_across_builds(tmp_path, monkeypatch):
    """Every build (each `mkdocs serve` rebuild) gets a new Jinja environment; the plugin's bytecode
    cache beside mkdocs.yml gives it the templates compiled by an earlier build."""
    import jinja2

    monkeypatch.syspath_prepend(str(REPO / "hooks"))
    from citekb_plugin import COMPILED_TEMPLATES, CitekbPlugin

    config = SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml"))
    templates = {"main.html": "{% for x in items %}<b>{{ x }}</b>{% endfor %}"}

    def environment() -> jinja2.Environment:
        env = jinja2.Environment(loader=jinja2.DictLoader(templates))
        return CitekbPlugin().on_env(env, config=config, files=None)

    assert environment().get_template("main.html").render(items=[1, 2]) == "<b>1</b><b>2</b>"
    assert list((tmp_path / COMPILED_TEMPLATES).iterdir())
    later = environment()
    monkeypatch.setattr(later, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
    assert later.get_template("main.html").render(items=[3]) == "<b>3</b>"
    templates["main.html"] = "{{ items|length }}"  # an edited template is compiled anew
    edited = environment()
    assert edited.get_template("main.html").render(items=[3, 4]) == "2"


SERVE_URL = "http://127.0.0.1:8000/"


@pytest.fixture
def serve_builder(monkeypatch):
    """Makes `mkdocs serve --dirty`'s builder, in this process: its config read anew for each
    rebuild, as serve reads it, into one site folder; the hook's plugin kept between them, as it is
    there, and shut down after the test (serving pauses automatic cycle collection)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    plugins = []

    def make(site, kb_root):
        monkeypatch.setenv("CITEKB_SOURCES", str(kb_root))
        monkeypatch.setenv("CITEKB_CACHE", str(site.parent / f"{site.name}-terms.marshal"))

        def config():
            loaded = load_config(str(REPO / "mkdocs.yml"), site_dir=str(site))
            loaded.site_url = SERVE_URL
            return loaded

        first = config()
        first.plugins.on_startup(command="serve", dirty=True)
        plugins.append(plugin := next(hook.plugin for hook in first.plugins.values() if hasattr(hook, "plugin")))

        def builder(wait_for_index: bool = True):
            build(first if not site.exists() else config(), serve_url=SERVE_URL, dirty=True)
            if wait_for_index:
                plugin.indexing.join()  # the search index, written beside the served site

        return builder

    yield make
    assert not gc.isenabled()  # paused while serving: each build's cycles are collected after it
    for plugin in plugins:  # the hook's one plugin, as many times as a builder was made
        plugin.on_shutdown()
    assert gc.isenabled()  # given back, for the tests after


def pages(site) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(site)): (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*.html")}


# Documents on other topics: a corpus of a few documents gives the audit no rare words to go by
FILLER = [{"title": f"Filler {n}", "page_body": f"第{n}篇文章讨论天气、交通和城市规划的话题。"} for n in range(8)]


def corpus_kb(kb_root, docs, final):
    corpus = kb_root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text(json.dumps(docs + FILLER), encoding="utf-8")
    report = kb_root / "reports" / "r1"
    report.mkdir(parents=True, exist_ok=True)
    (report / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
    (report / "final_report.md").write_text(final, encoding="utf-8")


@pytest.mark.parametrize("audit", ["true", "false"])
def test_serve_dirty_rebuilds_write_only_changed_pages_and_match_a_fresh_build(
    tmp_path, monkeypatch, audit, serve_builder
):
    """Each `serve --dirty` rebuild writes the pages an edit changed and no other, and the served site
    is then what a first build of the edited folder serves, page for page. Without the audit, what
    the pages show of the citations and chunks alone must tell them apart."""
    monkeypatch.setenv("CITEKB_AUDIT", audit)
    kb_root = tmp_path / "kb"
    docs = [
        {"title": "Cited source", "page_body": "乙实验室发布的开源模型下载量突破三千万次。"},
        {"title": "Other source", "page_body": "没有人引用这段文字。"},
    ]
    final = (
        '# R\n\n乙实验室发布的开源模型下载量突破三千万次[long_context: "Cited source", chunk 0]。'
        '甲公司向监管机构缴纳了671万元罚单[long_context: "Cited source", chunk 0]。\n'
    )
    corpus_kb(kb_root, docs, final)
    served = tmp_path / "served"
    rebuild = serve_builder(served, kb_root)
    rebuild()
    cited, other = (
        next(str(p.relative_to(served)) for p in served.glob("sources/*/index.html") if d["page_body"] in p.read_text())
        for d in docs
    )
    generated = {"sources/index.html", "reports/index.html", "health/index.html", "stats/index.html"}

    def edit(new_docs, new_final, changed, unchanged):
        corpus_kb(kb_root, new_docs, new_final)
        before = pages(served)
        time.sleep(0.02)
        rebuild()
        after = pages(served)
        written = {path for path in after if before.get(path, (0,))[0] != after[path][0]}
        assert changed <= written, (changed, written)
        assert not unchanged & written, (unchanged, written)

    edited = [docs[0], {**docs[1], "page_body": "没有人引用这段文字。改过。"}]
    edit(edited, final, {other}, {cited, "reports/r1/index.html", *generated})
    edited = [{**docs[0], "page_body": docs[0]["page_body"] + "这是后来加上的一句。"}, edited[1]]
    edit(edited, final, {cited, "reports/r1/index.html"}, {other, "sources/index.html"})
    # a source that states the second claim: the audit names it there, as a better chunk
    better = "甲公司向监管机构缴纳了671万元罚单，媒体报道。"
    edited = [*edited, {"title": "Added source", "page_body": better}]
    report, audited = {"reports/r1/index.html"}, audit == "true"
    edit(
        edited,
        final,
        {"sources/index.html", *(report if audited else ())},
        {other, cited, *(() if audited else report)},
    )
    suggested = "Added source" in (served / "reports/r1/index.html").read_text(encoding="utf-8")
    assert suggested == audited
    final = final + '\n没有人引用它[long_context: "Other source", chunk 0]。\n'
    edit(edited, final, {other, "reports/r1/index.html", "reports/index.html"}, {cited})
    longer = "".join(f"第{n}句话没有说什么特别的事情。" for n in range(600))
    edited = [edited[0], {**edited[1], "page_body": longer}, edited[2]]  # more chunks: the sources index shows it
    edit(edited, final, {other, "sources/index.html"}, {cited})

    fresh = tmp_path / "fresh"
    serve_builder(fresh, kb_root)()
    expected = {path: data for path, (_, data) in pages(fresh).items()}
    shown = {path: data for path, (_, data) in pages(served).items()}
    assert shown == expected

    def search(site):
        return {str(path.relative_to(site)): path.read_bytes() for path in (site / "search/citekb").rglob("*")}

    assert search(served) and search(served) == search(fresh)  # a rebuild's index, and a first build's


@pytest.mark.skipif(not forked.can_fork(), reason="needs fork and two cores")
def test_an_edit_does_not_wait_for_the_last_rebuilds_search_index(tmp_path, monkeypatch, serve_builder):
    """A rebuild's search index is made in a second process once its pages are written; the next
    edit cancels it (its own rebuild makes the index again) instead of waiting for it: at 10,000
    sources, seconds after every edit but the first. The index the last rebuild writes is a fresh
    build's."""
    kb_root = tmp_path / "kb"
    docs = [{"title": "Cited source", "page_body": "乙实验室发布的开源模型下载量突破三千万次。"}]
    final = '# R\n\n乙实验室发布的开源模型下载量突破三千万次[long_context: "Cited source", chunk 0]。\n'
    corpus_kb(kb_root, docs, final)
    served = tmp_path / "served"
    rebuild = serve_builder(served, kb_root)
    rebuild()
    plugin_module = sys.modules["citekb_plugin"]
    made = plugin_module.search_index

    def slow_index(*args, **kwargs):
        time.sleep(60)  # an index that takes long
        return made(*args, **kwargs)

    monkeypatch.setattr(plugin_module, "search_index", slow_index)
    corpus_kb(kb_root, [{**docs[0], "page_body": docs[0]["page_body"] + "第一次修改。"}], final)
    rebuild(wait_for_index=False)
    corpus_kb(kb_root, [{**docs[0], "page_body": docs[0]["page_body"] + "第二次修改。"}], final)
    started = time.monotonic()
    rebuild(wait_for_index=False)
    assert time.monotonic() - started < 30  # not the 60 s the last rebuild's index takes
    shown = [page.read_text(encoding="utf-8") for page in served.glob("sources/*/index.html")]
    assert any("第二次修改" in page for page in shown)
    monkeypatch.setattr(plugin_module, "search_index", made)
    rebuild()  # cancels the slow one too, and writes its own

    fresh = tmp_path / "fresh"
    serve_builder(fresh, kb_root)()

    def search(site):
        return {str(path.relative_to(site)): path.read_bytes() for path in (site / "search/citekb").rglob("*")}

    assert search(served) and search(served) == search(fresh)


def test_the_pages_that_count_verdicts_read_the_verdicts_alone(tmp_path):
    """An edit moves every audit of its corpus a little (words' weights) and seldom a verdict: the
    reports index and the comparison page (`CITATIONS`), which count statuses and verdicts, are
    not written again for it; the health page (`CHECKS`) is when a claim it lists moved."""
    from dataclasses import replace

    sys.path.insert(0, str(REPO / "hooks"))
    from citekb_inputs import catalog

    from build_tools.knowledge_base import build
    from build_tools.models import Audit

    kb_root = tmp_path / "kb"
    docs = [{"title": "Cited source", "page_body": "乙实验室发布的开源模型下载量突破三千万次。"}]
    final = (
        '# R\n\n下载量破三千万[long_context: "Cited source", chunk 0]。又说[long_context: "Cited source", chunk 0]。\n'
    )
    corpus_kb(kb_root, docs, final)
    knowledge = build(kb_root)
    ok, weak = (
        Audit("supported", 0.9, "下载量破三千万", (0, 5), verdict="supported"),
        Audit("weak", 0.4, "又说", None, ("三千万",), verdict="partial"),
    )
    knowledge.audits["r1"] = [ok, weak]
    before = catalog(knowledge)

    def parts_moved(audits) -> set[str]:
        knowledge.audits["r1"] = audits
        now = catalog(knowledge)
        return {part for part in now if now[part] != before[part]}

    assert parts_moved([replace(ok, support=0.8), weak]) == set()  # a supported claim's support: shown nowhere
    assert parts_moved([ok, replace(weak, support=0.5)]) == {"checks"}  # a claim to check: the health page
    assert parts_moved([ok, replace(weak, verdict="unsupported")]) == {"citations", "checks"}
    assert parts_moved([replace(ok, status="title_only"), weak]) == {"citations", "checks"}  # flagged: listed
    assert parts_moved([weak, ok]) == {"citations", "checks"}  # the same audits, at other citations
