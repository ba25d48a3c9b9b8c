"""Every site path and anchor the generated pages use: "where does a citation become a URL" has
this one answer.

The chain: a citation is resolved (`cite/resolve.py`) to a *site path* built here, e.g.
`sources/<slug>/#chunk-3` or `sources/<file-slug>/#page-2`; render turns it into an href with the
page's `link`, which is `relative_href` from the page's own site path (the plugin binds it per page).
Site paths never start with "/" and always end a page with "/" (MkDocs' `use_directory_urls`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from .models import FilePart, FileSource

_UNSAFE_SUFFIX = re.compile(r"[^a-z0-9]")
_ANCHOR_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f#%\"'<>`\\/?&]+")


def relative_href(target: str, page: str) -> str:
    """The href of site path `target` on the page at site path `page` (a directory URL): relative,
    so the site works under any base URL and from disk. MkDocs' own rule (`get_relative_url`) for
    the paths this site makes; a path keeps its trailing "/", a fragment alone stays a fragment."""
    path, _, fragment = target.partition("#")
    url = ""
    if path:
        here, there = [p for p in page.split("/") if p], [p for p in path.split("/") if p]
        common = 0
        while common < min(len(here), len(there)) and here[common] == there[common]:
            common += 1
        url = "/".join([".."] * (len(here) - common) + there[common:]) or "."
        url += "/" if path.endswith("/") else ""
    return url + (f"#{fragment}" if fragment else "")


def source_path(slug: str, anchor: str | None = None) -> str:
    """A source's or task file's page (directory URL), with `#anchor` when given."""
    return f"sources/{slug}/" + (f"#{anchor}" if anchor else "")


def chunk_anchor(index: int) -> str:
    return f"chunk-{index}"


def chunk_path(slug: str, index: int) -> str:
    return source_path(slug, chunk_anchor(index))


def report_path(slug: str, anchor: str | None = None) -> str:
    return f"reports/{slug}/" + (f"#{anchor}" if anchor else "")


# A report's exports (build_tools/export.py) published beside its page: the Markdown as `.txt`, a
# name no static host serves as anything but text/plain and MkDocs never takes for a page; the
# citation table as `.csv`. The page's link saves each under the report's slug (`download`).
EXPORT_FILES = {"md": "report.txt", "csv": "citations.csv"}


def export_path(slug: str, format: str) -> str:
    """Where the report's export in `format` (EXPORT_FILES) is published."""
    return f"reports/{slug}/{EXPORT_FILES[format]}"


def citation_anchor(section: str, n: int) -> str:
    """The n-th (0-based) citation bracket of a report section (`final`, `original`)."""
    return f"cite-{section}-{n}"


def source_page_uri(slug: str) -> str:
    """The generated Markdown file behind `source_path(slug)`."""
    return f"sources/{slug}.md"


def report_page_uri(slug: str) -> str:
    return f"reports/{slug}.md"


# Task-file suffixes published as they are: what a browser shows (or saves) without running
# anything in the site's origin: images but SVG, audio, video, PDF, office files, archives, plain
# text and data. Anything else, above all what a browser would run or render as a document
# (html, htm, xhtml, svg, xml, xsl, js, mjs, css, wasm, md …), is published as `.txt`.
PASSIVE_SUFFIXES = frozenset(
    (
        *("png", "jpg", "jpeg", "gif", "webp", "avif", "bmp", "ico", "tif", "tiff", "heic"),
        *("mp4", "webm", "mov", "m4v", "mkv", "avi", "ogv", "ogg", "oga", "mp3", "m4a", "wav", "flac", "aac", "opus"),
        *("pdf", "docx", "doc", "xlsx", "xls", "xlsm", "pptx", "ppt", "odt", "ods", "odp", "rtf", "epub"),
        *("txt", "csv", "tsv", "json", "jsonl", "log"),
        *("zip", "gz", "tgz", "tar", "bz2", "xz", "7z", "rar", "zst", "bin"),
    )
)


