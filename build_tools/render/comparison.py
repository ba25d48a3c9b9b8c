"""The configuration comparison page (stats/): which model, context size or bench folder cites
honestly. HTML only; every figure comes from `stats.stats`, and each links to the citations
behind it, listed further down the same page. The chart is static SVG drawn here, no script.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..knowledge_base import CitedReport, KnowledgeBase
from ..messages import CHUNK, STATS_VERDICTS, STATUS_LABELS, VERDICT_LABELS, VERDICT_MARKS
from ..models import VERDICTS, Audit, Resolved
from ..paths import report_path, stats_anchor, stats_task_anchor
from ..stats import NO_TASK, STATUSES, Figures, Row, TitleLookup, failed, stats, tasks
from .markup import Link, counts_html, esc, index_table, page_header, status_counts

CHANGE_LABELS = {"added": "新增", "removed": "删除", "repaired": "修复"}
LEAD = (
    "每行是一种配置：模型 × 上下文长度（<code>results_{ctx}/&lt;模型&gt;</code>），或一个基准文件夹（<code>bench_*</code>）；"
    "没有这两项信息的报告归入“其他”。流水线写下 <code>No report generated.</code> 之类标记（或空白）的运行计为失败，"
    "不算作没有引用的报告。没有数据可算的数字显示为“—”，而不是 0。点击数字即可查看其背后的引用。"
)
DEFINITIONS = (
    '<ul class="citekb-note">'
    "<li><b>疑似编造</b>：语料文档引用的标题在整个知识库中找不到任何来源或任务文件"
    "（完整标题、前 50 字、前缀都不匹配），占带标题的语料文档引用的比例；所引语料不在知识库中时也会计入。</li>"
    "<li><b>文件缺失</b>：文档 / 图片 / 视频引用中，所引任务文件不存在的比例。</li>"
    "<li><b>修复</b>：验证删除了一个无法解析的引用，并对同一标题（或在同一句中）换上了能解析的同类引用。"
    "新增、删除、修复按引用出现次数计，只统计验证前后两个版本都存在且都未失败的报告。</li>"
    f"<li>{STATS_VERDICTS['definition']}</li>"
    "</ul>"
)
VERDICT_COLOURS = {"supported": "#2e7d32", "partial": "#f9a825", "unsupported": "#c62828"}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def number(value: int | float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def cell(text: str, href: str | None, title: str = "") -> str:
    """A figure cell, linked to its citations when there are any."""
    hint = f' title="{esc(title)}"' if title else ""
    return f'<td{hint}><a href="#{href}">{text}</a></td>' if href else f"<td{hint}>{text}</td>"


def count_cell(value: int | None, href: str) -> str:
    return cell(number(value), href if value else None)


def share_cell(part: int | None, whole: int | None, value: float | None, href: str) -> str:
    text = pct(value) + (f"<br><small>{part}/{whole}</small>" if value is not None else "")
    return cell(text, href if part else None)


def config_cell(row: Row) -> str:
    return f'<th><a href="#{stats_anchor(row.configuration.id)}">{esc(row.configuration.label)}</a></th>'


# ---------------------------------------------------------------- the tables


def figures_cells(figures: Figures, listing: Callable[[str], str], verdicts: bool = False) -> str:
    """reports … missing files of one Figures, as table cells; `listing(part)` is where the
    citations behind a figure are listed. With `verdicts`, their shares come right after the
    counts, in sight without scrolling the table: they answer the page's question first."""
    cells = [
        count_cell(figures.reports, listing("reports")),
        count_cell(figures.failed, listing("reports")),
        f"<td>{number(figures.characters)}</td>",
        count_cell(figures.citations, listing("reports")),
        f"<td>{number(figures.per_1000_characters, 2)}</td>",
    ]
    if verdicts:
        cells.append(verdict_cells(figures, listing))
    for status in STATUSES:
        part = figures.statuses[status] if figures.statuses else None
        cells.append(share_cell(part, figures.citations, figures.status_share(status), listing(f"status-{status}")))
    cells.append(share_cell(figures.invented, figures.long_context_titled, figures.invented_share, listing("invented")))
    cells.append(
        share_cell(
            figures.missing_files, figures.file_citations, figures.missing_file_share, listing("status-missing_file")
        )
    )
    return "".join(cells)


COUNT_HEADS = ("报告", "失败", "字符", "引用", "每千字引用")
SHARE_HEADS = (*(STATUS_LABELS[s] for s in STATUSES), "疑似编造", "文件缺失")
FIGURE_HEADS = (*COUNT_HEADS, *SHARE_HEADS)


