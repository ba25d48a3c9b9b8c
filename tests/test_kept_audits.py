"""The audits a build keeps for the next (build_tools/audit/stored.py): the next build redoes only the
reports whose text or corpus changed, and a kept file from other code, cut or changed is not used."""

from __future__ import annotations

import dataclasses
import os

import pytest
from fixtures import make_sample_kb
from helpers import REPO, build_site

from benchmarks.scale import synthesize
from build_tools.analysis import TermCache
from build_tools.audit import SETTINGS, Kept, start_audit, stored, workers
from build_tools.knowledge_base import build


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("kb")
    synthesize(root, 40, 6, seed=5)
    return root


def audited(kb, kept: Kept) -> dict:
    return start_audit(kb, TermCache(None), kept=kept, parallel=False).result()


def counting(monkeypatch) -> list[str]:
    """The reports audited from here on (not taken from what was kept)."""
    done: list[str] = []
    audit_corpus = workers.audit_corpus

    def counted(key, reports, *args):
        done.extend(reports)
        return audit_corpus(key, reports, *args)

    monkeypatch.setattr(workers, "audit_corpus", counted)
    return done


def test_kept_audits_come_back_the_same_and_are_not_made_again(synthetic, tmp_path, monkeypatch):
    kept = Kept()
    first = audited(build(synthetic), kept)
    assert sum(a is not None for audits in first.values() for a in audits) > 20
    stored.save(kept, tmp_path / "kept", "key")
    done = counting(monkeypatch)
    again = audited(build(synthetic), stored.load(tmp_path / "kept", "key"))
    assert again == first and done == []  # dataclasses equal field by field: tuples came back as tuples


def test_digests_made_by_the_forked_workers_are_those_made_here(tmp_path):
    """With nothing kept to compare with (a cold build), each corpus's digests are made where it is
    audited: by the forked workers, the same as here."""
    synthesize(tmp_path / "kb", 300, 6, seed=5)
    here, there = Kept(), Kept()
    kb = build(tmp_path / "kb")
    assert len({cited.report.corpus for cited in kb.cited.values()}) > 1  # a job for each worker
    start_audit(kb, TermCache(None), kept=here, parallel=False).result()
    run = start_audit(kb, TermCache(None), kept=there, parallel=True)
    assert run.pool is not None
    run.result()
    assert here.corpora and here.reports
    assert (there.corpora, there.reports) == (here.corpora, here.reports)


def test_a_changed_report_is_audited_again_alone(synthetic, tmp_path, monkeypatch):
    kept = Kept()
    audited(build(synthetic), kept)
    stored.save(kept, tmp_path / "kept", "key")
    report = next((synthetic / "reports").rglob("final_report.md"))
    original = report.read_text(encoding="utf-8")
    try:
        report.write_text(original + "\n补充的一句。\n", encoding="utf-8")
        kb = build(synthetic)
        done = counting(monkeypatch)
        changed = audited(kb, stored.load(tmp_path / "kept", "key"))
        assert len(done) == 1 and changed == audited(kb, Kept())
    finally:
        report.write_text(original, encoding="utf-8")


@pytest.mark.parametrize("damage", ["other key", "cut", "flipped", "not json", "nested", "missing", "pipe"])
def test_kept_audits_from_elsewhere_or_damaged_are_not_used(synthetic, tmp_path, damage):
    kept = Kept()
    audited(build(synthetic), kept)
    path = tmp_path / "kept"
    stored.save(kept, path, "key")
    data = path.read_bytes()
    if damage == "cut":
        path.write_bytes(data[:-10])
    elif damage == "flipped":
        path.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif damage == "not json":
        path.write_bytes(stored.seal(stored.KIND, stored.FORMAT, b'{"key": "key", "corpora": 1}'))
    elif damage == "nested":  # whole and sealed, but 100,000 brackets deep
        path.write_bytes(stored.seal(stored.KIND, stored.FORMAT, b"[" * 100_000 + b"]" * 100_000))
    elif damage == "missing":
        path.unlink()
    elif damage == "pipe":  # would wait for a writer for ever
        path.unlink()
        os.mkfifo(path)
    assert stored.load(path, "other" if damage == "other key" else "key") == Kept()


def test_only_the_folders_built_last_keep_their_audits(tmp_path):
    for n in range(stored.KEPT_FOLDERS + 3):
        path = tmp_path / f"{n}.sealed"
        stored.save(Kept(), path, "key")
        os.utime(path, (n, n))
    kept = sorted(int(path.stem) for path in tmp_path.glob("*.sealed"))
    assert kept == list(range(3, stored.KEPT_FOLDERS + 3))


def test_the_code_key_names_the_settings():
    assert stored.code_key(SETTINGS) != stored.code_key(dataclasses.replace(SETTINGS, weak=SETTINGS.weak + 0.01))


