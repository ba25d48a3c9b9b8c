"""Nothing lost under concurrency or damage (issue 26, point 5): every cache is sealed and written
atomically, so a damaged one is discarded and rebuilt, never trusted and never fatal; a build whose
cache folder cannot be written still builds, the same site; the search index's files are replaced
whole; the knowledge-base folder is locked by the verbs that write into it."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from fixtures import make_sample_kb
from helpers import REPO, plugin_module, post_build_errors
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from build_tools import index, lock
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


def test_saving_the_term_cache_removes_what_a_killed_save_left(tmp_path, good_cache):
    """`mkdocs serve` saves it in a background thread, which stops mid-write when the server does."""
    left = tmp_path / ".terms.marshal.x1y2z3w4.tmp"
    left.write_bytes(good_cache[:1000])
    cache = TermCache(tmp_path / "terms.marshal")
    build_index(DOCS, cache)
    cache.save()
    assert [p.name for p in tmp_path.iterdir()] == ["terms.marshal"]


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


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_term_cache_path_that_is_no_regular_file_is_neither_read_nor_replaced(tmp_path, kind):
    """$CITEKB_CACHE names any path: a pipe would wait for a writer for ever, /dev/zero never end
    (a build took all the memory there was), and saving renames its file over what is there."""
    path = tmp_path / "terms.marshal" if kind == "pipe" else Path("/dev/zero")
    if kind == "pipe":
        os.mkfifo(path)
    before = path.lstat()
    notes: list[str] = []
    cache = TermCache(path, note=notes.append)
    assert build_index(DOCS, cache).files == CLEAN_INDEX
    cache.save()
    assert notes == [f"{path}: not a regular file; neither read nor written, segmenting every text again"]
    assert (path.lstat().st_ino, path.lstat().st_mode) == (before.st_ino, before.st_mode)


# The theme's compiled templates (the plugin's on_env).


def template_env(folder: Path, templates: dict[str, str]) -> jinja2.Environment:
    CitekbPlugin = plugin_module().CitekbPlugin
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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stub=st.one_of(st.binary(max_size=200), st.text(max_size=50).map(str.encode), st.none()))
def test_whatever_a_page_stub_holds_it_is_rewritten_to_its_page_header(tmp_path_factory, stub):
    citekb_plugin = plugin_module()
    folder = tmp_path_factory.mktemp("stubs")
    path = folder / "sources" / "x.md"
    path.parent.mkdir()
    if stub is None:
        path.mkdir()  # a folder where the stub belongs
    else:
        path.write_bytes(stub)
    front = citekb_plugin._front_matter({"title": "标题 & <b>", "render_macros": False})
    written = citekb_plugin._write_stub(path, front)
    assert written == (stub is not None)  # a folder is left alone: the page is built without its stub
    if written:
        assert path.read_bytes() == front.encode("utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["x.md"]


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
    assert {p.relative_to(cache).parts[0] for p in damaged_files} == {"audits", "pages", "templates", "terms.marshal"}
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


# The knowledge-base folder's lock.

HOLD = """
import sys, time
from pathlib import Path
from build_tools.lock import folder_lock
with folder_lock(Path(sys.argv[1]), shared=sys.argv[2] == "shared", wait=0):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder():
    """Start a process that holds a folder's lock until told to let go (by a line on its stdin)."""
    started = []

    def hold(root: Path, shared: bool = False) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(root), "shared" if shared else "exclusive"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout.readline() == "held\n"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()


def kb_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "build_tools", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def said_until(process: subprocess.Popen, text: str) -> str:
    """The lines the process writes to stderr up to the first holding `text` (asserted there):
    however slowly it starts on a busy machine, it reaches the lock and says so."""
    said = []
    for line in process.stderr:
        said.append(line)
        if text in line:
            break
    assert text in "".join(said), "".join(said)
    return "".join(said)


