"""A plain build writes each generated page whose output is unchanged from the last build's
(`extra.citekb.reuse`; hooks/citekb_outputs.py, build_tools/page_cache.py), and the site is byte
for byte the one a cold build writes (CITEKB_REUSE=0): after no change, a one-source edit, a report
edit and a config change, on the shipped site and on the imported pipeline. A damaged entry is
rendered again; a page that warned is never stored, so a strict warm build fails as a cold one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from fixtures import make_sample_kb
from helpers import REPO, Build, build_site, kb, need_pipeline

from benchmarks.scale import edit_source, edited_source
from build_tools import page_cache
from build_tools.lock import seal

REUSED = re.compile(r"citekb: (\d+) of (\d+) generated pages written from the last build's output")


def project(folder: Path, **settings) -> Path:
    """A copy of mkdocs.yml in `folder` (its page cache in folder/.cache), with `settings` changed."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(REPO / "docs")
    config["theme"]["custom_dir"] = str(REPO / "overrides")
    config["hooks"] = [str(REPO / "hooks" / "citekb.py")]
    for key, value in settings.items():
        config[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder / "mkdocs.yml"


def build(sources: Path, site: Path, config: Path, monkeypatch, reuse: bool = True, **options) -> Build:
    with monkeypatch.context() as patch:
        patch.setenv("CITEKB_REUSE", "1" if reuse else "0")
        built = build_site(sources, site, config=config, strict=options.pop("strict", False), **options)
    assert built.returncode == 0, built.log
    return built


def reused(built: Build) -> tuple[int, int]:
    """(pages written from the cache, generated pages) as the build says."""
    found = REUSED.findall(built.log)
    assert len(found) == 1, built.log
    return int(found[0][0]), int(found[0][1])


def same_bytes(first: Path, second: Path) -> None:
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) > 20 and any(f.parts[:2] == ("search", "citekb") for f in files)
    assert [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()] == []


def entries(config: Path, sources: Path) -> list[Path]:
    return sorted(page_cache.folder(config.parent, sources).glob(f"*{page_cache.SUFFIX}"))


def warm_is_cold(sources: Path, tmp_path: Path, monkeypatch, edit_source, edit_report) -> None:
    """The four cases, in turn, over one knowledge-base folder and one cache."""
    config = project(tmp_path / "project")
    first = build(sources, tmp_path / "first", config, monkeypatch)
    assert reused(first)[0] == 0
    pages = reused(first)[1]
    assert len(entries(config, sources)) == pages > 5

    again = build(sources, tmp_path / "again", config, monkeypatch)
    assert reused(again) == (pages, pages)
    same_bytes(again.site, first.site)

    for case, edit in (("source", edit_source), ("report", edit_report)):
        edit()
        warm = build(sources, tmp_path / f"warm-{case}", config, monkeypatch)
        cold = build(sources, tmp_path / f"cold-{case}", config, monkeypatch, reuse=False)
        assert 0 < reused(warm)[0] < pages, case  # the edited page is rendered, the rest reused
        same_bytes(warm.site, cold.site)
        assert len(entries(config, sources)) == pages  # the edited page's old output removed

    palette = yaml.safe_load(config.read_text(encoding="utf-8"))["theme"]["palette"]
    palette[0]["primary"] = "teal"
    theme = {**yaml.safe_load(config.read_text(encoding="utf-8"))["theme"], "palette": palette}
    project(tmp_path / "project", theme=theme, site_name="另一个名字")
    warm = build(sources, tmp_path / "warm-config", config, monkeypatch)
    cold = build(sources, tmp_path / "cold-config", config, monkeypatch, reuse=False)
    assert reused(warm)[0] == 0
    assert 'data-md-color-primary="teal"' in (warm.site / "sources" / "index.html").read_text(encoding="utf-8")
    same_bytes(warm.site, cold.site)


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_shipped_site_warm_is_the_cold_site(tmp_path, monkeypatch):
    sources = tmp_path / "kb"
    shutil.copytree(REPO / "sources", sources)
    warm_is_cold(
        sources,
        tmp_path,
        monkeypatch,
        lambda: append(sources / "pages" / "openai-success-lessons.txt", "\n新增的一段文字，用于测量增量重建。\n"),
        lambda: append(sources / "reports" / "example-open-vs-closed" / "final_report.md", "\n报告末尾新增一句。\n"),
    )


