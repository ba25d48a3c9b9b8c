"""The citation health page: unresolved citations, likely invented titles, claims to check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..knowledge_base import CitedReport, KnowledgeBase
from ..messages import (
    AUDIT_LABELS,
    FACTS,
    HEALTH_CHECKS,
    HEALTH_GROUPS,
    HEALTH_PAGE,
    STATUS_LABELS,
    VERDICT_COUNTS,
    VERDICT_LABELS,
    VERDICT_MARKS,
)
from ..models import FLAGGED, VERDICTS, Audit
from ..paths import report_path
from ..stats import TitleLookup
from .citations import audit_marker, why
from .markup import Link, counts_html, esc, html_line, index_table, page_header, short, status_counts, unjudged_html

CLAIMS_SHOWN = 10  # claims to check per report on the health page (the report page goes through them all: n / p)
CLAIMS_OPEN = 3  # reports whose claims to check are shown open (the weakest); the others, one line each until opened
HEALTH_PLACES = 6  # reports linked per row of the health page; the rest are counted
PLACE_TITLE = 48  # characters of a citing report's title before its numbered places (whole on hover)


def audit_counts_html(audits: Iterable[Audit | None]) -> str:
    return counts_html(Counter(a.status for a in audits if a), AUDIT_LABELS, "audit", "—")


def verdict_counts_html(audits: Iterable[Audit | None], resolved: int | None = None) -> str:
    """Audited citations by verdict, each with its shape (for the health page's rows); with the
    `resolved` citations' count, those without a verdict too (未判定: an image, a reference-list
    entry), as the report page's header counts them, so the figures add up to the resolved ones."""
    counts = Counter(a.verdict for a in audits if a)
    parts = [
        f'<span class="citekb-count" data-verdict="{v}"><b aria-hidden="true">{VERDICT_MARKS[v]}</b> '
        f"{VERDICT_LABELS[v]} {counts[v]}</span>"
        for v in VERDICTS
        if counts[v]
    ]
    unjudged = resolved - counts.total() if resolved is not None else 0
    if unjudged > 0:
        parts.append(unjudged_html(unjudged))
    return " · ".join(parts) or "—"


VERDICT_ORDER = {"unsupported": 0, "partial": 1, "supported": 2}  # the claims to check first


def claims_to_check(kb: KnowledgeBase, cited: CitedReport) -> list[tuple[Audit, str | None]]:
    """A report's audited claims a reader should check, with their anchors: unsupported first,
    then partial, then those the audit flags for another reason; lowest support first in each."""
    audits = kb.audits.get(cited.report.slug, [])
    found = [(a, anchor) for a, anchor in zip(audits, cited.final_anchors) if a and to_be_checked(a)]
    return sorted(found, key=lambda pair: (VERDICT_ORDER[pair[0].verdict], pair[0].support))


def to_be_checked(audit: Audit) -> bool:
    """Whether the health page lists the audited claim (`claims_to_check`); of the others it counts
    only the status and the verdict."""
    return audit.verdict != "supported" or audit.status in FLAGGED


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


Place = tuple[CitedReport, str | None]  # a report citing something, and the citation's anchor there


def places_html(found: list[Place], link: Link) -> str:
    """Where something is cited: each citing report on a line, by its title, then each of its
    citations as a numbered link (1 2 3, each titled with the report and the number); the first
    HEALTH_PLACES reports, the rest counted."""
    by_report: dict[str, list[Place]] = {}
    for cited, anchor in found:
        by_report.setdefault(cited.report.slug, []).append((cited, anchor))
    shown = []
    for slug, spots in list(by_report.items())[:HEALTH_PLACES]:
        title = spots[0][0].report.title
        numbers = " ".join(
            f'<a href="{esc(link(report_path(slug, anchor)))}" title="{esc(HEALTH_GROUPS["place"].format(title=title, n=n))}">{n}</a>'
            for n, (_, anchor) in enumerate(spots, 1)
        )
        shown.append(
            f'<span class="citekb-places"><span title="{esc(title)}">{esc(short(title, PLACE_TITLE))}</span> {numbers}</span>'
        )
    rest = len(by_report) - HEALTH_PLACES
    more = f'<span class="citekb-places">{HEALTH_GROUPS["more"].format(rest=rest)}</span>' if rest > 0 else ""
    return "".join(shown) + more


