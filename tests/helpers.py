"""Plain helpers for the tests (imported as `from helpers import …`; the fixtures are in conftest.py):
paths, the real pipeline material (skipped where absent), site builds, the kb command, reading
built pages, and serving a site (the benchmarks' own helper)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin

import pytest
import yaml
from bs4 import BeautifulSoup

from benchmarks.browser import SEARCH_WORKER, script, serve, worker_url

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PIPELINE = SHARED / "pipeline"
SEEDS = SHARED / "seeds"


def need_pipeline() -> Path:
    if not (PIPELINE / "reference_chunks").is_dir():
        pytest.skip("../shared/pipeline is not beside this checkout (CI has it; copies are never committed)")
    return PIPELINE


def corpus_files() -> list[Path]:
    return sorted(PIPELINE.glob("datasets/*/long_context_sampled_*.json")) if PIPELINE.is_dir() else []


@dataclass
class Build:
    returncode: int
    log: str
    site: Path

    def page(self, path: str) -> str:
        return (self.site / path / "index.html").read_text(encoding="utf-8")

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(("WARNING", "ERROR"))]


def build_site(
    sources: Path,
    site: Path,
    strict: bool = True,
    dirty: bool = False,
    quiet: bool = False,
    audit: bool = True,
    parallel: bool | None = None,
    config: Path = REPO / "mkdocs.yml",
) -> Build:
    """`mkdocs build` of the project's mkdocs.yml (or `config`) over another knowledge-base folder
    (`quiet`: with -q; `audit`: the citation audit, on as by default; `parallel`, when given, sets
    CITEKB_PARALLEL)."""
    env = {
        **os.environ,
        "CITEKB_SOURCES": str(sources),
        "NO_MKDOCS_2_WARNING": "1",
        "NO_COLOR": "1",
        "CITEKB_AUDIT": "true" if audit else "false",
    }
    if parallel is not None:
        env["CITEKB_PARALLEL"] = "1" if parallel else "0"
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(site)]
    command += ["--strict"] if strict else []
    command += ["--dirty"] if dirty else []
    command += ["-q"] if quiet else []
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return Build(done.returncode, done.stdout + done.stderr, site)


def build_with_hook(sources: Path, folder: Path, hook: str, site_url: str | None = None, **options) -> Build:
    """`build_site` with one more hook after ours (`hook`, its Python source), from a copy of
    mkdocs.yml in `folder` (with `site_url`, when given); the site in folder/site. `options` as
    `build_site`'s."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    if site_url is not None:
        config["site_url"] = site_url
    (folder / "extra_hook.py").write_text(hook, encoding="utf-8")
    config["docs_dir"] = str(REPO / "docs")
    config["theme"]["custom_dir"] = str(REPO / "overrides")
    config["hooks"] = [str(REPO / "hooks" / "citekb.py"), str(folder / "extra_hook.py")]
    (folder / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return build_site(sources, folder / "site", config=folder / "mkdocs.yml", **options)


def section_text(section) -> str:
    """What a reader can reach in a chunk section: its text, collapsed boilerplate included."""
    text = section.select_one(".citekb-text")
    for summary in text.select("summary"):
        summary.decompose()
    return text.get_text()


def landed(site: Path, page_url: str, href: str):
    """The element a link on the page at `page_url` (e.g. "/reports/x/") lands on: the element with
    the fragment's id, or the page's <article> when there is no fragment."""
    path, _, fragment = urljoin(page_url, href).partition("#")
    path = path.partition("?")[0]  # a citation's ?span= is read by the page's script, not the server
    html = (site / unquote(path).strip("/") / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    return soup.find(id=fragment) if fragment else soup.select_one("article")


def kb(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "build_tools", *args], cwd=REPO, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"kb {' '.join(args)} failed: {done.stderr}")
    return done


@contextmanager
def served_report(root: Path, slug: str, text: str, meta: str = "task: t\ncorpus: pages\n") -> Iterator[str]:
    """Report `slug` (its final text, its report.yaml) written into the knowledge base `root`, the
    site built beside it and served: the report page's URL."""
    report = root / "reports" / slug
    report.mkdir(parents=True)
    (report / "report.yaml").write_text(meta, encoding="utf-8")
    (report / "final_report.md").write_text(text, encoding="utf-8")
    built = build_site(root, root.parent / "site")
    assert built.returncode == 0, built.log
    with serve(built.site) as url:
        yield f"{url}/reports/{slug}/"


def write_page(folder: Path, name: str, title: str, body: str) -> Path:
    """A hand-added source in the documented format."""
    path = folder / "pages" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title!r}\nkind: web\n---\n{body}", encoding="utf-8")
    return path


