"""sources/chunks.lock: a re-scrape that moves text under a cited chunk number is reported by source
and chunk; a lock that cannot be read is a problem naming it (and `kb lock` rewrites it); the lock and
the files written beside it are replaced atomically."""

from __future__ import annotations

import os

import pytest
from fixtures import make_sample_kb
from helpers import build_site, kb, write_page

from build_tools import lock
from build_tools.knowledge_base import build
from build_tools.lock import LOCK_NAME, read_lock


def test_lock_reports_changed_chunk_by_source_and_number(tmp_path):
    body = "第一段。\n\n" + "甲" * 1400 + "\n\n" + "乙" * 1400 + "\n\n结尾。"
    page = write_page(tmp_path, "rescraped.txt", "会被重新抓取的页面", body)
    kb("lock", "--sources", str(tmp_path))
    assert build(tmp_path).drift == []
    page.write_text(page.read_text(encoding="utf-8").replace("乙" * 1400, "丙" * 1400), encoding="utf-8")
    drift = build(tmp_path).drift
    assert drift and {d.slug for d in drift} == {"rescraped"}
    changed = sorted(d.chunk for d in drift)
    assert changed[0] >= 1  # the chunks before the edit keep their text
    done = kb("lock", "--sources", str(tmp_path), "--check", check=False)
    assert done.returncode == 1 and f"'rescraped' chunk {changed[0]} changed" in done.stderr
    strict = build_site(tmp_path, tmp_path / "site")
    assert strict.returncode != 0 and f"'rescraped' chunk {changed[0]} changed" in strict.log
    kb("lock", "--sources", str(tmp_path))
    assert build(tmp_path).drift == []


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "corpora" / "001" / "long_context_sampled_60.json"
    target.parent.mkdir(parents=True)
    target.write_text("old", encoding="utf-8")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(lock.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        lock.write_atomic(target, b"new, longer content that never fully lands")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in target.parent.iterdir()] == [target.name]


CORRUPT_LOCKS = {
    "truncated": b'{"version": 1, "sources": {"a": {"chunks": ["ab',
    "binary": b"\x89PNG\r\n\x1a\n\x00\xff",
    "a list": b"[1, 2]",
    "wrong shapes": b'{"version": 1, "sources": {"a": {"chunks": [1, 2]}}}',
    "sources a list": b'{"version": 1, "sources": []}',
    "unknown version": b'{"version": 2, "sources": {}}',
    "version true": b'{"version": true, "sources": {}}',  # true == 1 to Python
    "nested 100,000 deep": b'{"version": 1, "sources": ' + b"[" * 100_000,
    "not a chunk hash": b'{"version": 1, "sources": {"a": {"chunks": ["\\ud800"]}}}',
    "a 5,000-digit number": b'{"version": ' + b"9" * 5000 + b"}",  # ValueError, not JSONDecodeError
}


@pytest.mark.parametrize("kind", CORRUPT_LOCKS)
def test_a_corrupt_lock_is_a_problem_naming_it(tmp_path, kind):
    make_sample_kb(tmp_path)
    (tmp_path / LOCK_NAME).write_bytes(CORRUPT_LOCKS[kind])
    locked, problem = read_lock(tmp_path / LOCK_NAME)
    assert locked == {} and problem.path == LOCK_NAME
    assert [p.path for p in build(tmp_path).problems] == [LOCK_NAME]


def test_kb_lock_check_fails_on_a_corrupt_lock_and_kb_lock_rewrites_it(tmp_path):
    make_sample_kb(tmp_path)
    (tmp_path / LOCK_NAME).write_bytes(CORRUPT_LOCKS["unknown version"])
    checked = kb("lock", "--check", "--sources", str(tmp_path), check=False)
    assert checked.returncode == 1 and "kb: chunks.lock: unknown version 2" in checked.stderr
    assert "Traceback" not in checked.stderr
    rewritten = kb("lock", "--sources", str(tmp_path))
    assert "chunks.lock cannot be read; rewriting it" in rewritten.stderr
    assert read_lock(tmp_path / LOCK_NAME)[1] is None
    assert kb("lock", "--check", "--sources", str(tmp_path), check=False).returncode == 0


def test_strict_build_fails_on_a_corrupt_lock(tmp_path):
    make_sample_kb(tmp_path / "kb")
    kb("lock", "--sources", str(tmp_path / "kb"))
    (tmp_path / "kb" / LOCK_NAME).write_bytes(CORRUPT_LOCKS["truncated"])
    built = build_site(tmp_path / "kb", tmp_path / "site")
    assert built.returncode != 0 and "chunks.lock: invalid JSON" in built.log and "Traceback" not in built.log


def test_kb_lock_refuses_a_missing_folder(tmp_path):
    done = kb("lock", "--sources", str(tmp_path / "typo" / "kb"), check=False)
    assert done.returncode == 1 and "no such folder" in done.stderr and not (tmp_path / "typo").exists()


def test_a_lock_with_a_byte_order_mark_is_read(tmp_path):
    make_sample_kb(tmp_path)
    kb("lock", "--sources", str(tmp_path))
    data = (tmp_path / LOCK_NAME).read_bytes()
    (tmp_path / LOCK_NAME).write_bytes(b"\xef\xbb\xbf" + data)  # as an editor may save it
    assert read_lock(tmp_path / LOCK_NAME) == (lock.parse_lock(data), None)
    assert build(tmp_path).problems == []


@pytest.mark.parametrize("kind", ["a pipe", "a folder", "too large"])
def test_a_lock_that_is_not_a_readable_file_is_a_problem_not_a_hang(tmp_path, kind, monkeypatch):
    make_sample_kb(tmp_path)
    path = tmp_path / LOCK_NAME
    if kind == "a pipe":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "a folder":
        path.mkdir()
    else:
        monkeypatch.setattr(lock, "MAX_LOCK", 10)
        path.write_bytes(b'{"version": 1, "sources": {}}')
    assert [p.path for p in build(tmp_path).problems] == [LOCK_NAME]
    if kind != "too large":
        rewritten = kb("lock", "--sources", str(tmp_path), check=False)
        assert "Traceback" not in rewritten.stderr
        assert rewritten.returncode == (1 if kind == "a folder" else 0)
