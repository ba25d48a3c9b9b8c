"""Stage 5: pages as HTML/Markdown strings (no MkDocs here; `link` turns site paths into URLs).

All scraped and report text is escaped here: it is never interpreted as HTML, Markdown or Jinja.
Source pages are plain HTML (no Markdown pass: faster, and nothing to misinterpret); report pages
are Markdown because reports use tables and emphasis, with raw HTML made inert first.
"""

from __future__ import annotations

import base64
import difflib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable

from . import commonmark
from .chunk import content_offset
from .clean import segments
from .ingest import INLINE_IMAGE, origin_file
from .knowledge_base import Backlink, CitedReport, KnowledgeBase
from .messages import (
    AUDIT_LABELS,
    AUDIT_REASONS,
    CHECK_NAV,
    EXPORT,
    FACTS,
    FILE_NOTES,
    HEALTH_CHECKS,
    KIND_LABELS,
    META_LABELS,
    OPEN,
    PART_LABELS,
    PERMALINK,
    RULE_LABELS,
    RUN_TITLE,
    STATUS_LABELS,
    UNRESOLVED,
    VERDICT_COUNTS,
    VERDICT_LABELS,
    VERDICT_MARKS,
    Reason,
)
from .models import FLAGGED, VERDICTS, Audit, Chunk, FilePart, FileSource, Removal, Report, Resolved, Source
from .paths import (
    EXPORT_FILES,
    chunk_anchor,
    chunk_path,
    citation_anchor,
    export_path,
    file_download_path,
    part_anchor,
    published_as_text,
    report_path,
    source_path,
)
from .stats import TitleLookup, failed
from .validation import citation_diff, citation_key

Link = Callable[[str], str]

CLAIMS_SHOWN = 10  # claims to check per report on the health page (the report page goes through them all: n / p)
PREVIEW_CHARS = 600
SPAN_CONTEXT = 120  # characters of the chunk shown on each side of the supporting span in a preview
MAX_COLUMNS = 50  # of a sheet shown on a file page (the covid CSVs have over a thousand)
SHORT_TITLE = 18
SVG_PREVIEW_BYTES = 16 * 1024  # in a citation's preview: each preview is part of the report page
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


# ---------------------------------------------------------------- source pages


SMALL_HIDDEN = 12  # boilerplate this short is shown dimmed in place: a toggle would take more room than it hides


def hidden_blocks(pieces: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Boilerplate pieces of one rule that follow each other (white space between) as one block:
    one toggle for a footer of twenty lines, not twenty toggles."""
    out: list[tuple[str, str | None]] = []
    for piece, rule in pieces:
        if rule and len(out) >= 2 and out[-1][1] is None and not out[-1][0].strip() and out[-2][1] == rule:
            gap = out.pop()[0]
            out[-1] = (out[-1][0] + gap + piece, rule)
        elif rule and out and out[-1][1] == rule:
            out[-1] = (out[-1][0] + piece, rule)
        else:
            out.append((piece, rule))
    return out


def chunk_html(text: str, chunk: Chunk, neighbours: tuple[Chunk | None, Chunk | None], removals: list[Removal]) -> str:
    """The chunk's exact text; overlap with its neighbours marked, boilerplate collapsed."""
    start = content_offset(text, chunk)
    end = start + len(chunk.text)
    previous, following = neighbours
    overlap_until = min(previous.end, end) if previous and previous.end > start else start
    overlap_from = max(content_offset(text, following), start) if following and following.start < end else end
    cuts = sorted({start, end, overlap_until, overlap_from})
    out: list[str] = []
    for piece_start, piece_end in zip(cuts, cuts[1:]):
        for piece, rule in hidden_blocks(segments(text, piece_start, piece_end, removals)):
            body = esc(piece)
            if rule and len(piece.strip()) <= SMALL_HIDDEN:
                body = f'<span class="citekb-boilerplate-inline" data-rule="{rule}" title="{RULE_LABELS.get(rule, rule)}">{body}</span>'
            elif rule:
                body = (
                    f'<details class="citekb-boilerplate" data-rule="{rule}"><summary>已隐藏：'
                    f"{RULE_LABELS.get(rule, rule)}（{len(piece)} 字）</summary>{body}</details>"
                )
            if piece_end <= overlap_until:
                body = f'<span class="citekb-overlap" title="与 chunk {previous.index} 重叠">{body}</span>'
            elif piece_start >= overlap_from:
                body = f'<span class="citekb-overlap" title="与 chunk {following.index} 重叠">{body}</span>'
            out.append(body)
    return "".join(out)


def backlinks_html(links: list[Backlink], link: Link) -> str:
    if not links:
        return ""
    items = "".join(
        f'<li><a href="{esc(link(report_path(b.report_slug, b.anchor)))}">{esc(b.report_title)}</a>：'
        f"<q>{esc(b.sentence)}</q></li>"
        for b in links
    )
    return f'<aside class="citekb-backlinks"><p>引用此处的报告（{len(links)}）</p><ul>{items}</ul></aside>'


def web_link(value: str) -> str:
    """A field value as HTML: an http(s) address becomes a link to it, anything else stays text."""
    if re.match(r"https?://[^\s\"'<>]+$", value.strip(), re.IGNORECASE):
        return f'<a href="{esc(value.strip())}" rel="noopener noreferrer">{esc(value)}</a>'
    return esc(value)


def chunk_nav_link(kb: KnowledgeBase, slug: str, index: int) -> str:
    """A chunk's number in the bar above a source; the cited ones stand out, with how often."""
    cited = len(kb.backlinks.get((slug, index), []))
    mark = f' class="citekb-cited" title="被引用 {cited} 次"' if cited else ""
    return f'<a href="#{chunk_anchor(index)}"{mark}>{index}</a>'


def source_page(kb: KnowledgeBase, source: Source, link: Link) -> str:
    chunks = kb.chunks[source.slug]
    removals = kb.removals[source.slug]
    text = source.text
    meta = [("块数", esc(str(len(chunks)))), ("字符数", esc(str(len(text))))]
    meta += [(META_LABELS.get(key, key), web_link(value)) for key, value in sorted(source.meta.items())]
    meta.append(("出处文件", esc("、".join(source.origins))))
    hidden = sum(r.end - r.start for r in removals)
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in meta)
    parts = [
        page_header(source.title),
        f'<table class="citekb-meta">{rows}</table>',
        f'<p class="citekb-note">已隐藏 {hidden} 字的抓取模板内容（点击展开）；块编号与研究流水线的检索器一致。</p>'
        if hidden
        else "",
        backlinks_html(kb.backlinks.get((source.slug, None), []), link),
        '<nav class="citekb-chunk-nav">'
        + " ".join(chunk_nav_link(kb, source.slug, c.index) for c in chunks)
        + "</nav>",
    ]
    for i, chunk in enumerate(chunks):
        neighbours = (chunks[i - 1] if i else None, chunks[i + 1] if i + 1 < len(chunks) else None)
        parts.append(
            f'<section class="citekb-chunk" id="{chunk_anchor(chunk.index)}" data-chunk-id="{chunk.id}">'
            f'<h2 class="citekb-chunk-heading">chunk {chunk.index}'
            f'<a class="headerlink" href="#{chunk_anchor(chunk.index)}" title="{PERMALINK}">¶</a></h2>'
            f'<p class="citekb-chunk-meta">字符 {chunk.start}–{chunk.end} · id <code>{chunk.id}</code></p>'
            f'<div class="citekb-text">{chunk_html(text, chunk, neighbours, removals)}</div>'
            f"{backlinks_html(kb.backlinks.get((source.slug, chunk.index), []), link)}</section>"
        )
    return "\n".join(p for p in parts if p)


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