@pytest.mark.slow  # eight builds of the pipeline: 30 s on a quiet machine
@pytest.mark.pipeline
def test_the_imported_pipeline_warm_is_the_cold_site(tmp_path, monkeypatch):
    sources = tmp_path / "kb"
    kb("import", str(need_pipeline()), "--sources", str(sources))
    title = edited_source(sources)[0]
    report = sorted((sources / "reports").glob("*/final_report.md"))[0]
    warm_is_cold(
        sources,
        tmp_path,
        monkeypatch,
        lambda: edit_source(sources, title, "新增的一行，用于测量增量重建。"),
        lambda: append(report, "\n报告末尾新增一句。\n"),
    )


def test_a_damaged_entry_is_rendered_again(tmp_path, monkeypatch):
    make_sample_kb(tmp_path / "kb")
    config = project(tmp_path / "project")
    first = build(tmp_path / "kb", tmp_path / "first", config, monkeypatch)
    stored = entries(config, tmp_path / "kb")
    changed, cut = stored[0], stored[1]
    data = changed.read_bytes()
    assert b"</html>" in data
    changed.write_bytes(data.replace(b"</html>", b"<p>changed</p></html>"))  # sealed for other bytes
    cut.write_bytes(cut.read_bytes()[:-100])
    again = build(tmp_path / "kb", tmp_path / "again", config, monkeypatch)
    assert reused(again)[0] == reused(again)[1] - 2
    assert "2 page output(s) damaged; rendered again" in again.log
    same_bytes(again.site, first.site)
    assert changed.read_bytes() == data  # stored again, whole


# A hook after ours puts an inline script into one source page: the page's policy blocks it and
# says so, which fails a strict build; that page is not stored, so a warm build says it again.
SCRIPT_HOOK = """
def on_page_content(html, page, config, files):
    if page.file.src_uri.startswith("sources/") and page.file.src_uri != "sources/index.md":
        return html + '<script>window.pwned = 1</script>'
    return html
"""


def test_a_strict_warm_build_fails_on_a_page_warning_as_a_cold_one(tmp_path, monkeypatch):
    make_sample_kb(tmp_path / "kb")
    config = project(tmp_path / "project")
    (tmp_path / "project" / "extra_hook.py").write_text(SCRIPT_HOOK, encoding="utf-8")
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    project(tmp_path / "project", hooks=[*settings["hooks"], str(tmp_path / "project" / "extra_hook.py")])
    first = build(tmp_path / "kb", tmp_path / "first", config, monkeypatch)  # not strict: stores the rest
    warned = re.findall(r"citekb: (\S+): 1 inline script\(s\) the theme did not write", first.log)
    assert len(warned) >= 2
    with monkeypatch.context() as patch:
        patch.setenv("CITEKB_REUSE", "1")
        strict = build_site(tmp_path / "kb", tmp_path / "strict", config=config, strict=True)
    assert strict.returncode == 1, strict.log
    assert sorted(re.findall(r"citekb: (\S+): 1 inline script", strict.log)) == sorted(warned)
    assert reused(strict)[0] == reused(strict)[1] - len(warned)


def test_an_unwritable_cache_costs_only_the_speed(tmp_path, monkeypatch):
    make_sample_kb(tmp_path / "kb")
    config = project(tmp_path / "project")
    (tmp_path / "project" / page_cache.FOLDER).parent.mkdir(parents=True)
    (tmp_path / "project" / page_cache.FOLDER).write_text("a file where the folder goes", encoding="utf-8")
    first = build(tmp_path / "kb", tmp_path / "first", config, monkeypatch)
    cold = build(tmp_path / "kb", tmp_path / "cold", config, monkeypatch, reuse=False)
    assert len(re.findall(r"cannot be written \(.*\); every page is rendered by every build", first.log)) == 1
    assert reused(first)[0] == 0
    same_bytes(first.site, cold.site)


