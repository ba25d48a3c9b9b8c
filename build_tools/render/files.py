"""A task file's page: its pages, slides or sheets as text, an image or a video."""

from __future__ import annotations

import base64

from ..ingest import INLINE_IMAGE
from ..knowledge_base import Backlink, KnowledgeBase
from ..messages import (
    DOWNLOAD,
    FILE_BACKLINKS,
    FILE_KIND_LABELS,
    FILE_NOTES,
    PART_LABELS,
    PERMALINK,
    TASK_FILE,
)
from ..models import FilePart, FileSource
from ..paths import (
    FILE_BACKLINKS_ANCHOR,
    file_download_path,
    part_anchor,
    published_as_text,
)
from .markup import Link, esc, page_header
from .sources import backlink_items

MAX_COLUMNS = 50  # of a sheet shown on a file page (the covid CSVs have over a thousand)


def file_url(file: FileSource) -> str:
    return file_download_path(file.slug, file.name)


def image_src(file: FileSource, link: Link, limit: int) -> str | None:
    """The src of an <img> showing a task image: its published file; for one published as text
    (an SVG: opened as a page, its script would run in the site's origin) a data: URI of its
    bytes, which an <img> shows without running any script or loading anything it names. None
    for such an image over `limit` bytes (or over what ingest keeps of it)."""
    if not published_as_text(file.name):
        return link(file_url(file))
    data = file.inline
    if data is None or len(data) > limit:
        return None
    return f"data:image/svg+xml;base64,{base64.b64encode(data).decode('ascii')}"


def part_label(part: FilePart) -> str:
    """A file part's heading, and its label in search results."""
    return PART_LABELS[part.kind].format(number=part.number, name=part.name or part.number)


def table_html(rows: tuple[tuple[str, ...], ...], total: int) -> str:
    """A sheet as an escaped table (header first), with notes saying what was left out."""
    header, body = rows[0], rows[1:]
    width = max(len(row) for row in rows)
    notes = [FILE_NOTES["rows"].format(shown=len(body), total=total)] if total > len(body) else []
    if width > MAX_COLUMNS:
        notes.append(FILE_NOTES["columns"].format(shown=MAX_COLUMNS, total=width))

    def cells(row: tuple[str, ...], tag: str) -> str:  # spaced, so the text read from the page keeps words apart
        return " ".join(f"<{tag}>{esc(cell)}</{tag}>" for cell in row[:MAX_COLUMNS])

    rows_html = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in body)
    return (
        (f'<p class="citekb-note">{"".join(notes)}</p>' if notes else "")
        + f'<div class="citekb-table"><table class="citekb-sheet"><thead><tr>{cells(header, "th")}</tr></thead>'
        f"<tbody>{rows_html}</tbody></table></div>"
    )


def part_html(part: FilePart) -> str:
    """One page, slide, sheet or whole text: the id is on the heading, so a link and a search
    result (which reads up to the next <h2>) both land on it."""
    anchor = esc(part_anchor(part))
    if part.rows:
        body = table_html(part.rows, part.total_rows or 0)
    elif part.text.strip():
        body = f'<div class="citekb-text">{esc(part.text)}</div>'
    else:
        body = f'<p class="citekb-note">{FILE_NOTES["empty"]}</p>'
    return (
        f'<section class="citekb-chunk citekb-part"><h2 class="citekb-chunk-heading" id="{anchor}">'
        f'{esc(part_label(part))}<a class="headerlink" href="#{anchor}" title="{PERMALINK}">¶</a></h2>{body}</section>'
    )


def file_backlinks_html(links: list[Backlink], link: Link) -> str:
    """The sentences citing a file, after its content (a file is cited dozens of times; its pages
    come first) and folded: a line saying how many, which opens on the list."""
    if not links:
        return ""
    return (
        f'<details class="citekb-backlinks" id="{FILE_BACKLINKS_ANCHOR}"><summary>'
        f"{FILE_BACKLINKS['heading'].format(count=len(links))}</summary>"
        f"<ul>{backlink_items(links, link)}</ul></details>"
    )


def file_page(kb: KnowledgeBase, file: FileSource, link: Link) -> str:
    href = esc(link(file_url(file)))
    backlinks = kb.backlinks.get((file.slug, None), [])
    cited = (
        f' · <a href="#{FILE_BACKLINKS_ANCHOR}">{FILE_BACKLINKS["jump"].format(count=len(backlinks))}</a>'
        if backlinks
        else ""
    )
    parts = [
        page_header(
            file.name,
            f'{TASK_FILE.format(kind=FILE_KIND_LABELS[file.kind])} · <a href="{href}" download="{esc(file.name)}">{DOWNLOAD}</a>{cited}',
        ),
        f'<p class="citekb-note">{FILE_NOTES["as_text"]}</p>' if published_as_text(file.name) else "",
    ]
    if file.kind == "image":
        src = image_src(file, link, INLINE_IMAGE)
        parts.append(
            f'<p><img class="citekb-image" src="{esc(src)}" alt="{esc(file.name)}"></p>'
            if src
            else f'<p class="citekb-note">{FILE_NOTES["no_image"].format(limit=INLINE_IMAGE // 1024)}</p>'
        )
    elif file.kind == "video":
        parts.append(f'<p><video controls src="{href}"></video></p>')
    elif not file.parts:
        parts.append(f'<p class="citekb-note">{FILE_NOTES["no_text"]}</p>')
    if len(file.parts) > 1:
        parts.append(
            '<nav class="citekb-chunk-nav">'
            + " ".join(f'<a href="#{esc(part_anchor(p))}">{esc(p.name or str(p.number))}</a>' for p in file.parts)
            + "</nav>"
        )
    parts.extend(part_html(part) for part in file.parts)
    parts.append(file_backlinks_html(backlinks, link))
    return "\n".join(p for p in parts if p)
