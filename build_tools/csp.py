"""The published site's Content-Security-Policy (issue 26, defence in depth): a page's HTML → the
same HTML with the policy as a `<meta http-equiv>` at the top of its `<head>`.

Escaping keeps input text out of the markup; the policy keeps markup that slipped through anyway
inert: no inline script or event handler runs but the theme's own scripts (by their sha256), nothing
loads from another origin (a report's `![x](https://…)` included), no plugin, frame, form or `<base>`.
A `<meta name="referrer">` beside it keeps every link, to a scraped site too, from sending the page's
address.

Only the inline scripts the theme writes are hashed: their texts come from the theme's templates
(`theme_scripts`), never from the page, where a script an escaping bug let in would be hashed and run
with the rest. Any other inline script is blocked, and `Secured.foreign` counts it, so the build can
say so.

Reading a page takes time linear in its length, whatever it holds (tests/test_csp.py doubles
adversarial pages).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

# The style attributes Markdown writes for an aligned table column: markdown-it (reports) and
# Python-Markdown (the hand-written pages). Allowed by hash ('unsafe-hashes'), no other inline style.
ALIGNMENTS = tuple(
    style for side in ("left", "center", "right") for style in (f"text-align:{side}", f"text-align: {side};")
)
REFERRER = '<meta name="referrer" content="no-referrer">'

_STYLE = re.compile(r'style="(text-align: ?(?:left|center|right);?)"')
_SCRIPT_OPEN = re.compile(r"<script(?=[\s/>])", re.IGNORECASE)
_SCRIPT_CLOSE = re.compile(r"</script[\s/>]", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<head(?=[\s/>])", re.IGNORECASE)
_CHARSET = re.compile(r"\s*<meta\s+charset\s*=\s*[\"']?[\w-]+[\"']?\s*/?>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
# What a browser runs as a classic or module script (the HTML standard's JavaScript MIME types).
_SCRIPT_TYPES = (
    {"", "module"}
    | {
        f"{kind}/{name}"
        for kind in ("application", "text")
        for name in ("javascript", "ecmascript", "x-javascript", "x-ecmascript", "jscript", "livescript")
    }
    | {f"text/javascript1.{n}" for n in range(6)}
)


@dataclass(frozen=True)
class Secured:
    html: str  # the page with its policy (unchanged when it has no <head>)
    foreign: int  # inline scripts the theme did not write: blocked
    policy: str | None  # None: the page has no <head> to hold one


def script_hash(text: str) -> str:
    """A CSP hash source for an inline script or style. A browser hashes the text as parsed: line
    ends already normalized to LF, and NUL replaced (the HTML standard's input stream and script data)."""
    parsed = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    digest = hashlib.sha256(parsed.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _tag_end(html: str, position: int) -> int:
    """The index just past the `>` that ends a tag whose attributes start at `position`, or -1 when
    the page ends first. A quoted attribute value may hold `>`; a quote anywhere else is a character."""
    end = html.find(">", position)
    while end >= 0:
        equals = html.find("=", position, end)
        if equals < 0:
            return end + 1
        value = equals + 1
        while html[value] in " \t\n\r\f":  # `>` is not a space: `value` stays at or before `end`
            value += 1
        if html[value] not in "\"'":
            position = value  # an unquoted value: it ends at a space or at `>`
            continue
        closing = html.find(html[value], value + 1)
        if closing < 0:
            return -1
        position = closing + 1
        if position > end:
            end = html.find(">", position)
    return -1


def _executable(attributes: str) -> bool:
    """Whether a script element with these attributes runs its own text: no `src`, and no `type`
    or a JavaScript one (a JSON `type` is data, like Material's `__config`)."""
    found = {name.lower(): value for name, value in _ATTRIBUTE.findall(attributes)}
    if "src" in found:
        return False
    return found.get("type", "").strip("\"'").strip().lower() in _SCRIPT_TYPES


def _script_spans(html: str) -> Iterator[tuple[int, int]]:
    """Where the text of each inline script a browser would run starts and ends, in page order."""
    position = 0
    while match := _SCRIPT_OPEN.search(html, position):
        opened = _tag_end(html, match.end())
        if opened < 0:
            return
        closing = _SCRIPT_CLOSE.search(html, opened)
        end = closing.start() if closing else len(html)
        if _executable(html[match.end() : opened - 1]):
            yield opened, end
        if not closing:
            return
        position = closing.end()


def inline_scripts(html: str) -> list[str]:
    """The text of each inline script a browser would run, in page order."""
    return [html[start:end] for start, end in _script_spans(html)]


def theme_scripts(rendered: Iterable[str]) -> frozenset[str]:
    """The inline scripts of the theme's templates, each rendered as the page's template renders it."""
    return frozenset(script for template in rendered for script in inline_scripts(template))


def policy(scripts: Iterable[str], styles: Iterable[str] = ()) -> str:
    """The policy allowing these inline scripts and style attributes (by hash) and nothing from elsewhere."""
    script_src = " ".join(["'self'", *dict.fromkeys(script_hash(text) for text in scripts)])
    style_hashes = list(dict.fromkeys(script_hash(text) for text in styles))
    style_src = " ".join(["'self'", *(["'unsafe-hashes'", *style_hashes] if style_hashes else [])])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_src}",
            f"style-src {style_src}",
            "img-src 'self' data:",
            "font-src 'self'",
            "media-src 'self'",
            "connect-src 'self'",
            "worker-src 'self'",
            "frame-src 'none'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'none'",
        ]
    )


@dataclass(frozen=True)
class Reading:
    scripts: list[str]  # the theme's inline scripts on the page, in page order
    styles: list[str]  # the aligned-column styles on the page (ALIGNMENTS)
    foreign: int  # inline scripts the theme did not write
    at: int  # where the policy goes; -1: the page has no <head>


def read(html: str, theme: Collection[str]) -> Reading:
    """What a page's policy must allow, and where it goes: first in `<head>`, after a leading
    `<meta charset>` (which must stay in the first 1024 bytes, and loads nothing). `theme`: the texts
    of the inline scripts the theme writes (`theme_scripts`). A script is copied out of the page only
    when it is as long as one of them."""
    lengths = {len(text) for text in theme}
    scripts, foreign = [], 0
    for start, end in _script_spans(html):
        text = html[start:end] if end - start in lengths else None
        if text is not None and text in theme:
            scripts.append(text)
        else:
            foreign += 1
    styles = sorted({style for style in _STYLE.findall(html) if style in ALIGNMENTS}, key=ALIGNMENTS.index)
    head = _HEAD_OPEN.search(html)
    at = _tag_end(html, head.end()) if head else -1
    if at >= 0 and (charset := _CHARSET.match(html, at)):
        at = charset.end()
    return Reading(scripts, styles, foreign, at)


def with_policy(html: str, theme: Collection[str]) -> Secured:
    """The page with its policy, then the referrer policy, first in its `<head>` (`read`); only the
    theme's scripts on the page are hashed."""
    reading = read(html, theme)
    if reading.at < 0:
        return Secured(html, reading.foreign, None)
    rules = policy(reading.scripts, reading.styles)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{rules}">{REFERRER}'
    return Secured(html[: reading.at] + meta + html[reading.at :], reading.foreign, rules)
