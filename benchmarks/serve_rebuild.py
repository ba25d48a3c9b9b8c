"""`mkdocs serve --dirty` rebuilds timed in process (issue 29): the first build, then a one-source
edit at a time (as `kb bench` edits: the last corpus file's first document with a title of its
own), each rebuild built as `mkdocs serve` builds it (the config read anew, the plugin kept), with
the time at which each generated page was made and the whole rebuild took. No file watching and no
HTTP: what the rebuild itself costs, without the watcher's polling period (0-0.5 s) before it.

    .venv/bin/python -m benchmarks.serve_rebuild KB [--edits 3] [--cache FILE]

KB is edited (use a copy). Prints one JSON object per rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from benchmarks.scale import REPO, edit_source, edited_source

SERVE_URL = "http://127.0.0.1:8000/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="term cache file (default: a new temporary one)")
    args = parser.parse_args()
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    os.environ["CITEKB_SOURCES"] = str(args.kb.resolve())
    os.environ["CITEKB_CACHE"] = str(args.cache or Path(tempfile.mkdtemp()) / "terms.marshal")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    site = tempfile.mkdtemp(prefix="mkdocs_")

    def config():
        loaded = load_config(str(REPO / "mkdocs.yml"), site_dir=site)
        loaded.site_url = SERVE_URL
        return loaded

    first = config()
    first.plugins.on_startup(command="serve", dirty=True)
    plugin = next(hook.plugin for hook in first.plugins.values() if hasattr(hook, "plugin"))
    started = time.monotonic()
    build(first, serve_url=SERVE_URL, dirty=True)
    built = time.monotonic() - started
    plugin.indexing.join()
    print(json.dumps({"first_build_s": round(built, 2), "index_s": round(time.monotonic() - started, 2)}))
    title, slug = edited_source(args.kb, last=True)
    making = plugin.on_page_context
    for edit in range(args.edits):
        edit_source(args.kb, title, f"编辑标记{random.randrange(10**9)}")
        made: list[tuple[str, float]] = []
        started = time.monotonic()
        rebuilt = config()

        def timed(context, *, page, config, nav, made=made, started=started):
            context = making(context, page=page, config=config, nav=nav)
            made.append((page.file.src_uri, round(time.monotonic() - started, 3)))
            return context

        events = rebuilt.plugins.events["page_context"]
        events[events.index(making)] = timed
        build(rebuilt, serve_url=SERVE_URL, dirty=True)
        took = time.monotonic() - started
        plugin.indexing.join()
        edited = next((at for uri, at in made if uri == f"sources/{slug}.md"), None)
        print(json.dumps({"edit": edit + 1, "rebuild_s": round(took, 3), "edited_page_s": edited, "pages": made}))
    plugin.on_shutdown()


if __name__ == "__main__":
    main()
