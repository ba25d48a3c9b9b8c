"""Stage 5: pages as HTML/Markdown strings (no MkDocs here; `link` turns site paths into URLs), one
module per page kind.

All scraped and report text is escaped here: it is never interpreted as HTML, Markdown or Jinja.
Source pages are plain HTML (no Markdown pass: faster, and nothing to misinterpret); report pages
are Markdown because reports use tables and emphasis, with raw HTML made inert first.
"""

from .citations import citation_html, outline, report_html
from .comparison import stats_page
from .files import file_page, file_url, part_label
from .health import ClaimsKept, health_page
from .markup import Link, esc
from .reports import report_page, reports_index
from .sources import source_page, sources_index

__all__ = [
    "ClaimsKept",
    "Link",
    "citation_html",
    "esc",
    "file_page",
    "file_url",
    "health_page",
    "outline",
    "part_label",
    "report_html",
    "report_page",
    "reports_index",
    "source_page",
    "sources_index",
    "stats_page",
]