def by_reason(distinct: dict[tuple[str, str], list[Place]]) -> list[tuple[str, list[tuple[str, list[Place]]]]]:
    """One status's cited things grouped by their reason: the reasons cited most first, and in each
    the things cited most first."""
    grouped: dict[str, list[tuple[str, list[Place]]]] = {}
    for (name, reason), found in sorted(distinct.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        grouped.setdefault(reason, []).append((name, found))
    return sorted(grouped.items(), key=lambda kv: (-sum(len(found) for _, found in kv[1]), kv[0]))


def reason_html(status: str, reason: str, names: list[tuple[str, list[Place]]], link: Link) -> str:
    """One reason, once: a line saying it, how often and for how many cited things, which opens
    (a <details>) on the table of those things, each with where it is cited."""
    count = sum(len(found) for _, found in names)
    rows = "".join(
        f'<tr><td data-status="{status}"><code>{esc(name)}</code></td><td>{len(found)}</td>'
        f"<td>{places_html(found, link)}</td></tr>"
        for name, found in names
    )
    heads = (HEALTH_GROUPS["name"], HEALTH_GROUPS["times"], HEALTH_GROUPS["places"])
    return (
        f'<details class="citekb-reason" data-status="{status}"><summary>'
        f'<span class="citekb-reason-text">{esc(reason)}</span> '
        f"<small>{HEALTH_GROUPS['count'].format(count=count, names=len(names))}</small></summary>"
        f"{index_table(heads, [rows])}</details>"
    )


ClaimsKept = dict[str, tuple[tuple, str]]  # a report's claims to check as HTML, by slug, with what made it


def kept_claims_html(
    kb: KnowledgeBase, cited: CitedReport, found: list[tuple[Audit, str | None]], link: Link, kept: ClaimsKept
) -> str:
    """`claims_to_check_html`, or the HTML it gave for the same inputs last time (`kept`, held by
    `mkdocs serve` between rebuilds): an edit moves the audits of one corpus, and the health page,
    written again for them, made every report's list anew (0.25 s of a rebuild at 10,000 sources)."""
    shown = found[:CLAIMS_SHOWN]
    inputs = (
        link(report_path(cited.report.slug)),  # the site's layout, as links reach it
        shown,
        len(found),
        [kb.loaded.sources[a.better[0]].title for a, _ in shown if a.better],
    )
    last = kept.get(cited.report.slug)
    if last is not None and last[0] == inputs:
        return last[1]
    html = claims_to_check_html(kb, cited, found, link)
    kept[cited.report.slug] = (inputs, html)
    return html


def report_row(cited: CitedReport, audits: list[Audit | None] | None, link: Link) -> str:
    """A report's row on the health page: its citations by status; with its `audits`, by verdict
    (未判定 among them) and by the audit's reason."""
    statuses = status_counts(cited.final)
    row = f'<tr><td><a href="{esc(link(report_path(cited.report.slug)))}">{esc(cited.report.title)}</a></td>'
    row += f"<td>{counts_html(statuses)}</td>"
    if audits is not None:  # the build audits: 未判定 counts what it could not judge, as the report's header
        verdicts = verdict_counts_html(audits, statuses["resolved"])
        row += f"<td>{verdicts}</td><td>{audit_counts_html(audits)}</td>"
    return row + "</tr>"


def health_page(kb: KnowledgeBase, link: Link, kept: ClaimsKept | None = None) -> str:
    """Every citation that did not resolve, grouped by status, then by reason: one line per reason
    that opens on the cited things it applies to (with how often, and links to where each is
    cited); titles that name nothing anywhere in
    the knowledge base (likely invented by the model; not judged where the report's corpus is
    missing) called out first; a short row per report. `kept`: see `kept_claims_html`."""
    kept = {} if kept is None else kept
    total = status_counts(item for c in kb.cited.values() for item in c.final)
    lookup = TitleLookup(kb)
    groups: dict[str, dict[tuple[str, str], list[Place]]] = {}
    invented: dict[str, list[Place]] = {}
    for _, cited in sorted(kb.cited.items()):
        for item, anchor in zip(cited.final, cited.final_anchors):
            if item.status == "resolved":
                continue
            name = item.citation.title or item.citation.file or item.citation.raw
            groups.setdefault(item.status, {}).setdefault((name, why(item)), []).append((cited, anchor))
            if lookup.invented(item):
                invented.setdefault(name, []).append((cited, anchor))

    lead = HEALTH_PAGE["lead"].format(count=sum(total.values())) + counts_html(total)
    parts = [page_header(HEALTH_PAGE["title"], lead)]
    audited = any(kb.audits.values())
    to_check = [(c, found) for _, c in sorted(kb.cited.items()) if (found := claims_to_check(kb, c))]
    if audited:
        every_audit = [a for audits in kb.audits.values() for a in audits]
        jump = f' · <a href="#weakest">{HEALTH_CHECKS["heading"]}</a>' if to_check else ""
        resolved = sum(status_counts(c.final)["resolved"] for c in kb.cited.values())
        counts = verdict_counts_html(every_audit, resolved)  # with 未判定: they add up to the resolved ones
        parts.append(f'<p class="citekb-lead">{VERDICT_COUNTS}{counts}{jump}</p>')
    if not groups:
        parts.append(f"<p>{HEALTH_PAGE['all_resolved']}</p>")
    if invented:
        rows = [
            f"<tr><td>{esc(name)}</td><td>{len(found)}</td><td>{places_html(found, link)}</td></tr>"
            for name, found in sorted(invented.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        parts += [
            f'<h2 id="invented">{HEALTH_PAGE["invented"]}</h2>',
            f"<p>{HEALTH_PAGE['invented_lead'].format(count=len(invented))}</p>",
            index_table(HEALTH_PAGE["invented_heads"], rows),
        ]
    for status in (s for s in STATUS_LABELS if s in groups):
        distinct = groups[status]
        count = sum(len(found) for found in distinct.values())
        parts += [
            f'<h2 id="status-{status}">'
            f"{HEALTH_PAGE['status'].format(label=STATUS_LABELS[status], count=count, kinds=len(distinct))}</h2>",
            *(reason_html(status, reason, names, link) for reason, names in by_reason(distinct)),
        ]
    rows = [report_row(c, kb.audits.get(slug, []) if audited else None, link) for slug, c in sorted(kb.cited.items())]
    parts += [
        f'<h2 id="reports">{HEALTH_PAGE["reports"]}</h2>',
        index_table(
            (
                *HEALTH_PAGE["report_heads"],
                *((HEALTH_CHECKS["column"], HEALTH_PAGE["audit_column"]) if audited else ()),
            ),
            rows,
        ),
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
            f'<details class="citekb-claims-report"{" open" if n < CLAIMS_OPEN else ""}><summary>'
            f'<h3><a href="{esc(link(report_path(c.report.slug)))}">{esc(c.report.title)}</a></h3> '
            f"<span>{verdict_counts_html(kb.audits.get(c.report.slug, []))}</span></summary>"
            f"{kept_claims_html(kb, c, found, link, kept)}</details>"
            for n, (c, found) in enumerate(to_check)
        ]
    for gone in kept.keys() - {c.report.slug for c, _ in to_check}:
        del kept[gone]
    return "\n".join(parts)
