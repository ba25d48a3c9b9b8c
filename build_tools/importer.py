"""`kb import`: bring a pipeline app folder into the knowledge base.

The pipeline's layout (datasets/NNN/…, results/bench_case*/…, results/results_{ctx}/<model>/<run>/…)
maps to the knowledge-base layout read by ingest. Re-importing writes nothing new; every write
goes through a temporary file and a rename, and never lands outside the knowledge base; what a
killed import left half-written is removed by the next. Links that leave the app folder are not
followed (nothing from outside it is ever imported). The caller holds the knowledge-base folder
(`lock.folder_lock`, as `kb import` does): removing a stopped import's temporaries would otherwise
remove those a running one is writing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cite.parse import parse_citations
from .cite.resolve import normalize_title
from .corpus_json import read_corpus
from .lock import remove_leftovers, write_atomic
from .messages import Reason
from .reading import MAX_TEXT, inside, short_hash, shown

_TASK = re.compile(r"^\d{3,}$")
_BENCH_REPORT = re.compile(r"^(?P<task>\d{3,})(?:_(?P<time>[\d_-]+?))?(?P<comparison>_comparison)?\.(md|txt)$")
_TRANSCRIPT = re.compile(r"^\d{3,}_.*_turns\.txt$")
_RESULTS_CONTEXT = re.compile(r"^results_(?P<context>\w+)$")
_RUN = re.compile(r"^(?P<task>\d{3,})_")
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]+$")


class ImportFailure(Exception):
    """Input that cannot be imported at all (the message names it)."""


@dataclass
class Imported:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason → paths
    tasks: set[str] = field(default_factory=set)  # every task the app folder holds, asked for or not

    def skip(self, path: Path | str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(str(path))


SKIP_UNKNOWN = "not a pipeline file this importer knows"
SKIP_TRANSCRIPT = "the agent's turn-by-turn transcript, not a report"
SKIP_OUTSIDE = "a link to outside the app folder, not followed"
SKIP_LARGE = f"larger than {MAX_TEXT >> 20} MiB, the most a knowledge-base file is read"


class Writer:
    """Writes into one knowledge-base folder only, reads from one app folder only; identical files
    are left alone (only regular files are read: a pipe in the folder would never end)."""

    def __init__(self, root: Path, result: Imported, progress: Callable[[str], None], app: Path = Path("/")):
        self.root = root.resolve()
        self.result = result
        self.progress = progress
        self.app = app.resolve()
        self.claimed: dict[str, Path] = {}  # report folder → the run it holds

    def outside(self, path: Path) -> bool:
        """Whether `path` is a link that leaves the app folder (then skipped, with the reason)."""
        if inside(path, self.app):
            return False
        self.result.skip(path, SKIP_OUTSIDE)
        return True

    def report_folder(self, slug: str, run: Path) -> str:
        """`reports/<slug>/` for one run; a folder name another run of this import took (model
        `m-001_a` with run `001_b`, and model `m` with run `001_a-001_b`) gets a hash of the run's
        path: two runs are never merged into one report (the same name on each import). A folder
        name that is not UTF-8 is written as shown (`reading.shown`): the knowledge base reads it."""
        slug = shown(slug)
        if self.claimed.setdefault(slug, run) != run:
            slug = f"{slug}-{short_hash(str(run.relative_to(self.app)), 6)}"
            self.claimed[slug] = run
        return f"reports/{slug}"

    def too_large(self, path: Path) -> bool:
        """Whether a file of the app folder is larger than MAX_TEXT (what the knowledge base reads of
        a file; a sparse file can claim terabytes): then it is skipped, named, and never read."""
        if path.stat().st_size <= MAX_TEXT:
            return False
        self.result.skip(path, SKIP_LARGE)
        return True

    def copy(self, relative: str, path: Path) -> None:
        """A file of the app folder put at `relative`, unless `too_large`."""
        if not self.too_large(path):
            self.put(relative, path.read_bytes())

    def put(self, relative: str, data: bytes) -> None:
        target = (self.root / relative).resolve()
        if self.root not in target.parents:
            raise ImportFailure(f"refusing to write outside the knowledge base: {relative}")
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            self.result.unchanged += 1
            return
        write_atomic(target, data)
        self.result.written.append(relative)
        self.progress(f"  wrote {relative}")


def safe(name: str) -> bool:
    return bool(_SAFE_NAME.match(name)) and name not in (".", "..") and not name.startswith(".")


def import_datasets(app: Path, writer: Writer, tasks: set[str] | None) -> None:
    for task_dir in sorted((app / "datasets").iterdir()) if (app / "datasets").is_dir() else []:
        if not task_dir.is_dir() or not _TASK.match(task_dir.name):
            continue
        writer.result.tasks.add(task_dir.name)
        if tasks and task_dir.name not in tasks:
            continue
        if writer.outside(task_dir):
            continue
        for path in sorted(task_dir.iterdir()):
            if writer.outside(path):
                continue
            if not path.is_file() or not safe(path.name):
                writer.result.skip(path, SKIP_UNKNOWN)
                continue
            folder = "corpora" if path.suffix == ".json" and path.name.startswith("long_context") else "files"
            writer.copy(f"{folder}/{task_dir.name}/{path.name}", path)


def report_meta(task: str, corpus: str | None, missing: Reason | None = None, **extra: object) -> bytes:
    """A run's report.yaml; names of folders as shown (`reading.shown`): a name's undecodable byte
    written as YAML's `\\uDCFF` is an escape YAML then refuses, and the run was not published."""
    meta = {"task": task, **{key: shown(value) if isinstance(value, str) else value for key, value in extra.items()}}
    if corpus:
        meta["corpus"] = f"corpora/{task}/{corpus}"
    elif missing:
        meta["corpus_missing"] = missing.recorded()
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class CorpusChoice:
    """Which corpus a bench folder's reports were written against, and the evidence for it."""

    name: str | None  # a corpus file name without ".json", e.g. "long_context_sampled_60"
    found: int  # cited long_context titles found in it
    cited: int  # distinct titles cited, counted per report file

    @property
    def evidence(self) -> Reason:
        return Reason.of("corpus_evidence", cited=self.cited, found=self.found)