def file_download_path(slug: str, name: str) -> str:
    """Where a task file's original bytes are published: `file.<suffix>` for a passive suffix
    (browsers pick the viewer by it; no suffix: `bin`), else `file.<suffix>.txt`.

    An .html, .svg or .xml opened from the site runs its script in the site's origin, and a static
    host cannot send `Content-Disposition: attachment`; as .txt, every common host (GitHub Pages,
    Netlify, S3, nginx, Python's http.server) serves it as text/plain, which no browser runs or
    sniffs into HTML. The download link keeps the original name (`download="…"`). An allowlist,
    not a blocklist: a suffix nobody thought of is text too (and .md is no page for MkDocs)."""
    suffix = file_suffix(name)
    return f"sources/{slug}/file.{suffix}" + ("" if suffix in PASSIVE_SUFFIXES else ".txt")


def published_as_text(name: str) -> bool:
    """Whether a task file is published as text: a browser would run it, or render it as a document."""
    return file_suffix(name) not in PASSIVE_SUFFIXES


def file_suffix(name: str) -> str:
    """A task file's suffix as its published name has it: lower case, [a-z0-9] only, else `bin`."""
    return _UNSAFE_SUFFIX.sub("", name.rsplit(".", 1)[-1].lower() if "." in name else "") or "bin"


FILE_BACKLINKS_ANCHOR = "cited-by"  # a file page's list of the sentences citing it (no part's anchor: see below)


def part_anchor(part: FilePart) -> str:
    """`page-N`, `slide-N`, `sheet-NAME` (`anchor_text` of the sheet's own name), `text`."""
    if part.kind == "sheet":
        return f"sheet-{anchor_text(part.name or '')}"
    if part.kind == "text":
        return "text"
    return f"{part.kind}-{part.number}"


def file_part(file: FileSource, target: str) -> FilePart | None:
    """The page, slide or sheet a citation's target lands on (None: the whole file)."""
    fragment = target.partition("#")[2]
    return next((p for p in file.parts if part_anchor(p) == fragment), None)


_HEADING_DROP = re.compile(r"[^\w\s-]+")
_HEADING_SPACE = re.compile(r"[\s_-]+")
HEADING_ANCHOR_CHARS = 40  # of the heading text kept in its anchor


class Anchors:
    """The anchors given out on one page, and for each base the last number appended to it: a page
    of n headings alike takes n steps, not n²/2 (each numbering from 2 again)."""

    def __init__(self, *taken: str):
        self.taken = set(taken)
        self.numbered: dict[str, int] = {}

    def unique(self, base: str) -> str:
        anchor, n = base, self.numbered.get(base, 1)
        while anchor in self.taken:
            n += 1
            anchor = f"{base}-{n}"
        self.numbered[base] = n
        self.taken.add(anchor)
        return anchor


def heading_anchor(section: str, title: str, taken: Anchors) -> str:
    """A report heading's anchor: readable in any script (`final-1-市场概况`), unique on the page
    (`-2`, `-3` appended in order), and `taken` records it. Punctuation is dropped, case folded."""
    words = _HEADING_SPACE.sub("-", _HEADING_DROP.sub("", unicodedata.normalize("NFKC", title)).casefold())
    return taken.unique(f"{section}-{words.strip('-')[:HEADING_ANCHOR_CHARS].strip('-')}".rstrip("-"))


STATS_PAGE_URI = "stats.md"  # the configuration comparison page (generated)


def stats_path(anchor: str | None = None) -> str:
    return "stats/" + (f"#{anchor}" if anchor else "")


def stats_anchor(configuration: str, part: str = "") -> str:
    """A configuration's section on the comparison page (`cfg-results_32k-gpt4.1`: its id's `/`
    parts joined by "-"), or one of its listings (`cfg-bench_case1114-status-unknown_source`,
    `…-task-003`); each part as `anchor_text`, so ids are anchors apart."""
    anchor = "cfg-" + "-".join(map(anchor_text, configuration.split("/")))
    return f"{anchor}-{anchor_text(part)}" if part else anchor


def stats_task_anchor(task: str) -> str:
    """A task's side-by-side table on the comparison page."""
    return "task-" + anchor_text(task)


def anchor_text(text: str) -> str:
    """`text` in an anchor: each run of white space and of characters an address or a selector
    reads otherwise as "-"; where that changed it, a digest of the text after it, so that texts
    differing only there (models `a b`, `a-b`, `a#b`; sheets `销量 2024`, `销量-2024`) keep
    anchors apart. Names of our own (`gpt4.1`, `003`, `status-unknown_source`) stay as they are."""
    readable = _ANCHOR_UNSAFE.sub("-", text).strip("-")
    if readable == text:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest
