"""Issue 19: citation figures per configuration (`kb stats`, the stats/ page), recomputed from `kb cites`.

The fixture: tests/fixtures.py's app folder (a bench folder, a results_32k/modelx run) plus a modelx
run that validation repaired, a modely run that failed, and a hand-added report (configuration other)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fixtures import make_sample_app_folder, make_sample_kb
from helpers import build_site, kb, kb_check, landed, need_pipeline

from build_tools import cli, messages, render
from build_tools.ingest import Loaded
from build_tools.knowledge_base import assemble, build
from build_tools.models import Corpus, FileSource, Report, Source
from build_tools.stats import TitleLookup, failed, failure
from build_tools.validation import validation_changes

REPAIRED_RUN = "results/results_32k/modelx/102_20250102_000000"
FAILED_RUN = "results/results_32k/modely/102_20250103_000000"
INVENTED = "完全虚构的来源标题"


def report_file(heading: str, body: str) -> str:
    return f"# {heading}\n\nGenerated at: 2025-01-02 00:00:00\n\n## Query\n\n问题\n\n## Report\n\n{body}\n"


def make_stats_app(root: Path) -> Path:
    app = make_sample_app_folder(root)
    runs = {
        f"{REPAIRED_RUN}/initial_report.md": report_file(
            "Initial Report (Before Validation)",
            (
                '# 修订前\n\n一句话 [long_context: "没有网址的文档", chunk 7]。删掉的 [long_context: "凭空捏造的标题", chunk 0]。'
            ),
        ),
        f"{REPAIRED_RUN}/final_report.md": report_file(
            "Final Report (After Validation)",
            (
                '# 修订后\n\n一句话 [long_context: "没有网址的文档", chunk 0]。新增 [文档: paper.pdf, p1]。缺失 [文档: nothere.pdf]。'
            ),
        ),
        f"{FAILED_RUN}/initial_report.md": report_file("Initial Report (Before Validation)", "No report generated."),
        f"{FAILED_RUN}/final_report.md": report_file("Final Report (After Validation)", "No report generated."),
    }
    for relative, text in runs.items():
        (app / relative).parent.mkdir(parents=True, exist_ok=True)
        (app / relative).write_text(text, encoding="utf-8")
    return app


@pytest.fixture(scope="module")
def stats_kb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stats")
    kb("import", str(make_stats_app(root / "app")), "--sources", str(root / "kb"))
    hand = root / "kb" / "reports" / "hand"
    hand.mkdir()
    (hand / "report.yaml").write_text("task: '102'\ncorpus: corpora/102/long_context_sampled_32k\n", encoding="utf-8")
    (hand / "final_report.md").write_text(
        f'# 手写报告\n\n编造 [long_context: "{INVENTED}", chunk 2]。\n', encoding="utf-8"
    )
    return root / "kb"


@pytest.fixture(scope="module")
def site(stats_kb):
    built = build_site(stats_kb, stats_kb.parent / "site", quiet=True)
    assert built.returncode == 0, built.log
    return built


def stats_json(root: Path) -> dict[str, dict]:
    return {row["configuration"]: row for row in json.loads(kb("stats", str(root), "--json").stdout)}


def kb_cites(*args: str) -> list[dict]:
    """`kb cites` run in-process (a subprocess per report would dominate the test's time)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["cites", *args]) == 0
    return json.loads(out.getvalue())


def final_file(folder: Path) -> Path:
    """The file the knowledge base reads a report's final text from (a comparison wins)."""
    comparison = sorted(folder.glob("*_comparison.txt"))
    if comparison:
        return comparison[-1]
    if (folder / "final_report.md").is_file():
        return folder / "final_report.md"
    return next(p for p in sorted(folder.iterdir()) if p.suffix == ".md" and not p.name.startswith("initial"))


def recomputed(root: Path) -> dict[str, tuple[int, int, int, Counter]]:
    """Per configuration: reports, failed runs, texts counted (all but those with no output), statuses
    of their citations, from `kb cites` over each report folder."""
    knowledge = build(root)
    found: dict[str, tuple[int, int, int, Counter]] = {}
    for cited in knowledge.cited.values():
        report = cited.report
        meta = report.meta
        config = f"results_{meta['context']}/{meta['model']}" if meta.get("model") else meta.get("bench", "other")
        args = [str(final_file(root / report.path))]
        if report.corpus and (root / f"{report.corpus}.json").is_file():
            args += ["--corpus", str(root / f"{report.corpus}.json")]
        if report.files and (root / report.files).is_dir():
            args += ["--files", str(root / report.files)]
        rows = kb_cites(*args)
        reports, fails, counted, statuses = found.get(config, (0, 0, 0, Counter()))
        if failure(report.final) == "no_output":
            assert rows == []
            found[config] = (reports, fails + 1, counted, statuses)
            continue
        # a failed run's text (a plan, a cut-off report) has its citations counted all the same
        statuses += Counter(r["status"] for r in rows)
        found[config] = (reports + (not failed(report.final)), fails + failed(report.final), counted + 1, statuses)
    return found


def assert_rows_add_up(rows: dict[str, dict], expected: dict[str, tuple[int, int, int, Counter]]) -> None:
    assert set(rows) == set(expected)
    for config, row in rows.items():
        reports, fails, counted, statuses = expected[config]
        assert (row["reports"], row["failed"]) == (reports, fails), config
        if not counted:
            assert not {"characters", "citations", "statuses", "resolved_share"} & set(row), config  # absent, not 0
            continue
        assert sum(row["statuses"].values()) == row["citations"] == sum(statuses.values()), config
        assert {s: n for s, n in row["statuses"].items() if n} == dict(statuses), config
        if row["citations"]:
            assert sum(row["status_shares"].values()) == pytest.approx(1)
        assert sum(task["reports"] for task in row["tasks"].values()) == reports
        assert sum(task["failed"] for task in row["tasks"].values()) == fails


def test_every_row_adds_up_to_kb_cites(stats_kb):
    rows = stats_json(stats_kb)
    assert list(rows) == ["results_32k/modelx", "results_32k/modely", "bench_case9999", "other"]
    assert_rows_add_up(rows, recomputed(stats_kb))


def test_failed_run_is_failed_and_its_figures_are_absent(stats_kb):
    modely = stats_json(stats_kb)["results_32k/modely"]
    assert modely == {
        "configuration": "results_32k/modely",
        "kind": "results",
        "model": "modely",
        "context": "32k",
        "reports": 0,
        "failed": 1,
        "failures": {"no_output": 1},
        "original": {"reports": 0, "failed": 1, "failures": {"no_output": 1}},
        "tasks": {"102": {"reports": 0, "failed": 1}},
    }


def test_figures_of_a_configuration(stats_kb):
    rows = stats_json(stats_kb)
    modelx = rows["results_32k/modelx"]
    assert modelx["reports"] == 2 and modelx["tasks"]["102"]["reports"] == 2
    assert modelx["citations_per_1000_chars"] == pytest.approx(modelx["citations"] * 1000 / modelx["characters"])
    assert modelx["original"]["reports"] == 1  # only the repaired run has a pre-validation text
    assert modelx["original"]["invented"] == 1 and modelx["original"]["long_context_titled"] == 2
    assert modelx["validation"] == {"reports": 1, "added": 2, "removed": 1, "repaired": 1}
    assert "original" not in rows["other"] and "validation" not in rows["other"]
    assert rows["other"]["invented"] == rows["other"]["long_context_titled"] == 1
    assert rows["other"]["invented_share"] == 1.0
    # a task file cited as a corpus document names something that exists: not invented
    assert modelx["statuses"]["file_as_chunk"] == 1 and modelx["invented"] == 0
    assert modelx["file_citations"] == 4 and modelx["missing_files"] == 1
    assert "model" not in rows["bench_case9999"] and rows["bench_case9999"]["bench"] == "bench_case9999"
    assert rows["bench_case9999"]["file_citations"] == 0
    assert "missing_file_share" not in rows["bench_case9999"]  # no file citations: no share


def test_validation_changes_name_the_repair(stats_kb):
    cited = build(stats_kb).cited["results-32k-modelx-102-20250102-000000"]
    changes = {(c.change, c.raw, c.count) for c in validation_changes(cited)}
    assert changes == {
        ("repaired", '[long_context: "没有网址的文档", chunk 0]', 1),
        ("removed", '[long_context: "凭空捏造的标题", chunk 0]', 1),
        ("added", "[文档: paper.pdf, p1]", 1),
        ("added", "[文档: nothere.pdf]", 1),
    }


def test_kb_stats_prints_a_readable_table(stats_kb):
    lines = kb("stats", str(stats_kb)).stdout.splitlines()
    assert lines[0].split()[:3] == ["configuration", "reports", "failed"]
    assert [line.split()[0] for line in lines[1:]] == [
        "results_32k/modelx",
        "results_32k/modely",
        "bench_case9999",
        "other",
    ]
    assert lines[2].split()[1:4] == ["0", "1", "—"]


def soup_of(built, path: str) -> BeautifulSoup:
    return BeautifulSoup(built.page(path), "html.parser")


def test_page_builds_strictly_without_broken_links(site):
    assert kb_check(site.site)["broken"] == []
    page = soup_of(site, "stats")
    assert "引用质量对比" in [a.get_text(strip=True) for a in page.select("nav.md-nav--primary a")]  # in the navigation
    rows = page.select("#configurations + div table tbody tr")
    assert [r.th.get_text() for r in rows] == ["modelx · 32k", "modely · 32k", "bench_case9999", "其他"]
    modely = [td.get_text() for td in rows[1].select("td")]
    assert modely[:3] == ["0", "1", "—"] and set(modely[3:]) == {"—"}
    (failed_runs,) = rows[1].select("td a")  # only the failed count has something behind it
    assert "运行失败" in landed(site.site, "/stats/", failed_runs["href"]).find_next("table").get_text()
    assert page.select_one(".md-sidebar--secondary").has_attr("hidden")  # its width goes to the ranking
    ranking = page.select("table.citekb-ranking tbody tr")
    assert ranking[-1].th.a.get_text() == "modely · 32k"  # nothing to count: ranked last, and says so
    assert messages.RANKING["no_citations"] in ranking[-1].th.get_text()


def test_figure_cells_link_to_the_citations_behind_them(site, stats_kb):
    page = soup_of(site, "stats")
    heads = [th.get_text() for th in page.select("#configurations + div table thead th")]
    other = page.select("#configurations + div table tbody tr")[3]
    invented = other.select("td")[heads.index("疑似编造") - 1].a
    listing = landed(site.site, "/stats/", invented["href"])
    assert INVENTED in listing.find_next("ul").get_text()
    assert (
        landed(site.site, "/stats/", listing.find_next("ul").a["href"])
        .select_one("h1")
        .get_text()
        .startswith("手写报告")
    )
    cited_at = landed(site.site, "/stats/", listing.find_next("ul").select("a")[1]["href"])  # the citation itself
    assert "citekb-cite" in cited_at["class"] and cited_at["data-title"] == INVENTED
    unknown = other.select("td")[heads.index(messages.STATUS_LABELS["unknown_source"]) - 1]
    assert unknown.get_text().startswith("100.0%") and unknown.a["href"].endswith("-status-unknown_source")
    repaired = page.select("#validation + div table tbody tr")[0].select("td a")[-1]
    section = landed(site.site, "/stats/", repaired["href"])
    assert '没有网址的文档", chunk 0]' in section.find_next("ul").get_text()
    assert "块 7" in section.find_next("ul").get_text()  # what it replaced


def test_task_view_shows_the_configurations_side_by_side(site):
    page = soup_of(site, "stats")
    for task, configurations in [("101", ["bench_case9999"]), ("102", ["modelx · 32k", "modely · 32k", "其他"])]:
        table = page.select_one(f"#task-{task} + div table")
        assert [r.th.get_text() for r in table.select("tbody tr")] == configurations
        for link in table.select("tbody td a"):
            target = landed(site.site, "/stats/", link["href"])
            assert target.name == "tr" and target.td.get_text() == task


def test_imported_pipeline_rows_add_up(imported):
    root = imported.site.parent / "kb"
    rows = stats_json(root)
    assert_rows_add_up(rows, recomputed(root))
    markers = 0  # failed results runs, found in the pipeline's own files
    for path in need_pipeline().glob("results/results_*/*/*/final_report.md"):
        body = path.read_text(encoding="utf-8").split("## Report", 1)[-1].split("## Summary", 1)[0].strip()
        markers += bool(re.fullmatch(r"No (report|final answer) generated\.", body))
    no_output = sum(row.get("failures", {}).get("no_output", 0) for row in rows.values() if row["kind"] == "results")
    assert markers and no_output == markers  # its links: test_check's kb check of the same site


def test_hostile_configuration_names_stay_text(tmp_path):
    """A model folder is named by whoever ran the pipeline: on the page it is text, in anchors it is safe."""
    knowledge = build(make_sample_kb(tmp_path / "kb", hostile=True))
    knowledge.cited["demo"].report.meta.update(model='<script>window.pwned=1</script>"', context="32k 64k")
    knowledge.cited["hostile"].report.meta.update(bench="bench_<img src=x onerror=alert(1)>")
    html = render.stats_page(knowledge, lambda target: target)
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.select("script, img") and "window.pwned" in soup.get_text()
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)) and not any(re.search(r"[\s<>\"'#]", anchor) for anchor in ids)
    assert {a["href"][1:] for a in soup.select('a[href^="#"]')} <= set(ids)