def finished(process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """The process's output once it ends; killed (and the test failed) if it does not in time."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"{process.args} did not end within {timeout} s")


def test_a_second_import_refuses_after_its_wait_and_touches_nothing(tmp_path, holder):
    from fixtures import make_sample_app_folder

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"
    root.mkdir()
    in_flight = root / ".long_context_sampled_60.json.k3j9x0q2.tmp"  # the first import's file being written
    in_flight.write_bytes(b"half of a corpus")
    first = holder(root)
    started = time.monotonic()
    second = kb_process("import", str(app), "--sources", str(root), "--wait", "1")
    out, err = finished(second, 60)
    assert second.returncode == 1 and time.monotonic() - started >= 1
    assert f"kb: {root} is in use by another process (pid {first.pid}); waiting up to 1 s" in err
    assert f"kb: {root}: still in use by another process (pid {first.pid}) after 1 s" in err
    assert "Traceback" not in err and err.count("\n") == 2
    assert sorted(p.name for p in root.iterdir()) == sorted([in_flight.name, lock.FOLDER_LOCK])


def test_a_second_import_waits_for_the_first_then_imports(tmp_path, holder):
    from fixtures import make_sample_app_folder

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"
    root.mkdir()
    first = holder(root)
    second = kb_process("import", str(app), "--sources", str(root), "--wait", "60")
    stats = kb_process("stats", str(root), "--json")  # a reader waits too
    waiting = said_until(second, "waiting up to 60 s") + said_until(stats, "waiting")
    time.sleep(0.5)
    assert second.poll() is None and stats.poll() is None
    first.stdin.write("done\n")
    first.stdin.flush()
    out, err = finished(second, 120)
    assert second.returncode == 0 and "Traceback" not in waiting + err
    _, stats_err = finished(stats, 120)
    assert stats.returncode == 0 and "Traceback" not in stats_err
    assert sorted(p.name for p in root.iterdir()) == ["chunks.lock", "corpora", "files", "reports"]  # no lock file


def test_a_build_waits_for_an_import_then_reads_the_whole_folder(tmp_path, holder):
    """`mkdocs build` holds the folder shared: it never publishes a knowledge base half imported."""
    root = make_sample_kb(tmp_path / "kb")
    importing = holder(root)
    env = {**os.environ, "CITEKB_SOURCES": str(root), "NO_MKDOCS_2_WARNING": "1", "CITEKB_AUDIT": "false"}
    build = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = said_until(build, f"{root} is in use by another process (pid {importing.pid}); waiting up to")
    time.sleep(1)
    assert build.poll() is None and not (tmp_path / "site" / "sources" / "index.html").exists()
    importing.stdin.write("done\n")
    importing.stdin.flush()
    _, err = finished(build, 300)
    assert build.returncode == 0, said + err
    assert (tmp_path / "site" / "sources" / "index.html").exists() and lock.FOLDER_LOCK not in os.listdir(root)


def test_two_imports_at_once_both_finish_with_every_file_whole(tmp_path):
    from fixtures import make_sample_app_folder

    app = make_sample_app_folder(tmp_path / "app")
    finished(kb_process("import", str(app), "--sources", str(tmp_path / "alone")), 120)
    expected = site_files(tmp_path / "alone")
    for attempt in range(3):
        root = tmp_path / f"kb{attempt}"
        processes = [kb_process("import", str(app), "--sources", str(root)) for _ in range(2)]
        results = [finished(process, 120) for process in processes]
        assert [process.returncode for process in processes] == [0, 0], results
        assert site_files(root) == expected


def test_a_link_in_place_of_the_lock_file_is_not_followed(tmp_path):
    from fixtures import make_sample_app_folder

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"
    root.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("kept")
    (root / lock.FOLDER_LOCK).symlink_to(precious)
    one_line(run_kb("import", str(app), "--sources", str(root)), str(root / lock.FOLDER_LOCK))
    stats = run_kb("stats", str(root))
    assert stats.returncode == 0 and "not locked for reading" in stats.stderr
    assert precious.read_text() == "kept" and (root / lock.FOLDER_LOCK).is_symlink()


COUNT = """
import sys, time
from pathlib import Path
from build_tools.lock import folder_lock
root = Path(sys.argv[1])
for _ in range(40):
    with folder_lock(root, shared=False, wait=60):
        counter = root / "counter"
        value = int(counter.read_text())
        time.sleep(0.001)
        counter.write_text(str(value + 1))
    with folder_lock(root, shared=True, wait=60):
        int((root / "counter").read_text())  # never half-written
"""


def test_the_folder_lock_excludes_writers_while_its_file_comes_and_goes(tmp_path):
    (tmp_path / "counter").write_text("0")
    processes = [subprocess.Popen([sys.executable, "-c", COUNT, str(tmp_path)], cwd=REPO) for _ in range(4)]
    assert [process.wait(timeout=120) for process in processes] == [0] * 4
    assert (tmp_path / "counter").read_text() == "160"
    assert not (tmp_path / lock.FOLDER_LOCK).exists()


def test_an_import_killed_midway_is_completed_by_the_next(tmp_path):
    from fixtures import make_sample_app_folder

    app = make_sample_app_folder(tmp_path / "app")
    for name in range(300):
        (app / "datasets/102" / f"extra-{name:03}.txt").write_bytes(name.to_bytes(2, "big") * 25_000)
    finished(kb_process("import", str(app), "--sources", str(tmp_path / "alone")), 120)
    expected = site_files(tmp_path / "alone")
    root = tmp_path / "kb"
    for written in (1, 100, 250):  # killed once that many task files are there, while it writes the others
        process = kb_process("import", str(app), "--sources", str(root))
        while len(list(root.glob("files/102/*"))) < written and process.poll() is None:
            time.sleep(0.001)
        process.kill()
        process.communicate()
        assert len(site_files(root)) < len(expected)
    done = kb_process("import", str(app), "--sources", str(root))
    out, err = finished(done, 120)
    assert done.returncode == 0, err
    assert site_files(root) == expected


def test_a_pipe_in_place_of_an_imported_file_is_replaced_not_read(tmp_path):
    from fixtures import make_sample_app_folder

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"
    finished(kb_process("import", str(app), "--sources", str(root)), 120)
    corpus = root / "corpora/101/long_context_sampled_60.json"
    corpus.unlink()
    os.mkfifo(corpus)  # reading it would wait for a writer forever
    out, err = finished(kb_process("import", str(app), "--sources", str(root)), 60)
    assert corpus.read_bytes() == (app / "datasets/101/long_context_sampled_60.json").read_bytes()


def test_a_pipe_in_the_app_folder_is_not_read(tmp_path):
    from fixtures import make_sample_app_folder

    app = make_sample_app_folder(tmp_path / "app")
    os.mkfifo(app / "datasets/101/long_context_sampled_pipe.json")
    done = kb_process("import", str(app), "--sources", str(tmp_path / "kb"))
    out, err = finished(done, 60)
    assert done.returncode == 0 and "long_context_sampled_pipe.json" in err  # named among the skipped


# OS errors: one line naming the path, exit 1, no traceback.


def run_kb(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "build_tools", *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kwargs
    )


def one_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    lines = [line for line in done.stderr.splitlines() if not line.startswith(("importing", "  wrote"))]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("kb: ") and all(part in lines[0] for part in expected), lines[0]


def test_a_file_where_the_knowledge_base_folder_belongs(tmp_path):
    from fixtures import make_sample_app_folder

    app = make_sample_app_folder(tmp_path / "app")
    (tmp_path / "file").write_text("x")
    one_line(run_kb("import", str(app), "--sources", str(tmp_path / "file")), str(tmp_path / "file"), "not a folder")
    one_line(run_kb("import", str(app), "--sources", str(tmp_path / "file/kb")), str(tmp_path / "file/kb"), "Not a dir")
    one_line(run_kb("lock", "--sources", str(tmp_path / "file")), str(tmp_path / "file"), "not a folder")
    one_line(run_kb("import", str(app), "--sources", "/proc/citekb-kb"), "/proc/citekb-kb")


def test_a_folder_inside_the_knowledge_base_that_is_a_file(tmp_path):
    from fixtures import make_sample_app_folder

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"
    (root / "corpora").mkdir(parents=True)
    (root / "corpora" / "101").write_text("a file where a task's folder belongs")
    done = run_kb("import", str(app), "--sources", str(root))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == f"kb: {root / 'corpora' / '101'}: not a folder"


@pytest.mark.parametrize("where", ["mkstemp", "write", "replace"])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_no_temporary(tmp_path, monkeypatch, capsys, where):
    from fixtures import make_sample_app_folder

    from build_tools import cli

    app, root = make_sample_app_folder(tmp_path / "app"), tmp_path / "kb"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = {"mkstemp": (lock.tempfile, "mkstemp"), "write": (lock.os, "fdopen"), "replace": (lock.os, "replace")}
    if where == "write":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, handle, mode):
                self.file = real_fdopen(handle, mode)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.file.close()

            def write(self, data):
                self.file.write(data[: len(data) // 2])
                full()

        monkeypatch.setattr(lock.os, "fdopen", Full)
    else:
        monkeypatch.setattr(*target[where], full)
    assert cli.main(["import", str(app), "--sources", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"kb: {root}/") and err[-1].endswith(": No space left on device")
    assert ".tmp" not in err[-1]
    assert not [p for p in root.rglob("*") if p.is_file()]  # nothing half-written, no temporary, no lock file


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_import_into_a_full_disk(tmp_path, small_disk):
    from fixtures import make_sample_app_folder

    app = make_sample_app_folder(tmp_path / "app")
    (app / "datasets/102/big.md").write_bytes(b"x" * 400_000)
    done = run_kb("import", str(app), "--sources", str(small_disk / "kb"))
    one_line(done, str(small_disk / "kb" / "files" / "102" / "big.md"), "No space left on device")
    assert not list(small_disk.rglob(".*"))


def test_lock_on_a_read_only_disk(tmp_path, small_disk):
    make_sample_kb(small_disk / "kb")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    one_line(run_kb("lock", "--sources", str(small_disk / "kb")), str(small_disk / "kb"), "Read-only file system")
    checked = run_kb("lock", "--check", "--sources", str(small_disk / "kb"))  # only reads: goes on unlocked
    assert checked.returncode == 0 and "not locked for reading (Read-only file system)" in checked.stderr


def test_output_to_a_full_device_or_a_closed_pipe(tmp_path):
    corpus = tmp_path / "long_context_sampled_60.json"
    corpus.write_text(json.dumps([{"title": "长文", "page_body": "很长的正文。" * 200_000}]), encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "build_tools", "chunk", str(corpus)],
            cwd=REPO,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 1 and done.stderr == "kb: standard output: No space left on device\n"
    chunks = subprocess.Popen(
        [sys.executable, "-m", "build_tools", "chunk", str(corpus)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = chunks.stdout.readline()
    chunks.stdout.close()  # `kb chunk … | head -1`
    assert json.loads(first)["chunk_index"] == 0
    assert chunks.wait(timeout=60) == 1 and chunks.stderr.read() == b""


@pytest.mark.parametrize("name", ["manifest.json", "docs.json", "shard-0.bin"])
def test_kb_search_over_a_damaged_index_is_one_line(tmp_path, name):
    folder = tmp_path / index.SITE_FOLDER
    built = build_index(DOCS, TermCache(None))
    index.write_index(built, folder)
    (folder / name).write_bytes(built.files[name][: len(built.files[name]) // 2])
    one_line(run_kb("search", "开源模型", "--site", str(tmp_path)), str(folder), "build the site again")


@pytest.mark.parametrize(
    "name, how", [("docs.json", "pipe"), ("shard-0.bin", "pipe"), ("docs.json", "nested"), ("docs.json", "folder")]
)
def test_kb_search_over_an_index_file_that_no_build_wrote_is_one_line(tmp_path, name, how):
    """A pipe would wait for a writer for ever; 100,000 nested brackets pass the JSON reader's
    recursion limit; a folder cannot be read: each is one line, never a hang or a traceback."""
    folder = tmp_path / index.SITE_FOLDER
    index.write_index(build_index(DOCS, TermCache(None)), folder)
    (folder / name).unlink()
    if how == "pipe":
        os.mkfifo(folder / name)
    elif how == "nested":
        (folder / name).write_text("[" * 100_000)
    else:
        (folder / name).mkdir()
    one_line(run_kb("search", "开源模型", "--site", str(tmp_path)), str(folder), "build the site again")


@pytest.mark.parametrize("serving", [False, True])
def test_a_search_index_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, caplog, serving):
    """A full disk under the site folder: a build stops with one line naming the file; while serving,
    the background writer logs it (no thread traceback) and the served site goes on."""
    monkeypatch.setenv("CITEKB_SOURCES", str(make_sample_kb(tmp_path / "kb")))
    monkeypatch.setenv("CITEKB_CACHE", str(tmp_path / "terms.marshal"))

    def full(built, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "manifest.json"))

    monkeypatch.setattr(index, "write_index", full)
    expected = f"citekb: search index not written: {tmp_path / 'site' / 'search' / 'citekb' / 'manifest.json'}: No space left on device"
    assert post_build_errors(tmp_path / "site", caplog, serving) == [expected]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_shard_ends_every_search(tmp_path_factory, data):
    """Any bytes overwritten in a shard: `kb search` answers or fails, never loops (four replaced
    bytes made a posting list's tf run end past its span and start over at its first bit)."""
    import signal

    from build_tools.search import Searcher

    folder = tmp_path_factory.mktemp("damaged") / index.SITE_FOLDER
    index.write_index(build_index(DOCS, TermCache(None)), folder)
    shard = data.draw(st.sampled_from(sorted(p.name for p in folder.glob("shard-*.bin"))))
    body = bytearray((folder / shard).read_bytes())
    at = data.draw(st.integers(0, len(body) - 1))
    body[at : at + 4] = data.draw(st.binary(min_size=1, max_size=4))
    (folder / shard).write_bytes(bytes(body))

    def stuck(*_):
        raise TimeoutError(f"{shard} damaged at byte {at}: the search did not end")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(2)
    try:
        for query in ("开源模型", "模型", "开源", "model", "生态 开源"):
            # what `kb search` names as "not a search index this Citekb can read":
            with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                Searcher(folder, texts=lambda _: "").search(query)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