def table(heads: tuple[str, ...], rows: list[str]) -> str:
    """A wide comparison table: it scrolls inside itself on narrow screens."""
    return f'<div class="citekb-scroll">{index_table(heads, rows, "citekb-index citekb-stats")}</div>'


def verdict_cells(figures: Figures, listing: Callable[[str], str]) -> str:
    """The verdicts' shares of one Figures (of its audited citations), as table cells."""
    audited = sum(figures.verdicts.values()) if figures.verdicts else None
    return "".join(
        share_cell(
            figures.verdicts[v] if figures.verdicts else None,
            audited,
            figures.verdict_share(v),
            listing(f"verdict-{v}"),
        )
        for v in VERDICTS
    )


VERDICT_HEADS = tuple(f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}" for v in VERDICTS)


def audited(rows: list[Row]) -> bool:
    return any(row.final.verdicts for row in rows)


def final_table(rows: list[Row]) -> str:
    verdicts = audited(rows)
    lines = []
    for row in rows:
        listing = lambda part, c=row.configuration.id: stats_anchor(c, part)  # noqa: E731
        lines.append(f"<tr>{config_cell(row)}{figures_cells(row.final, listing, verdicts)}</tr>")
    return table(("配置", *COUNT_HEADS, *(VERDICT_HEADS if verdicts else ()), *SHARE_HEADS), lines)


def validation_table(rows: list[Row]) -> str:
    lines = []
    for row in rows:
        config = row.configuration.id
        original = row.original
        before = (
            figures_cells(original, lambda _, c=config: stats_anchor(c, "original"))
            if original
            else "<td>—</td>" * len(FIGURE_HEADS)
        )
        effect = row.validation
        changes = "".join(
            count_cell(getattr(effect, change), stats_anchor(config, change)) if effect else "<td>—</td>"
            for change in CHANGE_LABELS
        )
        lines.append(
            f"<tr>{config_cell(row)}{before}<td>{number(effect.reports if effect else None)}</td>{changes}</tr>"
        )
    return table(("配置", *(f"验证前：{h}" for h in FIGURE_HEADS), "比较的报告", *CHANGE_LABELS.values()), lines)


def task_tables(rows: list[Row]) -> str:
    parts = []
    for task in tasks(rows):
        lines = []
        for row in rows:
            figures = row.tasks.get(task)
            if figures is None:
                continue  # this configuration has no run of this task
            href = stats_anchor(row.configuration.id, f"task-{task}")
            lines.append(
                f"<tr>{config_cell(row)}{cell(number(figures.reports), href)}{count_cell(figures.failed, href)}"
                f"{cell(number(figures.citations), href if figures.citations else None)}"
                f"<td>{pct(figures.status_share('resolved'))}</td><td>{pct(figures.invented_share)}</td></tr>"
            )
        name = "未指定任务" if task == NO_TASK else f"任务 {esc(task)}"
        parts.append(
            f'<h3 id="{stats_task_anchor(task)}">{name}</h3>'
            + table(("配置", "报告", "失败", "引用", "已解析", "疑似编造"), lines)
        )
    return "\n".join(parts)


# ---------------------------------------------------------------- the chart


CHART_LABEL = 220
CHART_BAR = 400
CHART_ROW = 30


def chart_svg(rows: list[Row]) -> str:
    """Resolved share per configuration: the final reports (dark), their originals (light)."""
    height = CHART_ROW * len(rows) + 10
    width = CHART_LABEL + CHART_BAR + 110
    out = [
        f'<svg class="citekb-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="各配置的已解析引用占比" font-size="12">'
    ]
    for i, row in enumerate(rows):
        y = 5 + i * CHART_ROW
        out.append(f'<text x="{CHART_LABEL - 8}" y="{y + 13}" text-anchor="end">{esc(row.configuration.label)}</text>')
        final = row.final.status_share("resolved")
        original = row.original.status_share("resolved") if row.original else None
        if final is None:
            out.append(
                f'<text x="{CHART_LABEL}" y="{y + 13}" fill="#777">{"无报告" if not row.final.reports else "无引用"}</text>'
            )
            continue
        out.append(f'<rect x="{CHART_LABEL}" y="{y}" width="{CHART_BAR}" height="12" fill="#eeeeee"/>')
        out.append(
            f'<rect x="{CHART_LABEL}" y="{y}" width="{final * CHART_BAR:.1f}" height="12" fill="#2e7d32">'
            f"<title>验证后：{pct(final)}</title></rect>"
        )
        label = pct(final)
        if original is not None:
            out.append(
                f'<rect x="{CHART_LABEL}" y="{y + 14}" width="{original * CHART_BAR:.1f}" height="6" fill="#a5d6a7">'
                f"<title>验证前：{pct(original)}</title></rect>"
            )
            label += f"（前 {pct(original)}）"
        out.append(f'<text x="{CHART_LABEL + CHART_BAR + 6}" y="{y + 11}">{label}</text>')
    out.append("</svg>")
    return "".join(out)


