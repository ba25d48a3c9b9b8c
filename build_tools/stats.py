"""Which configuration cites honestly: citation figures per model × context size, per bench folder.

Pure: everything comes from an assembled KnowledgeBase. A figure with nothing to count (no
reports, no citations of that kind) is None, and left out of the JSON: absent, never zero.
A run that failed (`failure`: no output, only the agent's plan, a report cut off) is counted as
failed, never as a report with no citations; the citations a failed run's text holds (a cut-off
report's) are counted with the rest, so that every page counts the same citations.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .cite.resolve import file_key, stem_key
from .knowledge_base import CitedReport, KnowledgeBase
from .messages import CONFIGURATION_OTHER, STATUS_LABELS
from .models import VERDICTS, Audit, Report, Resolved
from .validation import Change, validation_changes

# What the pipeline writes as the report of a run that failed: "No report generated.",
# "No final answer generated." (and so on: a few words between "No" and "generated").
FAILED_MARKER = re.compile(r"no(?: \w+){1,3} generated\.?", re.IGNORECASE)
STATUSES = tuple(STATUS_LABELS)  # every resolution status, in the order the pages list them
FILE_KINDS = ("document", "image", "video")
OTHER = "other"
_CONTEXT_SIZE = re.compile(r"^(\d{1,12})(?!\d)")  # a longer run sorts as no size: int() refuses 4300 digits
TASK_FIELDS = ("reports", "failed", "citations", "resolved_share", "invented_share")  # the per-task view
NO_TASK = "—"  # the task of a report that names none

FAILURES = ("no_output", "plan_only", "truncated")  # why a run failed (`failure`), in this order
# An agent's tool call left in the output (the run stopped waiting for its answer), up to its end tag
# or the end of the text; lazy, so one pass over the text whatever it holds.
_TOOL_CALL = re.compile(r"<(use_mcp_tool|tool_call)>.*?(?:</\1>|\Z)", re.DOTALL)
# The agent announcing what it will do, at the very start: a preamble, not a report.
_PREAMBLE = re.compile(
    r"\W*(?:(?:certainly|sure|understood|okay|alright|i'll|i will|i need|i am going|let me|let's)\b"
    r"|好的|明白|我将|我会|让我|首先，我)",
    re.IGNORECASE,
)
_CITES = (
    "long_context",
    "文档:",
    "文档：",
    "图片:",
    "图片：",
    "[Doc",
    "[Image",
    "[doc",
    "[image",
)  # a citation's marks
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]", re.MULTILINE)
REPORT_CHARS = 2000  # below this, a plan (a tool call at its end, a token answer, a preamble) holds no report
BOXED_CHARS = 200  # a `\boxed{}` answer shorter than this is a token, not a report
_PAIRS = {"[": "]", "(": ")", "（": "）", "【": "】", "《": "》"}
# How a sentence cannot end: a comma-like mark; 的 (but 目的 是的 有的 似的 真的 别的); a Chinese
# connective of two characters (one character would take in nouns: 参与, 普及, 方向, 合并, 饱和); an
# English article, conjunction or preposition, lower case and not a word's end ("Plan A", "built-in",
# "and so on" end fine).
_DANGLING = re.compile(
    r"(?:[，、；：,;:]|(?<![目是有似真别])的|根据|通过|由于|因为|如果|虽然|包括|例如|比如|以及|并且|而且|但是|或者|对于|关于|为了"
    r"|(?<![\w-])(?:the|a|an|of|and|or|to|with|for|by|that|which|from|is|are|was|were))$"
)
_TABLE_OR_HEADING = re.compile(r"^(?:\||#)")


def _boxed(text: str) -> str | None:
    """The content of the first `\\boxed{…}` (braces balanced), None when there is none or it never closes."""
    start = text.find("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    while i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if not depth:
            return text[start + len("\\boxed{") : i]
        i += 1
    return None


def _cut_off(line: str) -> bool:
    """A last line that stops mid-sentence: a bracket, parenthesis or title mark left open, or an
    end no sentence has (`_DANGLING`). A table row or a heading never is."""
    if _TABLE_OR_HEADING.match(line):
        return False
    if any(line.count(open_) > line.count(close) for open_, close in _PAIRS.items()):
        return True
    return _DANGLING.search(line) is not None


def failure(text: str | None) -> str | None:
    """Why a run failed, or None when it wrote a report (or there is no text: no original version).

    - `no_output`: empty, or the pipeline's marker alone ("No report generated.");
    - `plan_only`: no report, only what the agent said before writing one: a text of fewer than
      REPORT_CHARS characters (tool calls left out) that ends in a tool call, or whose `\\boxed{}`
      answer is a token (under BOXED_CHARS), or that opens with the agent announcing its work
      ("Understood. I will use the RAG tools…", "I'll…", "Let me…") and holds no citation and no
      Markdown heading;
    - `truncated`: the text stops mid-sentence (`_cut_off`: its last line leaves a bracket open or
      ends on a comma, 的, "and"…), or ends in a tool call after a report's worth of text.
    Conservative: a text ending in a table row, a heading, a list item or a sentence without its
    full stop is a report."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped or FAILED_MARKER.fullmatch(stripped):
        return "no_output"
    calls = list(_TOOL_CALL.finditer(stripped))
    prose = _TOOL_CALL.sub("", stripped).strip()
    ends_in_call = bool(calls) and calls[-1].end() == len(stripped)
    boxed = _boxed(prose)
    if len(prose) < REPORT_CHARS and (ends_in_call or (boxed is not None and len(boxed.strip()) < BOXED_CHARS)):
        return "plan_only"
    if (
        len(prose) < REPORT_CHARS
        and _PREAMBLE.match(prose)
        and not any(mark in prose for mark in _CITES)
        and not _MARKDOWN_HEADING.search(prose)
    ):
        return "plan_only"
    if ends_in_call:
        return "truncated"
    last = stripped.rsplit("\n", 1)[-1].strip()
    return "truncated" if _cut_off(last) else None


