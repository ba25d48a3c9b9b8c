"""A report's page (header, final and original text, validation) and the reports index.

The index shows each report by its own title (`report_text.own_title`) over its run (task · model ·
context · time), marks a failed run (`stats.failure`), and carries the task, model, context size and
status of each row as `data-` attributes: docs/javascripts/citekb-report-filters.js filters on them in the
browser, and without scripts the page is the whole list."""

from __future__ import annotations

from collections import Counter

from ..knowledge_base import CitedReport, KnowledgeBase
from ..messages import (
    AUDIT_LABELS,
    CHECK_NAV,
    EXPORT,
    FAILURE_LABELS,
    META_LABELS,
    REPORT_PAGE,
    REPORTS_INDEX,
    RUN_TITLE,
    SECTION_LABELS,
    STATUS_LABELS,
    SUMMARY,
    UNRESOLVED,
    VERDICT_COUNTS,
    VERDICT_LABELS,
    VERDICT_MARKS,
    Reason,
)
from ..models import FLAGGED, VERDICTS, Audit, Report, Resolved
from ..paths import (
    EXPORT_FILES,
    export_path,
    report_path,
)
from ..stats import failure
from .changes import unchanged, validation_html
from .citations import report_html
from .markup import Link, counts_html, esc, index_table, page_header, section_heading, status_counts, unjudged_html

CHECKS = (*VERDICTS, "unresolved")  # what the report header counts, in this order


def check_of(item: Resolved, audit: Audit | None) -> str | None:
    """What a reader checking a citation needs to know first: its verdict when it was audited,
    `unresolved` when it does not resolve cleanly; None for a resolved citation without an audit."""
    if audit is not None:
        return audit.verdict
    return "unresolved" if item.status != "resolved" else None


def count_link(attribute: str, value: str, text: str, count: int, anchor: str | None) -> str:
    """One figure of the summary: linked to the first such citation of the final report (its
    bracket; citekb-evidence.js lands on that very citation), plain text when there is none."""
    body = f"{text} {count}"
    if not (count and anchor):
        return f'<span class="citekb-count" data-{attribute}="{value}">{body}</span>'
    return f'<a class="citekb-count" data-{attribute}="{value}" href="#{anchor}" title="{SUMMARY["first"]}">{body}</a>'


def summary_html(cited: CitedReport, audits: list[Audit | None] | None) -> str:
    """The report's summary, at the top of its page: how many citations resolved (and, audited, how
    many the cited text supports, partly supports or does not), how many did not resolve and why
    (`STATUS_LABELS`), how many the evidence audit flags and for what (`FLAGGED`). Each figure
    links to the first such citation."""
    audit_of = audits or [None] * len(cited.final)
    audited = audits is not None  # the build audits: a report with no citation to judge says so (未判定)
    counts: Counter = Counter()
    first: dict[tuple[str, str], str | None] = {}
    for item, audit, anchor in zip(cited.final, audit_of, cited.final_anchors):
        keys = [("status", item.status)]
        keys += [("verdict", check)] if (check := check_of(item, audit)) else []
        keys += [("audit", audit.status)] if audit is not None and audit.status in FLAGGED else []
        for key in keys:
            counts[key] += 1
            first.setdefault(key, anchor)

    def figure(attribute: str, value: str, text: str) -> str:
        return count_link(attribute, value, text, counts[attribute, value], first.get((attribute, value)))

    total = len(cited.final)
    if not total:
        return f'<div class="citekb-checks"><p>{SUMMARY["none"]}</p></div>\n\n'
    lines = [figure("status", "resolved", STATUS_LABELS["resolved"])]
    if audited:
        verdicts = " · ".join(
            figure("verdict", v, f'<b aria-hidden="true">{VERDICT_MARKS[v]}</b> {VERDICT_LABELS[v]}') for v in VERDICTS
        )
        unjudged = counts["status", "resolved"] - sum(counts["verdict", v] for v in VERDICTS)
        if unjudged:  # resolved, no text to check them against (an image, a file without its text)
            verdicts += f" · {unjudged_html(unjudged)}"
        lines[0] += f"{SUMMARY['then']}{VERDICT_COUNTS}{verdicts}"
    unresolved = total - counts["status", "resolved"]
    if unresolved or audited:
        kinds = " · ".join(
            figure("status", s, STATUS_LABELS[s]) for s in STATUS_LABELS if s != "resolved" and counts["status", s]
        )
        head = count_link(
            "verdict",
            "unresolved",
            f'<b aria-hidden="true">{UNRESOLVED[0]}</b> {UNRESOLVED[1]}',
            unresolved,
            next((a for i, a in zip(cited.final, cited.final_anchors) if i.status != "resolved"), None),
        )
        lines.append(head + (f"：{kinds}" if kinds else ""))
    flags = sum(counts["audit", f] for f in FLAGGED)
    if flags:
        kinds = " · ".join(figure("audit", f, AUDIT_LABELS[f]) for f in FLAGGED if counts["audit", f])
        lines.append(f"{SUMMARY['flags']} {flags}：{kinds}")
    items = "".join(f"<li>{line}</li>" for line in lines)
    return (
        f'<div class="citekb-checks" role="group" aria-label="{SUMMARY["label"]}">'
        f"<p>{SUMMARY['total'].format(count=total)}</p><ul>{items}</ul></div>\n\n"
    )


