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


def entries(config: Path, sources: Path) -> dict[str, page_cache.Place]:
    """What the next build finds stored, by key: every pack's entries, a later pack's over an earlier's."""
    return stored(page_cache.folder(config.parent, sources))


def stored(folder: Path) -> dict[str, page_cache.Place]:
    found: dict[str, page_cache.Place] = {}
    for pack in sorted(folder.glob(f"*{page_cache.PACK}")):
        handle = os.open(pack, os.O_RDONLY)
        try:
            found.update(page_cache.records(handle, pack.name))
        finally:
            os.close(handle)
    return found


def packs(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{page_cache.PACK}"))


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
    pages = reused(first)[1]
    places = sorted(entries(config, tmp_path / "kb").values(), key=lambda place: (place.pack, place.start))
    folder = page_cache.folder(config.parent, tmp_path / "kb")
    changed = places[0]
    data = bytearray((folder / changed.pack).read_bytes())
    at = data.index(b"</html>", changed.start, changed.start + changed.length)
    data[at : at + 7] = b"</htmX>"  # the same length: the pack's later entries stay where they were
    (folder / changed.pack).write_bytes(bytes(data))
    last = max(places, key=lambda place: (place.pack, place.start))
    with open(folder / last.pack, "r+b") as pack:
        pack.truncate(last.start + last.length - 100)  # cut: not found at all
    again = build(tmp_path / "kb", tmp_path / "again", config, monkeypatch)
    assert reused(again) == (pages - 2, pages)
    assert "1 page output(s) damaged; rendered again" in again.log
    same_bytes(again.site, first.site)
    third = build(tmp_path / "kb", tmp_path / "third", config, monkeypatch)
    assert reused(third) == (pages, pages)  # both stored again, whole
    same_bytes(third.site, first.site)


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
    store.used.add(key)
    store.finish()
    assert page_cache.PageOutputs(tmp_path / "pages", notes.append).get(key) == entry
    assert page_cache.PageOutputs(tmp_path / "pages", notes.append).get(key, text=False) == page_cache.Entry(
        "", entry.anchors, entry.links
    )
    [pack] = packs(tmp_path / "pages")
    whole = pack.read_bytes()
    place = stored(tmp_path / "pages")[key]
    sealed = whole[place.start : place.start + place.length]
    flipped = sealed.replace("页面".encode(), "页页".encode())
    not_an_entry = json.dumps({"anchors": "x", "links": None}).encode() + b"\n<html>"
    nested = b"[" * 100_000 + b"]" * 100_000 + b"\n<html>"  # whole and sealed, but 100,000 brackets deep
    damaged = [flipped] + [seal(page_cache.KIND, page_cache.FORMAT, payload) for payload in (not_an_entry, nested)]
    head = page_cache.RECORD.size
    for record in damaged:
        pack.write_bytes(
            whole[: place.start - head]
            + page_cache.RECORD.pack(page_cache.MARK, bytes.fromhex(key), len(record))
            + record
        )
        later = page_cache.PageOutputs(tmp_path / "pages", notes.append)
        assert later.get(key) is None and later.damaged == 1
    pack.write_bytes(whole[:-1])  # cut: the entry is not found
    later = page_cache.PageOutputs(tmp_path / "pages", notes.append)
    assert later.get(key) is None and later.damaged == 0
    assert notes == []


def put(store: page_cache.PageOutputs, *names: str) -> None:
    for name in names:
        store.put(page_cache.key(name), page_cache.Entry(name * 100, None, None))


def a_build(folder: Path, uses: str, writes: str) -> page_cache.PageOutputs:
    """A build that finds the entries named by the letters of `uses` and stores those of `writes`."""
    store = page_cache.PageOutputs(folder, lambda line: pytest.fail(line))
    for name in uses:
        assert store.get(page_cache.key(name)) == page_cache.Entry(name * 100, None, None), name
    for name in writes:
        store.get(page_cache.key(name))
    put(store, *writes)
    store.finish()
    return store


def test_a_build_keeps_the_entries_it_used_in_under_twice_their_bytes(tmp_path):
    folder = tmp_path / "pages"
    a_build(folder, "", "abcdefghij")
    assert set(stored(folder)) == {page_cache.key(name) for name in "abcdefghij"}
    a_build(folder, "bcdefghij", "k")  # 'a' unused: its pack is nine tenths used, and kept
    assert len(packs(folder)) == 2 and len(stored(folder)) == 11
    a_build(folder, "bc", "")  # under half of each pack used: 'b' and 'c' copied, the packs removed
    [pack] = packs(folder)
    assert set(stored(folder)) == {page_cache.key("b"), page_cache.key("c")}
    assert pack.stat().st_size == sum(page_cache.RECORD.size + place.length for place in stored(folder).values())
    a_build(folder, "bc", "")  # all used: nothing moved
    assert packs(folder) == [pack]
    letters = "bc"
    for name in "lmnopqrstuvwxyz":  # a pack a build: the smallest merged past MAX_PACKS
        a_build(folder, letters, name)
        letters += name
        assert len(packs(folder)) <= page_cache.MAX_PACKS
        size = sum(path.stat().st_size for path in packs(folder))
        used = sum(page_cache.RECORD.size + stored(folder)[page_cache.key(n)].length for n in letters)
        assert size < 2 * used
    a_build(folder, letters, "")  # every entry still whole


def test_each_process_writes_a_pack_of_its_own_and_another_builds_is_left_alone(tmp_path):
    folder = tmp_path / "pages"
    store = page_cache.PageOutputs(folder, lambda line: pytest.fail(line))
    for name in "abc":
        store.get(page_cache.key(name))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        put(store, "b", "c")
        store.close()
        os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    put(store, "a")
    other = page_cache.PageOutputs(folder, lambda line: pytest.fail(line))  # another build, begun later
    put(other, "z")
    other.close()
    store.finish()
    assert len(packs(folder)) == 3  # this build's two, the other's
    assert set(stored(folder)) == {page_cache.key(name) for name in "abcz"}
    a_build(folder, "abc", "")


def test_a_build_removes_what_an_older_one_left(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    now = time.time()
    old_format = folder / f"{'0' * 64}.page"
    stopped = folder / f".{'1' * 20}-00000000-1-0.pack.tmp"  # a pack whose process stopped
    writing = folder / f".{'2' * 20}-00000000-1-0.pack.tmp"  # another build's, still being written
    for path in (old_format, stopped, writing, folder / "notes.txt"):
        path.write_bytes(b"x")
    os.utime(stopped, (now - page_cache.IN_USE - 60,) * 2)
    a_build(folder, "", "a")
    assert sorted(path.name for path in folder.iterdir() if not path.name.endswith(page_cache.PACK)) == sorted(
        [writing.name, "notes.txt"]
    )


def test_only_the_last_folders_are_kept(tmp_path):
    parent = tmp_path / page_cache.FOLDER
    now = time.time()
    ages = {"old0": 10**5, "old1": 2 * 10**5, "busy": page_cache.IN_USE - 60}  # seconds since last used
    ages |= {f"new{number}": 30 for number in range(page_cache.KEEP_FOLDERS - 1)}
    for name, age in ages.items():
        (parent / name).mkdir(parents=True)
        os.utime(parent / name, (now - age, now - age))
    a_build(parent / "this", "", "ab")
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


def test_a_page_of_the_whole_knowledge_base_is_made_once_a_build(tmp_path, monkeypatch):
    """The indexes, the health and the comparison pages read the whole knowledge base: the page
    itself stands for what it reads (its fingerprint) and is what is written, made once, cold or warm."""
    from helpers import plugin_module
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    plugin = plugin_module()
    made: list[str] = []
    for name in ("sources_index", "reports_index", "health_page", "stats_page"):
        real = getattr(plugin.render, name)
        monkeypatch.setattr(plugin.render, name, lambda *a, _real=real, _name=name: made.append(_name) or _real(*a))
    monkeypatch.setenv("CITEKB_SOURCES", str(make_sample_kb(tmp_path / "kb")))
    config_file = project(tmp_path / "project")
    for run in ("cold", "warm"):
        config = load_config(str(config_file), site_dir=str(tmp_path / "site"))
        config.plugins.on_startup(command="build", dirty=False)
        mkdocs_build(config)
        assert sorted(made) == ["health_page", "reports_index", "sources_index", "stats_page"], run
        made.clear()