def verdict_bars(rows: list[Row]) -> str:
    """The verdicts' shares per configuration: its name, a stacked bar (supported, partial,
    unsupported) and the figures, as text beside it (never colour alone). A list: on a phone the
    bar goes under the name, where one wide chart would be scaled down to unreadable type."""
    items = []
    for row in rows:
        final = row.final
        label = f'<span class="citekb-bar-label">{esc(row.configuration.label)}</span>'
        if not final.verdicts:
            items.append(f'<li>{label}<span class="citekb-bar-figures">{STATS_VERDICTS["none"]}</span></li>')
            continue
        x, rects = 0.0, []
        for v in VERDICTS:
            part = (final.verdict_share(v) or 0) * 1000
            rects.append(f'<rect x="{x:.1f}" y="0" width="{part:.1f}" height="10" fill="{VERDICT_COLOURS[v]}"/>')
            x += part
        figures = " · ".join(f"{VERDICT_MARKS[v]} {pct(final.verdict_share(v))}" for v in VERDICTS)
        audited_count = STATS_VERDICTS["audited"].format(count=sum(final.verdicts.values()))
        items.append(
            f'<li>{label}<svg class="citekb-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 10" '
            f'preserveAspectRatio="none" aria-hidden="true">{"".join(rects)}</svg>'
            f'<span class="citekb-bar-figures">{figures} <small>{audited_count}</small></span></li>'
        )
    return f'<ul class="citekb-verdict-bars">{"".join(items)}</ul>'


# ---------------------------------------------------------------- the listings behind the figures


def report_link(cited: CitedReport, link: Link, anchor: str | None = None) -> str:
    return f'<a href="{esc(link(report_path(cited.report.slug, anchor)))}">{esc(cited.report.title)}</a>'


def written(cited: CitedReport, items: list[Resolved], link: Link) -> str:
    """Citations as written, each distinct text once with how often (in order of first use), linked
    to where it is first cited in the report (final or original version)."""
    anchors = {id(item): anchor for item, anchor in zip(cited.final, cited.final_anchors)}
    anchors.update({id(item): anchor for item, anchor in zip(cited.original, cited.original_anchors)})
    times = Counter(item.citation.raw for item in items)
    first: dict[str, str | None] = {}
    for item in items:
        first.setdefault(item.citation.raw, anchors.get(id(item)))
    return " ".join(
        f'<a href="{esc(link(report_path(cited.report.slug, first[raw])))}"><code>{esc(raw)}</code></a>'
        + (f"×{n}" if n > 1 else "")
        for raw, n in times.items()
    )


def citation_listing(anchor: str, heading: str, found: list[tuple[CitedReport, list[Resolved]]], link: Link) -> str:
    """Each citing report (linked) and the citations it wrote, as written."""
    found = [(cited, items) for cited, items in found if items]
    if not found:
        return ""
    total = sum(len(items) for _, items in found)
    entries = "".join(
        f"<li>{report_link(cited, link)}（{len(items)}）：" + written(cited, items, link) + "</li>"
        for cited, items in found
    )
    return f'<h4 id="{anchor}">{heading}（{total}）</h4><ul class="citekb-listing">{entries}</ul>'


def reports_listing(row: Row, link: Link) -> str:
    config = row.configuration.id
    lines, seen = [], set()
    for cited in sorted(row.reports, key=lambda c: (c.report.task or NO_TASK, c.report.slug)):
        task = cited.report.task or NO_TASK
        anchor = f' id="{stats_anchor(config, f"task-{task}")}"' if task not in seen else ""
        seen.add(task)
        state = (
            ("运行失败：" + esc(cited.report.final.strip() or "（空白）"))
            if failed(cited.report.final)
            else counts_html(status_counts(cited.final))
        )
        lines.append(
            f"<tr{anchor}><td>{esc(task)}</td><td>{report_link(cited, link)}</td>"
            f"<td>{number(None if failed(cited.report.final) else len(cited.report.final))}</td>"
            f"<td>{number(None if failed(cited.report.final) else len(cited.final))}</td><td>{state}</td></tr>"
        )
    return f'<h4 id="{stats_anchor(config, "reports")}">报告（{len(row.reports)}）</h4>' + table(
        ("任务", "报告", "字符", "引用", "引用状态"), lines
    )