def failed(text: str | None) -> bool:
    """The run wrote no complete report (`failure` says why)."""
    return failure(text) is not None


@dataclass(frozen=True)
class Configuration:
    """How a report was produced: a model at a context size (results_{ctx}/<model>), a bench folder, or other."""

    id: str  # stable: "results_32k/gpt4.1", "bench_case1114", "other"
    kind: str  # results | bench | other
    model: str | None = None
    context: str | None = None
    bench: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "results":
            return f"{self.model} · {self.context}"
        return self.bench or CONFIGURATION_OTHER

    def sort_key(self) -> tuple:
        """Models together, each by growing context size; bench folders next; other last."""
        size = _CONTEXT_SIZE.match(self.context or "")
        order = {"results": 0, "bench": 1, "other": 2}[self.kind]
        return order, self.model or "", int(size.group(1)) if size else 0, self.context or "", self.id


def configuration_of(report: Report) -> Configuration:
    """From the import layout `kb import` writes into report.yaml (model, context / bench)."""
    meta = report.meta
    if meta.get("model") and meta.get("context"):
        return Configuration(
            f"results_{meta['context']}/{meta['model']}", "results", model=meta["model"], context=meta["context"]
        )
    if meta.get("bench"):
        return Configuration(meta["bench"], "bench", bench=meta["bench"])
    return Configuration(OTHER, "other")


# Why a report's long_context titles cannot be checked at all: its corpus is not in the knowledge
# base (not named, absent, or a bench folder's that the importer could not identify). Its titles
# are not called invented: the corpus they came from may simply be missing.
CORPUS_MISSING = frozenset(
    ("corpus_unnamed", "corpus_absent", "corpus_note", "bench_corpus_unknown", "bench_corpus_absent")
)


class TitleLookup:
    """The one rule for an invented title (health page, comparison page, `kb stats`): a cited
    long_context title that names nothing anywhere in the knowledge base — no source (by the
    resolver's title rule, `Titles`), no task file (its name with or without its extension) —
    where the report's corpus is there to check it against."""

    def __init__(self, kb: KnowledgeBase):
        self.titles = kb.titles
        files = kb.loaded.files.values()
        self.files = {file_key(f.name) for f in files} | {stem_key(f.name) for f in files} - {None}

    def known(self, title: str) -> bool:
        return file_key(title) in self.files or bool(self.titles.match(title))

    def invented(self, item: Resolved) -> bool:
        """A long_context citation with a title that matches no source and no file, its corpus known."""
        c = item.citation
        if c.kind != "long_context" or not c.title or item.source_slug is not None:
            return False
        return not (item.reason and item.reason.code in CORPUS_MISSING) and not self.known(c.title)


def titled(item: Resolved) -> bool:
    """A long_context citation that names a title: the ones that can be invented."""
    return item.citation.kind == "long_context" and bool(item.citation.title)


def share(part: int | None, whole: int | None) -> float | None:
    return part / whole if part is not None and whole else None


