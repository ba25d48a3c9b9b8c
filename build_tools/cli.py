"""`kb`: the pipeline's stages from the command line (also `python -m build_tools`).

Output formats named by issues (`kb chunk` JSON lines, `kb cites` and `kb audit` JSON) are interfaces checked
from outside: change them only by adding fields. Any verb that meets an OS error (a read-only or full
disk, a file where a folder belongs) says so in one line naming the path and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from .analysis import TERM_CACHE, TermCache
from .audit import audit_kb, report_claims
from .check import check_site
from .chunk import chunk_text
from .corpus_json import read_corpus
from .export import FORMATS, export
from .importer import ImportFailure, import_app
from .index import SITE_FOLDER
from .ingest import Loaded, add_corpora, load_file
from .knowledge_base import KnowledgeBase, TaskSummary, assemble, build, task_summaries
from .lock import LOCK_NAME, WAIT, FolderBusy, find_drift, folder_lock, read_lock, write_atomic, write_lock
from .models import VERDICTS, Audit, Corpus, Problem, Report, Resolved
from .paths import chunk_path, part_anchor
from .reading import read_text
from .report_text import merge_report_file
from .search import Searcher
from .stats import Row, stats

ROOT = Path("/")


def fail(message: str) -> int:
    print(f"kb: {message}", file=sys.stderr)
    return 1


def absolute(problem: Problem) -> str:
    """A problem in a file the command was given (read with ROOT as its root), named by its full path."""
    return str(replace(problem, path=str(ROOT / problem.path)))


def say(line: str) -> None:
    print(f"kb: {line}", file=sys.stderr)


def holding(root: Path, args: argparse.Namespace, shared: bool = False) -> AbstractContextManager[None]:
    """The knowledge-base folder locked for this verb: `kb import` and `kb lock` write into it
    (exclusive), the others read it whole (shared); waiting is said."""
    return folder_lock(root, shared=shared, wait=getattr(args, "wait", WAIT), note=say)


def not_a_file(argument: str) -> int | None:
    """The failure for a command-line file that is not there (or not a file), else None."""
    path = Path(argument)
    if not path.exists():
        return fail(f"{argument}: no such file")
    return None if path.is_file() else fail(f"{argument}: not a file")


def print_json(value) -> None:
    """The JSON outputs named by issues: UTF-8 text as is, one value, a final newline."""
    json.dump(value, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def cmd_chunk(args: argparse.Namespace) -> int:
    """One JSON line per chunk, in the pipeline's reference-table format."""
    missing = not_a_file(args.corpus)
    if missing is not None:
        return missing
    entries, problems = read_corpus(Path(args.corpus).resolve(), ROOT)
    for problem in problems:
        print(f"kb: {absolute(problem)}", file=sys.stderr)
    out = sys.stdout
    for doc_index, source in enumerate(entries):
        if source is None:
            continue
        for chunk in chunk_text(source.text):
            record = {
                "doc_index": doc_index,
                "chunk_index": chunk.index,
                "title": source.title,
                "url": source.meta.get("origin", ""),
                "start_char": chunk.start,
                "end_char": chunk.end,
                "content": chunk.text,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 1 if None in entries or not entries else 0


def kb_root_of(files: Path) -> Path:
    """The knowledge-base folder a task-file folder is in (`<kb>/files/<task>`), else ROOT: a file's
    page (its slug) is named from its path in the knowledge base, as the site names it."""
    return files.parent.parent if files.parent.name == "files" else ROOT


def report_kb(args: argparse.Namespace) -> KnowledgeBase | int:
    """One report assembled against one corpus (and a folder of task files), or the exit status
    of the failure."""
    for argument in (args.report, args.corpus):
        missing = not_a_file(argument) if argument else None
        if missing is not None:
            return missing
    report_path = Path(args.report).resolve()
    text, problem = read_text(report_path, ROOT)
    if problem:
        return fail(absolute(problem))
    parts: dict[str, str] = {}
    merge_report_file(parts, report_path.name, text)
    loaded = Loaded(ROOT)
    files_folder = None
    if args.files:
        folder = Path(args.files).resolve()
        if not folder.is_dir():
            return fail(f"{args.files}: not a folder")
        root = kb_root_of(folder)
        files_folder = str(folder.relative_to(root))
        for path in sorted(folder.iterdir()):
            if path.is_file():
                file, _ = load_file(path, root)
                loaded.files[file.path] = file
    corpus_key = None
    if args.corpus:
        corpus_path = Path(args.corpus).resolve()
        entries, problems = read_corpus(corpus_path, ROOT)
        if not entries and problems:
            return fail(absolute(problems[0]))
        corpus_key = str(corpus_path.relative_to(ROOT))
        add_corpora(loaded, [(Corpus(corpus_key, None, [e.slug if e else "" for e in entries]), entries, corpus_path)])
    loaded.reports["report"] = Report(
        "report",
        report_path.stem,
        str(report_path),
        parts.get("final", text),
        corpus=corpus_key,
        files=files_folder,
    )
    return assemble(loaded)


def cmd_cites(args: argparse.Namespace) -> int:
    """Every citation of one report, classified against one corpus (and a folder of task files)."""
    kb = report_kb(args)
    if isinstance(kb, int):
        return kb
    rows = [
        {
            "kind": item.citation.kind,
            "raw": item.citation.raw,
            "title": item.citation.title if item.citation.title is not None else item.citation.file,
            "chunk": item.citation.chunk,
            "status": item.status,
            "target": item.target,
            "file": item.citation.file,
            "locator": item.citation.locator,
            "reason": item.reason and str(item.reason),
            "suggestion": item.suggestion and str(item.suggestion),
            "url": kb.loaded.sources[item.source_slug].meta.get("origin", "")
            if item.source_slug in kb.loaded.sources
            else "",
        }
        for item in kb.cited["report"].final
    ]
    print_json(rows)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Each long_context citation of one report with its evidence (issue 15's stable format; issue 27
    added the verdict and the claim's key facts the passage holds and lacks), and each file citation
    audited against the file's text (its `title` the file's name, `part` the page, slide or sheet
    checked: the one named, or the one stating most of a whole file)."""
    kb = report_kb(args)
    if isinstance(kb, int):
        return kb
    audits = audit_kb(kb, TermCache(None)).get("report", [])
    cited = kb.cited["report"]
    rows = [
        {
            "raw": item.citation.raw,
            "title": item.citation.title if item.citation.title is not None else item.citation.file,
            "chunk": item.citation.chunk,
            "status": item.status,
            "audit": result.status if result else None,
            "verdict": result.verdict if result else None,
            "support": result.support if result else None,
            "held": list(result.held) if result else None,
            "missing": list(result.missing) if result else None,
            "span": list(result.span) if result and result.span else None,
            "better": chunk_path(*result.better) if result and result.better else None,
            "claim": result.claim if result else claim,
            "part": part_of(kb, item, result),
        }
        for item, result, claim in zip(
            cited.final, audits or [None] * len(cited.final), report_claims(cited.report.final, cited.final)
        )
        if item.citation.kind == "long_context" or result is not None
    ]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(
                f"{row['verdict'] or '':<11} {row['audit'] or row['status']:<16} "
                f"{'' if row['support'] is None else format(row['support'], '.2f'):>4}  "
                f"{row['raw']}  {row['claim'][:60]}"
                + (f"  (missing: {', '.join(row['missing'])})" if row["missing"] else "")
                + (f"  → {row['better']}" if row["better"] else "")
            )
    return 0


def part_of(kb: KnowledgeBase, item: Resolved, result: Audit | None) -> str | None:
    """A file citation's audited page, slide or sheet, as its anchor on the file's page (`page-3`)."""
    file = kb.files_by_slug.get(item.source_slug or "")
    if file is None or result is None or result.part is None:
        return None
    part = file.numbered(result.part)
    return part_anchor(part) if part else None


def source_titles(kb: KnowledgeBase) -> dict[str, str]:
    """Titles stored beside the hashes, so a person can read the lock file."""
    return {slug: source.title for slug, source in kb.loaded.sources.items()}


def kb_folder(argument: str) -> Path | None:
    """The knowledge-base folder a verb names; None (said on stderr) when it is not a folder."""
    root = Path(argument).resolve()
    if root.is_dir():
        return root
    fail(f"{argument}: {'not a folder' if root.exists() else 'no such folder'} (the knowledge-base folder)")
    return None


def built(root: Path) -> KnowledgeBase:
    """The knowledge base in `root`, its problems printed."""
    kb = build(root)
    for problem in kb.problems:
        say(str(problem))
    return kb


def cmd_lock(args: argparse.Namespace) -> int:
    """Record (or with --check, verify) every source's chunk hashes in chunks.lock."""
    root = kb_folder(args.sources)
    if root is None:
        return 1
    with holding(root, args, shared=args.check):
        kb = built(root)
        lock_path = root / LOCK_NAME
        locked, corrupt = read_lock(lock_path)
        drift = find_drift(locked, kb.chunk_ids())
        if args.check:
            for item in drift:
                say(str(item))
            return 1 if drift or corrupt else 0
        if corrupt:
            say(f"{LOCK_NAME} cannot be read; rewriting it from the current sources")
        write_lock(lock_path, kb.chunk_ids(), source_titles(kb))
    print(
        f"kb: locked {len(kb.chunks)} sources ({sum(map(len, kb.chunks.values()))} chunks) in {lock_path}"
        + (f"; accepted {len(drift)} changed chunks" if drift else "")
    )
    return 0


def summary_table(rows: list[TaskSummary]) -> str:
    """Per task: sources, files, reports, citations (unresolved), problems, aligned for a terminal."""
    header = ("task", "sources", "files", "reports", "citations", "unresolved", "problems")
    lines = [header] + [tuple(str(getattr(row, name)) for name in header) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("kb: " + "  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in lines)


def cmd_import(args: argparse.Namespace) -> int:
    """Copy a pipeline app folder into the knowledge base, then lock the chunks of new sources; the
    folder is locked throughout, so a second import (or `kb lock`) waits for this one."""
    root = Path(args.sources).resolve()
    if root.exists() and not root.is_dir():
        return fail(f"{args.sources}: not a folder (the knowledge-base folder)")
    root.mkdir(parents=True, exist_ok=True)
    with holding(root, args):
        return import_locked(args, root)


def import_locked(args: argparse.Namespace, root: Path) -> int:
    try:
        result = import_app(
            Path(args.app_dir),
            root,
            set(args.task) if args.task else None,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except ImportFailure as error:
        return fail(str(error))
    kb = built(root)
    for reason, paths in result.skipped.items():
        shown = paths if len(paths) <= 3 else [*paths[:2], f"… {len(paths) - 2} more"]
        print(f"kb: skipped {len(paths)} ({reason}): {', '.join(shown)}", file=sys.stderr)
    lock_path = root / LOCK_NAME
    locked, corrupt = read_lock(lock_path)
    current = kb.chunk_ids()
    new = {} if corrupt else {slug: ids for slug, ids in current.items() if slug not in locked}
    if corrupt:
        print(f"kb: {LOCK_NAME} is left as it is (it cannot be read); run `kb lock` to rewrite it", file=sys.stderr)
    elif new:
        write_lock(lock_path, {**locked, **new}, source_titles(kb))
    for item in find_drift(locked, current):
        print(f"kb: {item}", file=sys.stderr)
    print(summary_table(task_summaries(kb)))
    print(
        f"kb: {len(result.written)} files written, {result.unchanged} unchanged; knowledge base has "
        f"{len(kb.loaded.sources)} sources, {len(kb.loaded.files)} files, {len(kb.cited)} reports; "
        f"{len(new)} sources newly locked"
    )
    absent = sorted(set(args.task or ()) - result.tasks)
    if absent:  # asked for by name: nothing imported for it is an error, not a quiet success
        held = ", ".join(sorted(result.tasks)[:10]) + (" …" if len(result.tasks) > 10 else "") or "none"
        return fail(f"{args.app_dir}: no task {', '.join(absent)} (its tasks: {held})")
    return 0


def stats_table(rows: list[Row]) -> str:
    """Per configuration: reports, failed, citations, per 1,000 characters, shares (%: statuses, verdicts),
    validation's changes."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}"

    header = (
        "configuration",
        "reports",
        "failed",
        "citations",
        "per_1k",
        "resolved%",
        "unknown%",
        "missing_file%",
        "invented%",
        "supported%",
        "partial%",
        "unsupported%",
        "added",
        "removed",
        "repaired",
    )
    lines = [header]
    for row in rows:
        final, effect = row.final, row.validation
        lines.append(
            (
                row.configuration.id,
                str(final.reports),
                str(final.failed),
                "—" if final.citations is None else str(final.citations),
                "—" if final.per_1000_characters is None else f"{final.per_1000_characters:.2f}",
                pct(final.status_share("resolved")),
                pct(final.status_share("unknown_source")),
                pct(final.missing_file_share),
                pct(final.invented_share),
                *(pct(final.verdict_share(verdict)) for verdict in VERDICTS),
                *(str(getattr(effect, change)) if effect else "—" for change in ("added", "removed", "repaired")),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    )


def cmd_stats(args: argparse.Namespace) -> int:
    """Citation figures per configuration (model × context size, bench folder): `kb stats --json` is an interface."""
    root = kb_folder(args.kb_dir)
    if root is None:
        return 1
    with holding(root, args, shared=True):
        kb = built(root)
    # The verdicts. Segmenting the cited corpora's chunks is most of their cost (0.6 s over
    # ../shared/pipeline's 33 reports; 26 s of 29 at 10,000 sources): a site build's cache spares
    # it. Read only: saving would keep only what the audit used, and the next build would segment
    # the rest again.
    cache = TermCache(Path(args.cache), note=lambda line: print(f"kb: {line}", file=sys.stderr))
    kb.audits = audit_kb(kb, cache)
    rows = stats(kb)
    if args.json:
        print_json([row.as_json() for row in rows])
    else:
        print(stats_table(rows))
        print(f"kb: {len(rows)} configurations, {len(kb.cited)} reports", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """The checked report taken out: with each citation as a footnote (md, docx), or its citation
    table (csv, json). REPORT is a report's folder in a knowledge base (the knowledge base is the
    folder above its `reports/`), or the slug its page has (`reports/<slug>/`) in --sources."""
    if args.format == "docx" and args.out is None:
        return fail("--format docx writes a binary file: name it with --out FILE (--out - for standard output)")
    folder = Path(args.report).resolve() if Path(args.report).is_dir() else None
    if folder is not None:
        if folder.parent.name != "reports":
            return fail(f"{args.report}: not a report folder of a knowledge base (KB/reports/NAME)")
        root = folder.parent.parent
        if args.sources and Path(args.sources).resolve() != root:
            return fail(f"{args.report}: not in the knowledge base {args.sources}")
    else:
        found = kb_folder(args.sources or "sources")
        if found is None:
            return 1
        root = found
    with holding(root, args, shared=True):
        kb = build(root)
    if folder is not None:
        where = folder.relative_to(root).as_posix()
        slug = next((slug for slug, cited in kb.cited.items() if cited.report.path == where), None)
        for problem in kb.problems:
            if problem.path == where or problem.path.startswith(where + "/"):
                say(str(problem))
        if slug is None:
            return fail(f"{args.report}: no report could be read from this folder")
    else:
        slug = args.report
        if slug not in kb.cited:
            known = sorted(kb.cited)
            shown = ", ".join(known[:5]) + (f", … {len(known) - 5} more" if len(known) > 5 else "")
            return fail(f"{slug}: no such report in {root} (its reports: {shown or 'none'})")
    cited = kb.cited[slug]
    audits = audit_kb(replace(kb, cited={slug: cited}), TermCache(None)).get(slug)  # this report's alone
    data = export(kb, cited, audits, args.format)
    if args.out in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        write_atomic(Path(args.out), data)
        say(f"{slug}: {args.format} written to {args.out} ({len(cited.final)} citations)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Every internal link and #fragment of a built site; exit 1 if any is broken."""
    site = Path(args.site)
    if not (site / "index.html").is_file():
        return fail(f"{site}: not a built site (no index.html); run `mkdocs build` first")
    pages, broken = check_site(site, progress=lambda line: print(f"kb: {line}", file=sys.stderr))
    if args.json:
        print_json({"pages": pages, "broken": [vars(b) for b in broken]})
    else:
        for item in broken:
            print(item)
        print(f"kb: {pages} pages checked, {len(broken)} broken links", file=sys.stderr)
    return 1 if broken else 0


def cmd_search(args: argparse.Namespace) -> int:
    """The site's prebuilt index, queried exactly as the browser's search worker does."""
    folder = Path(args.site) / SITE_FOLDER
    if not (folder / "manifest.json").is_file():
        return fail(f"{args.site}: no search index ({SITE_FOLDER}/manifest.json); build the site first")
    try:
        results = Searcher(folder).search(args.query, args.k)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as error:  # not an index a build wrote
        return fail(f"{folder}: not a search index this Citekb can read ({error}); build the site again")
    if args.json:
        print_json(results)
    else:
        for rank, item in enumerate(results, 1):
            print(f"{rank:>3}. {item['location']}  {item['title']}  ({item['score']:.3f})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Synthetic knowledge base (or a copy of --kb) → cold build, warm rebuild, serve edit, sizes; and
    a plain mkdocs-material build; each figure over --runs runs. The bench lives outside the library
    and is imported only when run."""
    from benchmarks.scale import bench, citation_scaling

    if args.kb is not None and (args.sources is not None or args.reports is not None or args.citations):
        return fail("bench: --kb measures that folder as it is: leave out --sources, --reports and --citations")
    kb_dir = kb_folder(args.kb) if args.kb is not None else None
    if args.kb is not None and kb_dir is None:
        return 1
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="citekb-bench-"))
    if kb_dir is not None and (kb_dir == work.resolve() or kb_dir in work.resolve().parents):
        return fail(f"bench: --work {args.work} is inside the knowledge-base folder {args.kb}")
    if args.citations:
        result = citation_scaling(
            [int(n) for n in args.citations.split(",")],
            work,
            args.timeout,
            progress=lambda line: print(f"kb: {line}", file=sys.stderr),
        )
        print_json(result) if args.json else print(result)
        return 0 if all(row["ok"] for row in result["one_paragraph"]) else 1
    result = bench(
        1000 if args.sources is None else args.sources,
        100 if args.reports is None else args.reports,
        work,
        plain=not args.no_plain,
        timeout=args.timeout,
        progress=lambda line: print(f"kb: {line}", file=sys.stderr),
        runs=args.runs,
        kb_dir=kb_dir,
    )
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if all(result[run]["ok"] for run in ("cold", "warm", "serve")) else 1


def positive_int(text: str) -> int:
    """An argument that counts something done at least once."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="kb", description="Citekb: citations that link to the exact chunk.")
    verbs = main.add_subparsers(dest="verb", required=True)

    chunk = verbs.add_parser("chunk", help="print a corpus file's chunks as JSON lines (pipeline-exact)")
    chunk.add_argument("corpus", help="a pipeline corpus file: long_context*.json")
    chunk.set_defaults(run=cmd_chunk)

    cites = verbs.add_parser("cites", help="print a report's citations as JSON, resolved against a corpus")
    cites.add_argument("report", help="a pipeline report (*_comparison.txt, final_report.md, ...)")
    cites.add_argument("--corpus", help="the long_context*.json the report was written against")
    cites.add_argument("--files", help="folder of the task's files (PDFs, images)")
    cites.set_defaults(run=cmd_cites)

    audit = verbs.add_parser("audit", help="print each long_context citation's evidence: claim, support, span, status")
    audit.add_argument("report", help="a pipeline report (*_comparison.txt, final_report.md, ...)")
    audit.add_argument("--corpus", required=True, help="the long_context*.json the report was written against")
    audit.add_argument("--files", help="folder of the task's files (PDFs, images)")
    audit.add_argument(
        "--json", action="store_true", help="print [{raw, title, chunk, status, audit, support, span, better, claim}]"
    )
    audit.set_defaults(run=cmd_audit)

    imp = verbs.add_parser("import", help="import a pipeline app folder (datasets/, results/) into the knowledge base")
    imp.add_argument("app_dir", help="the pipeline's app folder")
    imp.add_argument("--task", action="append", help="only this task (e.g. 003); repeatable")
    imp.add_argument("--sources", default="sources", help="knowledge-base folder (default: sources)")
    imp.add_argument("--wait", type=float, default=WAIT, help=f"seconds to wait for another import (default {WAIT:g})")
    imp.set_defaults(run=cmd_import)

    stats_verb = verbs.add_parser(
        "stats", help="citation figures per configuration (model × context size, bench folder)"
    )
    stats_verb.add_argument("kb_dir", help="knowledge-base folder (e.g. sources)")
    stats_verb.add_argument(
        "--json", action="store_true", help="print one object per configuration (README lists the fields)"
    )
    stats_verb.add_argument(
        "--cache",
        default=os.environ.get("CITEKB_CACHE") or TERM_CACHE,
        help="a site build's segmentation cache, read (not written) to audit faster "
        f"(default: $CITEKB_CACHE, else {TERM_CACHE})",
    )
    stats_verb.set_defaults(run=cmd_stats)

    lock = verbs.add_parser("lock", help="record the chunk hashes of every source (chunks.lock)")
    lock.add_argument("--sources", default="sources", help="knowledge-base folder (default: sources)")
    lock.add_argument("--check", action="store_true", help="only report chunks that changed; exit 1 if any")
    lock.add_argument("--wait", type=float, default=WAIT, help=f"seconds to wait for an import (default {WAIT:g})")
    lock.set_defaults(run=cmd_lock)

    export_verb = verbs.add_parser(
        "export", help="a report with each citation as a footnote (md, docx), or its citation table (csv, json)"
    )
    export_verb.add_argument(
        "report",
        help="a report's folder in a knowledge base (KB/reports/NAME), or its slug (reports/SLUG/ on the site)",
    )
    export_verb.add_argument("--sources", help="knowledge-base folder the slug is in (default: sources)")
    export_verb.add_argument("--format", choices=FORMATS, default="md", help="md (default), docx, csv or json")
    export_verb.add_argument(
        "--out", help="file to write (default: standard output; docx needs it, - for standard output)"
    )
    export_verb.add_argument(
        "--wait", type=float, default=WAIT, help=f"seconds to wait for an import (default {WAIT:g})"
    )
    export_verb.set_defaults(run=cmd_export)

    check = verbs.add_parser("check", help="verify every internal link and #anchor of a built site")
    check.add_argument("site", help="the built site folder (mkdocs build's output)")
    check.add_argument("--json", action="store_true", help="print {pages, broken: [{page, text, target, reason}]}")
    check.set_defaults(run=cmd_check)

    search = verbs.add_parser("search", help="query a built site's search index, as the browser does")
    search.add_argument("query")
    search.add_argument("--site", default="site", help="the built site folder (default: site)")
    search.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    search.add_argument("--json", action="store_true", help="print [{location, title, score}]")
    search.set_defaults(run=cmd_search)

    bench_verb = verbs.add_parser(
        "bench", help="build a synthetic (or a copy of an existing) knowledge base and measure the build"
    )
    bench_verb.add_argument("--sources", type=int, help="synthetic sources (default 1000)")
    bench_verb.add_argument("--reports", type=int, help="synthetic reports (default 100)")
    bench_verb.add_argument(
        "--kb", metavar="DIR", help="measure a copy of this knowledge-base folder instead of a synthetic one"
    )
    bench_verb.add_argument(
        "--runs", type=positive_int, default=1, help="runs of each figure: the median and range are reported"
    )
    bench_verb.add_argument("--json", action="store_true", help="print the measurements as JSON")
    bench_verb.add_argument("--work", help="folder for the generated corpus and sites (default: a new temporary one)")
    bench_verb.add_argument(
        "--citations", metavar="N,N,...", help="instead: one report paragraph of N citations each (linear-cost check)"
    )
    bench_verb.add_argument("--no-plain", action="store_true", help="skip the plain mkdocs-material comparison")
    bench_verb.add_argument("--timeout", type=float, default=3600, help="seconds before a build is stopped")
    bench_verb.set_defaults(run=cmd_bench)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:  # `kb chunk … | head`: the reader took what it wanted
        quiet_stdout()
        return 1
    except FileExistsError as error:  # only made by a mkdir along a path: a file where a folder belongs
        return fail(f"{error.filename}: not a folder")
    except OSError as error:
        if error.filename is None:  # writing standard output, the one file an error does not name
            quiet_stdout()
        return fail(f"{error.filename or 'standard output'}: {error.strerror or error}")
    except FolderBusy as error:
        return fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted (every file written is whole)")
        return 130
    return status


def quiet_stdout() -> None:
    """Standard output can take nothing more: what is still buffered is dropped, not retried at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