def test_a_task_file_named_without_its_extension_is_no_invented_title(tmp_path):
    """Issue 28: one rule for "invented" — a title naming a task file anywhere in the knowledge base,
    with or without its extension, names something that exists (here in another task's folder)."""
    loaded = Loaded(tmp_path)
    name = "gpt-4 technical report.pdf"
    loaded.files = {f"files/t1/{name}": FileSource("f1", name, f"files/t1/{name}", "pdf", "t1")}
    loaded.sources = {"s1": Source("s1", "开源模型综述", "正文。")}
    loaded.corpora["corpora/t2/c"] = Corpus("corpora/t2/c", "t2", ["s1"])
    text = '见 [long_context: "GPT-4 Technical Report", chunk 2] 与 [long_context: "GPT-5 报告", chunk 1]。'
    loaded.reports["r"] = Report("r", "R", "reports/r", text, task="t2", corpus="corpora/t2/c", files="files/t2")
    loaded.reports["no-corpus"] = Report("no-corpus", "R", "reports/n", text, task="t3", files="files/t3")
    kb = assemble(loaded)
    lookup = TitleLookup(kb)
    assert [(item.status, lookup.invented(item)) for item in kb.cited["r"].final] == [
        ("unknown_source", False),
        ("unknown_source", True),
    ]
    # a report whose corpus is not in the knowledge base: its titles cannot be checked, none is called invented
    assert [lookup.invented(item) for item in kb.cited["no-corpus"].final] == [False, False]


def test_configurations_sort_by_context_size_whatever_its_length():
    """A report.yaml's context of 5,000 digits raised ValueError (int() refuses 4300): it sorts as
    no size (0, before the sized ones)."""
    from build_tools.stats import Configuration

    sizes = ["128k", "9" * 5000 + "k", "32k", "64k"]
    found = sorted(
        (Configuration(f"results_{c}/m", "results", model="m", context=c) for c in sizes), key=Configuration.sort_key
    )
    assert [c.context for c in found] == ["9" * 5000 + "k", "32k", "64k", "128k"]
