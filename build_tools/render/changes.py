"""What validation changed in a report: its citations and its text."""

from __future__ import annotations

import difflib

from .. import commonmark
from ..knowledge_base import CitedReport
from ..messages import (
    KIND_LABELS,
)
from ..models import Report, Resolved
from ..validation import citation_diff, citation_key
from .markup import Link, counts_html, esc, index_table, status_counts


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
            index_table(("变化", "类型", "来源", "块", "次数", "位置"), rows) + "\n"
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