def file_page(kb: KnowledgeBase, file: FileSource, link: Link) -> str:
    href = esc(link(file_url(file)))
    parts = [
        page_header(
            file.name, f'任务文件 · {esc(file.kind)} · <a href="{href}" download="{esc(file.name)}">下载原文件</a>'
        ),
        f'<p class="citekb-note">{FILE_NOTES["as_text"]}</p>' if published_as_text(file.name) else "",
        backlinks_html(kb.backlinks.get((file.slug, None), []), link),
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
    return "\n".join(p for p in parts if p)


def sources_index(kb: KnowledgeBase, link: Link) -> str:
    rows = "".join(
        f'<tr><td><a href="{esc(link(source_path(s.slug)))}">{esc(s.title or "(无标题)")}</a></td>'
        f"<td>{len(kb.chunks[s.slug])}</td><td>{esc('、'.join(origin_file(o) for o in s.origins))}</td></tr>"
        for s in sorted(kb.loaded.sources.values(), key=lambda s: (s.title, s.slug))
    )
    files = "".join(
        f'<tr><td><a href="{esc(link(source_path(f.slug)))}">{esc(f.name)}</a></td><td>{esc(f.kind)}</td>'
        f"<td>{esc(f.path)}</td></tr>"
        for f in sorted(kb.loaded.files.values(), key=lambda f: f.path)
    )
    parts = [
        page_header("来源", f"{len(kb.loaded.sources)} 篇抓取文档，{len(kb.loaded.files)} 个任务文件。"),
        index_table(("标题", "块数", "出处"), rows),
    ]
    if files:
        parts.append('<h2 id="files">任务文件</h2>' + index_table(("文件", "类型", "位置"), files))
    return "\n".join(parts)


# ---------------------------------------------------------------- report pages


def why(item: Resolved) -> str:
    """The reason a reader sees (Chinese), with the suggestion when there is one."""
    reason = item.reason.chinese() if item.reason else ""
    return reason + (f"（{item.suggestion.chinese()}）" if item.suggestion else "")


def preview_html(head: str, body: str) -> str:
    """A citation's preview: a header naming what is cited, then its text or thumbnail (`body`, HTML).
    No nested <span> (`outline` cuts a preview at its first </span>); citekb-popover.js adds the
    header's open link, which cannot sit inside the citation's own <a>."""
    return (
        f'<span class="citekb-preview" role="tooltip"><strong class="citekb-preview-head" data-open="{OPEN}">'
        f"{html_line(head)}</strong>{body}</span>"
    )


def cut(text: str) -> str:
    """The start of a preview's text."""
    return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")


def file_part(file: FileSource, target: str) -> FilePart | None:
    """The page, slide or sheet a citation's target lands on (None: the whole file)."""
    fragment = target.partition("#")[2]
    return next((p for p in file.parts if part_anchor(p) == fragment), None)


def citation_html(
    item: Resolved,
    kb: KnowledgeBase,
    link: Link,
    anchor: str | None = None,
    audit: Audit | None = None,
    svg_shown: set[str] | None = None,
) -> str:
    """One citation as an inline element: a link with a preview (header, cited text or thumbnail),
    or a marked failure whose preview says why (its only tooltip: no `title` beside it).

    A linked citation that is not cleanly resolved (a task file cited as a corpus document, a page
    that does not exist) is a link with a ⚠ and its reason, never a silent one. An audited one
    carries its verdict (`verdict_mark`, `facts_html`); a corpus chunk's lands on its supporting
    span, previews it, and carries its audit's flag (`audit_marker`).

    An SVG's preview holds the image itself (a data: URI) once per `svg_shown` (a report section):
    a report citing one SVG a thousand times would otherwise carry it a thousand times."""
    if audit is not None and item.target and item.source_slug in kb.loaded.sources:
        return audited_citation_html(item, audit, kb, link, anchor)
    citation = item.citation
    kind = esc(citation.kind)
    ident = f' id="{anchor}"' if anchor else ""
    cited = f' data-title="{html_line(citation.title)}"' if citation.title else ""
    cited += f' data-chunk="{citation.chunk}"' if citation.chunk is not None else ""
    reason = why(item)
    if item.target:
        source = kb.loaded.sources.get(item.source_slug or "")
        file = kb.files_by_slug.get(item.source_slug or "")
        if source and citation.kind == "long_context" and item.status == "resolved":
            chunk = kb.chunks[source.slug][citation.chunk]
            label = f"{short(source.title)} · chunk {citation.chunk}"
            head, body = f"{source.title} · chunk {citation.chunk}", html_line(cut(chunk.text))
        elif source:
            label, head, body = short(source.title), source.title, html_line(cut(source.text))
        else:
            part = file_part(file, item.target)
            label = short(file.name) + (f" · {citation.locator}" if citation.locator else "")
            head = file.name + (f" · {part_label(part)}" if part else "")
            src = None
            if file.kind == "image" and file.slug not in (svg_shown or ()):
                src = image_src(file, link, SVG_PREVIEW_BYTES)
                if src and published_as_text(file.name) and svg_shown is not None:
                    svg_shown.add(file.slug)
            if src:
                body = f'<img class="citekb-thumb" src="{esc(src)}" alt="{esc(file.name)}" loading="lazy">'
            else:
                text = (part or file.parts[0]).text.strip() if file.parts else ""
                body = html_line(cut(text) if text else f"{file.name}（{file.kind}）")
        flagged = item.status != "resolved"
        if flagged:
            label, body = f"⚠ {label}", html_line(f"{STATUS_LABELS[item.status]}：{reason}\n") + body
        mark = ""
        if audit is not None:  # a file citation audited against the file's text (a PDF page, a slide, a sheet)
            cited += f' data-verdict="{audit.verdict}"'
            mark, body = verdict_mark(audit.verdict), facts_html(audit) + body
        return (
            f'<a{ident} class="citekb-cite{" citekb-flagged" if flagged else ""}" data-status="{item.status}" '
            f'data-kind="{kind}"{cited} href="{esc(link(item.target))}">{mark}'
            f'<span class="citekb-cite-label">{html_line(label)}</span>{preview_html(head, body)}</a>'
        )
    if citation.kind == "web" and item.status == "unknown_source":
        url = citation.title or ""
        if re.match(r"^https?://", url):
            return (
                f'<a{ident} class="citekb-cite citekb-unresolved" data-status="{item.status}" data-kind="web" '
                f'href="{esc(url)}" rel="noopener noreferrer nofollow">'
                f'<span class="citekb-cite-label">⚠ {html_line(short(url, 40))}</span>'
                f"{preview_html(STATUS_LABELS[item.status], html_line(reason))}</a>"
            )
    return (
        f'<span{ident} class="citekb-cite citekb-unresolved" data-status="{item.status}" data-kind="{kind}"{cited} tabindex="0">'
        f'<span class="citekb-cite-label">⚠ {html_line(citation.raw)}</span>'
        f"{preview_html(STATUS_LABELS[item.status], html_line(reason))}</span>"
    )


def span_href(href: str, span: tuple[int, int] | None) -> str:
    """A chunk link that also names the span to mark: `?span=START-END` before the `#chunk-N`
    (read by citekb-span.js; the anchor stays the chunk's, so `kb check` validates it)."""
    if span is None:
        return href
    page, _, fragment = href.partition("#")
    return f"{page}?span={span[0]}-{span[1]}" + (f"#{fragment}" if fragment else "")


def span_in_context(text: str, span: tuple[int, int] | None) -> str:
    """A chunk's supporting span marked, with up to SPAN_CONTEXT characters on each side (escaped);
    the chunk's first lines when there is no span."""
    if span is None:
        return html_line(text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else ""))
    start, end = span
    left, right = max(0, start - SPAN_CONTEXT), min(len(text), end + SPAN_CONTEXT)
    return (
        ("…" if left else "")
        + html_line(text[left:start])
        + f"<mark>{html_line(text[start:end])}</mark>"
        + html_line(text[end:right])
        + ("…" if right < len(text) else "")
    )


