"""The published site's Content-Security-Policy (issue 26, defence in depth): every page carries one;
with it the shipped site still works in chromium, and markup that slipped past escaping (before or
after the build) runs nothing and loads nothing from elsewhere."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from doubling import MAX_RATIO, paired_ratio
from helpers import REPO, Build, build_site, build_with_hook, serve, write_page
from hypothesis import given, settings
from hypothesis import strategies as st
from test_serve import wait_for

from benchmarks.browser import free_port
from build_tools import csp

CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')
INJECTED = (
    '<img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>'
    '<img src="https://example.org/t.png"><iframe src="https://example.org/f"></iframe>'
    '<video src="https://example.org/v.mp4" autoplay muted></video>'
)
# What the browser tests listen for: every CSP violation on the page and every console error.
WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""
LOADED = '() => [...document.images].every(i => i.complete || i.loading === "lazy")'  # error handlers have run


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def page_policy(html: str) -> dict[str, list[str]]:
    found = CSP_META.findall(html)
    assert len(found) == 1
    return directives(found[0])


def executed_inline_scripts(html: str) -> list[str]:
    """Read by an HTML parser (not by build_tools.csp): inline scripts without a data type."""
    soup = BeautifulSoup(html, "html.parser")
    return [s.string or "" for s in soup.find_all("script") if not s.get("src") and s.get("type") is None]


# Pure functions


THEME = "<script>theme()</script>"
PAGE = f"""<!doctype html>
<html lang="zh"><head>
<meta charset="utf-8">
<title>t</title>{THEME}
<script id="__config" type="application/json">{{"a": 1}}</script>
</head><body><article><script>injected()</script><p>text</p></article>
<script src="x.js"></script><SCRIPT type="text/javascript">theme()</SCRIPT></body></html>"""


def test_policy_is_first_in_head_and_hashes_only_the_themes_scripts():
    secured = csp.with_policy(PAGE, csp.theme_scripts([THEME]))
    head = secured.html.split("<head>", 1)[1]
    assert head.startswith('\n<meta charset="utf-8"><meta http-equiv="Content-Security-Policy"')
    assert head.index(csp.REFERRER) < head.index("<title>")
    rules = page_policy(secured.html)
    assert rules["script-src"] == ["'self'", sha256_source("theme()")]  # once, though written twice
    assert secured.foreign == 1  # injected(): blocked, counted; the JSON and src scripts are not inline code
    for name, values in {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'none'"],
        "frame-src": ["'none'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "font-src": ["'self'"],
        "media-src": ["'self'"],
    }.items():
        assert rules[name] == values, name
    assert (
        secured.html.replace(f'<meta http-equiv="Content-Security-Policy" content="{secured.policy}">', "").replace(
            csp.REFERRER, ""
        )
        == PAGE
    )


def test_hashes_are_what_a_browser_computes():
    # The empty script's hash, as CSP's own documents give it; a browser hashes text with LF line ends.
    assert csp.script_hash("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    assert csp.script_hash("a()\r\nb()\rc()") == sha256_source("a()\nb()\nc()")


def test_scripts_are_found_as_a_browser_reads_them():
    html = (
        '<script data-x="a>b">one()</script >'
        "<script type=module>two()</script/>"
        "<script type='application/ld+json'>{}</script>"
        '<script src="x.js">ignored()</script>'
        '<script type="">three()</script>'
        "<scripts>not()</scripts>"
        "<script>four()"
    )
    assert csp.inline_scripts(html) == ["one()", "two()", "three()", "four()"]


def test_aligned_table_styles_and_no_other_are_allowed():
    page = '<head></head><td style="text-align:center">a</td><td style="color:red">b</td>'
    rules = page_policy(csp.with_policy(page, frozenset()).html)
    assert rules["style-src"] == ["'self'", "'unsafe-hashes'", sha256_source("text-align:center")]


def test_a_page_without_head_is_left_as_it_is():
    secured = csp.with_policy("<p>no head</p><script>x()</script>", frozenset())
    assert secured.html == "<p>no head</p><script>x()</script>" and secured.policy is None and secured.foreign == 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' scriptSCRIPThead{}()\n\r\0x")) | st.characters(), max_size=300))
def test_arbitrary_pages_get_only_the_theme_hashes_and_lose_nothing(text):
    theme = csp.theme_scripts([THEME])
    secured = csp.with_policy(f"<head>{text}", theme)
    assert secured.policy is not None
    assert directives(secured.policy)["script-src"] in (["'self'"], ["'self'", sha256_source("theme()")])
    meta = f'<meta http-equiv="Content-Security-Policy" content="{secured.policy}">{csp.REFERRER}'
    assert secured.html.count(meta) == 1 and secured.html.replace(meta, "") == f"<head>{text}"


def timed(function, argument, repeat: int) -> float:
    """CPU seconds: on a shared machine, waiting for a core is not the function's time."""
    start = time.process_time()
    for _ in range(repeat):
        function(argument)
    return time.process_time() - start


