"""Stage 5: pages as HTML/Markdown strings (no MkDocs here; `link` turns site paths into URLs).

All scraped and report text is escaped here: it is never interpreted as HTML, Markdown or Jinja.
Source pages are plain HTML (no Markdown pass: faster, and nothing to misinterpret); report pages
are Markdown because reports use tables and emphasis, with raw HTML made inert first.
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable

from . import commonmark
from .chunk import content_offset
from .clean import segments
from .ingest import origin_file
from .knowledge_base import Backlink, CitedReport, KnowledgeBase
from .messages import FILE_NOTES, KIND_LABELS, META_LABELS, OPEN, PART_LABELS, PERMALINK, RULE_LABELS, RUN_TITLE, STATUS_LABELS
from .models import Chunk, FilePart, FileSource, Removal, Report, Resolved, Source
from .paths import chunk_anchor, citation_anchor, file_download_path, part_anchor, report_path, source_path
from .stats import failed
from .validation import citation_diff

Link = Callable[[str], str]

PREVIEW_CHARS = 600
MAX_COLUMNS = 50  # of a sheet shown on a file page (the covid CSVs have over a thousand)
SHORT_TITLE = 18
# Characters Markdown would act on inside inline HTML; entities keep them literal.
_MARKDOWN_ACTIVE = str.maketrans({
    "*": "&#42;", "_": "&#95;", "`": "&#96;", "[": "&#91;", "]": "&#93;", "\\": "&#92;",
    "|": "&#124;", "\n": "&#10;", "{": "&#123;", "}": "&#125;", "~": "&#126;",
})  # no "#": html.escape's own entities contain it, and with "\n" gone it cannot start a heading


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def html_line(text: str) -> str:
    """Escaped text on one line, for the rendered report HTML (which Markdown never reads again)."""
    return esc(text).replace("\n", "&#10;")


def inline(text: str) -> str:
    """Escaped text that stays literal even inside a Markdown paragraph or table cell."""
    return esc(text).translate(_MARKDOWN_ACTIVE)


def short(text: str, limit: int = SHORT_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_header(title: str, lead: str = "") -> str:
    return f'<h1 id="title">{esc(title)}</h1>\n' + (f'<p class="citekb-lead">{lead}</p>\n' if lead else "")


# ---------------------------------------------------------------- source pages


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
        for piece, rule in segments(text, piece_start, piece_end, removals):
            body = esc(piece)
            if rule:
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
        if hidden else "",
        backlinks_html(kb.backlinks.get((source.slug, None), []), link),
        '<nav class="citekb-chunk-nav">' + " ".join(
            f'<a href="#{chunk_anchor(c.index)}">{c.index}</a>' for c in chunks) + "</nav>",
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
        page_header(file.name, f'任务文件 · {esc(file.kind)} · <a href="{href}" download="{esc(file.name)}">下载原文件</a>'),
        backlinks_html(kb.backlinks.get((file.slug, None), []), link),
    ]
    if file.kind == "image":
        parts.append(f'<p><img class="citekb-image" src="{href}" alt="{esc(file.name)}"></p>')
    elif file.kind == "video":
        parts.append(f'<p><video controls src="{href}"></video></p>')
    elif not file.parts:
        parts.append(f'<p class="citekb-note">{FILE_NOTES["no_text"]}</p>')
    if len(file.parts) > 1:
        parts.append('<nav class="citekb-chunk-nav">' + " ".join(
            f'<a href="#{esc(part_anchor(p))}">{esc(p.name or str(p.number))}</a>' for p in file.parts) + "</nav>")
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
        f'<table class="citekb-index"><thead><tr><th>标题</th><th>块数</th><th>出处</th></tr></thead><tbody>{rows}</tbody></table>',
    ]
    if files:
        parts.append(f'<h2 id="files">任务文件</h2><table class="citekb-index"><thead><tr><th>文件</th><th>类型</th>'
                     f"<th>位置</th></tr></thead><tbody>{files}</tbody></table>")
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
    return (f'<span class="citekb-preview" role="tooltip"><strong class="citekb-preview-head" data-open="{OPEN}">'
            f"{html_line(head)}</strong>{body}</span>")


def cut(text: str) -> str:
    """The start of a preview's text."""
    return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")


