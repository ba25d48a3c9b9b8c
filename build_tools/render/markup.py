"""Escaping and the small HTML pieces every page kind shares."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable

from ..messages import (
    NO_CITATIONS,
    STATUS_LABELS,
)
from ..models import Resolved

Link = Callable[[str], str]


SHORT_TITLE = 18


# Characters Markdown would act on inside inline HTML; entities keep them literal.
_MARKDOWN_ACTIVE = str.maketrans(
    {
        "*": "&#42;",
        "_": "&#95;",
        "`": "&#96;",
        "[": "&#91;",
        "]": "&#93;",
        "\\": "&#92;",
        "|": "&#124;",
        "\n": "&#10;",
        "\r": "&#13;",  # Python-Markdown reads a lone CR as a line break too
        "\t": "&#9;",  # and expands tabs into spaces
        "{": "&#123;",
        "}": "&#125;",
        "~": "&#126;",
    }
)  # no "#": html.escape's own entities contain it, and with "\n" gone it cannot start a heading


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def html_line(text: str) -> str:
    """Escaped text on one line, for the rendered report HTML (which Markdown never reads again)."""
    return esc(text).replace("\n", "&#10;")


def inline(text: str) -> str:
    """Escaped text that stays literal even inside a Markdown paragraph, heading or table cell (a
    heading's closing `#`s would be dropped: the last one is an entity)."""
    text = esc(text).translate(_MARKDOWN_ACTIVE)
    return text[:-1] + "&#35;" if text.endswith("#") else text


def short(text: str, limit: int = SHORT_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_header(title: str, lead: str = "") -> str:
    return f'<h1 id="title">{esc(title)}</h1>\n' + (f'<p class="citekb-lead">{lead}</p>\n' if lead else "")


def index_table(heads: Iterable[str], rows: Iterable[str], classes: str = "citekb-index") -> str:
    """A generated table: header cells (HTML) and rows (`<tr>…</tr>` HTML)."""
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def status_counts(items: Iterable[Resolved]) -> Counter:
    return Counter(item.status for item in items)


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
