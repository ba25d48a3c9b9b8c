"""A report's citations as inline links with previews, verdict marks and audit flags."""

from __future__ import annotations

import html
import re

from .. import commonmark
from ..clean import removed_within
from ..knowledge_base import KnowledgeBase
from ..messages import (
    AUDIT_LABELS,
    AUDIT_REASONS,
    CHUNK,
    CITATION_PREFIXES,
    FACTS,
    FILE_KIND_LABELS,
    OPEN,
    STATUS_LABELS,
    SUGGESTION,
    VERDICT_LABELS,
    VERDICT_MARKS,
    shown_title,
)
from ..models import FLAGGED, Audit, Chunk, Citation, Resolved
from ..paths import (
    chunk_path,
    citation_anchor,
    file_part,
    part_anchor,
    published_as_text,
    source_path,
)
from .files import image_src, part_label
from .markup import Link, esc, html_line, short

PREVIEW_CHARS = 600


SPAN_CONTEXT = 120  # characters of the chunk shown on each side of the supporting span in a preview


SVG_PREVIEW_BYTES = 16 * 1024  # in a citation's preview: each preview is part of the report page


def why(item: Resolved) -> str:
    """The reason a reader sees (Chinese), with the suggestion when there is one."""
    reason = item.reason.chinese(isolated=True) if item.reason else ""
    return reason + (f"（{item.suggestion.chinese(isolated=True)}）" if item.suggestion else "")


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