def test_a_second_build_uses_the_first_ones_audits_and_is_the_same_site(tmp_path):
    kb = make_sample_kb(tmp_path / "kb")
    first = build_site(kb, tmp_path / "first")
    second = build_site(kb, tmp_path / "second")
    assert first.returncode == second.returncode == 0, second.log
    assert list((REPO / ".cache" / "citekb" / "audits").glob("*.sealed"))
    for page in sorted((first.site / "reports").rglob("*.html")):
        assert page.read_bytes() == (second.site / page.relative_to(first.site)).read_bytes()


def test_a_build_of_many_reports_keeps_its_audits_from_a_forked_process(tmp_path, monkeypatch):
    """From EXPORTS_ELSEWHERE_FROM reports on, the audits are kept by another process (the build's
    last stretch runs on one core), forked at the moment the exports' process is (each fork makes
    every page the build writes next a copy), and the file holds every report's audits."""
    from helpers import plugin_module
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    plugin = plugin_module()  # its modules: another test may have imported build_tools anew
    elsewhere, kept_by = plugin.EXPORTS_ELSEWHERE_FROM, plugin.audit.stored
    root = tmp_path / "kb"
    synthesize(root, 40, elsewhere + 4, seed=3)
    path = kept_by.kept_file(REPO, root)
    path.unlink(missing_ok=True)
    savers = tmp_path / "savers"
    save = kept_by.save

    def saved_by(*args):  # which process saved (a forked child inherits this)
        with savers.open("a") as out:
            out.write(f"{os.getpid()}\n")
        save(*args)

    monkeypatch.setattr(kept_by, "save", saved_by)
    forks: list[str] = []  # what each process the build forks does, in order

    class Forked(plugin.forked.Forked):
        def __init__(self, work, fork=True):
            forks.append(getattr(work, "__name__", None) or work.func.__name__)  # a method, or a partial
            super().__init__(work, fork)

    monkeypatch.setattr(plugin.forked, "Forked", Forked)
    for name, value in {"CITEKB_SOURCES": str(root), "CITEKB_PARALLEL": "1", "CITEKB_AUDIT": "true"}.items():
        monkeypatch.setenv(name, value)
    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    config.plugins.on_startup(command="build", dirty=False)  # as `mkdocs build` does
    mkdocs_build(config)
    savers_pids = [int(pid) for pid in savers.read_text().split()]
    assert len(savers_pids) == 1 and savers_pids[0] != os.getpid()  # once, in another process
    at = forks.index("save_audits")
    assert forks[at + 1] == "write_exports", forks  # the next fork, with nothing written between
    kept = kept_by.load(path, plugin._AUDIT_CODE)  # as the next build reads it
    assert set(kept.reports) == set(build(root).cited) and len(kept.reports) >= elsewhere


def test_a_build_finds_the_claims_facts_in_a_process_forked_while_it_reads_the_folder(tmp_path, monkeypatch):
    """From AUDIT_BESIDE_PAGES mentions of long_context on, the claims' facts are found in another
    process, forked once the reports are read (before the sources), while the build reads the rest,
    cleans, chunks and cites; its audits are those of a build without."""
    from helpers import plugin_module
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    plugin = plugin_module()
    root = tmp_path / "kb"
    synthesize(root, 40, 6, seed=7)
    monkeypatch.setattr(plugin, "AUDIT_BESIDE_PAGES", 10)
    finders = tmp_path / "finders"
    find = plugin.audit.loaded_claims

    def found_by(loaded):  # which process found them, from what (a forked child inherits this)
        with finders.open("a") as out:
            out.write(f"{os.getpid()} {len(loaded.reports)} {len(loaded.sources)}\n")
        return find(loaded)

    monkeypatch.setattr(plugin.audit, "loaded_claims", found_by)
    plugin.audit.claim_facts.cache_clear()  # else this process's answers hide the child's
    path = plugin.audit.stored.kept_file(REPO, root)
    path.unlink(missing_ok=True)
    for name, value in {"CITEKB_SOURCES": str(root), "CITEKB_PARALLEL": "1", "CITEKB_AUDIT": "true"}.items():
        monkeypatch.setenv(name, value)
    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    config.plugins.on_startup(command="build", dirty=False)
    mkdocs_build(config)
    [(pid, reports, sources)] = [tuple(map(int, line.split())) for line in finders.read_text().splitlines()]
    assert pid != os.getpid() and reports == 6 and sources == 0
    kept = plugin.audit.stored.load(path, plugin._AUDIT_CODE)
    assert {slug: audits for slug, (_, audits) in kept.reports.items()} == plugin.audit.audit_kb(
        build(root), TermCache(None), parallel=False
    )
