"""Which configuration cites honestly: citation figures per model × context size, per bench folder.

Pure: everything comes from an assembled KnowledgeBase. A figure with nothing to count (no
reports, no citations of that kind) is None, and left out of the JSON: absent, never zero.
A run whose report is the pipeline's failure marker (or empty) is counted as failed, never as a
report with no citations.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .cite.resolve import file_key, stem_key
from .knowledge_base import CitedReport, KnowledgeBase
from .messages import STATUS_LABELS
from .models import VERDICTS, Audit, Report, Resolved
from .validation import Change, validation_changes

# What the pipeline writes as the report of a run that failed: "No report generated.",
# "No final answer generated." (and so on: a few words between "No" and "generated").
FAILED_MARKER = re.compile(r"no(?: \w+){1,3} generated\.?", re.IGNORECASE)
STATUSES = tuple(STATUS_LABELS)  # every resolution status, in the order the pages list them
FILE_KINDS = ("document", "image", "video")
OTHER = "other"
_CONTEXT_SIZE = re.compile(r"^(\d+)")
TASK_FIELDS = ("reports", "failed", "citations", "resolved_share", "invented_share")  # the per-task view
NO_TASK = "—"  # the task of a report that names none


def failed(text: str | None) -> bool:
    """The run wrote no report: empty, or the pipeline's marker alone."""
    return text is not None and (not text.strip() or FAILED_MARKER.fullmatch(text.strip()) is not None)


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
        return self.bench or "其他"

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

    reports: int  # that produced a report
    failed: int  # runs whose report is the failure marker (or empty)
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
    (parallel to `texts`, each parallel to its citations); failed runs are counted apart."""
    audits = audits or [[] for _ in texts]
    done = [(text, cited, audited) for (text, cited), audited in zip(texts, audits) if not failed(text)]
    if not done:
        return Figures(0, len(texts))
    items = [item for _, cited, _ in done for item in cited]
    verdicts = Counter(a.verdict for _, _, audited in done for a in audited if a)
    counts = Counter(item.status for item in items)
    files = [item for item in items if item.citation.kind in FILE_KINDS]
    return Figures(
        reports=len(done),
        failed=len(texts) - len(done),
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
        {task: figures([(c.report.final, c.final) for c in found], lookup) for task, found in sorted(by_task.items())},
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
