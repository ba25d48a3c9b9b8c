"""The search bench's Pagefind side: the site our index is built for, indexed by Pagefind, asked the
same queries through Pagefind's own JavaScript API (pagefind_search.js) in chromium, in the same run.

Pagefind (`pagefind[extended]` on PyPI, a test extra: the extended binary segments Chinese at
indexing time; in the browser, Pagefind 1.5 segments a Chinese query with the browser's
Intl.Segmenter, so the bench page carries the site's `lang`) indexes pages, and splits a page's
matches into sub-results at headings that have an id. What it is given, so that it indexes what
our index does and a hit is judged by chunk, as for the other engines:

- pages: those our index covers (`sources/*/`: source and task-file pages; `reports/*/`), their
  `<article>` only (no navigation, header or footer), without what our index leaves out too
  (`EXCLUDED`: hidden boilerplate, citation links and their previews, chunk navigation and meta
  lines, "cited by" lists, the validation diff, meta tables and notes, headerlinks).
- chunk headings: a chunk's id is on its `<section>`, and its `<h2>` has none, so Pagefind would
  not split a source page by chunk; the HTML it is given has each chunk's id moved onto the
  chunk's `<h2>` (what adopting Pagefind would change in render.py; the built files are not
  touched). Task-file parts and report sections have their ids on their headings already.

The script ranks a query's chunks as Pagefind's UI would show them (at most three a page, those
with the most matched words); its first five pages are also judged by page (`page_quality`), the
credit Material's worker is given.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import tempfile
import time
from pathlib import Path

from benchmarks.browser import BenchFailed

SCRIPT = "pagefind_search.js"
PAGES = 5  # results whose data() a query loads: the first screen of Pagefind's UI
SHOWN = 3  # sub-results Pagefind's UI shows under a page, those with the most matched words
INDEXED = ("sources/*/index.html", "reports/*/index.html")
EXCLUDED = [
    ".citekb-boilerplate",
    ".citekb-cite",
    ".citekb-chunk-nav",
    ".citekb-chunk-meta",
    ".citekb-backlinks",
    ".citekb-diff",
    ".citekb-meta",
    ".citekb-note",
    ".headerlink",
]
BUNDLE = "pagefind"  # the folder of the site Pagefind's files are written to
UI_FILES = ("pagefind-ui", "pagefind-modular-ui", "pagefind-component-ui", "pagefind-highlight")
_CHUNK = re.compile(r'(<section class="citekb-chunk") id="(chunk-\d+)"([^>]*>\s*<h2 class="citekb-chunk-heading")')


def chunk_headings(html: str) -> str:
    """The page with each chunk's id on its heading instead of its section (one id, same anchor)."""
    return _CHUNK.sub(r'\1\3 id="\2"', html)


def index_site(site: Path) -> dict:
    """Pagefind's index of the site's source and report pages, written to `site/pagefind/`. The pages
    Pagefind reads are written to a temporary folder first, with the chunk ids on their headings:
    Pagefind indexes a folder about 6× faster than the same pages given one by one."""
    if not importlib.util.find_spec("pagefind_bin_extended"):  # without it: no Chinese segmentation
        raise BenchFailed("pagefind[extended] is not installed (pip install -e '.[test]')")
    from pagefind.index import IndexConfig, PagefindIndex

    pages = sorted(path for pattern in INDEXED for path in site.glob(pattern))

    async def write(folder: Path) -> None:
        config = IndexConfig(root_selector="article", exclude_selectors=EXCLUDED, output_path=str(site / BUNDLE))
        async with PagefindIndex(config=config) as index:
            await index.add_directory(str(folder))

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="citekb-pagefind-") as folder:
        for path in pages:
            copy = Path(folder) / path.relative_to(site)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(chunk_headings(path.read_text(encoding="utf-8")), encoding="utf-8")
        asyncio.run(write(Path(folder)))
    return {"pages": len(pages), "index_seconds": round(time.monotonic() - started, 1)}


def bundle_files(site: Path) -> list[Path]:
    """The files Pagefind's search loads from (its UI's files left out), as the bench sizes indexes."""
    return sorted(path for path in (site / BUNDLE).rglob("*") if path.is_file() and not path.name.startswith(UI_FILES))


def arguments(queries: list[str]) -> list:
    """pagefind_search.js's arguments: where the bundle is served, the queries, the results loaded
    and the sub-results shown of each."""
    return [f"/{BUNDLE}/", queries, PAGES, SHOWN]