def file_part(file: FileSource, target: str) -> FilePart | None:
    """The page, slide or sheet a citation's target lands on (None: the whole file)."""
    fragment = target.partition("#")[2]
    return next((p for p in file.parts if part_anchor(p) == fragment), None)


def citation_html(item: Resolved, kb: KnowledgeBase, link: Link, anchor: str | None = None) -> str:
    """One citation as an inline element: a link with a preview (header, cited text or thumbnail),
    or a marked failure whose preview says why (its only tooltip: no `title` beside it).

    A linked citation that is not cleanly resolved (a task file cited as a corpus document, a page
    that does not exist) is a link with a ⚠ and its reason, never a silent one."""
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
            if file.kind == "image":
                body = f'<img class="citekb-thumb" src="{esc(link(file_url(file)))}" alt="{esc(file.name)}" loading="lazy">'
            else:
                text = (part or file.parts[0]).text.strip() if file.parts else ""
                body = html_line(cut(text) if text else f"{file.name}（{file.kind}）")
        flagged = item.status != "resolved"
        if flagged:
            label, body = f"⚠ {label}", html_line(f"{STATUS_LABELS[item.status]}：{reason}\n") + body
        return (
            f'<a{ident} class="citekb-cite{" citekb-flagged" if flagged else ""}" data-status="{item.status}" '
            f'data-kind="{kind}"{cited} href="{esc(link(item.target))}">'
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


def report_html(text: str, items: list[Resolved], kb: KnowledgeBase, link: Link, section: str) -> str:
    """Report text rendered (CommonMark) with each citation bracket replaced by its rendered
    citation(s), as one raw HTML block for the page's Markdown (which leaves it alone)."""
    by_span: dict[tuple[int, int], list[Resolved]] = {}
    for item in items:
        by_span.setdefault((item.citation.start, item.citation.end), []).append(item)
    spans = [(start, end, "".join(citation_html(item, kb, link, citation_anchor(section, n) if not i else None)
                                  for i, item in enumerate(by_span[start, end])))
             for n, (start, end) in enumerate(commonmark.disjoint(by_span))]
    return f'<div class="citekb-report">\n{commonmark.render(text, spans, section)}\n</div>'


_HEADING = re.compile(r'<h([2-6]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def outline(page_html: str) -> list[tuple[int, str, str]]:
    """(level, id, text) of every h2–h6 with an id in a rendered page: the report page's table of
    contents, its own headings included (they sit in a raw HTML block the Markdown TOC never sees).
    Citation previews and permalinks are left out of the text."""
    found = []
    for level, anchor, inner in _HEADING.findall(page_html):
        inner = re.sub(r'<span class="citekb-preview".*?</span>|<a class="headerlink".*?</a>', "", inner, flags=re.DOTALL)
        found.append((int(level), html.unescape(anchor), html.unescape(_TAG.sub("", inner)).strip()))
    return found


def text_diff_html(before: str, after: str) -> str:
    """Line diff of the report text, escaped; unchanged runs collapsed to a count."""
    a, b = before.splitlines(), after.splitlines()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(f'<div class="citekb-diff-same">… {i2 - i1} 行未改动 …</div>')
            continue
        out.extend(f'<del class="citekb-diff-del">{esc(line) or "&nbsp;"}</del>' for line in a[i1:i2])
        out.extend(f'<ins class="citekb-diff-ins">{esc(line) or "&nbsp;"}</ins>' for line in b[j1:j2])
    return '<div class="citekb-diff">' + "".join(out) + "</div>"


def status_counts(items: Iterable[Resolved]) -> Counter:
    return Counter(item.status for item in items)


def counts_html(counts: Counter) -> str:
    return " · ".join(
        f'<span class="citekb-count" data-status="{s}">{STATUS_LABELS[s]} {counts[s]}</span>'
        for s in STATUS_LABELS if counts[s]
    ) or "无引用"


def report_page(kb: KnowledgeBase, cited: CitedReport, link: Link) -> str:
    report = cited.report
    meta = [("任务", report.task or "—"), ("语料", report.corpus or "未指定")]
    meta += [(META_LABELS.get(k, k), v) for k, v in sorted(report.meta.items()) if k != "summary"]
    meta.append(("文件", report.path))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in meta)
    parts = [
        f"# {inline(report.title)}\n",
        f'<p class="citekb-subtitle">{esc(report.subtitle)}</p>\n' if report.subtitle and report.subtitle != report.title else "",
        f'<table class="citekb-meta">{rows}</table>\n',
        f'<p class="citekb-lead">最终报告引用：{counts_html(status_counts(cited.final))}</p>\n',
    ]
    if report.query:
        parts.append(f'## 查询 {{#query}}\n\n<blockquote class="citekb-query"><p>{esc(report.query.strip())}</p></blockquote>\n')
    parts.append("## 最终报告 {#final}\n\n" + report_html(report.final, cited.final, kb, link, "final") + "\n")
    if report.original is not None:
        diff = citation_diff(cited)
        labels = {"added": "新增", "removed": "删除", "moved": "移动（出现在不同句子中）"}
        rows = "".join(
            f"<tr><td>{labels[change]}</td><td>{esc(KIND_LABELS.get(key[0], key[0]))}</td><td>{esc(key[1])}</td>"
            f"<td>{'' if key[2] is None else key[2]}</td><td>{n}</td></tr>"
            for change, keys in diff.items() for key, n in keys
        )
        parts.append(
            "## 验证改动 {#validation}\n\n"
            f'<p>验证前引用：{counts_html(status_counts(cited.original))}</p>\n\n'
            "### 引用变化 {#citation-diff}\n\n"
            + (f'<table class="citekb-index"><thead><tr><th>变化</th><th>类型</th><th>来源</th><th>chunk</th>'
               f"<th>次数</th></tr></thead><tbody>{rows}</tbody></table>\n" if rows else "<p>引用没有变化。</p>\n")
            + "\n### 文本差异 {#text-diff}\n\n" + text_diff_html(report.original, report.final) + "\n"
        )
        parts.append(
            "## 原始报告（验证前） {#original}\n\n" + report_html(report.original, cited.original, kb, link, "original") + "\n"
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
    outcome = '<span class="citekb-failed">运行失败（没有生成报告）</span>' if failed(report.final) else counts_html(status_counts(cited.final))
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
        '<table class="citekb-index"><thead><tr><th>报告</th><th>引用状态</th></tr></thead>'
        f"<tbody>{''.join(report_row(c, link) for c in group)}</tbody></table>"
        for task, group in sorted(by_task.items())
    ]
    lead = f"{len(kb.cited)} 份研究报告，按任务分组；点击引用即可阅读被引用的原文块。"
    return page_header("报告", lead) + "\n".join(sections)


def health_page(kb: KnowledgeBase, link: Link) -> str:
    total = status_counts(item for c in kb.cited.values() for item in c.final)
    missing: Counter = Counter()
    sections: list[str] = []
    for slug, cited in sorted(kb.cited.items()):
        bad = [(item, anchor) for item, anchor in zip(cited.final, cited.final_anchors) if item.status != "resolved"]
        for item, _ in bad:
            missing[(item.status, item.citation.title or item.citation.file or item.citation.raw)] += 1
        rows = "".join(
            f'<tr><td data-status="{i.status}">{STATUS_LABELS[i.status]}</td>'
            f'<td><a href="{esc(link(report_path(slug, anchor)))}"><code>{esc(i.citation.raw)}</code></a></td>'
            f"<td>{esc(why(i))}</td></tr>"
            for i, anchor in bad
        )
        sections.append(
            f'<h2 id="report-{esc(slug)}"><a href="{esc(link(report_path(slug)))}">{esc(cited.report.title)}</a></h2>'
            f"<p>{counts_html(status_counts(cited.final))}</p>"
            + (f'<table class="citekb-index"><thead><tr><th>状态</th><th>原文</th><th>原因</th></tr></thead><tbody>{rows}</tbody></table>' if rows else "")
        )
    todo = "".join(
        f"<tr><td>{STATUS_LABELS[status]}</td><td>{esc(name)}</td><td>{n}</td></tr>"
        for (status, name), n in sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return "\n".join([
        page_header("引用健康度", f"所有报告的最终版本共 {sum(total.values())} 处引用：{counts_html(total)}"),
        '<h2 id="to-add">仍需补充的来源</h2>',
        f'<table class="citekb-index"><thead><tr><th>状态</th><th>来源 / 文件</th><th>引用次数</th></tr></thead><tbody>{todo}</tbody></table>'
        if todo else "<p>所有引用均已解析。</p>",
        *sections,
    ])