def corpus_titles(app: Path, task: str) -> dict[str, set[str]]:
    """The task's corpus files in the app folder: name → normalized titles."""
    titles: dict[str, set[str]] = {}
    for path in sorted((app / "datasets" / task).glob("long_context*.json")):
        if not path.is_file() or not inside(path, app):  # a pipe would never end
            continue
        entries, _ = read_corpus(path, path.parent)
        titles[path.stem] = {normalize_title(e.title) for e in entries if e}
    return titles


def choose_corpus(reports: list[tuple[str, str]], titles_of: Callable[[str], dict[str, set[str]]]) -> CorpusChoice:
    """A bench folder does not say which corpus its reports used (`bench_case1114` used
    `long_context_sampled_60`, `bench_case1104` one the output does not include): the corpus name
    under which most cited titles are found, over all (task, report text) pairs, when it holds more
    than half of them; else none, and the citations stay unresolved with that reason."""
    found: dict[str, int] = {}
    cited = 0
    for task, text in reports:
        titles = {normalize_title(c.title) for c in parse_citations(text) if c.kind == "long_context" and c.title}
        cited += len(titles)
        for name, known in titles_of(task).items():
            found[name] = found.get(name, 0) + len(titles & known)
    best = max(sorted(found), key=lambda name: found[name], default=None)
    if best is None or found[best] * 2 <= cited:
        return CorpusChoice(None, found.get(best, 0) if best else 0, cited)
    return CorpusChoice(best, found[best], cited)


