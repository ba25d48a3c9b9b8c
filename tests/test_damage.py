"""Nothing lost under concurrency or damage (issue 26, point 5): every cache is sealed and written
atomically, so a damaged one is discarded and rebuilt, never trusted and never fatal; a build whose
cache folder cannot be written still builds, the same site; the search index's files are replaced
whole."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from fixtures import make_sample_kb
from helpers import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from build_tools import index
from build_tools.analysis import TermCache
from build_tools.index import SearchDoc, build_index

TEXTS = [
    "开源模型正在改变大模型的竞争格局，闭源模型仍然领先。",
    "Open models such as Llama-3 and GPT-4 are compared on retrieval benchmarks.",
    "检索增强生成把文档切成块，再按相关度排序。Rerankers reorder passages.",
    "模型的现状：开源社区发布了许多新的模型和数据集。",
]
DOCS = [SearchDoc(f"sources/s{i}/", f"S{i}", f"chunk-{i}", f"chunk {i}", text) for i, text in enumerate(TEXTS)]
CLEAN_INDEX = build_index(DOCS, TermCache(None)).files


def sealed_cache(folder: Path) -> bytes:
    """The bytes of a term cache holding the analyses of DOCS, as a build saves it."""
    cache = TermCache(folder / "terms.marshal")
    build_index(DOCS, cache)
    cache.save()
    return (folder / "terms.marshal").read_bytes()


@pytest.fixture(scope="module")
def good_cache(tmp_path_factory) -> bytes:
    return sealed_cache(tmp_path_factory.mktemp("cache"))


def index_with_cache(folder: Path, data: bytes) -> tuple[dict[str, bytes], list[str]]:
    path = folder / "terms.marshal"
    path.write_bytes(data)
    notes: list[str] = []
    return build_index(DOCS, TermCache(path, note=notes.append)).files, notes


DAMAGE = st.one_of(
    st.tuples(st.just("cut"), st.integers(min_value=0, max_value=10**6)),
    st.tuples(st.just("flip"), st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=7)),
    st.tuples(st.just("replace"), st.integers(min_value=0, max_value=10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("bytes"), st.binary(max_size=300)),
)


def damaged(data: bytes, how: tuple) -> bytes:
    if how[0] == "cut":
        return data[: how[1] % len(data)]
    if how[0] == "flip":
        at = how[1] % len(data)
        return data[:at] + bytes([data[at] ^ (1 << how[2])]) + data[at + 1 :]
    if how[0] == "replace":
        at = how[1] % len(data)
        return data[:at] + how[2] + data[at + len(how[2]) :]
    return how[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=DAMAGE)
@example(how=("bytes", b"[\xff\xff\xff\x7f"))  # five bytes: marshal allocates a list of 2**31 items
def test_any_damage_to_the_term_cache_builds_the_index_made_without_it(tmp_path, good_cache, how):
    data = damaged(good_cache, how)
    files, notes = index_with_cache(tmp_path, data)
    assert files == CLEAN_INDEX
    assert bool(notes) == (data != good_cache)  # damage is said, never silent


def test_the_term_cache_is_used_when_whole(tmp_path, good_cache, monkeypatch):
    from build_tools import analysis

    monkeypatch.setattr(analysis, "analyze_all", lambda texts: pytest.fail(f"segmented again: {texts}"))
    files, notes = index_with_cache(tmp_path, good_cache)
    assert files == CLEAN_INDEX and notes == []


def test_a_term_cache_that_cannot_be_read_or_written_is_noted_not_fatal(tmp_path):
    blocked = tmp_path / "terms.marshal"
    blocked.mkdir()  # a folder where the file belongs
    notes: list[str] = []
    cache = TermCache(blocked, note=notes.append)
    assert build_index(DOCS, cache).files == CLEAN_INDEX
    cache.save()
    assert len(notes) == 2 and all(str(blocked) in note for note in notes)
    under_a_file = tmp_path / "file"
    under_a_file.write_text("not a folder")
    cache = TermCache(under_a_file / "terms.marshal", note=notes.append)
    build_index(DOCS, cache)
    cache.save()
    assert len(notes) == 4 and str(under_a_file) in notes[3]


# The theme's compiled templates (the plugin's on_env).


def template_env(folder: Path, templates: dict[str, str]) -> jinja2.Environment:
    if str(REPO / "hooks") not in sys.path:
        sys.path.append(str(REPO / "hooks"))
    from citekb_plugin import CitekbPlugin

    config = SimpleNamespace(config_file_path=str(folder / "mkdocs.yml"))
    return CitekbPlugin().on_env(jinja2.Environment(loader=jinja2.DictLoader(templates)), config=config, files=None)


TEMPLATES = {"main.html": "{% for x in items %}<b>{{ x }}</b>{% endfor %}{% include 'part.html' %}", "part.html": "Ω"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=DAMAGE)
@example(how=("cut", 16))  # inside the pickled checksum: Jinja's own cache raises
def test_a_damaged_compiled_template_is_compiled_again(tmp_path_factory, how):
    folder = tmp_path_factory.mktemp("templates")
    assert template_env(folder, TEMPLATES).get_template("main.html").render(items=[1]) == "<b>1</b>Ω"
    compiled = sorted((folder / ".cache/citekb/templates").iterdir())
    assert len(compiled) == 2
    for path in compiled:
        data = path.read_bytes()
        path.write_bytes(damaged(data, how))
    env = template_env(folder, TEMPLATES)
    assert env.get_template("main.html").render(items=[2, 3]) == "<b>2</b><b>3</b>Ω"
    later = template_env(folder, TEMPLATES)  # rewritten whole: the next build loads them
    later.compile = lambda *args, **kwargs: pytest.fail("compiled again")
    assert later.get_template("main.html").render(items=[]) == "Ω"


def test_templates_compile_without_a_writable_cache_folder(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    (tmp_path / ".cache").write_text("a file where the cache folder belongs")
    env = template_env(tmp_path, TEMPLATES)
    assert env.get_template("main.html").render(items=[1]) == "<b>1</b>Ω"
    templates = tmp_path / "other" / ".cache/citekb/templates"
    templates.mkdir(parents=True)
    env = template_env(tmp_path / "other", TEMPLATES)
    (templates / f"{env.bytecode_cache.get_cache_key('main.html')}.sealed").mkdir()  # cannot be written
    assert env.get_template("main.html").render(items=[1]) == "<b>1</b>Ω"
    assert "cannot be made" in caplog.text and "cannot be written" in caplog.text


# Whole builds over a damaged or unwritable .cache, in a copy of the project (its own .cache).


def project(folder: Path) -> Path:
    """The project's mkdocs.yml with its docs, theme overrides and hooks, in `folder`."""
    folder.mkdir()
    shutil.copy(REPO / "mkdocs.yml", folder / "mkdocs.yml")
    for name in ("docs", "overrides", "hooks"):
        (folder / name).symlink_to(REPO / name)
    return folder


