"""The site folder a build empties (MkDocs' clean_directory) is moved out of the way and deleted
beside the build (hooks/citekb_plugin.py clear_in_background): what is left is what MkDocs leaves."""

from __future__ import annotations

import sys

from fixtures import make_sample_kb
from helpers import REPO, build_site

sys.path.insert(0, str(REPO / "hooks"))
from citekb_plugin import clear_in_background  # noqa: E402


def test_everything_but_hidden_entries_is_deleted_and_nothing_left_beside(tmp_path):
    site = tmp_path / "site"
    (site / "sources" / "a").mkdir(parents=True)
    (site / "sources" / "a" / "index.html").write_text("old")
    (site / "index.html").write_text("old")
    (site / ".git").mkdir()
    (site / ".nojekyll").write_text("")
    clear_in_background(site).join()
    assert sorted(path.name for path in site.iterdir()) == [".git", ".nojekyll"]
    assert [path.name for path in tmp_path.iterdir()] == ["site"]


def test_an_empty_or_missing_site_folder_needs_nothing(tmp_path):
    assert clear_in_background(tmp_path / "missing") is None
    (tmp_path / "site").mkdir()
    assert clear_in_background(tmp_path / "site") is None


def test_a_rebuild_leaves_no_stale_page_and_no_old_site(tmp_path):
    kb = make_sample_kb(tmp_path / "kb")
    site = tmp_path / "out" / "site"
    assert build_site(kb, site).returncode == 0
    (site / "stale").mkdir()
    (site / "stale" / "index.html").write_text("a page no longer in the knowledge base")
    (site / ".keep").write_text("")
    again = build_site(kb, site)
    assert again.returncode == 0, again.log
    assert not (site / "stale").exists() and (site / ".keep").exists() and (site / "index.html").exists()
    assert [path.name for path in site.parent.iterdir()] == ["site"]