def checks_html(cited: CitedReport, audits: list[Audit | None] | None) -> str:
    """The report's summary (`summary_html`) and the pair of buttons, also `n` / `p`, that go
    through the citations to check: partial, unsupported, unresolved. Without audits only the
    unresolved ones are gone through."""
    audit_of = audits or [None] * len(cited.final)
    counts = Counter(check_of(item, audit) for item, audit in zip(cited.final, audit_of))
    parts = [summary_html(cited, audits)]
    to_check = counts["partial"] + counts["unsupported"] + counts["unresolved"]
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
    command = f"kb export {slug} --sources {REPORT_PAGE['docx_folder']} --format docx --out {slug}.docx"
    return f'<p class="citekb-export">{EXPORT["links"]}{links} · {EXPORT["docx"]}<code>{esc(command)}</code></p>\n'


def report_page(kb: KnowledgeBase, cited: CitedReport, link: Link) -> str:
    report = cited.report
    meta = [
        (REPORT_PAGE["task"], report.task or "—"),
        (REPORT_PAGE["corpus"], report.corpus or REPORT_PAGE["no_corpus"]),
    ]
    meta += [
        (META_LABELS.get(k, k), reason.chinese(isolated=True) if (reason := Reason.read(v)) else v)
        for k, v in sorted(report.meta.items())
        if k != "summary"
    ]
    meta.append((REPORT_PAGE["file"], report.path))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in meta)
    parts = [
        page_header(report.title),
        f'<p class="citekb-subtitle">{esc(report.subtitle)}</p>\n'
        if report.subtitle and report.subtitle != report.title
        else "",
        failure_note(report.final),
        f'<table class="citekb-meta">{rows}</table>\n',
        checks_html(cited, kb.audits.get(report.slug, [] if kb.audits else None)),  # audited: nothing to judge here
        export_links(cited, link),
    ]
    if report.query:
        parts.append(
            section_heading("query", SECTION_LABELS["query"])
            + f'<blockquote class="citekb-query"><p>{esc(report.query.strip())}</p></blockquote>\n'
        )
    parts.append(
        section_heading("final", SECTION_LABELS["final"])
        + report_html(report.final, cited.final, kb, link, "final", kb.audits.get(report.slug))
        + "\n"
    )
    if report.original is not None and unchanged(report):
        parts.append(section_heading("validation", REPORT_PAGE["validation"]) + f"<p>{REPORT_PAGE['unchanged']}</p>\n")
    elif report.original is not None:
        parts.append(
            section_heading("validation", REPORT_PAGE["validation"])
            + validation_html(cited, link, kb.audits.get(report.slug))
            + "\n"
        )
        parts.append(
            section_heading("original", REPORT_PAGE["original"])
            + report_html(report.original, cited.original, kb, link, "original")
            + "\n"
        )
    if report.meta.get("summary"):
        parts.append(
            section_heading("summary", REPORT_PAGE["summary"])
            + f'<details class="citekb-summary"><summary>{REPORT_PAGE["summary_as_is"]}</summary>'
            f'<div class="citekb-text">{esc(report.meta["summary"])}</div></details>\n'
        )
    return "\n".join(parts)