def test_entries_round_trip_and_a_changed_one_is_not_given(tmp_path):
    notes: list[str] = []
    store = page_cache.PageOutputs(tmp_path / "pages", notes.append)
    entry = page_cache.Entry("<html>页面 \ud800 😀</html>", ["chunk-1"], {"sources/x.md": {"chunk-3": "../x/#chunk-3"}})
    key = page_cache.key("site", "sources/x.md", "fingerprint")
    store.put(key, entry)
    assert store.get(key) == entry
    assert store.get(key, text=False) == page_cache.Entry("", entry.anchors, entry.links)
    path = tmp_path / "pages" / f"{key}{page_cache.SUFFIX}"
    for damaged in (path.read_bytes()[:-1], path.read_bytes().replace("页面".encode(), "页页".encode())):
        path.write_bytes(damaged)
        assert store.get(key) is None
    not_an_entry = json.dumps({"anchors": "x", "links": None}).encode() + b"\n<html>"
    nested = b"[" * 100_000 + b"]" * 100_000 + b"\n<html>"  # whole and sealed, but 100,000 brackets deep
    for payload in (not_an_entry, nested):
        path.write_bytes(seal(page_cache.KIND, page_cache.FORMAT, payload))
        assert store.get(key) is None
    assert store.damaged == 4 and notes == []


def test_a_build_keeps_only_its_entries_and_the_last_folders(tmp_path):
    parent = tmp_path / page_cache.FOLDER
    now = time.time()
    ages = {"old0": 10**5, "old1": 2 * 10**5, "busy": page_cache.IN_USE - 60}  # seconds since last used
    ages |= {f"new{number}": 30 for number in range(page_cache.KEEP_FOLDERS - 1)}
    for name, age in ages.items():
        (parent / name).mkdir(parents=True)
        (parent / name / f"{'0' * 64}{page_cache.SUFFIX}").write_bytes(b"x")
        os.utime(parent / name, (now - age, now - age))
    store = page_cache.PageOutputs(parent / "this", lambda _: None)
    for name in ("a", "b"):
        store.put(page_cache.key(name), page_cache.Entry(name, None, None))
    (parent / "this" / "notes.txt").write_text("not ours", encoding="utf-8")
    later = page_cache.PageOutputs(parent / "this", lambda _: None)
    assert later.get(page_cache.key("a")) == page_cache.Entry("a", None, None)
    later.finish()
    assert sorted(path.name for path in (parent / "this").iterdir()) == sorted(
        [f"{page_cache.key('a')}{page_cache.SUFFIX}", "notes.txt"]
    )
    # the newest KEEP_FOLDERS (this build's among them), and one still in use
    assert sorted(path.name for path in parent.iterdir()) == sorted(
        ["this", "busy", *ages.keys() - {"old0", "old1", "busy"}]
    )


PROPERDOCS = Path(sys.executable).parent / "properdocs"


def test_properdocs_does_not_take_the_pages_mkdocs_wrote(tmp_path, monkeypatch):
    """The two write different bytes (the generator's <meta>): each reuses only its own pages."""
    if not PROPERDOCS.exists():
        pytest.skip("properdocs is not installed (pip install -e '.[test]')")
    make_sample_kb(tmp_path / "kb")
    config = project(tmp_path / "project")
    build(tmp_path / "kb", tmp_path / "mkdocs", config, monkeypatch)
    env = {**os.environ, "CITEKB_SOURCES": str(tmp_path / "kb"), "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    command = [str(PROPERDOCS), "build", "-f", str(config), "-d", str(tmp_path / "properdocs")]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert reused(Build(0, done.stdout + done.stderr, tmp_path / "properdocs"))[0] == 0
    generator = re.compile(r'<meta name="generator" content="[^"]*ProperDocs [^"]*">')
    assert generator.search((tmp_path / "properdocs" / "sources" / "index.html").read_text(encoding="utf-8"))


def test_with_materials_search_every_page_is_rendered(tmp_path, monkeypatch):
    """Material's search plugin indexes each page's HTML as MkDocs makes it: no page is reused."""
    make_sample_kb(tmp_path / "kb")
    config = project(tmp_path / "project")
    monkeypatch.setenv("CITEKB_SEARCH", "material")
    first = build(tmp_path / "kb", tmp_path / "first", config, monkeypatch)
    again = build(tmp_path / "kb", tmp_path / "again", config, monkeypatch)
    assert not REUSED.search(again.log)
    index = Path("search", "search_index.json")
    assert (again.site / index).read_bytes() == (first.site / index).read_bytes()
    assert "sources/" in (again.site / index).read_text(encoding="utf-8")  # the generated pages are in it