@dataclass(frozen=True)
class Figures:
    """Citation figures over a set of report texts (final, or original). Each count is None when
    there was no report to count in; the verdicts when no citation was audited (the original
    texts, a build without the audit)."""

    reports: int  # that produced a (complete) report
    failed: int  # runs that did not (`failure`)
    failures: dict[str, int] | None = None  # failed runs by why (FAILURES), when any failed
    characters: int | None = None
    citations: int | None = None
    statuses: dict[str, int] | None = None  # every status in STATUSES (zeros too); they add up to citations
    long_context_titled: int | None = None
    invented: int | None = None
    file_citations: int | None = None  # document / image / video
    missing_files: int | None = None
    verdicts: dict[str, int] | None = None  # audited citations by verdict (every one of VERDICTS, zeros too)

    @property
    def per_1000_characters(self) -> float | None:
        return share(self.citations * 1000, self.characters) if self.citations is not None else None

    def status_share(self, status: str) -> float | None:
        return share(self.statuses[status], self.citations) if self.statuses else None

    def verdict_share(self, verdict: str) -> float | None:
        """Of the audited citations: the reader's question, which configuration cites honestly."""
        return share(self.verdicts[verdict], sum(self.verdicts.values())) if self.verdicts else None

    def verdict_count(self, verdict: str) -> int | None:
        """Citations of this verdict: 0 when citations were audited and none has it; None when none was."""
        return self.verdicts[verdict] if self.verdicts else None

    def of_citations(self, verdict: str) -> float | None:
        """Citations of this verdict among all citations (audited or not): the ranking's measure,
        comparable between configurations that cite corpora, files and the web in different shares."""
        return share(self.verdict_count(verdict), self.citations)

    @property
    def runs(self) -> int:
        return self.reports + self.failed

    @property
    def failed_share(self) -> float | None:
        return share(self.failed, self.runs)

    @property
    def invented_share(self) -> float | None:
        return share(self.invented, self.long_context_titled)

    @property
    def missing_file_share(self) -> float | None:
        return share(self.missing_files, self.file_citations)

    def as_json(self) -> dict:
        """The `kb stats --json` fields; absent figures are left out."""
        row = {
            "reports": self.reports,
            "failed": self.failed,
            "failures": self.failures,
            "characters": self.characters,
            "citations": self.citations,
            "citations_per_1000_chars": self.per_1000_characters,
            "statuses": self.statuses,
            "status_shares": {s: self.status_share(s) for s in self.statuses}
            if self.statuses and self.citations
            else None,
            "resolved_share": self.status_share("resolved"),
            "long_context_titled": self.long_context_titled,
            "invented": self.invented,
            "invented_share": self.invented_share,
            "file_citations": self.file_citations,
            "missing_files": self.missing_files,
            "missing_file_share": self.missing_file_share,
            "verdicts": self.verdicts,
            "verdict_shares": {v: self.verdict_share(v) for v in VERDICTS} if self.verdicts else None,
        }
        return {key: value for key, value in row.items() if value is not None}


def figures(
    texts: list[tuple[str, list[Resolved]]], lookup: TitleLookup, audits: list[list[Audit | None]] | None = None
) -> Figures:
    """Figures of (report text, its citations) pairs, with the citations' audits when there are
    (parallel to `texts`, each parallel to its citations). Failed runs are counted apart; the
    citations of their texts (a cut-off report's) are counted too, with their characters."""
    audits = audits or [[] for _ in texts]
    why = [failure(text) for text, _ in texts]
    failures = Counter(w for w in why if w)
    done = [(text, cited, audited) for (text, cited), audited, w in zip(texts, audits, why) if w != "no_output"]
    runs = {
        "reports": len(texts) - sum(failures.values()),
        "failed": sum(failures.values()),
        "failures": {w: failures[w] for w in FAILURES if failures[w]} or None,
    }
    if not done:
        return Figures(**runs)
    items = [item for _, cited, _ in done for item in cited]
    verdicts = Counter(a.verdict for _, _, audited in done for a in audited if a)
    counts = Counter(item.status for item in items)
    files = [item for item in items if item.citation.kind in FILE_KINDS]
    return Figures(
        **runs,
        characters=sum(len(text) for text, _, _ in done),
        citations=len(items),
        statuses={status: counts[status] for status in (*STATUSES, *sorted(set(counts) - set(STATUSES)))},
        long_context_titled=sum(map(titled, items)),
        invented=sum(map(lookup.invented, items)),
        file_citations=len(files),
        missing_files=sum(item.status == "missing_file" for item in files),
        verdicts={v: verdicts[v] for v in VERDICTS} if verdicts else None,
    )


def compared(cited: CitedReport) -> bool:
    """A report whose validation can be measured: both texts exist and neither run failed."""
    return cited.report.original is not None and not failed(cited.report.original) and not failed(cited.report.final)