def failure_note(text: str) -> str:
    """The report page's line saying why its run failed (none when it did not)."""
    why = failure(text)
    return f'<p class="citekb-failed" data-failure="{why}"><b>{FAILURE_LABELS[why]}</b></p>\n' if why else ""


STATUS_OK = "ok"  # a report's status in the index's filter when its run did not fail


def row_facets(report: Report) -> dict[str, str]:
    """What the index filters a report by: task, model (or bench folder), context size, status."""
    meta = report.meta
    return {
        "task": report.task or "—",
        "model": str(meta.get("model") or meta.get("bench") or "—"),
        "context": str(meta.get("context") or "—"),
        "status": failure(report.final) or STATUS_OK,
    }


def report_row(cited: CitedReport, link: Link) -> str:
    """A report: its own title (linked; the run's when it has none) over its run, why it failed
    when it did, its citations by status; its facets as `data-` attributes for the filters."""
    report: Report = cited.report
    facets = row_facets(report)
    own = report.subtitle if report.subtitle and report.subtitle != report.title else ""
    run = f'<small class="citekb-run">{esc(report.title)}</small>' if own else ""
    why = facets["status"] if facets["status"] != STATUS_OK else None
    mark = f'<span class="citekb-failed" data-failure="{why}">{FAILURE_LABELS[why]}</span>' if why else ""
    counts = counts_html(status_counts(cited.final)) if why != "no_output" else ""
    data = "".join(f' data-{key}="{esc(value)}"' for key, value in facets.items())
    return (
        f'<tr{data}><td><a href="{esc(link(report_path(report.slug)))}">{esc(own or report.title)}</a>{run}</td>'
        f"<td>{mark}{counts}</td></tr>"
    )


def filters(reports: list[Report]) -> str:
    """The index's filters: one list per facet, of the values its reports have. Hidden until
    citekb-report-filters.js shows it (without scripts the page is the whole list, nothing to filter)."""
    words = REPORTS_INDEX
    lists = []
    every = [row_facets(r) for r in reports]
    for facet in ("task", "model", "context", "status"):
        values = sorted({facets[facet] for facets in every})
        if facet == "status":
            values = [v for v in (STATUS_OK, *FAILURE_LABELS) if v in values]
        shown = {STATUS_OK: words["ok"], **FAILURE_LABELS} if facet == "status" else {}
        options = "".join(f'<option value="{esc(v)}">{esc(shown.get(v, v))}</option>' for v in values)
        lists.append(
            f'<label>{words[facet]} <select data-facet="{facet}"><option value="">{words["all"]}</option>'
            f"{options}</select></label>"
        )
    return (
        f'<form class="citekb-filters" aria-label="{words["filters"]}" data-shown="{words["shown"]}" hidden>'
        f'{"".join(lists)}<output role="status"></output></form>'
        f'<p class="citekb-filters-none" hidden>{words["none"]}</p>\n'
    )


def reports_index(kb: KnowledgeBase, link: Link) -> str:
    """Reports grouped by task (the same query), each with its run and its citations' health."""
    by_task: dict[str, list[CitedReport]] = {}
    for _, cited in sorted(kb.cited.items(), key=lambda item: item[1].report.title):
        by_task.setdefault(cited.report.task or "—", []).append(cited)
    sections = [
        f'<section class="citekb-task"><h2 id="task-{esc(task)}">{esc(RUN_TITLE.format(task=task))}'
        f"{REPORTS_INDEX['task_count'].format(count=len(group))}</h2>"
        + index_table(REPORTS_INDEX["heads"], (report_row(c, link) for c in group))
        + "</section>"
        for task, group in sorted(by_task.items())
    ]
    lead = REPORTS_INDEX["lead"].format(count=len(kb.cited))
    return (
        page_header(REPORTS_INDEX["title"], lead) + filters([c.report for c in kb.cited.values()]) + "\n".join(sections)
    )
