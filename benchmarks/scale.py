"""`kb bench`: build a synthetic knowledge base the size of a research team's (or copy an existing
one, `--kb`), and measure it: every figure the median and range of `--runs` runs, with the CPU time
the build used beside its wall time (both cores busy: a utilisation near 2).

The synthetic text follows statistics derived from the pipeline's corpora (../shared/pipeline,
246 documents): document length quantiles, line length, and the share of Chinese to English
lines. No corpus text is copied: Chinese words are drawn from jieba's dictionary by frequency,
English words are made from syllables.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.browser import free_port
from build_tools import page_cache
from build_tools.audit import stored
from build_tools.chunk import chunk_text
from build_tools.index import byte_sizes, index_files
from build_tools.lock import FOLDER_LOCK
from build_tools.models import document_text

# Derived from the 246 documents of ../shared/pipeline/datasets/*/long_context_sampled_*.json
# (tests/test_bench.py re-derives the token statistics there and checks the synthetic text has them).
LENGTH_QUANTILES = [
    (0.0, 200),
    (0.1, 851),
    (0.25, 1657),
    (0.5, 3242),
    (0.75, 4506),
    (0.9, 5320),
    (0.99, 9917),
    (1.0, 14000),
]
MEAN_LINE = 66  # characters per line (median 35: exponential-like)
CHINESE_LINES = 0.7  # 60% of all characters are CJK, 21% ASCII letters
# Index terms of a chunk (token_statistics; medians/means over the pipeline's chunks): documents
# repeat their own words, and common words dominate as in any language.
TOKEN_STATISTICS = {"distinct_share": 0.544, "tf_when_present": 1.94, "chinese_top100": 0.331}
REPEAT = 0.6  # chance that a word repeats one this document already used
COMMA = 0.4  # chance of a "，" after a Chinese word
ENGLISH_VOCABULARY = 40_000
ZIPF_SHARPEN = 1.1  # dictionary frequencies to this power: real pages use common words more (top 100 ≈ 33%)
TITLE_WORDS = (4, 12)
SOURCES_PER_TASK = 100
CITATIONS_PER_REPORT = 15
REPO = Path(__file__).resolve().parent.parent
SYLLABLES = [
    "ka",
    "ri",
    "to",
    "na",
    "me",
    "so",
    "lu",
    "pe",
    "ti",
    "ro",
    "da",
    "vi",
    "ne",
    "cy",
    "la",
    "ten",
    "mo",
    "del",
    "ran",
    "ker",
    "in",
    "dex",
    "que",
    "ry",
    "ve",
    "tor",
]


def cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class Words:
    """Chinese words by jieba dictionary frequency, pseudo-English words by Zipf's law; each
    document repeats its own words (a cache model), as real pages do."""

    def __init__(self, rng: random.Random):
        import jieba

        self.rng = rng
        words, weights = [], []
        with jieba.get_dict_file() as handle:  # "word freq tag" lines
            for line in handle.read().decode("utf-8").splitlines():
                word, freq = line.split()[:2]
                if "\u4e00" <= word[0] <= "\u9fff" and int(freq) >= 50:
                    words.append(word)
                    weights.append(int(freq) ** ZIPF_SHARPEN)
        self.chinese = words
        self.chinese_cumulative = cumulative(weights)
        english: set[str] = set()
        while len(english) < ENGLISH_VOCABULARY:
            english.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
        self.english = sorted(english)
        rng.shuffle(self.english)  # a word's rank has nothing to do with its spelling
        self.english_cumulative = cumulative(1 / rank for rank in range(1, len(self.english) + 1))
        self.used: dict[bool, list[str]] = {True: [], False: []}

    def start_document(self) -> None:
        self.used = {True: [], False: []}

    def draw(self, words: list[str], weights: list[float]) -> str:
        return words[bisect.bisect(weights, self.rng.random() * weights[-1])]

    def chinese_word(self) -> str:
        return self.draw(self.chinese, self.chinese_cumulative)

    def word(self, chinese: bool) -> str:
        used = self.used[chinese]
        if used and self.rng.random() < REPEAT:
            return self.rng.choice(used)
        word = self.chinese_word() if chinese else self.draw(self.english, self.english_cumulative)
        used.append(word)
        return word

    def line(self, length: int) -> str:
        out: list[str] = []
        size = 0
        chinese = self.rng.random() < CHINESE_LINES
        while size < length:
            word = self.word(chinese)
            word += ("，" if self.rng.random() < COMMA else "") if chinese else " "
            out.append(word)
            size += len(word)
        return "".join(out).strip(" ，") + ("。" if chinese else ".")


def token_statistics(texts: list[str]) -> dict[str, float]:
    """What the search index sees of a corpus: per chunk, the share of distinct terms among all
    tokens (median) and how often a term that occurs at all occurs (mean, terms in ≥ 5 chunks);
    overall, the 100 commonest Chinese terms' share of Chinese tokens."""
    from collections import Counter

    from build_tools.analysis import tokenize

    tokens = [tokenize(text) for text in texts]
    df = Counter(term for chunk in tokens for term in set(chunk))
    shares = sorted(len(set(chunk)) / len(chunk) for chunk in tokens if len(chunk) > 200)
    present = [n for chunk in tokens for term, n in Counter(chunk).items() if df[term] >= 5]
    chinese = Counter(term for chunk in tokens for term in chunk if "\u4e00" <= term[0] <= "\u9fff")
    top = sum(n for _, n in chinese.most_common(100))
    return {
        "distinct_share": round(shares[len(shares) // 2], 3),
        "tf_when_present": round(sum(present) / len(present), 3),
        "chinese_top100": round(top / sum(chinese.values()), 3),
    }


def document_length(rng: random.Random) -> int:
    p = rng.random()
    for (p0, v0), (p1, v1) in zip(LENGTH_QUANTILES, LENGTH_QUANTILES[1:]):
        if p <= p1:
            return int(v0 + (v1 - v0) * (p - p0) / (p1 - p0))
    return LENGTH_QUANTILES[-1][1]


def synthesize(root: Path, sources: int, reports: int, seed: int = 0) -> dict[str, int]:
    """A knowledge-base folder: corpora of 100 sources per task, and reports citing them."""
    rng = random.Random(seed)
    words = Words(rng)
    tasks = max(1, -(-sources // SOURCES_PER_TASK))
    made = {"sources": 0, "chunks": 0, "reports": 0}
    cited: dict[str, list[tuple[str, int]]] = {}
    for task in range(tasks):
        key = f"{task + 1:03d}"
        docs = []
        for number in range(min(SOURCES_PER_TASK, sources - made["sources"])):
            words.start_document()
            title = "".join(words.chinese_word() for _ in range(rng.randint(*TITLE_WORDS)))[:40] + f" {key}-{number}"
            target = document_length(rng)
            lines, size = [], 0
            while size < target:
                lines.append(words.line(max(4, int(rng.expovariate(1 / MEAN_LINE)))))
                size += len(lines[-1]) + 1
            body = "\n".join(lines)
            docs.append({"title": title, "page_body": body})
            count = len(chunk_text(document_text(title, body)))
            cited.setdefault(key, []).append((title, count))
            made["chunks"] += count
        made["sources"] += len(docs)
        path = root / "corpora" / key / "long_context_sampled_60.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    keys = sorted(cited)
    for number in range(reports):
        key = keys[number % len(keys)]
        paragraphs = []
        for _ in range(CITATIONS_PER_REPORT):
            title, count = rng.choice(cited[key])
            chunk = rng.randrange(count) if rng.random() > 0.1 else count + 3  # one in ten out of range
            paragraphs.append(f'{words.line(120)}[long_context: "{title[:50]}", chunk {chunk}]')
        folder = root / "reports" / f"bench-{key}-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.yaml").write_text(
            f"task: '{key}'\ncorpus: corpora/{key}/long_context_sampled_60\n", encoding="utf-8"
        )
        (folder / "final_report.md").write_text(
            f"# 报告 {number}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
        made["reports"] += 1
    return made


def one_paragraph_report(root: Path, citations: int, seed: int = 0) -> None:
    """A knowledge base of one task (100 sources) and one report whose single paragraph holds
    `citations` citations: the shape that exposed quadratic stages (issue 18)."""
    synthesize(root, SOURCES_PER_TASK, 0, seed)
    docs = json.loads((root / "corpora/001/long_context_sampled_60.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    words = Words(rng)
    cites = "".join(
        f'{words.line(20)}[long_context: "{rng.choice(docs)["title"][:50]}", chunk 0]' for _ in range(citations)
    )
    folder = root / "reports" / "one-paragraph"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.yaml").write_text("task: '001'\ncorpus: corpora/001/long_context_sampled_60\n", encoding="utf-8")
    (folder / "final_report.md").write_text(f"# 一段的报告\n\n{cites}\n", encoding="utf-8")


def citation_scaling(counts: list[int], work: Path, timeout: float = 3600, progress=print) -> dict:
    """`kb cites` and the whole build for one paragraph of N citations, for each N and for none;
    the per-citation cost is (run − run without citations) / N, flat when every stage is linear."""
    rows = []
    baseline: dict[str, float] = {}
    for count in [0, *counts]:
        root = work / f"paragraph-{count}"
        shutil.rmtree(root, ignore_errors=True)
        one_paragraph_report(root, count)
        report = root / "reports/one-paragraph/final_report.md"
        corpus = root / "corpora/001/long_context_sampled_60.json"
        progress(f"bench: one paragraph of {count} citations")
        cites = run_build(
            [sys.executable, "-m", "build_tools", "cites", str(report), "--corpus", str(corpus)],
            {**os.environ},
            timeout,
        )
        env = {
            **os.environ,
            "CITEKB_SOURCES": str(root),
            "CITEKB_CACHE": str(work / "paragraph-cache"),
            "NO_MKDOCS_2_WARNING": "1",
        }
        build = run_build(
            [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(root / "site")],
            env,
            timeout,
        )
        row = {
            "citations": count,
            "kb_cites_s": cites.seconds,
            "build_s": build.seconds,
            "build_rss_mb": build.peak_rss_mb,
            "ok": cites.ok and build.ok,
        }
        if count == 0:
            baseline = {"kb_cites_s": cites.seconds, "build_s": build.seconds}
        else:
            for key in ("kb_cites_s", "build_s"):
                row[key.replace("_s", "_ms_per_citation")] = round((row[key] - baseline[key]) * 1000 / count, 3)
        rows.append(row)
    return {"one_paragraph": rows}


@dataclass
class BuildRun:
    seconds: float
    peak_rss_mb: float
    ok: bool
    log_tail: str
    cpu_seconds: float = 0.0  # user + system time of the build and every process it waited for
    cpu_utilisation: float = 0.0  # cpu_seconds / seconds: 1.0 is one core busy throughout, 2.0 both
    # of cpu_seconds, the kernel's: mostly writing the site's files, and the figure that varies
    # most from one build to the next on a shared machine (3 to 12 s of a 10k build's main process)
    system_seconds: float = 0.0


def cold_start(kb_root: Path, cache: Path, site: Path) -> None:
    """What a cold build of `kb_root` starts without: the term cache, the last run's stored pages
    and kept audits, the site."""
    cache.unlink(missing_ok=True)
    shutil.rmtree(page_cache.folder(REPO, kb_root), ignore_errors=True)
    stored.kept_file(REPO, kb_root).unlink(missing_ok=True)
    shutil.rmtree(site, ignore_errors=True)


def run_build(command: list[str], env: dict[str, str], timeout: float) -> BuildRun:
    """Wall time, CPU time and peak RSS of the child (os.wait4: its own and those of the processes
    it waited for, such as the audit's workers), killed at the timeout."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        log.seek(0)
        tail = log.read().decode("utf-8", "replace")[-1500:]
    ok = os.waitstatus_to_exitcode(status) == 0
    cpu = usage.ru_utime + usage.ru_stime
    figures = cpu_figures(cpu, seconds)
    return BuildRun(round(seconds, 2), round(usage.ru_maxrss / 1024, 1), ok, tail, *figures, round(usage.ru_stime, 2))


def cpu_figures(cpu_seconds: float, wall_seconds: float) -> tuple[float, float]:
    """(CPU seconds, CPU seconds per wall second), rounded as the bench reports them."""
    return round(cpu_seconds, 2), round(cpu_seconds / wall_seconds, 2) if wall_seconds > 0 else 0.0


def process_cpu_seconds(pid: int) -> float | None:
    """User + system time of a running process and of the children it has waited for
    (/proc/PID/stat fields 14-17), None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def summarize(runs: list[dict]) -> dict:
    """N runs of one figure set → each number's median, and its [min, max] as `<name>_range`; `ok`
    when every run was; the first failing run's log tail; `runs`: how many. The median of an even
    count is the mean of the middle two."""
    out: dict = {}
    for key in runs[0]:
        values = [run[key] for run in runs if key in run]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) and values:
            median = statistics.median(values)
            out[key] = round(median, 2) if isinstance(median, float) else median
            out[f"{key}_range"] = [min(values), max(values)]
    out["ok"] = all(run.get("ok", True) for run in runs)
    failed = next((run for run in runs if not run.get("ok", True)), None)
    if failed is not None and "log_tail" in failed:
        out["log_tail"] = failed["log_tail"]
    out["runs"] = len(runs)
    return out


def folder_bytes(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len([p for p in files if p.name == "index.html"])


def plain_material_project(kb_root: Path, project: Path) -> None:
    """The same corpus as an ordinary mkdocs-material site: one Markdown page per source and report."""
    from build_tools.knowledge_base import build

    kb = build(kb_root)
    docs = project / "docs"
    (docs / "sources").mkdir(parents=True)
    (docs / "reports").mkdir(parents=True)
    (docs / "index.md").write_text("# Plain\n", encoding="utf-8")
    for slug in kb.loaded.sources:
        sections = "\n\n".join(f"## chunk {c.index}\n\n```text\n{c.text}\n```" for c in kb.chunks[slug])
        (docs / "sources" / f"{slug}.md").write_text(f"# {slug}\n\n{sections}\n", encoding="utf-8")
    for slug, cited in kb.cited.items():
        (docs / "reports" / f"{slug}.md").write_text(cited.report.final, encoding="utf-8")
    (project / "mkdocs.yml").write_text(
        "site_name: Plain\ntheme:\n  name: material\n  language: zh\n  font: false\nplugins:\n  - search\n",
        encoding="utf-8",
    )


def fetch(url: str) -> str:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return ""


def edited_source(kb_root: Path, last: bool = False) -> tuple[str, str]:
    """(title, slug) of the source a bench edits: the first document of the first corpus file (the
    last file with `last`) whose title has one text in the whole folder, so that editing it in every
    corpus file that holds it (`edit_source`) keeps its page and slug."""
    from build_tools.ingest import load

    loaded = load(kb_root)
    by_title: dict[str, list[str]] = {}
    for source in loaded.sources.values():
        by_title.setdefault(source.title, []).append(source.slug)
    files = sorted((kb_root / "corpora").rglob("*.json"))
    for path in reversed(files) if last else files:
        for doc in json.loads(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and len(by_title.get(doc.get("title"), [])) == 1:
                return doc["title"], by_title[doc["title"]][0]
    raise ValueError(f"{kb_root}: no corpus document to edit (the bench edits a source in corpora/*.json)")


def edit_source(kb_root: Path, title: str, line: str) -> None:
    """Appends a line to the source titled `title` in every corpus file that holds it."""
    for path in sorted((kb_root / "corpora").rglob("*.json")):
        docs = json.loads(path.read_text(encoding="utf-8"))
        held = [doc for doc in docs if isinstance(doc, dict) and doc.get("title") == title]
        for doc in held:
            doc["page_body"] += f"\n{line}"
        if held:
            path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")


WATCH_PERIOD = 0.5  # seconds between the polls of `mkdocs serve`'s file watcher (LiveReloadServer)
NEXT_EDIT_AFTER = 1.0  # seconds from an edit shown to the next one


def edit_seen(kb_root: Path, title: str, page: str, timeout: float) -> tuple[float, bool]:
    """Seconds from a one-source edit until the served `page` shows it, and whether it did."""
    marker = f"编辑标记{random.randrange(10**9)}"
    edit_source(kb_root, title, marker)
    saved = time.monotonic()
    while marker not in fetch(page) and time.monotonic() - saved < timeout:
        time.sleep(0.1)
    return time.monotonic() - saved, marker in fetch(page)


def serve_edit(kb_root: Path, env: dict[str, str], timeout: float, progress=print) -> dict:
    """`mkdocs serve --dirty`: seconds from saving a one-source edit until the served page shows it,
    once the server is up and its search index written (an editing researcher's steady state), and
    for the next edit, NEXT_EDIT_AFTER later; the CPU time the server used until its index was
    written, over that wall time."""
    title, slug = edited_source(kb_root, last=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "serve",
        "--dirty",
        "-f",
        str(REPO / "mkdocs.yml"),
        "-a",
        f"127.0.0.1:{port}",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            while not fetch(url) and time.monotonic() - started < timeout and process.poll() is None:
                time.sleep(0.5)
            first = time.monotonic() - started
            while not fetch(f"{url}search/citekb/manifest.json") and time.monotonic() - started < timeout:
                time.sleep(0.5)
            indexed = time.monotonic() - started
            cpu = process_cpu_seconds(process.pid)
            progress(f"bench: serving after {first:.1f} s, search index after {indexed:.1f} s; editing sources/{slug}/")
            # MkDocs' server polls the watched files every WATCH_PERIOD, counted from its start, and
            # the loop above waits in steps of the same length: without this, every run's edit falls
            # at about the same point of the server's period (how long it waits for the poll would be
            # one draw, not a sample). A researcher's edit falls anywhere in it.
            time.sleep(random.uniform(0, WATCH_PERIOD))
            seen, ok = edit_seen(kb_root, title, f"{url}sources/{slug}/", timeout)
            # A researcher's next edit comes soon after, while the last rebuild's search index is
            # still being made (at 10k, every edit after the first once waited 8 s for it).
            time.sleep(NEXT_EDIT_AFTER + random.uniform(0, WATCH_PERIOD))
            next_seen, next_ok = edit_seen(kb_root, title, f"{url}sources/{slug}/", timeout)
            ok = ok and next_ok
        finally:
            process.terminate()
            process.wait()
        log.seek(0)
        tail = log.read().decode("utf-8", "replace")[-1500:]
    cpu_until_index = {}
    if cpu is not None:
        cpu_until_index = dict(
            zip(("index_ready_cpu_seconds", "index_ready_cpu_utilisation"), cpu_figures(cpu, indexed))
        )
    return {
        "first_build_seconds": round(first, 2),
        "index_ready_seconds": round(indexed, 2),
        "edit_visible_seconds": round(seen, 2),
        "next_edit_visible_seconds": round(next_seen, 2),
        **cpu_until_index,
        "ok": ok,
        **({} if ok else {"log_tail": tail}),
    }


def knowledge_base_figures(kb_root: Path) -> dict[str, int]:
    """An existing folder's counts, as `synthesize` gives them for the one it writes."""
    from build_tools.knowledge_base import build

    kb = build(kb_root)
    return {
        "sources": len(kb.loaded.sources),
        "chunks": sum(map(len, kb.chunks.values())),
        "reports": len(kb.cited),
        "files": len(kb.loaded.files),
    }


def bench(
    sources: int,
    reports: int,
    work: Path,
    plain: bool = True,
    timeout: float = 3600,
    progress=print,
    runs: int = 1,
    kb_dir: Path | None = None,
) -> dict:
    """Cold build (no term cache, no page cache), warm rebuild after a one-source edit, `serve
    --dirty` and (with `plain`) plain mkdocs-material, each `runs` times, in turn (a drifting
    machine slows all alike); each figure is the median of its runs, with its range. `kb_dir`: a copy of that knowledge-base folder (never
    the folder itself: the bench edits it) instead of a synthetic one."""
    kb_root = work / "kb"
    if kb_root.exists():
        shutil.rmtree(kb_root)
    if kb_dir is not None:
        progress(f"bench: copying {kb_dir}")
        shutil.copytree(kb_dir, kb_root, symlinks=True)
        (kb_root / FOLDER_LOCK).unlink(missing_ok=True)  # a kb verb's hold on the original, not the copy's
        made = knowledge_base_figures(kb_root)
    else:
        progress(f"bench: generating {sources} sources and {reports} reports")
        made = synthesize(kb_root, sources, reports)
    cache = work / "cache" / "terms.marshal"
    env = {**os.environ, "CITEKB_SOURCES": str(kb_root), "CITEKB_CACHE": str(cache), "NO_MKDOCS_2_WARNING": "1"}
    site = work / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)]
    measured: dict[str, list[dict]] = {"cold": [], "warm": [], "serve": [], "plain": []}
    sizes: dict[str, int] = {}
    warm_title = edited_source(kb_root)[0]
    for number in range(1, runs + 1):
        of = f" (run {number} of {runs})" if runs > 1 else ""
        cold_start(kb_root, cache, site)
        progress(f"bench: cold build{of}")
        measured["cold"].append(asdict(run_build(command, env, timeout)))
        if not sizes:
            site_bytes, pages = folder_bytes(site)
            index_raw, index_gzip = byte_sizes(index_files(site))
            sizes = {
                "pages": pages,
                "site_bytes": site_bytes,
                "search_index_bytes": index_raw,
                "search_index_gzip_bytes": index_gzip,
            }
        edit_source(kb_root, warm_title, "新增的一行，用于测量增量重建。")
        progress(f"bench: warm rebuild after editing one source{of}")
        measured["warm"].append(asdict(run_build(command, env, timeout)))
        progress(f"bench: mkdocs serve --dirty, then a one-source edit{of}")
        measured["serve"].append(serve_edit(kb_root, env, timeout, progress))
        if plain:
            project = work / "plain"
            shutil.rmtree(project, ignore_errors=True)
            plain_material_project(kb_root, project)
            progress(f"bench: plain mkdocs-material build of the same corpus{of}")
            run = run_build(
                [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(project / "mkdocs.yml")],
                {**os.environ, "NO_MKDOCS_2_WARNING": "1"},
                timeout,
            )
            plain_bytes, plain_pages = folder_bytes(project / "site") if (project / "site").exists() else (0, 0)
            measured["plain"].append(
                {
                    **asdict(run),
                    "site_bytes": plain_bytes,
                    "pages": plain_pages,
                    "timed_out": not run.ok and run.seconds >= timeout,
                }
            )
    result = {
        **made,
        **sizes,
        "runs": runs,
        **({"kb": str(kb_dir)} if kb_dir is not None else {}),
        **{name: summarize(measured[name]) for name in ("cold", "warm", "serve")},
    }
    if plain:
        result["plain"] = summarize(measured["plain"])
        result["plain"]["timed_out"] = any(run["timed_out"] for run in measured["plain"])
        cold = result["cold"]["seconds"]
        result["plain_over_citekb"] = round(result["plain"]["seconds"] / cold, 2) if cold else None
    return result
