"""The configuration comparison page (stats/): which model, context size or bench folder cites
honestly. It opens with the answer: the configurations ranked best first by a stated rule
(`stats.ranked`), each with its verdicts, resolved, invented, missing-file and failed-run shares
and counts, every figure a link to the citations behind it, listed further down the same page.
HTML only, no script: the ranking is a table a phone shows as one block per configuration, its
bars are SVG without text (the figures are text beside them), so nothing is scaled down to
unreadable type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..knowledge_base import CitedReport, KnowledgeBase
from ..messages import (
    CHUNK,
    COMPARISON_DEFINITIONS,
    COMPARISON_PAGE,
    FAILURE_LABELS,
    FAILURE_SHORT,
    RANKING,
    STATUS_LABELS,
    VALIDATION_CHANGES,
    VERDICT_LABELS,
    VERDICT_MARKS,
)
from ..models import VERDICTS, Audit, Resolved
from ..paths import report_path, stats_anchor, stats_task_anchor
from ..stats import NO_TASK, STATUSES, Figures, Row, TitleLookup, failure, ranked, share, stats, tasks
from .markup import Link, counts_html, esc, index_table, page_header, status_counts

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


COUNT_HEADS = tuple(COMPARISON_PAGE[h] for h in ("reports", "failed", "characters", "citations", "per_thousand"))
SHARE_HEADS = (*(STATUS_LABELS[s] for s in STATUSES), COMPARISON_PAGE["invented"], COMPARISON_PAGE["missing"])
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


# Shares of the judged citations (`verdict_cells`): said in the head, as the ranking's of all are not
VERDICT_HEADS = tuple(
    COMPARISON_PAGE["of_judged"].format(head=f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}") for v in VERDICTS
)


def audited(rows: list[Row]) -> bool:
    return any(row.final.verdicts for row in rows)


def final_table(rows: list[Row]) -> str:
    verdicts = audited(rows)
    lines = []
    for row in rows:
        listing = lambda part, c=row.configuration.id: stats_anchor(c, part)  # noqa: E731
        lines.append(f"<tr>{config_cell(row)}{figures_cells(row.final, listing, verdicts)}</tr>")
    return table(
        (COMPARISON_PAGE["configuration"], *COUNT_HEADS, *(VERDICT_HEADS if verdicts else ()), *SHARE_HEADS), lines
    )


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
            for change in VALIDATION_CHANGES
        )
        lines.append(
            f"<tr>{config_cell(row)}{before}<td>{number(effect.reports if effect else None)}</td>{changes}</tr>"
        )
    before = tuple(COMPARISON_PAGE["before"].format(head=h) for h in FIGURE_HEADS)
    return table(
        (COMPARISON_PAGE["configuration"], *before, COMPARISON_PAGE["compared"], *VALIDATION_CHANGES.values()), lines
    )


def task_tables(rows: list[Row]) -> str:
    """Per task, its configurations side by side: runs, failed runs, citations, and the shares of
    supported (with verdicts), resolved and invented."""
    verdicts = audited(rows)
    heads = [COMPARISON_PAGE[h] for h in ("configuration", "reports", "failed", "citations")]
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
                + (
                    f"<td>{pct(share(figures.verdict_count('supported') or 0, figures.citations))}</td>"
                    if verdicts
                    else ""
                )
                + f"<td>{pct(figures.status_share('resolved'))}</td><td>{pct(figures.invented_share)}</td></tr>"
            )
        name = COMPARISON_PAGE["no_task"] if task == NO_TASK else COMPARISON_PAGE["task"].format(task=esc(task))
        supported = (f"{VERDICT_MARKS['supported']} {VERDICT_LABELS['supported']}",) if verdicts else ()
        parts.append(
            f'<h3 id="{stats_task_anchor(task)}">{name}</h3>'
            + table((*heads, *supported, COMPARISON_PAGE["resolved"], COMPARISON_PAGE["invented"]), lines)
        )
    return "\n".join(parts)


# ---------------------------------------------------------------- the ranking


def ranking_cell(label: str, part: int | None, whole: int | None, href: str, kind: str = "", hint: str = "") -> str:
    """One figure of the ranking: its share and its count out of the whole, linked to the citations
    behind it when there are any (`hint`, a breakdown, on hover); `data-label` names it where a
    phone shows the row as a block."""
    value = share(part, whole)
    text = pct(value) + (f"<small>{part}/{whole}</small>" if value is not None else "")
    inner = f'<a href="#{href}">{text}</a>' if part else text
    marked = f' data-verdict="{kind}"' if kind and value is not None else ""  # no colour on —
    titled = f' title="{esc(hint)}"' if hint else ""
    return f'<td data-label="{esc(label)}"{marked}{titled}>{inner}</td>'


def bar(figures: Figures, audited: bool) -> str:
    """The configuration's citations as one bar: supported, partial, unsupported (of all its
    citations; the grey rest was not audited), or without verdicts the resolved share. No text in
    it: the figures are the cells beside it, so it reads at any width."""
    if not figures.citations:
        return ""
    parts = (
        [(v, figures.of_citations(v) or 0.0) for v in VERDICTS]
        if audited
        else [("supported", figures.status_share("resolved") or 0.0)]
    )
    x, rects = 0.0, []
    for verdict, part in parts:
        rects.append(
            f'<rect x="{x:.1f}" y="0" width="{part * 1000:.1f}" height="10" fill="{VERDICT_COLOURS[verdict]}"/>'
        )
        x += part * 1000
    return (
        '<svg class="citekb-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 10" '
        f'preserveAspectRatio="none" aria-hidden="true">{"".join(rects)}</svg>'
    )


def failures(figures: Figures) -> str:
    """Why the failed runs failed, by count: `仅计划 1 · 截断 1` (the reports listing says it per run)."""
    return " · ".join(f"{FAILURE_SHORT[w]} {n}" for w, n in (figures.failures or {}).items())


def ranking_row(n: int, row: Row, audited: bool) -> str:
    final = row.final
    config = row.configuration.id
    listing = lambda part: stats_anchor(config, part)  # noqa: E731
    shown = bar(final, audited) or f"<small>{RANKING['no_citations']}</small>"
    head = (
        f'<td class="citekb-rank">{n}</td>'
        f'<th scope="row"><span class="citekb-config"><a href="#{stats_anchor(config)}">'
        f"{esc(row.configuration.label)}</a>{shown}</span></th>"
    )
    cells = []
    if audited:  # the build audits: a configuration none of whose citations could be audited shows —
        for v in VERDICTS:
            label = f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}"
            cells.append(ranking_cell(label, final.verdict_count(v), final.citations, listing(f"verdict-{v}"), v))
    statuses = final.statuses or {}
    cells += [
        ranking_cell(RANKING["resolved"], statuses.get("resolved"), final.citations, listing("status-resolved")),
        ranking_cell(RANKING["invented"], final.invented, final.long_context_titled, listing("invented")),
        ranking_cell(RANKING["missing"], final.missing_files, final.file_citations, listing("status-missing_file")),
        ranking_cell(RANKING["failed"], final.failed, final.runs, listing("reports"), hint=failures(final)),
    ]
    return f"<tr>{head}{''.join(cells)}</tr>"


def ranking_table(rows: list[Row]) -> str:
    """The page's answer, on one screen: one row per configuration, best first (`stats.ranked`),
    the most telling figures first. On a phone (CSS) each row is a block: rank and name, the bar,
    then the figures in a grid, each with its name."""
    audited_ = audited(rows)
    heads = (
        RANKING["rank"],
        RANKING["configuration"],
        *((f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}" for v in VERDICTS) if audited_ else ()),
        RANKING["resolved"],
        RANKING["invented"],
        RANKING["missing"],
        RANKING["failed"],
    )
    lines = [ranking_row(n, row, audited_) for n, row in enumerate(ranked(rows), 1)]
    return index_table(heads, lines, "citekb-index citekb-ranking")


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
        why = failure(cited.report.final)
        state = f'<span class="citekb-failed">{FAILURE_LABELS[why]}</span>' if why else ""
        if why != "no_output":
            state += (" · " if state else "") + counts_html(status_counts(cited.final))
        counted = why != "no_output"
        lines.append(
            f"<tr{anchor}><td>{esc(task)}</td><td>{report_link(cited, link)}</td>"
            f"<td>{number(len(cited.report.final) if counted else None)}</td>"
            f"<td>{number(len(cited.final) if counted else None)}</td><td>{state}</td></tr>"
        )
    heading = COMPARISON_PAGE["reports_listing"].format(count=len(row.reports))
    heads = tuple(COMPARISON_PAGE[h] for h in ("task_head", "reports", "characters", "citations", "statuses"))
    return f'<h4 id="{stats_anchor(config, "reports")}">{heading}</h4>' + table(heads, lines)


def outcome(text: str | None, items: list[Resolved]) -> str:
    """A version's citations by status, after why its run failed when it did."""
    why = failure(text)
    counts = "" if why == "no_output" else counts_html(status_counts(items))
    return " · ".join(p for p in (FAILURE_SHORT[why] if why else "", counts) if p)


