"""Frames (hooks/citekb_frames.py): a generated page put into its kind's frame is the page the theme's
template renders, byte for byte, whatever its title holds; a template a frame cannot stand for is
rendered in full."""

from __future__ import annotations

import sys

import jinja2
import pytest
from fixtures import HEADER_BREAKERS, TITLE_INJECTION, make_template_payload_kb
from helpers import REPO, build_with_hook
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(REPO / "hooks"))
from citekb_frames import CHECKED, CONTENT_MARK, Frame  # noqa: E402

ENV = jinja2.Environment()
# The ways Material's templates put a title into a page: as it is, without tags, escaped, both;
# and its canonical URL, escaped (autoescaped, in Material's base.html).
THEME = ENV.from_string(
    '<title>{{ t }} - S</title><link rel="canonical" href="{{ u|e }}"><meta content="{{ t|striptags|e }}">'
    "<b>{{ t|e }}</b><i>{{ t|striptags }}</i><article>{{ c }}</article>"
)
TITLES = st.lists(st.sampled_from([*"ab <>&;\"'/#\n\ue000\ue001\ue002", "&amp;", "<b>", "</title>"])).map("".join)


def render(template: jinja2.Template):
    return lambda title, content, url: template.render(t=title, c=content, u=url)


@settings(max_examples=200, deadline=None)
@given(TITLES, st.text(), TITLES)
def test_a_filled_frame_is_the_template_rendered(title, content, url):
    frame = Frame.learn(render(THEME), CONTENT_MARK)
    assert frame is not None and frame.slots == [
        ("title", "as is"),
        ("url", "escaped"),
        ("title", "striptags, escaped"),
        ("title", "escaped"),
        ("title", "striptags"),
        ("content", ""),
    ]
    assert frame.fill(title, content, url) == render(THEME)(title, content, url)


@pytest.mark.parametrize(
    "source",
    [
        "<title>{{ t|truncate(20) }}</title>{{ c }}",  # a filter frames do not know
        "<title>{{ t|length }}</title>{{ c }}",  # the title read, not shown
        "{% if '<' in t %}x{% endif %}{{ c }}",  # … or tested
        "{{ c }}{{ c }}",  # the content twice
        "<title>{{ t }}</title>",  # no content
        '<a href="{{ u|urlencode }}">{{ c }}</a>',  # the URL through a filter frames do not know
    ],
)
def test_a_template_a_frame_cannot_stand_for_has_none(source):
    assert Frame.learn(render(ENV.from_string(source)), CONTENT_MARK) is None


COUNT_FILLS = """
import atexit, os
import citekb_frames

fill = citekb_frames.Frame.fill
filled = []


def counted(self, title, content, url):
    filled.append(title)
    return fill(self, title, content, url)


citekb_frames.Frame.fill = counted
atexit.register(lambda: open(os.environ["CITEKB_FILLS"], "a").write(f"{len(filled)}\\n"))
"""

NO_FRAMES = """
import citekb_frames

citekb_frames.Frames.output = lambda self, page, context: self.env.get_template("main.html").render(context)
"""


def site_files(site):
    return {path.relative_to(site): path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    ("parallel", "site_url"), [(False, None), (True, None), (False, "https://kb.example.org/a&b/\"x'/")]
)
def test_a_site_built_with_frames_is_the_site_built_without(tmp_path, monkeypatch, parallel, site_url):
    """Hostile titles (tags, YAML's line breaks, template syntax) on the pages frames fill: the whole
    site is the one every page's template renders, in one process and with the second one, and
    with a site URL (each page's canonical URL in its head, as under `mkdocs serve`)."""
    kb = make_template_payload_kb(tmp_path / "kb")
    fills = tmp_path / "fills"
    monkeypatch.setenv("CITEKB_FILLS", str(fills))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    framed = build_with_hook(kb, tmp_path / "a", COUNT_FILLS, site_url, strict=False, parallel=parallel)
    plain = build_with_hook(kb, tmp_path / "b", NO_FRAMES, site_url, strict=False, parallel=parallel)
    assert framed.returncode == 0 and plain.returncode == 0, framed.output + plain.output
    assert site_files(framed.site) == site_files(plain.site)
    if not parallel:  # (a forked process's fills are not counted) every corpus document's page but
        # its kind's first CHECKED: filled, not rendered
        assert int(fills.read_text()) >= len([TITLE_INJECTION, *HEADER_BREAKERS]) - CHECKED