def search_worker(page, site: Path, queries: list[str], limit: int) -> list[list[tuple[str, float]]]:
    """The site's search worker asked each query in a Playwright page, by the search bench's own
    script: the location and score of each of its first `limit` results."""
    with serve(site) as url:
        page.goto(url + "/")
        found = page.evaluate(script(SEARCH_WORKER), [worker_url(site), None, queries, 30_000, limit])
    return [list(zip(locations, scores)) for locations, scores in zip(found["results"], found["scores"])]


LINKCHECKER = Path(sys.executable).parent / "linkchecker"
# Run as root, linkchecker switches to `nobody` before it loads its plugins; from a checkout under a
# 0700 folder (mktemp -d) it then silently runs without AnchorCheck. It only reads our loopback
# server here, so keep the caller's user; everything else is linkchecker's own command line.
RUN_LINKCHECKER = (
    "import sys, linkcheck.command.linkchecker as cli; "
    "cli.drop_privileges = lambda: None; sys.argv[0] = 'linkchecker'; sys.exit(cli.linkchecker())"
)


def kb_check(site: Path) -> dict:
    done = kb("check", str(site), "--json", check=False)
    report = json.loads(done.stdout)
    assert done.returncode == (1 if report["broken"] else 0), done.stderr
    return report


def linkchecker(site: Path) -> list[dict]:
    """linkchecker over the site served on loopback: every error and warning (anchors are warnings)."""
    if not LINKCHECKER.exists():
        pytest.skip("linkchecker is not installed (pip install -e '.[test]')")
    with serve(site) as url:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                RUN_LINKCHECKER,
                "-f",
                str(REPO / "tests" / "linkcheckerrc"),
                "--no-status",
                "-o",
                "csv",
                url + "/",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    rows = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    problems = [
        row
        for row in csv.DictReader(io.StringIO("\n".join(rows)), delimiter=";")
        if row["valid"] != "True" or row["warningstring"]
    ]
    assert done.returncode == (1 if problems else 0), done.stderr[-2000:]
    return problems


def plugin_module():
    """hooks/citekb_plugin.py, imported as MkDocs imports it (its folder on sys.path)."""
    if str(REPO / "hooks") not in sys.path:
        sys.path.append(str(REPO / "hooks"))
    import citekb_plugin

    return citekb_plugin


def post_build_errors(site: Path, caplog: pytest.LogCaptureFixture, serving: bool) -> list[str]:
    """The plugin's post-build step (exports, search index) run in-process over the knowledge base
    CITEKB_SOURCES names: the one error a build stops with (it must stop), or, serving, the errors
    the background writer logs while the site goes on."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import Files

    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(site))
    config.plugins.on_startup(command="serve" if serving else "build", dirty=False)
    config = config.plugins.on_config(config)
    plugin = next(hook.plugin for hook in config.plugins.values() if hasattr(hook, "plugin"))
    config.plugins.on_files(Files([]), config=config)
    if not serving:
        with pytest.raises(PluginError) as raised:
            plugin.on_post_build(config=config)
        return [str(raised.value)]
    with caplog.at_level(logging.ERROR):
        plugin.on_post_build(config=config)
        plugin.indexing.join()
    plugin.on_shutdown()
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def search_box(page, url: str, query: str):
    """Material's search box on the site's home page with `query` typed, once the search worker has
    the index (docs.json has arrived): the box. The End key: Material queries on keyup, as when an
    input method commits the text."""
    with page.expect_response(lambda response: "search/citekb/docs.json" in response.url):
        page.goto(url + "/")
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")
    return box


def unisolated(text: str) -> str:
    """A reason as read, without the bidi isolates around the names in it (`messages.isolate`)."""
    return text.replace("\u2068", "").replace("\u2069", "")