@dataclass(frozen=True)
class Validation:
    """What validation changed over a configuration's compared reports (citations, counted each time)."""

    reports: int
    added: int
    removed: int
    repaired: int

    def as_json(self) -> dict:
        return {"reports": self.reports, "added": self.added, "removed": self.removed, "repaired": self.repaired}


@dataclass(frozen=True)
class Row:
    """One configuration: its reports (failed ones too), their figures, and validation's effect."""

    configuration: Configuration
    reports: tuple[CitedReport, ...]
    final: Figures
    original: Figures | None  # over the reports that have an original text
    validation: Validation | None  # over the compared reports
    changes: dict[str, list[Change]]  # report slug → validation's changes
    tasks: dict[str, Figures]  # task → the final figures of this configuration's reports of it

    def as_json(self) -> dict:
        config = self.configuration
        head = {
            "configuration": config.id,
            "kind": config.kind,
            "model": config.model,
            "context": config.context,
            "bench": config.bench,
        }
        row = {key: value for key, value in head.items() if value is not None} | self.final.as_json()
        if self.original is not None:
            row["original"] = self.original.as_json()
        if self.validation is not None:
            row["validation"] = self.validation.as_json()
        row["tasks"] = {
            task: {key: value for key, value in figures.as_json().items() if key in TASK_FIELDS}
            for task, figures in self.tasks.items()
        }
        return row


def task_of(report: Report) -> str:
    return report.task or NO_TASK


def row_for(
    configuration: Configuration,
    reports: list[CitedReport],
    lookup: TitleLookup,
    audits: dict[str, list[Audit | None]] | None = None,
) -> Row:
    """One configuration's figures; `audits` by report slug (`KnowledgeBase.audits`), of the final texts."""
    audits = audits or {}
    originals = [(c.report.original, c.original) for c in reports if c.report.original is not None]
    with_diff = [c for c in reports if compared(c)]
    changes = {c.report.slug: validation_changes(c) for c in with_diff}
    counted: Counter = Counter()
    for found in changes.values():
        for change in found:
            counted[change.change] += change.count
    by_task: dict[str, list[CitedReport]] = {}
    for cited in reports:
        by_task.setdefault(task_of(cited.report), []).append(cited)
    return Row(
        configuration,
        tuple(reports),
        figures([(c.report.final, c.final) for c in reports], lookup, [audits.get(c.report.slug, []) for c in reports]),
        figures(originals, lookup) if originals else None,
        Validation(len(with_diff), counted["added"], counted["removed"], counted["repaired"]) if with_diff else None,
        changes,
        {
            task: figures(
                [(c.report.final, c.final) for c in found], lookup, [audits.get(c.report.slug, []) for c in found]
            )
            for task, found in sorted(by_task.items())
        },
    )


def stats(kb: KnowledgeBase, lookup: TitleLookup | None = None) -> list[Row]:
    """One row per configuration that has at least one report (failed runs included); the verdicts
    are those of `kb.audits` (none when it is empty)."""
    lookup = lookup or TitleLookup(kb)
    groups: dict[Configuration, list[CitedReport]] = {}
    for _, cited in sorted(kb.cited.items()):
        groups.setdefault(configuration_of(cited.report), []).append(cited)
    return [row_for(config, groups[config], lookup, kb.audits) for config in sorted(groups, key=Configuration.sort_key)]


def tasks(rows: list[Row]) -> list[str]:
    return sorted({task for row in rows for task in row.tasks})


def ranked(rows: list[Row]) -> list[Row]:
    """The configurations best first. With verdicts (any row audited): the share of all citations
    whose passage states the claim (supported), higher first; a tie goes to fewer invented titles
    (share), then fewer failed runs (share), then more resolved citations (share). Without
    verdicts: resolved share, then fewer invented, then fewer failed runs. With verdicts, a
    configuration none of whose citations could be audited (none resolved, or only images) comes
    after those with some: it cannot be compared on them, and its empty shares won a tie with real
    ones. A configuration with no citation to count comes last; the rest of a tie keeps the page's
    order (`Configuration.sort_key`). The page states this rule (messages.RANKING)."""
    audited = any(row.final.verdicts for row in rows)

    def key(row: Row) -> tuple:
        final = row.final
        if not final.citations:
            return (2,)
        resolved = final.status_share("resolved") or 0.0
        invented = final.invented_share or 0.0
        failed = final.failed_share or 0.0
        if audited:
            return 0 if final.verdicts else 1, -(final.of_citations("supported") or 0.0), invented, failed, -resolved
        return 0, -resolved, invented, failed

    return sorted(rows, key=key)