def original_listing(row: Row, link: Link) -> str:
    with_original = [c for c in row.reports if c.report.original is not None]
    if not with_original:
        return ""
    lines = [
        f"<tr><td>{report_link(c, link, 'validation')}</td><td>"
        + outcome(c.report.original, c.original)
        + f"</td><td>{outcome(c.report.final, c.final)}</td></tr>"
        for c in with_original
    ]
    heading = COMPARISON_PAGE["originals"].format(count=len(with_original))
    heads = (COMPARISON_PAGE["reports"], COMPARISON_PAGE["original"], COMPARISON_PAGE["final"])
    return f'<h4 id="{stats_anchor(row.configuration.id, "original")}">{heading}</h4>' + table(heads, lines)


def change_listings(row: Row, link: Link) -> str:
    by_slug = {c.report.slug: c for c in row.reports}
    parts = []
    for change, label in VALIDATION_CHANGES.items():
        entries = []
        for slug, found in row.changes.items():
            mine = [c for c in found if c.change == change]
            if not mine:
                continue
            items = " ".join(
                f"<code>{esc(c.raw)}</code>"
                + (f"×{c.count}" if c.count > 1 else "")
                + (replaced(c.was) if c.was else "")
                for c in mine
            )
            entries.append(f"<li>{report_link(by_slug[slug], link, 'citation-diff')}：{items}</li>")
        if entries:
            total = getattr(row.validation, change)
            parts.append(
                f'<h4 id="{stats_anchor(row.configuration.id, change)}">{COMPARISON_PAGE["changed"].format(change=label, count=total)}</h4>'
                f'<ul class="citekb-listing">{"".join(entries)}</ul>'
            )
    return "".join(parts)