def audit_reason(audit: Audit, kb: KnowledgeBase) -> str:
    """Why an audit flags a citation, in the reader's words (plain text)."""
    where = ""
    if audit.better:
        slug, number = audit.better
        where = f"「{short(kb.loaded.sources[slug].title)}」chunk {number} "
    return AUDIT_REASONS[audit.status].format(
        support=audit.support, where=where, terms="、".join(audit.better_terms), numbers="、".join(audit.missing)
    )


def audit_marker(audit: Audit, kb: KnowledgeBase, link: Link) -> str:
    """A flagged citation's visible marker: the status, the reason, and the suggested chunk as a link."""
    if audit.status not in FLAGGED:
        return ""
    suggestion = ""
    if audit.better:
        slug, number = audit.better
        href = span_href(link(chunk_path(slug, number)), audit.better_span)
        suggestion = f' <a class="citekb-audit-better" href="{esc(href)}">建议：{html_line(short(kb.loaded.sources[slug].title))} · chunk {number}</a>'
    return (
        f'<span class="citekb-audit" data-audit="{audit.status}" title="{html_line(audit_reason(audit, kb))}">'
        f"⚑ {AUDIT_LABELS[audit.status]}：{html_line(audit_reason(audit, kb))}{suggestion}</span>"
    )