def mkdocs_build(config: Path, sources: Path, site: Path, dirty: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "CITEKB_SOURCES": str(sources), "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    env.pop("CITEKB_CACHE", None)
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config / "mkdocs.yml"), "-d", str(site)]
    command += ["--dirty"] if dirty else ["--strict"]  # MkDocs warns of every dirty build
    return subprocess.run(command, cwd=config, env=env, capture_output=True, text=True, timeout=600)


def site_files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A sample knowledge base and its site, built with no cache at all."""
    folder = tmp_path_factory.mktemp("damage")
    sources = make_sample_kb(folder / "kb")
    done = mkdocs_build(project(folder / "fresh"), sources, folder / "site")
    assert done.returncode == 0, done.stderr
    return sources, site_files(folder / "site")


def cut_mid_character(data: bytes) -> bytes:
    """`data` cut inside its last multi-byte UTF-8 character, or in half when it has none."""
    starts = [i for i, byte in enumerate(data) if byte >= 0xC0]
    return data[: starts[-1] + 1] if starts else data[: len(data) // 2]


def test_a_build_over_damaged_caches_builds_the_same_site(tmp_path, sample):
    sources, expected = sample
    config = project(tmp_path / "project")
    assert mkdocs_build(config, sources, tmp_path / "warm", dirty=True).returncode == 0
    cache = config / ".cache/citekb"
    damaged_files = sorted(p for p in cache.rglob("*") if p.is_file())
    assert {p.relative_to(cache).parts[0] for p in damaged_files} == {"pages", "templates", "terms.marshal"}
    damage = {}
    for number, path in enumerate(damaged_files):
        data = path.read_bytes()
        if number % 2:
            damage[path] = cut_mid_character(data)
        else:
            middle = len(data) // 2  # one changed byte: a changed word in terms.marshal
            damage[path] = data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :]
        path.write_bytes(damage[path])
    logs = []
    for dirty in (True, False):
        site = tmp_path / f"site-{dirty}"
        done = mkdocs_build(config, sources, site, dirty)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert site_files(site) == expected
        logs.append(done.stderr)
    assert "terms.marshal: damaged" in logs[0] and ".sealed: " in logs[0]  # said, then rebuilt
    for path, data in damage.items():  # each rewritten whole
        assert path.read_bytes() != data
    assert not list(cache.rglob("*.tmp"))


def test_a_build_whose_cache_folder_is_a_file_builds_the_same_site(tmp_path, sample):
    sources, expected = sample
    config = project(tmp_path / "project")
    (config / ".cache").write_text("a file where the cache folder belongs")
    for dirty in (True, False):
        site = tmp_path / f"site-{dirty}"
        done = mkdocs_build(config, sources, site, dirty)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert site_files(site) == expected
        assert "cannot be" in done.stderr  # noted, not silent


# The search index in the site.


def test_a_reader_of_the_index_never_sees_half_a_file(tmp_path):
    folder = tmp_path / index.SITE_FOLDER
    first = build_index(DOCS, TermCache(None))
    index.write_index(first, folder)
    reading = {name: (folder / name).open("rb") for name in first.files}  # a server sending the old index
    leftover = folder / ".shard-0.bin.a1b2c3d4.tmp"  # a build killed while writing
    leftover.write_bytes(b"half")
    second = build_index(DOCS[:2], TermCache(None))
    index.write_index(second, folder)
    for name, handle in reading.items():
        assert handle.read() == first.files[name]
        handle.close()
    assert site_files(folder) == second.files


def test_the_index_manifest_is_written_after_the_files_it_names(tmp_path, monkeypatch):
    written: list[str] = []
    real = index.write_atomic
    monkeypatch.setattr(index, "write_atomic", lambda path, data: (written.append(path.name), real(path, data)))
    built = build_index(DOCS, TermCache(None))
    index.write_index(built, tmp_path)
    assert written[-1] == "manifest.json" and sorted(written) == sorted(built.files)