def replaced(was: tuple) -> str:
    """What a repaired citation replaced: its title, and its chunk when it named one."""
    chunk = COMPARISON_PAGE["replaced_chunk"].format(chunk=CHUNK.format(number=was[2])) if was[2] is not None else ""
    return COMPARISON_PAGE["replaced"].format(title=esc(was[1]), chunk=chunk)


def configuration_section(row: Row, lookup: TitleLookup, audits: dict[str, list[Audit | None]], link: Link) -> str:
    config = row.configuration.id
    done = [c for c in row.reports if failure(c.report.final) != "no_output"]  # as `stats.figures` counts
    parts = [f'<h3 id="{stats_anchor(config)}">{esc(row.configuration.label)}</h3>', reports_listing(row, link)]
    for status in STATUSES:
        found = [(c, [i for i in c.final if i.status == status]) for c in done]
        parts.append(citation_listing(stats_anchor(config, f"status-{status}"), STATUS_LABELS[status], found, link))
    found = [(c, [i for i in c.final if lookup.invented(i)]) for c in done]
    parts.append(citation_listing(stats_anchor(config, "invented"), COMPARISON_PAGE["invented_titles"], found, link))
    for v in VERDICTS:
        found = [(c, [i for i, a in zip(c.final, audits.get(c.report.slug, [])) if a and a.verdict == v]) for c in done]
        label = f"{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}"
        parts.append(citation_listing(stats_anchor(config, f"verdict-{v}"), label, found, link))
    parts.append(original_listing(row, link))
    parts.append(change_listings(row, link))
    return "\n".join(p for p in parts if p)


def legend() -> str:
    """The bars' colours, named (the figures are written beside each bar too)."""
    return "、".join(
        f'<b class="citekb-swatch" data-verdict="{v}">{VERDICT_MARKS[v]} {VERDICT_LABELS[v]}</b>' for v in VERDICTS
    )


def stats_page(kb: KnowledgeBase, link: Link) -> str:
    lookup = TitleLookup(kb)
    rows = stats(kb, lookup)
    if not rows:
        return page_header(COMPARISON_PAGE["title"], COMPARISON_PAGE["empty"])
    verdicts = audited(rows)
    tasks_link = f'<a href="#tasks">{RANKING["tasks"].format(count=len(tasks(rows)))}</a>'
    return "\n".join(
        [
            page_header(
                COMPARISON_PAGE["title"], f"{RANKING['rule_audited' if verdicts else 'rule_plain']} {tasks_link}"
            ),
            f'<h2 id="ranking" class="citekb-sr">{RANKING["heading"]}</h2>',
            ranking_table(rows),
            f'<p class="citekb-note">{RANKING["shares"]}' + (f" {legend()}" if verdicts else "") + "</p>",
            COMPARISON_DEFINITIONS,
            f'<h2 id="tasks">{COMPARISON_PAGE["by_task"]}</h2>',
            task_tables(rows),
            f'<h2 id="configurations">{RANKING["details"]}</h2>',
            final_table(rows),
            f'<p class="citekb-note">{COMPARISON_PAGE["details_note"]}</p>',
            f'<h2 id="validation">{COMPARISON_PAGE["validation"]}</h2>',
            validation_table(rows),
            f'<p class="citekb-note">{COMPARISON_PAGE["validation_note"]}</p>',
            f'<h2 id="citations">{COMPARISON_PAGE["behind"]}</h2>',
            *(configuration_section(row, lookup, kb.audits, link) for row in rows),
        ]
    )