def verdict_mark(verdict: str) -> str:
    """A citation's verdict where the claim is: a shape (✓ ◐ ✗, coloured by the stylesheet) that a
    screen reader skips, and its label, which only a screen reader reads. One flat element, so the
    search snippets and the table of contents leave it out whole."""
    return (
        f'<span class="citekb-verdict"><b aria-hidden="true">{VERDICT_MARKS[verdict]}</b>'
        f"<em>{VERDICT_LABELS[verdict]} </em></span>"  # the space: a pause before the title
    )


def facts_html(audit: Audit) -> str:
    """The verdict in a citation's preview, and which of the claim's key facts the passage states
    and which it lacks (escaped: they are the claim's own words)."""
    lines = [
        f'<b class="citekb-preview-verdict" data-verdict="{audit.verdict}">'
        f"{VERDICT_MARKS[audit.verdict]} {VERDICT_LABELS[audit.verdict]}</b>"
    ]
    for kind, facts in (("held", audit.held), ("missing", audit.missing)):
        if facts:
            lines.append(
                f'<small class="citekb-facts" data-facts="{kind}">{FACTS[kind]}{html_line("、".join(facts))}</small>'
            )
    return "".join(lines)


def audited_citation_html(item: Resolved, audit: Audit, kb: KnowledgeBase, link: Link, anchor: str | None) -> str:
    """A resolved long_context citation with its audit: its verdict's mark before the label; the
    link lands on the supporting span; the preview says the verdict, the facts the passage holds
    and lacks, and shows the span in context under the source title and chunk number."""
    citation = item.citation
    source = kb.loaded.sources[item.source_slug or ""]
    chunk = kb.chunks[source.slug][citation.chunk or 0]
    ident = f' id="{anchor}"' if anchor else ""
    body = facts_html(audit) + span_in_context(chunk.text, audit.span)
    return (
        f'<a{ident} class="citekb-cite" data-status="{item.status}" data-kind="long_context" '
        f'data-title="{html_line(citation.title or "")}" data-chunk="{citation.chunk}" data-audit="{audit.status}" '
        f'data-verdict="{audit.verdict}" data-support="{audit.support:.2f}" '
        f'href="{esc(span_href(link(item.target or ""), audit.span))}">{verdict_mark(audit.verdict)}'
        f'<span class="citekb-cite-label">{html_line(short(source.title))} · chunk {citation.chunk}</span>'
        f"{preview_html(f'{source.title} · chunk {citation.chunk}', body)}</a>" + audit_marker(audit, kb, link)
    )


def report_html(
    text: str,
    items: list[Resolved],
    kb: KnowledgeBase,
    link: Link,
    section: str,
    audits: list[Audit | None] | None = None,
) -> str:
    """Report text rendered (CommonMark) with each citation bracket replaced by its rendered
    citation(s), as one raw HTML block for the page's Markdown (which leaves it alone)."""
    by_span: dict[tuple[int, int], list[Resolved]] = {}
    audit_of = dict(zip(map(id, items), audits or []))
    svg_shown: set[str] = set()
    for item in items:
        by_span.setdefault((item.citation.start, item.citation.end), []).append(item)
    spans = [
        (
            start,
            end,
            "".join(
                citation_html(
                    item, kb, link, citation_anchor(section, n) if not i else None, audit_of.get(id(item)), svg_shown
                )
                for i, item in enumerate(by_span[start, end])
            ),
        )
        for n, (start, end) in enumerate(commonmark.disjoint(by_span))
    ]
    return f'<div class="citekb-report" data-section="{section}">\n{commonmark.render(text, spans, section)}\n</div>'


