"""A scraped source's page (its chunks, exactly as the retriever cut them) and the sources index."""

from __future__ import annotations

import re

from ..chunk import content_offset
from ..clean import segments
from ..corpus_json import origin_file
from ..knowledge_base import Backlink, KnowledgeBase
from ..messages import (
    CHUNK,
    CHUNK_META,
    FILE_KIND_LABELS,
    FILTER,
    KIND_LABELS,
    META_LABELS,
    OVERLAP,
    PERMALINK,
    RULE_LABELS,
    SOURCE_BACKLINKS,
    SOURCE_PAGE,
    shown_title,
)
from ..models import Chunk, Removal, Source
from ..paths import (
    chunk_anchor,
    report_path,
    source_path,
)
from ..simplified import pairs
from .markup import Link, esc, index_table, page_header

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
    """The chunk's exact text; overlap with its neighbours marked, boilerplate collapsed. A chunk
    that is not a window of the text (an empty document's "[Empty Document]") as it is."""
    start = content_offset(text, chunk)
    end = start + len(chunk.text)
    if text[start:end] != chunk.text:
        return esc(chunk.text)
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
                    f'<details class="citekb-boilerplate" data-rule="{rule}"><summary>'
                    f"{SOURCE_PAGE['hidden'].format(rule=RULE_LABELS.get(rule, rule), count=len(piece))}</summary>"
                    f"{body}</details>"
                )
            if piece_end <= overlap_until:
                body = f'<span class="citekb-overlap" title="{OVERLAP.format(number=previous.index)}">{body}</span>'
            elif piece_start >= overlap_from:
                body = f'<span class="citekb-overlap" title="{OVERLAP.format(number=following.index)}">{body}</span>'
            out.append(body)
    return "".join(out)


def backlink_items(links: list[Backlink], link: Link) -> str:
    return "".join(
        f'<li><a href="{esc(link(report_path(b.report_slug, b.anchor)))}">{esc(b.report_title)}</a>：'
        f"<q>{esc(b.sentence)}</q></li>"
        for b in links
    )


def backlinks_html(links: list[Backlink], link: Link) -> str:
    if not links:
        return ""
    heading = SOURCE_BACKLINKS["heading"].format(count=len(links))  # citations: a report may cite it twice
    return f'<aside class="citekb-backlinks"><p>{heading}</p><ul>{backlink_items(links, link)}</ul></aside>'


def web_link(value: str) -> str:
    """A field value as HTML: an http(s) address becomes a link to it, anything else stays text."""
    if re.match(r"https?://[^\s\"'<>]+$", value.strip(), re.IGNORECASE):
        return f'<a href="{esc(value.strip())}" rel="noopener noreferrer">{esc(value)}</a>'
    return esc(value)


def chunk_nav_link(kb: KnowledgeBase, slug: str, index: int) -> str:
    """A chunk's number in the bar above a source; the cited ones stand out, with how often."""
    cited = len(kb.backlinks.get((slug, index), []))
    mark = f' class="citekb-cited" title="{SOURCE_BACKLINKS["cited"].format(count=cited)}"' if cited else ""
    return f'<a href="#{chunk_anchor(index)}"{mark}>{index}</a>'


def source_page(kb: KnowledgeBase, source: Source, link: Link) -> str:
    chunks = kb.chunks[source.slug]
    removals = kb.removals[source.slug]
    text = source.text
    meta = [(SOURCE_PAGE["chunks"], esc(str(len(chunks)))), (SOURCE_PAGE["characters"], esc(str(len(text))))]
    meta += [
        (META_LABELS.get(key, key), esc(KIND_LABELS.get(value, value)) if key == "kind" else web_link(value))
        for key, value in sorted(source.meta.items())
    ]
    meta.append((SOURCE_PAGE["origins"], esc("、".join(source.origins))))
    hidden = sum(r.end - r.start for r in removals)
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in meta)
    parts = [
        page_header(shown_title(source.title)),
        f'<table class="citekb-meta">{rows}</table>',
        f'<p class="citekb-note">{SOURCE_PAGE["hidden_note"].format(count=hidden)}</p>' if hidden else "",
        backlinks_html(kb.backlinks.get((source.slug, None), []), link),
        '<nav class="citekb-chunk-nav">'
        + " ".join(chunk_nav_link(kb, source.slug, c.index) for c in chunks)
        + "</nav>",
    ]
    for i, chunk in enumerate(chunks):
        neighbours = (chunks[i - 1] if i else None, chunks[i + 1] if i + 1 < len(chunks) else None)
        parts.append(
            f'<section class="citekb-chunk" id="{chunk_anchor(chunk.index)}" data-chunk-id="{chunk.id}">'
            f'<h2 class="citekb-chunk-heading">{CHUNK.format(number=chunk.index)}'
            f'<a class="headerlink" href="#{chunk_anchor(chunk.index)}" title="{PERMALINK}">¶</a></h2>'
            f'<p class="citekb-chunk-meta">{CHUNK_META.format(start=chunk.start, end=chunk.end)}<code>{chunk.id}</code></p>'
            f'<div class="citekb-text">{chunk_html(text, chunk, neighbours, removals)}</div>'
            f"{backlinks_html(kb.backlinks.get((source.slug, chunk.index), []), link)}</section>"
        )
    return "\n".join(p for p in parts if p)


FILTERED = "citekb-index citekb-filtered"  # the tables the filter box goes through


def filter_html() -> str:
    """The box that filters the index as one types (citekb-filter.js: the rows holding every word
    typed, in titles and origins, Traditional characters read as Simplified by the table it
    carries, as the search reads them). Hidden until the script shows it: without scripts the index
    is whole and no box promises what nothing does."""
    traditional, plain = pairs()
    return (
        f'<p class="citekb-filter" hidden data-traditional="{traditional}" data-simplified="{plain}">'
        f'<label>{FILTER["label"]}<input type="search" placeholder="{FILTER["placeholder"]}" autocomplete="off" '
        f'data-shown="{FILTER["shown"]}"></label> <span class="citekb-filter-count" role="status"></span></p>'
    )


def sources_index(kb: KnowledgeBase, link: Link) -> str:
    rows = "".join(
        f'<tr><td><a href="{esc(link(source_path(s.slug)))}">{esc(shown_title(s.title))}</a></td>'
        f"<td>{len(kb.chunks[s.slug])}</td><td>{esc('、'.join(origin_file(o) for o in s.origins))}</td></tr>"
        for s in sorted(kb.loaded.sources.values(), key=lambda s: (s.title, s.slug))
    )
    files = "".join(
        f'<tr><td><a href="{esc(link(source_path(f.slug)))}">{esc(f.name)}</a></td><td>{FILE_KIND_LABELS[f.kind]}</td>'
        f"<td>{esc(f.path)}</td></tr>"
        for f in sorted(kb.loaded.files.values(), key=lambda f: f.path)
    )
    parts = [
        page_header(
            SOURCE_PAGE["list_title"],
            SOURCE_PAGE["list_lead"].format(sources=len(kb.loaded.sources), files=len(kb.loaded.files)),
        ),
        filter_html(),
        index_table(SOURCE_PAGE["list_heads"], rows, FILTERED),
    ]
    if files:
        heading = f'<h2 id="files">{SOURCE_PAGE["files_heading"]}</h2>'
        parts.append(heading + index_table(SOURCE_PAGE["files_heads"], files, FILTERED))
    return "\n".join(parts)
