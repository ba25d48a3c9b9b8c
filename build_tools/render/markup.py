"""Escaping and the small HTML pieces every page kind shares."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable

from ..messages import (
    NO_CITATIONS,
    PERMALINK,
    STATUS_LABELS,
    SUMMARY,
)
from ..models import Resolved

Link = Callable[[str], str]


SHORT_TITLE = 18


def esc(text: str) -> str:
    """NUL is no text an HTML page may hold (browsers drop it): shown as U+FFFD, as the report's
    Markdown shows it, one character for one (a chunk's offsets hold); other control characters
    stay as written. By `str.replace`, not `str.translate`: a chunk page's text went through
    translate's per-character table at about 80 ns a character, 3 s of a 10k build's CPU."""
    return html.escape(text, quote=True).replace("\0", "\ufffd")


def html_line(text: str) -> str:
    """Escaped text on one line, for the rendered report HTML (which Markdown never reads again)."""
    return esc(text).replace("\n", "&#10;")


def short(text: str, limit: int = SHORT_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_header(title: str, lead: str = "") -> str:
    return f'<h1 id="title">{esc(title)}</h1>\n' + (f'<p class="citekb-lead">{lead}</p>\n' if lead else "")


def section_heading(anchor: str, text: str, level: int = 2) -> str:
    """A page section's heading with its permalink, as Python-Markdown's toc extension writes one."""
    link = f'<a class="headerlink" href="#{anchor}" title="{PERMALINK}">¶</a>'
    return f'<h{level} id="{anchor}">{esc(text)}{link}</h{level}>\n'


def index_table(heads: Iterable[str], rows: Iterable[str], classes: str = "citekb-index") -> str:
    """A generated table: header cells (HTML) and rows (`<tr>…</tr>` HTML)."""
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def status_counts(items: Iterable[Resolved]) -> Counter:
    return Counter(item.status for item in items)


def unjudged_html(count: int) -> str:
    """The resolved citations without a verdict (an image, a reference-list entry), counted beside
    the verdicts (the report header, the health page), so that the figures add up."""
    return f'<span class="citekb-count" title="{SUMMARY["unjudged_why"]}">{SUMMARY["unjudged"]} {count}</span>'


def counts_html(
    counts: Counter, labels: dict[str, str] = STATUS_LABELS, attribute: str = "status", empty: str = NO_CITATIONS
) -> str:
    """Counts by status (or audit), labelled, in the order of `labels`."""
    return (
        " · ".join(
            f'<span class="citekb-count" data-{attribute}="{s}">{labels[s]} {counts[s]}</span>'
            for s in labels
            if counts[s]
        )
        or empty
    )