_HEADING = re.compile(r'<h([2-6]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def outline(page_html: str) -> list[tuple[int, str, str]]:
    """(level, id, text) of every h2–h6 with an id in a rendered page: the report page's table of
    contents, its own headings included (they sit in a raw HTML block the Markdown TOC never sees).
    Citation previews, verdict marks and permalinks are left out of the text."""
    found = []
    for level, anchor, inner in _HEADING.findall(page_html):
        inner = re.sub(
            r'<span class="citekb-(?:preview|verdict)".*?</span>|<a class="headerlink".*?</a>',
            "",
            inner,
            flags=re.DOTALL,
        )
        found.append((int(level), html.unescape(anchor), html.unescape(_TAG.sub("", inner)).strip()))
    return found


def unchanged(report: Report) -> bool:
    """Validation left the text as it was: the original is not shown (or indexed) a second time."""
    return report.original is not None and report.original.strip() == report.final.strip()


CHANGE_LABELS = {"added": "新增", "removed": "删除", "moved": "移动（出现在不同的句子中）"}


def validation_html(cited: CitedReport, link: Link) -> str:
    """What validation changed: the citations (each linked to where it is in both versions) and the
    text, word by word inside the paragraphs it touched."""
    first: dict[str, dict[tuple, str]] = {"final": {}, "original": {}}
    for section, items, anchors in (
        ("final", cited.final, cited.final_anchors),
        ("original", cited.original, cited.original_anchors),
    ):
        for item, anchor in zip(items, anchors):
            if anchor:
                first[section].setdefault(citation_key(item), anchor)

    def places(key: tuple) -> str:
        found = [(label, first[section].get(key)) for section, label in (("final", "最终"), ("original", "原始"))]
        return " ".join(f'<a href="#{anchor}">{label}</a>' for label, anchor in found if anchor)

    rows = "".join(
        f"<tr><td>{CHANGE_LABELS[change]}</td><td>{esc(KIND_LABELS.get(key[0], key[0]))}</td><td>{esc(key[1])}</td>"
        f"<td>{'' if key[2] is None else key[2]}</td><td>{n}</td><td>{places(key)}</td></tr>"
        for change, keys in citation_diff(cited).items()
        for key, n in keys
    )
    report = cited.report
    return (
        f"<p>验证前引用：{counts_html(status_counts(cited.original))}</p>\n\n"
        "### 引用变化 {#citation-diff}\n\n"
        + (
            index_table(("变化", "类型", "来源", "chunk", "次数", "位置"), rows) + "\n"
            if rows
            else "<p>引用没有变化。</p>\n"
        )
        + "\n### 文本差异 {#text-diff}\n\n"
        + text_diff_html(
            without_citations(report.original or "", cited.original), without_citations(report.final, cited.final)
        )
    )


def without_citations(text: str, items: list[Resolved]) -> str:
    """Report text with each citation bracket shown as 〔引用〕: the diff is about the words; the
    citations have their own table."""
    spans = commonmark.disjoint((i.citation.start, i.citation.end) for i in items)
    return commonmark.replace_spans(text, spans, lambda *_: "〔引用〕")


WORD_DIFF_CHARS = 4000  # a changed paragraph longer than this is shown whole, not character by character


def inline_diff_html(before: str, after: str) -> str:
    """One changed paragraph: deleted and inserted characters marked inside the unchanged text."""
    if len(before) + len(after) > WORD_DIFF_CHARS:
        return f'<del class="citekb-diff-del">{esc(before)}</del><ins class="citekb-diff-ins">{esc(after)}</ins>'
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(esc(before[i1:i2]))
            continue
        if i2 > i1:
            out.append(f"<del>{esc(before[i1:i2])}</del>")
        if j2 > j1:
            out.append(f"<ins>{esc(after[j1:j2])}</ins>")
    return "".join(out)


def text_diff_html(before: str, after: str) -> str:
    """Paragraph diff of the report text, escaped: a paragraph that was reworded shows its changed
    words in place; added and removed paragraphs whole; unchanged runs collapsed to a count."""
    a = [line for line in before.splitlines() if line.strip()]
    b = [line for line in after.splitlines() if line.strip()]
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(f'<div class="citekb-diff-same">… {i2 - i1} 段未改动 …</div>')
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        out.extend(
            f'<div class="citekb-diff-changed">{inline_diff_html(a[i1 + k], b[j1 + k])}</div>' for k in range(pairs)
        )
        out.extend(f'<del class="citekb-diff-del">{esc(line)}</del>' for line in a[i1 + pairs : i2])
        out.extend(f'<ins class="citekb-diff-ins">{esc(line)}</ins>' for line in b[j1 + pairs : j2])
    return '<div class="citekb-diff">' + "".join(out) + "</div>"


def status_counts(items: Iterable[Resolved]) -> Counter:
    return Counter(item.status for item in items)


def counts_html(
    counts: Counter, labels: dict[str, str] = STATUS_LABELS, attribute: str = "status", empty: str = "无引用"
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


CHECKS = (*VERDICTS, "unresolved")  # what the report header counts, in this order


def check_of(item: Resolved, audit: Audit | None) -> str | None:
    """What a reader checking a citation needs to know first: its verdict when it was audited,
    `unresolved` when it does not resolve cleanly; None for a resolved citation without an audit."""
    if audit is not None:
        return audit.verdict
    return "unresolved" if item.status != "resolved" else None


def checks_html(cited: CitedReport, audits: list[Audit | None] | None) -> str:
    """The report header's verdict counts, each linked to the first such citation of the final
    report (citekb-evidence.js lands on that very citation and focuses it), and the pair of
    buttons, also `n` / `p`, that go through the citations to check: partial, unsupported,
    unresolved. Without audits only the unresolved ones are counted and gone through."""
    audit_of = audits or [None] * len(cited.final)
    counts: Counter = Counter()
    first: dict[str, str | None] = {}
    for item, audit, anchor in zip(cited.final, audit_of, cited.final_anchors):
        check = check_of(item, audit)
        if check:
            counts[check] += 1
            first.setdefault(check, anchor)
    to_check = counts["partial"] + counts["unsupported"] + counts["unresolved"]
    parts = []
    if any(audit_of):
        shown = []
        for check in CHECKS:
            mark, label = UNRESOLVED if check == "unresolved" else (VERDICT_MARKS[check], VERDICT_LABELS[check])
            text = f'<b aria-hidden="true">{mark}</b> {label} {counts[check]}'
            href = f' href="#{first[check]}"' if counts[check] and first[check] else ""
            tag = "a" if href else "span"
            shown.append(f'<{tag} class="citekb-count" data-verdict="{check}"{href}>{text}</{tag}>')
        parts.append(f'<p class="citekb-lead citekb-checks">{VERDICT_COUNTS}{" · ".join(shown)}</p>\n\n')
    if to_check:
        nav = CHECK_NAV
        parts.append(
            f'<nav class="citekb-check" aria-label="{nav["label"]}" data-position="{nav["position"]}" '
            f'data-announce="{nav["announce"]}" data-wrapped="{nav["wrapped"]}" '
            f'data-wrapped-back="{nav["wrapped_back"]}" data-unresolved="{UNRESOLVED[1]}" hidden>'
            f'<button type="button" data-step="-1" aria-keyshortcuts="p" title="{nav["keys"].format(key="p")}">'
            f'<b aria-hidden="true">↑</b><span class="citekb-check-word"> {nav["previous"]}</span></button>'
            f'<span class="citekb-check-position">{nav["total"].format(total=to_check)}</span>'
            f'<button type="button" data-step="1" aria-keyshortcuts="n" title="{nav["keys"].format(key="n")}">'
            f'<span class="citekb-check-word">{nav["next"]} </span><b aria-hidden="true">↓</b></button>'
            '<span class="citekb-sr" role="status"></span></nav>\n'
        )
    return "".join(parts)


def export_links(cited: CitedReport, link: Link) -> str:
    """The report page's links to its exports, written beside the page by the build (`export.py`),
    each saved under the report's slug; the DOCX, which costs too much to make for every report at
    build time, as the command that makes it."""
    slug = cited.report.slug
    links = " · ".join(
        f'<a href="{esc(link(export_path(slug, format)))}" download="{esc(slug)}.{format}">{EXPORT[format]}</a>'
        for format in EXPORT_FILES
    )
    command = f"kb export {slug} --sources 知识库文件夹 --format docx --out {slug}.docx"
    return f'<p class="citekb-export">{EXPORT["links"]}{links} · {EXPORT["docx"]}<code>{esc(command)}</code></p>\n'


def report_page(kb: KnowledgeBase, cited: CitedReport, link: Link) -> str:
    report = cited.report
    meta = [("任务", report.task or "—"), ("语料", report.corpus or "未指定")]
    meta += [
        (META_LABELS.get(k, k), reason.chinese() if (reason := Reason.read(v)) else v)
        for k, v in sorted(report.meta.items())
        if k != "summary"
    ]
    meta.append(("文件", report.path))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in meta)
    parts = [
        f"# {inline(report.title)}\n",
        f'<p class="citekb-subtitle">{esc(report.subtitle)}</p>\n'
        if report.subtitle and report.subtitle != report.title
        else "",
        f'<table class="citekb-meta">{rows}</table>\n',
        f'<p class="citekb-lead">最终报告引用：{counts_html(status_counts(cited.final))}</p>\n',
        checks_html(cited, kb.audits.get(report.slug)),
        export_links(cited, link),
    ]
    if report.query:
        parts.append(
            f'## 查询 {{#query}}\n\n<blockquote class="citekb-query"><p>{esc(report.query.strip())}</p></blockquote>\n'
        )
    parts.append(
        "## 最终报告 {#final}\n\n"
        + report_html(report.final, cited.final, kb, link, "final", kb.audits.get(report.slug))
        + "\n"
    )
    if report.original is not None and unchanged(report):
        parts.append("## 验证改动 {#validation}\n\n<p>验证没有改动这份报告：原始版本与最终版本相同。</p>\n")
    elif report.original is not None:
        parts.append("## 验证改动 {#validation}\n\n" + validation_html(cited, link) + "\n")
        parts.append(
            "## 原始报告（验证前） {#original}\n\n"
            + report_html(report.original, cited.original, kb, link, "original")
            + "\n"
        )
    if report.meta.get("summary"):
        parts.append(
            '## 运行摘要 {#summary}\n\n<details class="citekb-summary"><summary>流水线输出的摘要（原样）</summary>'
            f'<div class="citekb-text">{esc(report.meta["summary"])}</div></details>\n'
        )
    return "\n".join(parts)


def report_row(cited: CitedReport, link: Link) -> str:
    report: Report = cited.report
    subtitle = f"<small>{esc(report.subtitle)}</small>" if report.subtitle and report.subtitle != report.title else ""
    outcome = (
        '<span class="citekb-failed">运行失败（没有生成报告）</span>'
        if failed(report.final)
        else counts_html(status_counts(cited.final))
    )
    return (
        f'<tr><td><a href="{esc(link(report_path(report.slug)))}">{esc(report.title)}</a>{subtitle}</td>'
        f"<td>{outcome}</td></tr>"
    )


def reports_index(kb: KnowledgeBase, link: Link) -> str:
    """Reports grouped by task (the same query), each with its run and its citations' health."""
    by_task: dict[str, list[CitedReport]] = {}
    for _, cited in sorted(kb.cited.items(), key=lambda item: item[1].report.title):
        by_task.setdefault(cited.report.task or "—", []).append(cited)
    sections = [
        f'<h2 id="task-{esc(task)}">{esc(RUN_TITLE.format(task=task))}（{len(group)} 份）</h2>'
        + index_table(("报告", "引用状态"), (report_row(c, link) for c in group))
        for task, group in sorted(by_task.items())
    ]
    lead = f"{len(kb.cited)} 份研究报告，按任务分组；点击引用即可阅读被引用的原文块。"
    return page_header("报告", lead) + "\n".join(sections)


HEALTH_PLACES = 6  # reports linked per row of the health page; the rest are counted


def audit_counts_html(audits: Iterable[Audit | None]) -> str:
    return counts_html(Counter(a.status for a in audits if a), AUDIT_LABELS, "audit", "—")


def verdict_counts_html(audits: Iterable[Audit | None]) -> str:
    """Audited citations by verdict, each with its shape (for the health page's rows)."""
    counts = Counter(a.verdict for a in audits if a)
    return (
        " · ".join(
            f'<span class="citekb-count" data-verdict="{v}"><b aria-hidden="true">{VERDICT_MARKS[v]}</b> '
            f"{VERDICT_LABELS[v]} {counts[v]}</span>"
            for v in VERDICTS
            if counts[v]
        )
        or "—"
    )


VERDICT_ORDER = {"unsupported": 0, "partial": 1, "supported": 2}  # the claims to check first


def claims_to_check(kb: KnowledgeBase, cited: CitedReport) -> list[tuple[Audit, str | None]]:
    """A report's audited claims a reader should check, with their anchors: unsupported first,
    then partial, then those the audit flags for another reason; lowest support first in each."""
    audits = kb.audits.get(cited.report.slug, [])
    found = [
        (a, anchor)
        for a, anchor in zip(audits, cited.final_anchors)
        if a and (a.verdict != "supported" or a.status in FLAGGED)
    ]
    return sorted(found, key=lambda pair: (VERDICT_ORDER[pair[0].verdict], pair[0].support))


def claims_to_check_html(
    kb: KnowledgeBase, cited: CitedReport, found: list[tuple[Audit, str | None]], link: Link
) -> str:
    """A report's claims to check on the health page (`claims_to_check`), the first CLAIMS_SHOWN:
    each its verdict and support, the claim (linked to its citation), the facts the passage does
    not state, the audit's flag. A list, not a table: a claim is a sentence, and five columns
    leave it a few characters a line on a phone."""
    items = "".join(
        f'<li data-verdict="{a.verdict}"><b class="citekb-claim-verdict"><b aria-hidden="true">'
        f"{VERDICT_MARKS[a.verdict]}</b> {VERDICT_LABELS[a.verdict]}</b> "
        f"<small>{HEALTH_CHECKS['support']} {a.support:.2f}</small> {audit_marker(a, kb, link)}"
        f'<a class="citekb-claim" href="{esc(link(report_path(cited.report.slug, anchor)))}">'
        f"{esc(a.claim or HEALTH_CHECKS['no_claim'])}</a>"
        + (
            f'<small class="citekb-facts" data-facts="missing">{FACTS["missing"]}{html_line("、".join(a.missing))}</small>'
            if a.missing
            else ""
        )
        + "</li>"
        for a, anchor in found[:CLAIMS_SHOWN]
    )
    more = len(found) - CLAIMS_SHOWN
    note = (
        f'<p class="citekb-note"><a href="{esc(link(report_path(cited.report.slug)))}">'
        f"{HEALTH_CHECKS['more'].format(count=more)}</a></p>"
        if more > 0
        else ""
    )
    return f'<ol class="citekb-claims">{items}</ol>{note}'


def health_page(kb: KnowledgeBase, link: Link) -> str:
    """Every citation that did not resolve, grouped by status, one row per distinct cited thing and
    reason (with how often, and links to where it is cited); titles that name nothing anywhere in
    the knowledge base (likely invented by the model; not judged where the report's corpus is
    missing) called out first; a short row per report."""
    total = status_counts(item for c in kb.cited.values() for item in c.final)
    lookup = TitleLookup(kb)
    groups: dict[str, dict[tuple[str, str], list[tuple[CitedReport, str | None]]]] = {}
    invented: dict[str, list[tuple[CitedReport, str | None]]] = {}
    for _, cited in sorted(kb.cited.items()):
        for item, anchor in zip(cited.final, cited.final_anchors):
            if item.status == "resolved":
                continue
            name = item.citation.title or item.citation.file or item.citation.raw
            groups.setdefault(item.status, {}).setdefault((name, why(item)), []).append((cited, anchor))
            if lookup.invented(item):
                invented.setdefault(name, []).append((cited, anchor))

    def places(found: list[tuple[CitedReport, str | None]]) -> str:
        """Each citing report once (its title links to the first place), its other places numbered."""
        by_report: dict[str, list[tuple[CitedReport, str | None]]] = {}
        for cited, anchor in found:
            by_report.setdefault(cited.report.slug, []).append((cited, anchor))
        shown = []
        for slug, spots in list(by_report.items())[:HEALTH_PLACES]:
            title = spots[0][0].report.title
            more = "".join(
                f' <a href="{esc(link(report_path(slug, anchor)))}">{n}</a>'
                for n, (_, anchor) in enumerate(spots[1:], 2)
            )
            shown.append(
                f'<a href="{esc(link(report_path(slug, spots[0][1])))}" title="{esc(title)}">{esc(short(title, 24))}</a>{more}'
            )
        rest = len(by_report) - HEALTH_PLACES
        return "、".join(shown) + (f"…另 {rest} 份报告" if rest > 0 else "")

    parts = [page_header("引用健康度", f"所有报告的最终版本共 {sum(total.values())} 处引用：{counts_html(total)}")]
    audited = any(kb.audits.values())
    to_check = [(c, found) for _, c in sorted(kb.cited.items()) if (found := claims_to_check(kb, c))]
    if audited:
        every_audit = [a for audits in kb.audits.values() for a in audits]
        jump = f' · <a href="#weakest">{HEALTH_CHECKS["heading"]}</a>' if to_check else ""
        parts.append(f'<p class="citekb-lead">{VERDICT_COUNTS}{verdict_counts_html(every_audit)}{jump}</p>')
    if not groups:
        parts.append("<p>所有引用均已解析。</p>")
    if invented:
        rows = [
            f"<tr><td>{esc(name)}</td><td>{len(found)}</td><td>{places(found)}</td></tr>"
            for name, found in sorted(invented.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        parts += [
            '<h2 id="invented">疑似编造的标题</h2>',
            f"<p>{len(invented)} 个语料标题在整个知识库中找不到任何来源或任务文件，多半是模型编造的。</p>",
            index_table(("引用的标题", "次数", "出现位置"), rows),
        ]
    for status in (s for s in STATUS_LABELS if s in groups):
        distinct = groups[status]
        count = sum(len(found) for found in distinct.values())
        rows = [
            f'<tr><td data-status="{status}"><code>{esc(name)}</code></td><td>{esc(reason)}</td>'
            f"<td>{len(found)}</td><td>{places(found)}</td></tr>"
            for (name, reason), found in sorted(distinct.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        parts += [
            f'<h2 id="status-{status}">{STATUS_LABELS[status]}（{count} 处，{len(distinct)} 种）</h2>',
            index_table(("引用的来源 / 文件", "原因", "次数", "出现位置"), rows),
        ]
    rows = [
        f'<tr><td><a href="{esc(link(report_path(slug)))}">{esc(c.report.title)}</a></td>'
        f"<td>{counts_html(status_counts(c.final))}</td>"
        + (
            f"<td>{verdict_counts_html(kb.audits.get(slug, []))}</td><td>{audit_counts_html(kb.audits.get(slug, []))}</td>"
            if audited
            else ""
        )
        + "</tr>"
        for slug, c in sorted(kb.cited.items())
    ]
    parts += [
        '<h2 id="reports">各报告</h2>',
        index_table(("报告", "引用状态", HEALTH_CHECKS["column"], "证据审计")[: 4 if audited else 2], rows),
    ]
    if to_check:

        def weight(found: list[tuple[Audit, str | None]]) -> tuple[int, int]:
            verdicts = Counter(a.verdict for a, _ in found)
            return -verdicts["unsupported"], -verdicts["partial"]

        to_check.sort(key=lambda pair: weight(pair[1]))  # stable: by slug within the same weight
        parts += [
            f'<h2 id="weakest">{HEALTH_CHECKS["heading"]}</h2>',
            f'<p class="citekb-note">{HEALTH_CHECKS["lead"]}</p>',
        ]
        parts += [
            f'<h3><a href="{esc(link(report_path(c.report.slug)))}">{esc(c.report.title)}</a></h3>'
            f"<p>{verdict_counts_html(kb.audits.get(c.report.slug, []))}</p>{claims_to_check_html(kb, c, found, link)}"
            for c, found in to_check
        ]
    return "\n".join(parts)
