"""Fixtures shared by the tests: the shipped and imported sites, built once a session, and the
browser. Plain helpers are in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, Build, build_site, kb, need_pipeline

from benchmarks.browser import chromium, launch


@pytest.fixture
def pipeline() -> Path:
    return need_pipeline()


@pytest.fixture(scope="session")
def shipped(tmp_path_factory) -> Build:
    """The site as shipped (sources/ of this repository), built strictly once per test session."""
    built = build_site(REPO / "sources", tmp_path_factory.mktemp("shipped") / "site")
    assert built.returncode == 0, built.log
    return built


@pytest.fixture(scope="session")
def imported(tmp_path_factory) -> Build:
    """../shared/pipeline imported with `kb import` and built strictly (once per test session)."""
    pipeline = need_pipeline()
    root = tmp_path_factory.mktemp("imported")
    kb("import", str(pipeline), "--sources", str(root / "kb"))
    built = build_site(root / "kb", root / "site")
    assert built.returncode == 0, built.log
    return built


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright; skipped (with the reason) where it is missing."""
    if not chromium():
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser):
    """A desktop-sized Playwright page."""
    return browser.new_page(viewport={"width": 1280, "height": 900})
