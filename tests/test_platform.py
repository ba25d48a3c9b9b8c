"""The way off MkDocs 1.x: ProperDocs (its maintained continuation) builds the same site from the
same mkdocs.yml, hooks and theme. Known the day MkDocs 1.6 stops being installable, not after."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, kb_check

PROPERDOCS = Path(sys.executable).parent / "properdocs"
GENERATOR = re.compile(rb'<meta name="generator" content="[^"]*">')


def build_with(tool: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(tool), "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_properdocs_builds_the_same_site(shipped, tmp_path):
    if not PROPERDOCS.exists():
        pytest.skip("properdocs is not installed (pip install -e '.[test]')")
    done = build_with(PROPERDOCS, tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    ours = {p.relative_to(shipped.site) for p in shipped.site.rglob("*") if p.is_file()}
    theirs = {p.relative_to(tmp_path / "site") for p in (tmp_path / "site").rglob("*") if p.is_file()}
    assert ours == theirs
    for relative in sorted(p for p in ours if p.suffix == ".html"):
        a, b = (GENERATOR.sub(b"", (root / relative).read_bytes()) for root in (shipped.site, tmp_path / "site"))
        assert a == b, relative
    assert kb_check(tmp_path / "site")["broken"] == []
    shutil.rmtree(tmp_path / "site")
