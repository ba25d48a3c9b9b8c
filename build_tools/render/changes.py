"""What validation changed in a report: its citations and its text."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable

from .. import commonmark
from ..knowledge_base import CitedReport
from ..messages import (
    CHANGE_LABELS,
    CHANGE_NOTES,
    CHANGES_TABLE,
    DIFF_CITATION,
    DIFF_SAME,
    KIND_LABELS,
    REPORT_PAGE,
    STATUS_LABELS,
    UNRESOLVED,
    VERDICT_LABELS,
    VERDICT_MARKS,
)
from ..models import VERDICTS, Audit, Report, Resolved
from ..validation import CitationKey, citation_diff, citation_key
from .citations import why
from .markup import Link, counts_html, esc, index_table, section_heading, status_counts


def unchanged(report: Report) -> bool:
    """Validation left the text as it was: the original is not shown (or indexed) a second time."""
    return report.original is not None and report.original.strip() == report.final.strip()


def status_cell(item: Resolved) -> str:
    """A changed citation's status: resolved, or ⚠ and what is wrong (its reason on hover)."""
    if item.status == "resolved":
        return STATUS_LABELS["resolved"]
    return f'<span title="{esc(why(item))}">{UNRESOLVED[0]} {STATUS_LABELS[item.status]}</span>'


def verdict_cell(verdicts: Counter) -> str:
    """The verdicts of a changed citation's places in the final report: each shape (✓ ◐ ✗, as
    elsewhere) and how many, its word for screen readers and on hover; — when none was audited."""
    return (
        " ".join(
            f'<span class="citekb-count" data-verdict="{v}" title="{VERDICT_LABELS[v]}">'
            f'<b aria-hidden="true">{VERDICT_MARKS[v]}</b><span class="citekb-sr">{VERDICT_LABELS[v]}</span> '
            f"{verdicts[v]}</span>"
            for v in VERDICTS
            if verdicts[v]
        )
        or CHANGES_TABLE["none"]
    )


def source_cell(key: CitationKey) -> str:
    """What a changed citation cites: its kind, the title (or file) and the chunk."""
    kind, title, chunk = key
    where = (
        ""
        if chunk is None
        else f' <span class="citekb-change-chunk">· {CHANGES_TABLE["chunk"].format(chunk=chunk)}</span>'
    )
    return (
        f'<small class="citekb-change-kind">{esc(KIND_LABELS.get(kind, kind))}</small>'
        f'<span class="citekb-change-title">{esc(title)}</span>{where}'
    )


CHANGE_COLUMNS = ("change", "source", "status", "verdict", "count", "places")


def change_rows(
    cited: CitedReport, audits: list[Audit | None] | None, places: Callable[[CitationKey], str]
) -> list[str]:
    """One row per cited thing validation added, removed or moved: what changed, its status (in the
    version it is in: the final one, or the original for a removed one), its verdicts, what it
    cites, how often, and where. Each cell carries its column's name (`data-label`): on a phone the
    rows are stacked blocks that name each field."""
    first: dict[str, dict[CitationKey, Resolved]] = {"final": {}, "original": {}}
    for section, items in (("final", cited.final), ("original", cited.original)):
        for item in items:
            first[section].setdefault(citation_key(item), item)
    verdicts: dict[CitationKey, Counter] = {}
    for item, audit in zip(cited.final, audits or []):
        if audit is not None:
            verdicts.setdefault(citation_key(item), Counter())[audit.verdict] += 1
    label = CHANGES_TABLE
    rows = []
    for change, keys in citation_diff(cited).items():
        for key, n in keys:
            item = first["original" if change == "removed" else "final"][key]
            cells = (
                ("change", f' title="{CHANGE_NOTES[change]}"', CHANGE_LABELS[change]),
                ("source", "", source_cell(key)),
                ("status", f' data-status="{item.status}"', status_cell(item)),
                ("verdict", "", verdict_cell(verdicts.get(key, Counter()))),
                ("count", "", str(n)),
                ("places", "", places(key)),
            )
            rows.append(
                f'<tr data-change="{change}">'
                + "".join(f'<td data-label="{label[name]}"{extra}>{html}</td>' for name, extra, html in cells)
                + "</tr>"
            )
    return rows