def import_bench(folder: Path, writer: Writer, tasks: set[str] | None) -> None:
    """results/bench_caseXXXX/NNN[_<time>].md (+ NNN_<time>_comparison.txt): one report per run."""
    runs: dict[tuple[str, str | None], list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if writer.outside(path):
            continue
        match = _BENCH_REPORT.match(path.name)
        if not path.is_file() or not match:
            writer.result.skip(path, SKIP_TRANSCRIPT if _TRANSCRIPT.match(path.name) else SKIP_UNKNOWN)
            continue
        if writer.too_large(path):  # read whole below to choose the corpus
            continue
        writer.result.tasks.add(match.group("task"))
        if not tasks or match.group("task") in tasks:
            runs.setdefault((match.group("task"), match.group("time")), []).append(path)
    cache: dict[str, dict[str, set[str]]] = {}

    def titles_of(task: str) -> dict[str, set[str]]:
        return cache.setdefault(task, corpus_titles(writer.app, task))

    texts = [
        (task, p.read_text(encoding="utf-8", errors="replace")) for (task, _), paths in runs.items() for p in paths
    ]
    choice = choose_corpus(texts, titles_of)
    for (task, time), paths in sorted(runs.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        run = f"{task}_{time}" if time else task
        corpus = choice.name if choice.name in titles_of(task) else None
        extra = {"corpus_evidence": choice.evidence.recorded()} if corpus else {}
        counts = {"folder": folder.name, "cited": choice.cited, "found": choice.found}
        missing = (
            Reason.of("bench_corpus_unknown", **counts)
            if choice.name is None
            else Reason.of("bench_corpus_absent", corpus=choice.name, task=task, **counts)
        )
        # A bench whose corpus is not in the output ran on another dataset (bench_case1104: its own
        # query.jsonl, 001 a travel report): its task numbers are its own, not datasets/NNN's, whose
        # questions and task files are other ones. Its tasks are named with the folder.
        own = task if choice.name is not None else f"{folder.name}-{task}"
        writer.put(  # first: a report read half-imported is a problem (no text yet), not a report citing nothing
            f"reports/{folder.name}-{run}/report.yaml",
            report_meta(own, corpus, missing, run=run, bench=folder.name, **extra),
        )
        for path in paths:
            writer.copy(f"reports/{folder.name}-{run}/{path.name}", path)


def import_results(folder: Path, writer: Writer, tasks: set[str] | None) -> None:
    """results/results_{ctx}/<model>/<run>/: initial_report.md, final_report.md, *_comparison.txt."""
    context = _RESULTS_CONTEXT.match(folder.name).group("context")
    for model in sorted(p for p in folder.iterdir() if p.is_dir() and not writer.outside(p)):
        for run in sorted(p for p in model.iterdir() if p.is_dir() and not writer.outside(p)):
            match = _RUN.match(run.name)
            if match:
                writer.result.tasks.add(match.group("task"))
            if not match or (tasks and match.group("task") not in tasks):
                continue
            files = [
                p
                for p in sorted(run.iterdir())
                if p.is_file()
                and p.suffix in (".md", ".txt")
                and not p.name.startswith("tool_call")
                and safe(p.name)
                and not writer.outside(p)
            ]
            if not files:
                continue
            target = writer.report_folder(f"{folder.name}-{model.name}-{run.name}", run)
            writer.put(  # first, as in import_bench
                f"{target}/report.yaml",
                report_meta(
                    match.group("task"),
                    f"long_context_sampled_{context}",
                    model=model.name,
                    context=context,
                    run=run.name,
                ),
            )
            for path in files:
                writer.copy(f"{target}/{path.name}", path)


def import_app(
    app: Path, root: Path, tasks: set[str] | None = None, progress: Callable[[str], None] = lambda _: None
) -> Imported:
    app = app.resolve()
    if not (app / "datasets").is_dir() and not (app / "results").is_dir():
        raise ImportFailure(f"{app}: not a pipeline app folder (no datasets/ or results/)")
    result = Imported()
    writer = Writer(root, result, progress, app)
    for leftover in remove_leftovers(writer.root) if writer.root.is_dir() else []:
        progress(f"  removed {leftover.relative_to(writer.root)}, left half-written by an import that was stopped")
    progress(f"importing datasets from {app / 'datasets'}")
    if not writer.outside(app / "datasets"):
        import_datasets(app, writer, tasks)
    results = app / "results"
    for folder in sorted(results.iterdir()) if results.is_dir() and not writer.outside(results) else []:
        if not folder.is_dir() or writer.outside(folder):
            continue
        if folder.name.startswith("bench_case"):
            progress(f"importing reports from {folder}")
            import_bench(folder, writer, tasks)
        elif _RESULTS_CONTEXT.match(folder.name):
            progress(f"importing reports from {folder}")
            import_results(folder, writer, tasks)
        else:
            result.skip(folder, SKIP_UNKNOWN)
    return result
