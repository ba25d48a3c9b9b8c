"""Serving a built site and driving chromium: the one helper the benches, the tests and
scripts/screenshots.py share.

Two ways to drive chromium. Playwright (`launch`) for tests and screenshots, which click and read
pages. `run_in_chromium` for measurements: a page served beside the site runs a script and posts
what it measured back, with no automation attached to the browser (Playwright's DevTools
instrumentation of every request slows each fetch a search worker makes, which users' browsers
do not). The scripts are .js files of this package (`script`), so a test and a bench run the
same code.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import html
import http.server
import json
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--js-flags=--max-old-space-size=8192",
]  # room for Material's worker on large sites
SEARCH_WORKER = "search_worker.js"  # runs a Material-protocol search worker over queries (ours or Material's)
SIGN_OF_LIFE_S = 20  # the bench page posts every second: silence this long means the tab crashed or hung
BENCH_PATH = "/citekb-bench/"


class BenchFailed(Exception):
    """Nothing could be measured: no chromium, no worker named by the site, or no result from the
    bench page (the tab crashed, e.g. out of memory, or hung)."""


def chromium() -> str | None:
    """Debian's chromium (the browser the tests, benches and screenshots use), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Any) -> Any:
    """Chromium under Playwright (a `sync_playwright()` or async one), with the bench's arguments."""
    return playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)


def script(name: str) -> str:
    """A script of this package: one JavaScript function, for `run_in_chromium` or Playwright's evaluate."""
    return (Path(__file__).parent / name).read_text(encoding="utf-8")


def worker_url(site: Path) -> str:
    """The search worker a built page loads: Material's config on the home page names it."""
    config = re.search(
        r'<script id="__config" type="application/json">(.*?)</script>',
        (site / "index.html").read_text(encoding="utf-8"),
        re.DOTALL,
    )
    if not config:
        raise BenchFailed(f"{site / 'index.html'}: no Material __config script: not a site built by mkdocs-material")
    return "/" + json.loads(config.group(1))["search"]


def site_language(site: Path) -> str:
    """The `lang` of the site's home page: the bench page carries it, as the site's own pages do
    (a search engine may segment a query by the page's language, as Pagefind does)."""
    found = re.search(r'<html[^>]*\slang="([^"]*)"', (site / "index.html").read_text(encoding="utf-8"))
    return found.group(1) if found else ""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("LinkChecker", "allowed")  # lets linkchecker exceed 10 requests per second
        super().end_headers()


@contextlib.contextmanager
def serve(site: Path, handler: type[QuietHandler] = QuietHandler) -> Iterator[str]:
    """A built site on a loopback port, like the published one: Python's threaded `http.server`,
    one connection a request."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (for a server started as a separate process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def transfer_sizes(served: list[Path]) -> tuple[int, int]:
    """(raw, gzip) bytes of the files a server sent, each time it sent one: gzip as a compressing
    server would send each (a file compressed already stays about its size)."""
    raw = packed = 0
    for path, times in Counter(served).items():
        data = path.read_bytes()
        raw += times * len(data)
        packed += times * len(gzip.compress(data, mtime=0))
    return raw, packed


def run_in_chromium(site: Path, function: str, arguments: list) -> tuple[dict, list[Path]]:
    """`function(arguments)` (JavaScript source, returning a promise of JSON) on a page served beside
    the site, in chromium with no automation attached. The page posts the result back, and a sign of
    life every second, so a crashed tab is seen. Returns the result and the site's files the server
    sent while the page ran, one entry a response: what the page fetched (`transfer_sizes`)."""
    executable = chromium()
    if not executable:
        raise BenchFailed("chromium not found: `make test` installs Debian's chromium (or apt-get install chromium)")
    data = json.dumps(arguments, ensure_ascii=False).replace("</", "<\\/")  # cannot end the script element
    page = f"""<!doctype html><html lang="{html.escape(site_language(site))}"><meta charset="utf-8"><title>citekb bench</title><script>
const post = (what, body) => fetch(`{BENCH_PATH}${{what}}`, {{method: "POST", body: JSON.stringify(body)}});
setInterval(() => post("alive", null), 1000);
({function})({data}).then(measured => post("result", measured), error => post("result", {{error: String(error)}}));
</script>""".encode()
    replies: queue.Queue = queue.Queue()
    served: list[Path] = []

    class BenchPage(QuietHandler):
        def do_GET(self) -> None:
            if self.path != BENCH_PATH:
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self) -> None:
            replies.put((self.path.rsplit("/", 1)[-1], self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(204)
            self.end_headers()

        def copyfile(self, source: IO[bytes], outputfile: IO[bytes]) -> None:
            served.append(Path(source.name))
            super().copyfile(source, outputfile)

    profile = tempfile.mkdtemp(prefix="citekb-bench-chromium-")
    with serve(site, BenchPage) as url:
        browser = subprocess.Popen(
            [
                executable,
                "--headless",
                f"--user-data-dir={profile}",
                *CHROMIUM_ARGS,
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                f"{url}{BENCH_PATH}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    kind, body = replies.get(timeout=SIGN_OF_LIFE_S)
                except queue.Empty:
                    raise BenchFailed(
                        f"no sign of life from the bench page for {SIGN_OF_LIFE_S} s: "
                        "the tab crashed (e.g. out of memory) or hung"
                    ) from None
                if kind == "result":
                    measured = json.loads(body)
                    if "error" in measured:
                        raise BenchFailed(f"the bench page failed: {measured['error']}")
                    return measured, served
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
            shutil.rmtree(profile, ignore_errors=True)