@pytest.mark.parametrize(
    "unit",
    [
        "<script",  # no tag ever ends
        "<script>abcde()</script>",  # scripts as long as the theme's: each one compared
        '<script a="',  # an unterminated quoted value
        "<script>",  # no script ever closes
        "<script a=b c=d e=f g=h ",  # many attributes before the tag's end
        "<head <script x='>' ",
        'style="text-align:',
    ],
)
def test_reading_a_page_is_linear(unit):
    """Reading a page (with_policy then copies it once, with the policy in). Pages of tens of
    kilobytes, each read `repeat` times so that a run takes 50 ms: what grows is reading, not the
    page faults of huge strings."""
    theme = csp.theme_scripts([THEME])
    read = lambda page: csp.read(page, theme)  # noqa: E731
    small, large = "<head>" + unit * 5_000, "<head>" + unit * 10_000
    repeat = 1
    while timed(read, small, repeat) < 0.05:
        repeat *= 2
    ratio = paired_ratio(lambda page: [read(page) for _ in range(repeat)], small, large)  # in turn, longer when busy
    assert ratio <= MAX_RATIO, (unit, ratio)


# The built site


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_of_the_shipped_site_carries_the_policy(shipped):
    pages = html_pages(shipped.site)
    assert len(pages) >= 12 and (shipped.site / "404.html") in pages
    for path in pages:
        html = path.read_text(encoding="utf-8")
        rules = page_policy(html)
        expected = sorted({sha256_source(text) for text in executed_inline_scripts(html)})
        assert sorted(rules["script-src"][1:]) == expected and len(expected) >= 2, path
        head = BeautifulSoup(html, "html.parser").head
        first, second = head.find_all(True)[:2]
        assert first.name == "meta" and first.get("charset") == "utf-8", path
        assert second.get("http-equiv") == "Content-Security-Policy", path
        assert html.encode("utf-8").index(b"<meta charset") < 1024  # still where a browser looks for it
        assert '<meta name="referrer" content="no-referrer">' in html
    assert "Content-Security-Policy" not in (shipped.site / "sitemap.xml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def watched(browser):
    """A fresh browser context whose pages record CSP violations and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def quiet(page, where: str) -> None:
    """No CSP violation and no console error on the page so far."""
    assert page.evaluate("window.__violations") == [], where
    assert page.errors == [], where


def visit(page, url: str) -> None:
    page.errors.clear()
    page.goto(url)
    page.wait_for_load_state("load")


@pytest.mark.browser
def test_shipped_site_works_under_its_policy(shipped, watched):
    page = watched
    site = shipped.site
    file_page = next(p.parent for p in site.glob("sources/*/index.html") if "citekb-image" in p.read_text("utf-8"))
    paths = ["", "reports/", "reports/example-open-vs-closed/", "sources/", "sources/open-vs-closed-llm-landscape/"]
    paths += [f"{file_page.relative_to(site)}/", "health/", "stats/", "404.html"]
    with serve(site) as url:
        for path in paths:
            visit(page, f"{url}/{path}")
            quiet(page, path)
            assert page.evaluate("typeof __md_get") == "function", path  # the theme's head script ran
        visit(page, f"{url}/{file_page.relative_to(site)}/")
        image = page.locator("img.citekb-image")
        assert image.evaluate("i => i.complete && i.naturalWidth > 0")

        # Search: the worker loads the index and answers; Enter in the box submits nothing.
        visit(page, url + "/")
        with page.expect_response(lambda response: "search/citekb/docs.json" in response.url):
            page.reload()
        box = page.locator("input.md-search__input")
        box.click()
        box.fill("开源")
        box.press("End")
        page.locator(".md-search-result__list > li").first.wait_for(state="visible", timeout=15000)
        box.press("Enter")
        page.wait_for_load_state("load")
        quiet(page, "search")

        # A citation's popover, then its span marked on the source page.
        visit(page, f"{url}/reports/example-open-vs-closed/")
        link = page.locator('a.citekb-cite[data-kind="long_context"][href*="span="]').first
        link.hover()
        page.locator(".citekb-popover").wait_for(state="visible")
        link.click()
        page.wait_for_url("**/sources/**?span=*#chunk-*")
        page.locator("mark.citekb-span").first.wait_for(state="visible")
        quiet(page, "popover and span")

        # The TOC takes the reader to a section, and marks where they are.
        visit(page, f"{url}/reports/example-open-vs-closed/")
        toc = page.locator("nav.md-nav--secondary a.md-nav__link").nth(2)
        target = toc.get_attribute("href")
        toc.click()
        page.wait_for_function(f"() => decodeURIComponent(location.hash) === {target!r}")
        page.locator("nav.md-nav--secondary a.md-nav__link--active").first.wait_for(state="attached")
        quiet(page, "toc")

        # The palette the reader chose with the header's toggle is applied on the next page by the
        # theme's inline palette script.
        page.locator('[data-md-component="palette"] label:not([hidden])').click()
        page.wait_for_function("document.body.dataset.mdColorScheme === 'slate'")
        visit(page, f"{url}/reports/")
        assert page.evaluate("document.body.dataset.mdColorScheme") == "slate"
        quiet(page, "palette")


def inject(html: str) -> str:
    return html.replace(
        '<article class="md-content__inner md-typeset">', f'<article class="md-content__inner md-typeset">{INJECTED}', 1
    )


@contextlib.contextmanager
def closed_network(page) -> Iterator[list[tuple[str, str | None]]]:
    """Every request the page's browser context makes to anywhere but the loopback server, with its
    Referer, answered by a stub page: nothing leaves the machine."""
    left: list[tuple[str, str | None]] = []

    def answer(route) -> None:
        left.append((route.request.url, route.request.headers.get("referer")))
        route.fulfill(status=200, content_type="text/html", body="<p>elsewhere</p>")

    page.context.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), answer)
    try:
        yield left
    finally:
        page.context.unroute_all()


@pytest.mark.browser
def test_markup_injected_into_a_built_page_runs_and_loads_nothing(shipped, watched, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(shipped.site, site)
    report = site / "reports/example-open-vs-closed/index.html"
    html = report.read_text(encoding="utf-8")
    report.write_text(inject(html), encoding="utf-8")
    unprotected = site / "reports/index.html"  # the control: the same injection on a page without the policy
    unprotected.write_text(inject(CSP_META.sub("", unprotected.read_text(encoding="utf-8"))), encoding="utf-8")
    with serve(site) as url, closed_network(watched) as left:
        visit(watched, f"{url}/reports/index.html")
        watched.wait_for_function("() => window.pwned !== undefined")
        watched.wait_for_function(LOADED)
        assert {address for address, _ in left} >= {"https://example.org/t.png", "https://example.org/f"}
        left.clear()
        visit(watched, f"{url}/reports/example-open-vs-closed/")
        watched.wait_for_function(LOADED)
        assert watched.evaluate("window.pwned") is None
        watched.wait_for_function("() => window.__violations.length >= 5")
        blocked = " ".join(watched.evaluate("window.__violations"))
        assert blocked.count("script-src-elem inline") == 1 and "script-src-attr inline" in blocked
        for directive in ("img-src", "frame-src", "media-src"):
            assert f"{directive} https://example.org" in blocked, directive
        assert watched.locator(".citekb-report").first.is_visible()  # the page itself still works
    assert left == []


# An escaping bug inside the build: a hook after ours puts markup into the article and the title.
BUGGY_HOOK = """
def on_page_content(html, page, config, files):
    page.title = '<script>window.pwned = "title"</script>' + (page.title or "")
    return html + '<script>window.pwned = "content"</script><img src=x onerror="window.pwned = \\'img\\'">'
"""


@pytest.mark.browser
def test_a_script_let_in_during_the_build_is_not_hashed(watched, tmp_path):
    write_page(tmp_path / "kb", "one.txt", "一篇来源", "正文。" * 20)
    built = build_with_hook(tmp_path / "kb", tmp_path, BUGGY_HOOK, strict=False, audit=False)
    assert built.returncode == 0, built.log
    html = built.page("sources/one")
    assert html.count("window.pwned") >= 3  # the bug did put its scripts into the page
    with serve(built.site) as url:
        visit(watched, f"{url}/sources/one/")
        watched.wait_for_function(LOADED)
        assert watched.evaluate("window.pwned") is None
        watched.wait_for_function("() => window.__violations.length >= 3")
    rules = page_policy(html)
    injected = {sha256_source(text) for text in executed_inline_scripts(html) if "pwned" in text}
    assert injected and not injected & set(rules["script-src"])
    named = re.compile(r"citekb: sources/one\.md: \d+ inline script\(s\) the theme did not write")
    assert any(named.search(line) for line in built.warnings)  # and the build says so, naming the page


# Input that points elsewhere: nothing loads from there, and following a link tells it nothing.
REMOTE_REPORT = """# 外链

远程图片 ![远程图片](https://example.org/t.png) 与链接 [外部页面](https://example.org/page)。

| 左 | 中 | 右 |
|:--|:-:|--:|
| a | b | c |
"""


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Build:
    root = tmp_path_factory.mktemp("remote")
    write_page(root / "kb", "one.txt", "一篇来源", "正文。" * 20)
    report = root / "kb" / "reports" / "remote"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: remote\ncorpus: pages\n", encoding="utf-8")
    (report / "final_report.md").write_text(REMOTE_REPORT, encoding="utf-8")
    built = build_site(root / "kb", root / "site", audit=False)
    assert built.returncode == 0, built.log
    return built


@pytest.mark.browser
def test_a_report_pointing_elsewhere_loads_nothing_and_links_send_no_referrer(remote, watched):
    with serve(remote.site) as url, closed_network(watched) as left:
        visit(watched, f"{url}/reports/remote/")
        watched.wait_for_function(LOADED)
        assert left == []  # the remote image is not fetched
        center = watched.locator(".citekb-report td").nth(1)
        assert center.evaluate("c => getComputedStyle(c).textAlign") == "center"  # the aligned column's style
        quiet(watched, "report")
        watched.locator('a[href="https://example.org/page"]').click()  # a report's link
        watched.wait_for_url("https://example.org/page")
        visit(watched, f"{url}/reports/remote/")
        assert watched.locator('a[target="_blank"]').count() == 0  # the theme's footer link is off (mkdocs.yml)
    assert left == [("https://example.org/page", None)]


def test_no_policy_while_serving(tmp_path):
    """`mkdocs serve` adds an inline live-reload script to every page it serves: no policy there."""
    write_page(tmp_path / "kb", "one.txt", "一篇来源", "正文。" * 20)
    port = free_port()
    env = {**os.environ, "CITEKB_SOURCES": str(tmp_path / "kb"), "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "serve", "-f", str(REPO / "mkdocs.yml"), "-a", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/sources/one/", "正文。")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sources/one/", timeout=10) as response:
            served = response.read().decode("utf-8")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "livereload" in served and "Content-Security-Policy" not in served