def original_listing(row: Row, link: Link) -> str:
    with_original = [c for c in row.reports if c.report.original is not None]
    if not with_original:
        return ""
    lines = [
        f"<tr><td>{report_link(c, link, 'validation')}</td><td>"
        + ("运行失败" if failed(c.report.original) else counts_html(status_counts(c.original)))
        + f"</td><td>{'运行失败' if failed(c.report.final) else counts_html(status_counts(c.final))}</td></tr>"
        for c in with_original
    ]
    return f'<h4 id="{stats_anchor(row.configuration.id, "original")}">验证前版本（{len(with_original)}）</h4>' + table(
        ("报告", "验证前", "验证后"), lines
    )


def change_listings(row: Row, link: Link) -> str:
    by_slug = {c.report.slug: c for c in row.reports}
    parts = []
    for change, label in CHANGE_LABELS.items():
        entries = []
        for slug, found in row.changes.items():
            mine = [c for c in found if c.change == change]
            if not mine:
                continue
            items = " ".join(
                f"<code>{esc(c.raw)}</code>"
                + (f"×{c.count}" if c.count > 1 else "")
                + (
                    f"（替换了 {esc(c.was[1])}"
                    + (f"，{CHUNK.format(number=c.was[2])}" if c.was[2] is not None else "")
                    + "）"
                    if c.was
                    else ""
                )
                for c in mine
            )
            entries.append(f"<li>{report_link(by_slug[slug], link, 'citation-diff')}：{items}</li>")
        if entries:
            total = getattr(row.validation, change)
            parts.append(
                f'<h4 id="{stats_anchor(row.configuration.id, change)}">验证{label}的引用（{total}）</h4>'
                f'<ul class="citekb-listing">{"".join(entries)}</ul>'
            )
    return "".join(parts)


def configuration_section(row: Row, lookup: TitleLookup, audits: dict[str, list[Audit | None]], link: Link) -> str:
    config = row.configuration.id
    done = [c for c in row.reports if not failed(c.report.final)]
    parts = [f'<h3 id="{stats_anchor(config)}">{esc(row.configuration.label)}</h3>', reports_listing(row, link)]
    for status in STATUSES:
        found = [(c, [i for i in c.final if i.status == status]) for c in done]
        parts.append(citation_listing(stats_anchor(config, f"status-{status}"), STATUS_LABELS[status], found, link))
    found = [(c, [i for i in c.final if lookup.invented(i)]) for c in done]
    parts.append(citation_listing(stats_anchor(config, "invented"), "疑似编造的标题", found, link))
    for v in VERDICTS:
        found = [(c, [i for i, a in zip(c.final, audits.get(c.report.slug, [])) if a and a.verdict == v]) for c in done]
        label = f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}"
        parts.append(citation_listing(stats_anchor(config, f"verdict-{v}"), label, found, link))
    parts.append(original_listing(row, link))
    parts.append(change_listings(row, link))
    return "\n".join(p for p in parts if p)


def legend() -> str:
    """The verdict chart's colours, named (the chart writes each bar's figures beside it too)."""
    return "、".join(
        f'<b class="citekb-swatch" data-verdict="{v}">{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}</b>' for v in VERDICTS
    )


def stats_page(kb: KnowledgeBase, link: Link) -> str:
    lookup = TitleLookup(kb)
    rows = stats(kb, lookup)
    if not rows:
        return page_header("引用质量对比", "知识库中还没有报告。")
    return "\n".join(
        [
            page_header("引用质量对比", LEAD),
            DEFINITIONS,
            '<h2 id="chart">已解析引用占比</h2>',
            '<p class="citekb-note">深色：最终报告；浅色：同一配置的验证前版本。</p>',
            chart_svg(rows),
            *(
                [
                    f'<h2 id="verdicts">{STATS_VERDICTS["chart"]}</h2>',
                    f'<p class="citekb-note">{STATS_VERDICTS["note"].format(legend=legend())}</p>',
                    verdict_bars(rows),
                ]
                if audited(rows)
                else []
            ),
            '<h2 id="configurations">按配置（最终报告）</h2>',
            final_table(rows),
            '<h2 id="validation">验证的影响</h2>',
            validation_table(rows),
            '<h2 id="tasks">按任务</h2>',
            task_tables(rows),
            '<h2 id="citations">数字背后的引用</h2>',
            *(configuration_section(row, lookup, kb.audits, link) for row in rows),
        ]
    )