def citation_html(
    item: Resolved,
    kb: KnowledgeBase,
    link: Link,
    anchor: str | None = None,
    audit: Audit | None = None,
    svg_shown: set[str] | None = None,
    shared: bool = False,
) -> str:
    """One citation as an inline element: a link with a preview (header, cited text or thumbnail),
    or a marked failure whose preview says why (its only tooltip: no `title` beside it), showing
    the bracket as written, or its own item where the bracket holds several (`shared`).

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
        target, part = item.target, None
        source = kb.loaded.sources.get(item.source_slug or "")
        file = kb.files_by_slug.get(item.source_slug or "")
        title = shown_title(source.title) if source else ""
        if source and citation.kind == "long_context" and item.status == "resolved":
            chunk = kb.chunks[source.slug][citation.chunk]
            label = f"{short(title)} · {CHUNK.format(number=citation.chunk)}"
            head = f"{title} · {CHUNK.format(number=citation.chunk)}"
            body = html_line(cut(kept_text(chunk.text, hidden_in_chunk(kb, source.slug, chunk))))
        elif source:
            # its head, not its whole text made for each citation of it
            label, head, body = short(title), title, html_line(cut(source.window(0, PREVIEW_CHARS + 1)))
        else:
            part = file_part(file, item.target)  # named as its page shows it (第 2 页), else as written
            if part is None and audit is not None and audit.part is not None:  # the whole file: the page checked
                part = file.numbered(audit.part)
                target = source_path(file.slug, part_anchor(part)) if part else target
            label = short(file.name) + (
                f" · {part_label(part) if part else citation.locator}" if citation.locator else ""
            )
            head = file.name + (f" · {part_label(part)}" if part else "")
            src = None
            if file.kind == "image" and file.slug not in (svg_shown or ()):
                src = image_src(file, link, SVG_PREVIEW_BYTES)
                if src and published_as_text(file.name) and svg_shown is not None:
                    svg_shown.add(file.slug)
            if src:
                body = f'<img class="citekb-thumb" src="{esc(src)}" alt="{esc(file.name)}" loading="lazy">'
            elif part and audit is not None and audit.span:
                body = span_in_context(part.text, audit.span)
            else:
                text = (part or file.parts[0]).text.strip() if file.parts else ""
                body = html_line(cut(text) if text else f"{file.name}（{FILE_KIND_LABELS[file.kind]}）")
        flagged = item.status != "resolved"
        if flagged:
            label, body = f"⚠ {label}", html_line(f"{STATUS_LABELS[item.status]}：{reason}\n") + body
        elif reason:  # linked as written, with a note (a place that could not be checked)
            body = html_line(f"{reason}\n") + body
        mark = flag = ""
        href = link(target)
        if audit is not None:  # a file citation audited against the file's text (a PDF page, a slide, a sheet)
            cited += f' data-audit="{audit.status}" data-verdict="{audit.verdict}"'
            mark, body = verdict_mark(audit.verdict), facts_html(audit) + flag_line(audit, kb) + body
            flag = audit_marker(audit, kb, link)
            if part and not part.rows:  # a page shown as its text: the span is marked there (a sheet is a table)
                href = span_href(href, audit.span)
        return (
            f'<a{ident} class="citekb-cite{" citekb-flagged" if flagged else ""}" data-status="{item.status}" '
            f'data-kind="{kind}"{cited} href="{esc(href)}">{mark}'
            f'<span class="citekb-cite-label">{html_line(label)}</span>{preview_html(head, body)}</a>{flag}'
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
        f'<span class="citekb-cite-label">⚠ {html_line(own_item(citation) if shared else citation.raw)}</span>'
        f"{preview_html(STATUS_LABELS[item.status], html_line(reason))}</span>"
    )


def own_item(citation: Citation) -> str:
    """One item of a bracket of several, as the bracket would hold it alone (`[文档: a.pdf]` of
    `[文档: a.pdf; 文档: b.pdf]`); the whole bracket where the item could not be read."""
    if citation.error or citation.kind not in CITATION_PREFIXES:
        return citation.raw
    if citation.kind == "long_context":
        named = f'"{citation.title}"' + (f", chunk {citation.chunk}" if citation.chunk is not None else "")
    else:
        named = citation.file or citation.title or ""
    locator = f", {citation.locator}" if citation.locator and citation.kind != "web" else ""
    return f"[{CITATION_PREFIXES[citation.kind]}: {named}{locator}]"


def span_href(href: str, span: tuple[int, int] | None) -> str:
    """A chunk link that also names the span to mark: `?span=START-END` before the `#chunk-N`
    (read by citekb-span.js; the anchor stays the chunk's, so `kb check` validates it)."""
    if span is None:
        return href
    page, _, fragment = href.partition("#")
    return f"{page}?span={span[0]}-{span[1]}" + (f"#{fragment}" if fragment else "")


Hidden = list[tuple[int, int]]  # a chunk's boilerplate, as (start, end) offsets in its text


def hidden_in_chunk(kb: KnowledgeBase, slug: str, chunk: Chunk) -> Hidden:
    """Where a chunk holds boilerplate its page folds away (breadcrumbs, a repeated title: the
    source's `removals`), as offsets in its text (its window stripped, as `chunk.content_offset`
    reads it); none for a chunk that is no window of its text (an empty document's, as
    `sources.chunk_html` shows it). Read from the chunk's window alone (`Source.window`)."""
    window = kb.loaded.sources[slug].window(chunk.start, chunk.end)
    lead = len(window) - len(window.lstrip())
    if window[lead : lead + len(chunk.text)] != chunk.text:
        return []
    base = chunk.start + lead
    found = removed_within(base, base + len(chunk.text), kb.removals.get(slug, []))
    return [(start - base, end - base) for start, end, _ in found]


def kept_text(text: str, hidden: Hidden) -> str:
    """A chunk's text without its boilerplate (`hidden_in_chunk`): what a preview starts with."""
    kept, at = [], 0
    for start, end in hidden:
        kept.append(text[at:start])
        at = end
    return ("".join(kept) + text[at:]).strip()


def span_in_context(text: str, span: tuple[int, int] | None, hidden: Hidden | None = None) -> str:
    """A chunk's supporting span marked, with up to SPAN_CONTEXT characters on each side (escaped),
    none of them from the boilerplate its page folds away (`hidden`: the context stops where it
    starts); the chunk's first lines, without it, when there is no span."""
    hidden = hidden or []
    if span is None:
        return html_line(cut(kept_text(text, hidden)))
    start, end = span
    left = max(0, start - SPAN_CONTEXT, *(stop for begin, stop in hidden if stop <= start))
    right = min(len(text), end + SPAN_CONTEXT, *(begin for begin, stop in hidden if begin >= end))
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
        where = f"「{short(kb.loaded.sources[slug].title)}」{CHUNK.format(number=number)} "
    numbers = [fact for fact in audit.missing if _NUMBER.fullmatch(fact)] or audit.missing  # not its words
    return AUDIT_REASONS[audit.status].format(
        support=audit.support, where=where, terms="、".join(audit.better_terms), numbers="、".join(numbers)
    )


def audit_marker(audit: Audit, kb: KnowledgeBase, link: Link) -> str:
    """A flagged citation's visible marker: the status, the reason, and the suggested chunk as a link.
    None for a weak one already marked ✗ with nothing to suggest: the mark says it, and a paragraph of
    such flags was hard to read (its preview keeps the reason, `flag_line`)."""
    if audit.status not in FLAGGED or (audit.status == "weak" and audit.verdict == "unsupported" and not audit.better):
        return ""
    suggestion = ""
    if audit.better:
        slug, number = audit.better
        href = span_href(link(chunk_path(slug, number)), audit.better_span)
        words = SUGGESTION.format(
            title=short(shown_title(kb.loaded.sources[slug].title)), chunk=CHUNK.format(number=number)
        )
        suggestion = f' <a class="citekb-audit-better" href="{esc(href)}">{html_line(words)}</a>'
    reason = html_line(audit_reason(audit, kb))
    return (
        f'<span class="citekb-audit" data-audit="{audit.status}" title="{reason}">'
        f'<span class="citekb-audit-label">{flag_label(audit)}</span>{reason}{suggestion}</span>'
    )


def flag_label(audit: Audit) -> str:
    """What a flag says first: ⚑ and the status's label."""
    return f"⚑ {AUDIT_LABELS[audit.status]}："


def flag_line(audit: Audit, kb: KnowledgeBase) -> str:
    """A flagged citation's reason again inside its preview: the preview opens over the flag beside
    the citation (a step with n / p opens it)."""
    if audit.status not in FLAGGED:
        return ""
    return f'<small class="citekb-facts" data-facts="flag">{html_line(flag_label(audit) + audit_reason(audit, kb))}</small>'


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
    and which it lacks (escaped: they are the claim's own words); beside ✓, those it lacks are
    said to be not there word for word (the passage states the key facts, perhaps in other words:
    "missing" beside ✓ read as a contradiction)."""
    lines = [
        f'<b class="citekb-preview-verdict" data-verdict="{audit.verdict}">'
        f"{VERDICT_MARKS[audit.verdict]} {VERDICT_LABELS[audit.verdict]}</b>"
    ]
    for kind, facts in (("held", audit.held), ("missing", audit.missing)):
        if facts:
            label = FACTS["unworded" if kind == "missing" and audit.verdict == "supported" else kind]
            lines.append(
                f'<small class="citekb-facts" data-facts="{kind}">{label}{html_line("、".join(facts))}</small>'
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
    shown = span_in_context(chunk.text, audit.span, hidden_in_chunk(kb, source.slug, chunk))
    body = facts_html(audit) + flag_line(audit, kb) + shown
    number, title = CHUNK.format(number=citation.chunk), shown_title(source.title)
    return (
        f'<a{ident} class="citekb-cite" data-status="{item.status}" data-kind="long_context" '
        f'data-title="{html_line(citation.title or "")}" data-chunk="{citation.chunk}" data-audit="{audit.status}" '
        f'data-verdict="{audit.verdict}" data-support="{audit.support:.2f}" '
        f'href="{esc(span_href(link(item.target or ""), audit.span))}">{verdict_mark(audit.verdict)}'
        f'<span class="citekb-cite-label">{html_line(short(title))} · {number}</span>'
        f"{preview_html(f'{title} · {number}', body)}</a>" + audit_marker(audit, kb, link)
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
                    item,
                    kb,
                    link,
                    citation_anchor(section, n) if not i else None,
                    audit_of.get(id(item)),
                    svg_shown,
                    shared=len(by_span[start, end]) > 1,
                )
                for i, item in enumerate(by_span[start, end])
            ),
        )
        for n, (start, end) in enumerate(commonmark.disjoint(by_span))
    ]
    return f'<div class="citekb-report" data-section="{section}">\n{commonmark.render(text, spans, section)}\n</div>'


_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a missing fact that is a number, as the audit writes one (numbers_of)
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
