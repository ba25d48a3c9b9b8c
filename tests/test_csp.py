"""The published site's Content-Security-Policy (issue 26, defence in depth): a page's HTML gets a
policy that lets the theme's inline scripts run and nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from build_tools import csp

CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


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
    rounds = [(timed(read, small, repeat), timed(read, large, repeat)) for _ in range(5)]  # in turn
    fastest = [min(times) for times in zip(*rounds)]
    assert fastest[1] / fastest[0] <= 2.5, (unit, fastest)
