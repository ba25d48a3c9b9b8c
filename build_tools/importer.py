"""`kb import`: bring a pipeline app folder into the knowledge base.

The pipeline's layout (datasets/NNN/…, results/bench_case*/…, results/results_{ctx}/<model>/<run>/…)
maps to the knowledge-base layout read by ingest. Re-importing writes nothing new; every write
goes through a temporary file and a rename, and never lands outside the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .lock import write_atomic

# Which corpus each bench_case folder's reports were written against (pipeline README);
# a folder not named here used a corpus we do not have, so its long_context citations stay unresolved.
BENCH_CORPORA = {"bench_case1114": "long_context_sampled_60"}
_TASK = re.compile(r"^\d{3,}$")
_BENCH_REPORT = re.compile(r"^(?P<task>\d{3,})_(?P<time>[\d_-]+?)(?P<comparison>_comparison)?\.(md|txt)$")
_RESULTS_CONTEXT = re.compile(r"^results_(?P<context>\w+)$")
_RUN = re.compile(r"^(?P<task>\d{3,})_")
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]+$")


class ImportFailure(Exception):
    """Input that cannot be imported at all (the message names it)."""


@dataclass
class Imported:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)


class Writer:
    """Writes into one knowledge-base folder only; identical files are left alone."""

    def __init__(self, root: Path, result: Imported, progress: Callable[[str], None]):
        self.root = root.resolve()
        self.result = result
        self.progress = progress

    def put(self, relative: str, data: bytes) -> None:
        target = (self.root / relative).resolve()
        if self.root not in target.parents:
            raise ImportFailure(f"refusing to write outside the knowledge base: {relative}")
        if target.exists() and target.read_bytes() == data:
            self.result.unchanged += 1
            return
        write_atomic(target, data)
        self.result.written.append(relative)
        self.progress(f"  wrote {relative}")


def safe(name: str) -> bool:
    return bool(_SAFE_NAME.match(name)) and name not in (".", "..") and not name.startswith(".")


def import_datasets(app: Path, writer: Writer, tasks: set[str] | None) -> None:
    for task_dir in sorted((app / "datasets").iterdir()) if (app / "datasets").is_dir() else []:
        if not task_dir.is_dir() or not _TASK.match(task_dir.name) or (tasks and task_dir.name not in tasks):
            continue
        for path in sorted(task_dir.iterdir()):
            if not path.is_file() or not safe(path.name):
                writer.result.skipped.append(str(path))
                continue
            folder = "corpora" if path.suffix == ".json" and path.name.startswith("long_context") else "files"
            writer.put(f"{folder}/{task_dir.name}/{path.name}", path.read_bytes())


def report_meta(task: str, corpus: str | None, **extra: str) -> bytes:
    meta = {"task": task, **extra}
    if corpus:
        meta["corpus"] = f"corpora/{task}/{corpus}"
    else:
        meta["corpus_missing"] = "written against an older corpus that the pipeline output does not include"
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=True).encode("utf-8")


def import_bench(folder: Path, writer: Writer, tasks: set[str] | None) -> None:
    """results/bench_caseXXXX/NNN_<time>.md (+ NNN_<time>_comparison.txt): one report per run time."""
    runs: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _BENCH_REPORT.match(path.name)
        if not path.is_file() or not match:
            continue
        if not tasks or match.group("task") in tasks:
            runs.setdefault((match.group("task"), match.group("time")), []).append(path)
    for (task, time), paths in sorted(runs.items()):
        slug = f"{folder.name}-{task}_{time}"
        for path in paths:
            writer.put(f"reports/{slug}/{path.name}", path.read_bytes())
        writer.put(f"reports/{slug}/report.yaml",
                   report_meta(task, BENCH_CORPORA.get(folder.name), run=f"{task}_{time}", bench=folder.name))


def import_results(folder: Path, writer: Writer, tasks: set[str] | None) -> None:
    """results/results_{ctx}/<model>/<run>/: initial_report.md, final_report.md, *_comparison.txt."""
    context = _RESULTS_CONTEXT.match(folder.name).group("context")
    for model in sorted(p for p in folder.iterdir() if p.is_dir()):
        for run in sorted(p for p in model.iterdir() if p.is_dir()):
            match = _RUN.match(run.name)
            if not match or (tasks and match.group("task") not in tasks):
                continue
            files = [p for p in sorted(run.iterdir()) if p.is_file() and p.suffix in (".md", ".txt")
                     and not p.name.startswith("tool_call") and safe(p.name)]
            if not files:
                continue
            slug = f"{folder.name}-{model.name}-{run.name}"
            for path in files:
                writer.put(f"reports/{slug}/{path.name}", path.read_bytes())
            writer.put(f"reports/{slug}/report.yaml", report_meta(
                match.group("task"), f"long_context_sampled_{context}", model=model.name, context=context, run=run.name,
            ))


def import_app(app: Path, root: Path, tasks: set[str] | None = None,
               progress: Callable[[str], None] = lambda _: None) -> Imported:
    app = app.resolve()
    if not (app / "datasets").is_dir() and not (app / "results").is_dir():
        raise ImportFailure(f"{app}: not a pipeline app folder (no datasets/ or results/)")
    result = Imported()
    writer = Writer(root, result, progress)
    progress(f"importing datasets from {app / 'datasets'}")
    import_datasets(app, writer, tasks)
    for folder in sorted((app / "results").iterdir()) if (app / "results").is_dir() else []:
        if not folder.is_dir():
            continue
        if folder.name.startswith("bench_case"):
            progress(f"importing reports from {folder}")
            import_bench(folder, writer, tasks)
        elif _RESULTS_CONTEXT.match(folder.name):
            progress(f"importing reports from {folder}")
            import_results(folder, writer, tasks)
        else:
            result.skipped.append(str(folder))
    return result
