"""Frames: the theme's page around a generated page's content, rendered by Jinja once per kind of page.

Ten thousand source pages differ, outside their content, only in their title: the theme's template
(header, navigation, footer, scripts) was most of a generated page's cost (~2.5 ms each; 30 s of a
profiled 10k build). A frame is that template's output for a kind of page (`Frames.kind`), cut
where the title, the content and the canonical URL (under `site_url`, as `mkdocs serve` always
has) go, learnt from two renders with marked stand-ins (`Frame.learn`): each place of the title and
URL is matched to what the template did to it (`FILTERS`). A page is then its frame with its own
title, content and URL put in.

Never trusted on its word: a kind's frame fills its first `CHECKED` pages beside a full render of
each, and any difference (a title's place the stand-ins did not show, anything the template reads
from a page but those three) renders every page of that kind in full, as without frames. Pages
with a table of contents (report pages) are always rendered in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

FILLED = "citekb-filled.html"  # a page's template when its output is made here: the output, as it is
FILLED_SOURCE = "{{ citekb_filled }}"
THEME_TEMPLATE = "main.html"  # what MkDocs renders for a page that names no template
CHECKED = 2  # pages of each kind rendered in full beside their frame before the frame alone is used

# Stand-ins, from Unicode's private use area: the second probe's title and URL hold tags, an
# entity and quotes, so that each filter the template may put them through gives a different text.
TITLE_MARK, CONTENT_MARK, URL_MARK = "\ue000", "\ue001", "\ue002"
PROBE_TITLE = f"{TITLE_MARK} <b>a&amp;b</b>  \"q\" 's' {TITLE_MARK}"
PROBE_URL = f"{URL_MARK}/<b>a&amp;b</b>?\"q\"='s'{URL_MARK}"
PROBES = {TITLE_MARK: ("title", PROBE_TITLE), URL_MARK: ("url", PROBE_URL)}

FILTERS: dict[str, Callable[[str], str]] = {
    "as is": lambda text: text,
    "striptags": lambda text: Markup(text).striptags(),
    "escaped": lambda text: str(escape(text)),
    "striptags, escaped": lambda text: str(escape(Markup(text).striptags())),
}


@dataclass
class Frame:
    """A kind of page's template output, cut into pieces around each place of the title (each with
    its filter) and the one place of the content."""

    pieces: list[str]
    slots: list[tuple[str, str]]  # between pieces: ("content", ""), or ("title" or "url", a FILTERS name)
    checked: int = 0

    @classmethod
    def learn(cls, render: Callable[[str, str, str], str], content: str) -> Frame | None:
        """From `render(title, content, url)`, the content a stand-in starting with CONTENT_MARK:
        None when the output does not show where each goes."""
        plain = render(TITLE_MARK, content, URL_MARK)
        if plain.count(CONTENT_MARK) != 1:
            return None
        probe = render(PROBE_TITLE, content, PROBE_URL)
        pieces, slots, rest = [], [], plain
        probe_rest = probe
        while True:
            found = (rest.find(mark) for mark in (TITLE_MARK, CONTENT_MARK, URL_MARK))
            at = min((i for i in found if i >= 0), default=-1)
            if at < 0:
                if rest != probe_rest:
                    return None
                pieces.append(rest)
                return cls(pieces, slots)
            if rest[:at] != probe_rest[:at]:
                return None
            pieces.append(rest[:at])
            if rest[at] == CONTENT_MARK:
                if not rest.startswith(content, at) or not probe_rest.startswith(content, at):
                    return None
                slots.append(("content", ""))
                rest, probe_rest = rest[at + len(content) :], probe_rest[at + len(content) :]
                continue
            mark = rest[at]
            what, probe_text = PROBES[mark]
            name = next((n for n, f in FILTERS.items() if probe_rest.startswith(f(probe_text), at)), None)
            if name is None or FILTERS[name](mark) != mark:
                return None
            slots.append((what, name))
            rest, probe_rest = rest[at + 1 :], probe_rest[at + len(FILTERS[name](probe_text)) :]

    def fill(self, title: str, content: str, url: str) -> str:
        texts = {"content": content, "title": title, "url": url}
        parts = [self.pieces[0]]
        for (what, name), piece in zip(self.slots, self.pieces[1:]):
            parts.append(texts[what] if what == "content" else FILTERS[name](texts[what]))
            parts.append(piece)
        return "".join(parts)


@dataclass
class Frames:
    """One build's frames (a forked process learns its own: the same pages, the same frames)."""

    env: jinja2.Environment
    kinds: dict[str, Frame | None] = field(default_factory=dict)  # None: that kind renders in full

    @staticmethod
    def kind(page: Page, context: dict) -> str | None:
        """What a page's frame depends on besides its title and content (whether the content has
        its own h1: Material writes the title as one where it has not); None: no frame for it."""
        if page.toc.items or page.file.inclusion.is_excluded() or page.title != page.meta.get("title"):
            return None
        nav = context.get("nav")
        if page.is_homepage or (nav is not None and page in nav.pages):  # the nav marks the page it is on
            return None
        rest = {key: value for key, value in page.meta.items() if key != "title"}
        return json.dumps([context.get("base_url"), rest, _has_h1(page)], sort_keys=True, default=repr)

    def output(self, page: Page, context: dict) -> str:
        """The page's template output: from its kind's frame, or rendered (and checked) in full."""
        template = self.env.get_template(THEME_TEMPLATE)
        kind = self.kind(page, context)
        if kind is None:
            return template.render(context)
        if kind not in self.kinds:
            stand_in = CONTENT_MARK + ("<h1>" if _has_h1(page) else "")
            self.kinds[kind] = Frame.learn(
                lambda title, content, url: _probe(template, context, page, title, content, url), stand_in
            )
        frame = self.kinds[kind]
        if frame is None:
            return template.render(context)
        title, content, url = page.meta["title"], page.content or "", page.canonical_url or ""
        if frame.checked >= CHECKED:
            return frame.fill(title, content, url)
        full = template.render(context)
        if frame.fill(title, content, url) == full:
            frame.checked += 1
        else:
            self.kinds[kind] = None
        return full


def _has_h1(page: Page) -> bool:
    return "<h1" in (page.content or "")  # Material's own test, in base.html's content block


def _probe(template: jinja2.Template, context: dict, page: Page, title: str, content: str, url: str) -> str:
    """The page rendered with stand-ins for its title, content and canonical URL, if it has one
    (all put back after)."""
    kept = page.meta["title"], page.content, page.canonical_url
    try:
        page.meta["title"], page.content = title, content
        if page.canonical_url is not None:
            page.canonical_url = url
        return template.render(context)
    finally:
        page.meta["title"], page.content, page.canonical_url = kept