def validation_html(cited: CitedReport, link: Link, audits: list[Audit | None] | None = None) -> str:
    """What validation changed: the citations (each with its status and verdicts, linked to where it
    is in both versions) and the text, word by word inside the paragraphs it reworded."""
    first: dict[str, dict[CitationKey, str]] = {"final": {}, "original": {}}
    for section, items, anchors in (
        ("final", cited.final, cited.final_anchors),
        ("original", cited.original, cited.original_anchors),
    ):
        for item, anchor in zip(items, anchors):
            if anchor:
                first[section].setdefault(citation_key(item), anchor)

    def places(key: CitationKey) -> str:
        found = [(CHANGES_TABLE[section], first[section].get(key)) for section in ("final", "original")]
        return " ".join(f'<a href="#{anchor}">{label}</a>' for label, anchor in found if anchor)

    rows = change_rows(cited, audits, places)
    report = cited.report
    return (
        f"<p>{REPORT_PAGE['before']}{counts_html(status_counts(cited.original))}</p>\n\n"
        + section_heading("citation-diff", REPORT_PAGE["citation_diff"], 3)
        + (
            index_table((CHANGES_TABLE[c] for c in CHANGE_COLUMNS), rows, "citekb-index citekb-changes") + "\n"
            if rows
            else f"<p>{REPORT_PAGE['no_citation_change']}</p>\n"
        )
        + section_heading("text-diff", REPORT_PAGE["text_diff"], 3)
        + text_diff_html(
            without_citations(report.original or "", cited.original), without_citations(report.final, cited.final)
        )
    )


def without_citations(text: str, items: list[Resolved]) -> str:
    """Report text with each citation bracket shown as 〔引用〕: the diff is about the words; the
    citations have their own table."""
    spans = commonmark.disjoint((i.citation.start, i.citation.end) for i in items)
    return commonmark.replace_spans(text, spans, lambda *_: DIFF_CITATION)


REPLACED_BELOW = 0.5
"""A changed paragraph that keeps less than this share of its words, in order, in the paragraph
that took its place (`word_similarity`) is shown as replaced: old and new whole, side by side.
Validation often rewrites a paragraph from scratch, and marking the few words two different
paragraphs happen to share in the same order (in Chinese, common characters: 的, 平台, 生态) cuts
both into fragments nobody can read. Below half, most of what a reader would see are marks. On the
pipeline output (tasks 001 and 003) reworded paragraphs keep 0.51–0.69 of their words, rewritten
ones 0.00–0.47; an order-blind measure (shared words, counted) puts most rewrites at 0.5–0.7,
among the rewordings, because Chinese paragraphs on one subject share most of their characters."""

WORD_DIFF_CHARS = 4000
"""A changed paragraph pair longer than this (both sides' characters) is shown as replaced, not word
by word: past it a reader compares the two whole better than a page of marks."""

WORD_DIFF_PAIRS = 100_000
"""A changed paragraph pair whose word diff would compare more word pairs than this (`comparisons`)
is shown as replaced: difflib's matching compares each word of the old paragraph with each place
the same word has in the new one, quadratic for a paragraph of one repeated word (2.5 s for 2,000
characters of 的). This bounds each pair's diff (about 35 ms). On the pipeline output a changed
pair makes at most 531 comparisons; a real 4,000-character pair about 30,000."""

_CJK = "\u2e80-\u2fff\u3040-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|.", re.DOTALL)
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")

Opcodes = list[tuple[str, int, int, int, int]]

LINE_DIFF_PAIRS = 1_000_000
"""The report's paragraphs are diffed as a whole only where difflib would compare at most this many
paragraph pairs (`comparisons`) between the common head and tail: a report of 8,000 alike lines took
4.6 s (quadratic). Past it, what lies between head and tail is shown removed and added whole."""

LINE_DIFF_READS = 64
"""The most paragraphs difflib's matching may read between the common head and tail, per paragraph
there (at least LINE_DIFF_MIN_READS in all), counted over all its searches (`_Bounded`): it
searches again each range on either side of every match it finds, so paragraphs that each occur
once but moved in small steps (every pair swapped: 16,000 paragraphs took 35 s) are read over and
over, quadratic though `comparisons` is small. Past it, the same as past LINE_DIFF_PAIRS: the time
stays linear in the report. A report whose changes are few reads its paragraphs a few times."""
LINE_DIFF_MIN_READS = 20_000


class _OverBudget(Exception):
    pass


class _Bounded(difflib.SequenceMatcher):
    """difflib's matcher that stops (`_OverBudget`) once its searches for the longest match have read
    more than `reads` elements of the two lists."""

    def __init__(self, a: list[str], b: list[str], reads: int):
        self.reads = reads
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None):
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        self.reads -= (ahi - alo) + (bhi - blo)
        if self.reads < 0:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def words(text: str) -> list[str]:
    """A paragraph's tokens, in order, joining back to the paragraph: each Chinese (Japanese,
    Korean) character is a word, a run of other letters and digits is one word (never split),
    white space and each punctuation mark stand alone."""
    return _TOKEN.findall(text)


def comparisons(a: list[str], b: list[str]) -> int:
    """The most word pairs difflib compares to match token lists `a` and `b`: each token of `a`
    with each place it has in `b`. Linear."""
    places = Counter(b)
    return sum(places[token] for token in a)


def word_similarity(a: list[str], b: list[str], opcodes: Opcodes) -> float:
    """The share of two paragraphs' words (`words`, without white space and punctuation) that the
    diff keeps in order: twice the words kept over all their words (1.0 for two without words)."""
    kept = sum(1 for op, i1, i2, _, _ in opcodes if op == "equal" for token in a[i1:i2] if _WORD.fullmatch(token))
    total = sum(1 for token in (*a, *b) if _WORD.fullmatch(token))
    return 2 * kept / total if total else 1.0


def inline_diff_html(a: list[str], b: list[str], opcodes: Opcodes) -> str:
    """One changed paragraph: its deleted and inserted words marked inside the unchanged ones (whole
    words, `words`); a space or punctuation mark left alone between two changes joins them, so a
    reworded phrase reads as one change, not as alternating fragments."""
    runs: list[tuple[str, str, str]] = []  # (kept, deleted, inserted): kept, or a change
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        after_change = bool(runs) and not runs[-1][0]
        if op == "equal":
            kept = "".join(a[i1:i2])
            if not (after_change and n < len(opcodes) - 1 and not _WORD.search(kept)):
                runs.append((kept, "", ""))
                continue
            deleted = inserted = kept
        else:
            deleted, inserted = "".join(a[i1:i2]), "".join(b[j1:j2])
        if after_change:
            runs[-1] = ("", runs[-1][1] + deleted, runs[-1][2] + inserted)
        else:
            runs.append(("", deleted, inserted))
    return "".join(
        esc(kept)
        + (f"<del>{esc(deleted)}</del>" if deleted else "")
        + (f"<ins>{esc(inserted)}</ins>" if inserted else "")
        for kept, deleted, inserted in runs
    )


def replaced_html(before: str, after: str) -> str:
    """A paragraph validation rewrote: the old one and the new one whole, side by side (stacked on a
    phone, by the stylesheet)."""
    return (
        f'<div class="citekb-diff-replaced"><del class="citekb-diff-del">{esc(before)}</del>'
        f'<ins class="citekb-diff-ins">{esc(after)}</ins></div>'
    )


def changed_html(before: str, after: str) -> str:
    """A paragraph and the one that took its place: its words marked in place when it was reworded,
    the two whole when it was rewritten (`REPLACED_BELOW`) or too long to compare (`WORD_DIFF_CHARS`,
    `WORD_DIFF_PAIRS`)."""
    a, b = words(before), words(after)
    if len(before) + len(after) > WORD_DIFF_CHARS or comparisons(a, b) > WORD_DIFF_PAIRS:
        return replaced_html(before, after)
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    if word_similarity(a, b, opcodes) < REPLACED_BELOW:
        return replaced_html(before, after)
    return f'<div class="citekb-diff-changed">{inline_diff_html(a, b, opcodes)}</div>'


def line_opcodes(a: list[str], b: list[str]) -> Opcodes:
    """difflib's opcodes for two lists of paragraphs, bounded (`LINE_DIFF_PAIRS`, `LINE_DIFF_READS`):
    the common head and tail matched first, what lies between diffed, or shown removed and added whole."""
    shorter = min(len(a), len(b))
    head = next((n for n in range(shorter) if a[n] != b[n]), shorter)
    tail = next((n for n in range(shorter - head) if a[-1 - n] != b[-1 - n]), shorter - head)
    ma, mb = a[head : len(a) - tail], b[head : len(b) - tail]
    middle = [
        ("delete", head, head + len(ma), head, head),
        ("insert", head + len(ma), head + len(ma), head, head + len(mb)),
    ]
    if comparisons(ma, mb) <= LINE_DIFF_PAIRS:
        try:
            reads = max(LINE_DIFF_MIN_READS, LINE_DIFF_READS * (len(ma) + len(mb)))
            opcodes = _Bounded(ma, mb, reads).get_opcodes()
            middle = [(op, i1 + head, i2 + head, j1 + head, j2 + head) for op, i1, i2, j1, j2 in opcodes]
        except _OverBudget:
            pass  # removed and added whole
    middle = [op for op in middle if op[2] > op[1] or op[4] > op[3]]
    return (
        ([("equal", 0, head, 0, head)] if head else [])
        + middle
        + ([("equal", len(a) - tail, len(a), len(b) - tail, len(b))] if tail else [])
    )


def text_diff_html(before: str, after: str) -> str:
    """Paragraph diff of the report text, escaped: a paragraph that was reworded shows its changed
    words in place, one that was rewritten is shown replaced; added and removed paragraphs whole;
    unchanged runs collapsed to a count."""
    a = [line for line in before.splitlines() if line.strip()]
    b = [line for line in after.splitlines() if line.strip()]
    out: list[str] = []
    for op, i1, i2, j1, j2 in line_opcodes(a, b):
        if op == "equal":
            out.append(f'<div class="citekb-diff-same">{DIFF_SAME.format(count=i2 - i1)}</div>')
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        out.extend(changed_html(a[i1 + k], b[j1 + k]) for k in range(pairs))
        out.extend(f'<del class="citekb-diff-del">{esc(line)}</del>' for line in a[i1 + pairs : i2])
        out.extend(f'<ins class="citekb-diff-ins">{esc(line)}</ins>' for line in b[j1 + pairs : j2])
    return '<div class="citekb-diff">' + "".join(out) + "</div>"
