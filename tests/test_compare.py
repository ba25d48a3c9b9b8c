"""Issue 28 points 1, 4 and 5: the comparison page's ranking, runs that failed (no output, only a plan,
cut off) and why, and the reports index (each report's own title, its filters).

In-process render tests (a knowledge base assembled here, HTML out) and one browser test of the
filters at phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from doubling import Shape, assert_linear
from helpers import build_site, kb, need_pipeline, serve

from build_tools import render
from build_tools.ingest import Loaded
from build_tools.knowledge_base import assemble
from build_tools.messages import FAILURE_LABELS, RANKING
from build_tools.models import Audit, Corpus, Report, Source
from build_tools.report_text import own_title, parse_report_markdown
from build_tools.stats import TitleLookup, failure, stats

LONG = "这是报告的正文，说明了市场的情况。" * 150  # a report's worth of text (2,550 characters)
PLAN = (
    "Certainly! I'll analyze the task, use the available tools to gather relevant information.\n\n"
    "First, let's analyze the image:\n\n"
)
CALL = (
    "<use_mcp_tool>\n<server_name>tool-vqa</server_name>\n<tool_name>vision</tool_name>\n"
    '<arguments>\n{"image_path_or_url": "datasets/001/image0.png"}\n</arguments>\n</use_mcp_tool>'
)

SHAPES = [  # (what it is, the final text, why the run failed or None)
    ("empty", "", "no_output"),
    ("blank", " \n\t\n", "no_output"),
    ("the pipeline's marker", "No report generated.", "no_output"),
    ("another marker", "No final answer generated.", "no_output"),
    ("a plan ending in a tool call", PLAN + CALL, "plan_only"),
    ("a plan ending in an unclosed tool call", PLAN + CALL.removesuffix("</use_mcp_tool>"), "plan_only"),
    (
        "a token boxed answer and talk about it",
        "\\boxed{Analyze deep research benchmarks [Image: image0.png]}\n\nThis revised report addresses "
        "the issues and meets all requirements:\n\n1. Word Count: The report now contains exactly 5 words.",
        "plan_only",
    ),
    (
        "a preamble alone",
        "Understood. I will use the RAG tools to search the corpus, then write the report.",
        "plan_only",
    ),
    (
        "a long plan, no tool call",
        "I'll analyze the task step by step.\n\n" + "Step: read the materials and note what they say.\n" * 30,
        "plan_only",
    ),
    ("a preamble, then a report", "Understood. I will write the report.\n\n# 简报\n\n" + LONG, None),
    ("cut after 的", "## 分析\n\n1. **模块化管道**：灵活性高。\n2. **强化学习**：这种方法的", "truncated"),
    ("cut after a preposition, in a list", LONG + "\n\n对于研究团队，建议：\n\n1. 根据", "truncated"),
    ("cut inside a citation", LONG + '\n\n3. 行业报告 [long_context: "大模型路线之争：中国开源模型崛起-', "truncated"),
    ("cut after a comma", LONG + "\n\n总体来看，", "truncated"),
    ("cut in English", "The market grew in 2024, driven by demand for the", "truncated"),
    ("a report, then a tool call", LONG + "\n\n" + CALL, "truncated"),
    ("a report ending with a full stop", LONG, None),
    ("a report ending with a table row", LONG + "\n\n| 名称 | 数量 |\n|---|---|\n| DRBench | 100", None),
    (
        "a report ending with a list item",
        LONG + "\n\n- 社区生态数据及产品文档，参见 Hugging Face 官网与 GitHub 生态",
        None,
    ),
    ("a report ending with a citation", LONG + '\n\n- [long_context: "开源浪潮席卷全球-网易", chunk 2]', None),
    ("a report ending with a heading", LONG + "\n\n## 参考资料", None),
    ("a note without a full stop", LONG + "\n\n注：以上数据截至2025年10月", None),
    ("目的 ends a sentence", LONG + "\n\n这正是本报告的目的", None),
    ("a short report with a title", '# 简报\n\n开源模型增长很快 [long_context: "开源综述", chunk 1]。', None),
    ("a whole report in a box", "\\boxed{\n# 调研报告\n\n" + LONG + "\n}", None),
    ("Plan A", LONG + "\n\nWe recommend Plan A", None),
    ("a noun ending in a connective's character", LONG + "\n\n- 社区参与\n- 技术普及\n- 市场趋于饱和", None),
    ("built-in, and so on", LONG + "\n\n- tools, plug-ins, and so on\n- Built-in", None),
]


@pytest.mark.parametrize(("text", "why"), [(text, why) for _, text, why in SHAPES], ids=[s[0] for s in SHAPES])
def test_failure_by_shape(text, why):
    assert failure(text) == why


def test_no_text_is_no_failure():
    assert failure(None) is None  # no original version: nothing failed


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("run", "why"),
    [
        ("results_128k/gpt4.1/001_20251204_163009", "no_output"),
        ("results_128k/claude35/001_20251206_032649", "plan_only"),  # a preamble and a tool call
        ("results_32k/claude35/001_20251206_015912", "plan_only"),  # \boxed{5 words}
        ("results_64k/claude37_sonnet/001_20251205_023547", "plan_only"),
        ("results_32k/claude37_sonnet/001_20251205_011955", "truncated"),  # "…这种方法的"
        ("results_128k/claude37_sonnet/003_20251205_041935", "truncated"),  # inside a citation
        ("results_64k/gpt4.1/003_20251204_160515", None),  # ends with a list item without its full stop
        ("results_32k/gpt4.1/001_20251204_151747", None),
    ],
)
def test_failure_of_the_pipelines_own_runs(run, why):
    text = (need_pipeline() / "results" / run / "final_report.md").read_text(encoding="utf-8")
    assert failure(parse_report_markdown(text)["body"]) == why


@pytest.mark.parametrize(
    "shape",
    [
        Shape("", "<use_mcp_tool>"),
        Shape("", "<use_mcp_tool>x</use_mcp_tool>"),
        Shape("", "\\boxed{"),
        Shape("\\boxed{", "{"),
        Shape("正文。\n", "[（(【《"),
        Shape("正文", "，"),
        Shape("", "the "),
        Shape("Understood", " "),
        Shape("", "x\n"),
    ],
    ids=repr,
)
def test_failure_is_linear(shape):
    assert_linear(failure, shape)


TITLES = [  # (what it is, final text, query, the title)
    ("one top heading", "# Deep Research 调研报告\n\n## 引言\n\n正文。", "", "Deep Research 调研报告"),
    ("the top heading after a preamble", "In this conversation, I was tasked…\n\n## 报告\n### 引言", "", "报告"),
    ("closing hashes", "## 生态对比 ##\n\n正文", "", "生态对比"),
    ("C# keeps its hash", "# C#\n\n正文", "", "C#"),
    (
        "sections are no title: the query's",
        "## 一、引言\n\n## 二、方法",
        "请撰写一份《两大平台对比报告》。",
        "两大平台对比报告",
    ),
    (
        "a whole 《title》 line",
        "《两大 AI 平台生态对比分析报告》\n（1）引言",
        "data/query.jsonl",
        "两大 AI 平台生态对比分析报告",
    ),
    ("a 《title》 line after a preamble", "Understood.\n\n**《生态报告》**\n正文", "data/query.jsonl", "生态报告"),
    (
        "a preamble: the query's",
        "Understood. I will use the RAG tools…",
        "请撰写一份《调研报告》，字数1500。",
        "调研报告",
    ),
    (
        "boxed LaTeX: the query's",
        "\\boxed{Analyze benchmarks}",
        "a report titled 'Exploring Cambodia'.",
        "Exploring Cambodia",
    ),
    ("the pipeline's own heading is not the title", "# Final Report (After Validation)\n\n正文", "", ""),
    ("nothing to go by", "吴哥窟位于柬埔寨暹粒市。", "data/bench_case1104/query.jsonl", ""),
]


@pytest.mark.parametrize(("final", "query", "title"), [t[1:] for t in TITLES], ids=[t[0] for t in TITLES])
def test_own_title(final, query, title):
    assert own_title(final, query) == title


@pytest.mark.parametrize("shape", [Shape("# ", " #", "x"), Shape("", "# a\n"), Shape("titled ", " ")], ids=repr)
def test_own_title_is_linear(shape):
    assert_linear(lambda text: own_title(text, text), shape)


# ---------------------------------------------------------------- the ranking

A, B = "开源模型综述", "闭源模型综述"


def audit(verdict: str) -> Audit:
    return Audit("supported" if verdict == "supported" else "weak", 0.5, "论断", None, verdict=verdict)


def ranked_kb():
    """Four configurations, in the order the rule ranks them: `best` (2 of 4 supported, nothing
    invented), `invents` (2 of 4 supported too, one invented title), `weaker` (1 of 4 supported),
    `failed` (its only run wrote nothing: no citations, ranked last). Listed on the page in another
    order (by model name), so the ranking is not the page's order."""
    loaded = Loaded(Path("/kb"))
    loaded.sources = {"a": Source("a", A, "甲。\n\n" + "乙。" * 10), "b": Source("b", B, "丙。")}
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", ["a", "b"])
    cite = f'论断 [long_context: "{A}", chunk 0]。'
    runs = {  # model: (final text, its audits)
        "m3-best": (cite * 4, ["supported", "supported", "partial", "unsupported"]),
        "m1-invents": (
            cite * 3 + '编造 [long_context: "无中生有的标题", chunk 0]。',
            ["supported", "supported", "unsupported", None],
        ),
        "m2-weaker": (cite * 4, ["supported", "partial", "partial", "unsupported"]),
        "m0-failed": ("No report generated.", []),
    }
    for model, (text, _) in runs.items():
        loaded.reports[model] = Report(
            model,
            model,
            f"reports/{model}",
            text,
            task="t",
            corpus="corpora/t/c",
            meta={"model": model, "context": "32k"},
        )
    knowledge = assemble(loaded)
    knowledge.audits = {model: [audit(v) if v else None for v in verdicts] for model, (_, verdicts) in runs.items()}
    return knowledge


def test_the_ranking_is_best_first_by_its_stated_rule():
    knowledge = ranked_kb()
    soup = BeautifulSoup(render.stats_page(knowledge, lambda target: target), "html.parser")
    rows = soup.select("table.citekb-ranking tbody tr")
    assert [r.th.a.get_text() for r in rows] == [
        "m3-best · 32k",
        "m1-invents · 32k",
        "m2-weaker · 32k",
        "m0-failed · 32k",
    ]
    assert [r.select_one(".citekb-rank").get_text() for r in rows] == ["1", "2", "3", "4"]
    assert RANKING["rule_audited"] in soup.select_one(".citekb-lead").get_text()  # the rule is on the page
    figures = {td["data-label"]: td.get_text(" ", strip=True) for td in rows[1].select("td[data-label]")}
    assert figures["✓ 有依据"] == "50.0% 2/4" and figures[RANKING["invented"]] == "25.0% 1/4"
    assert figures[RANKING["resolved"]] == "75.0% 3/4" and figures[RANKING["failed"]] == "0.0% 0/1"
    failed = {td["data-label"]: td.get_text(" ", strip=True) for td in rows[3].select("td[data-label]")}
    assert failed[RANKING["failed"]] == "100.0% 1/1" and RANKING["no_citations"] in rows[3].th.get_text()
    tasks = soup.select_one('.citekb-lead a[href="#tasks"]')  # the per-task breakdown, one click away
    assert tasks is not None and soup.find(id="tasks") is not None
    task = soup.select_one("#task-t + div table")
    assert [th.get_text() for th in task.select("thead th")][4] == "✓ 有依据"
    assert {tr.th.get_text(): tr.select("td")[3].get_text() for tr in task.select("tbody tr")}[
        "m2-weaker · 32k"
    ] == "25.0%"
    # the same configurations, in the page's other tables, keep the page's order
    assert [r.th.get_text() for r in soup.select("#configurations + div table tbody tr")][0] == "m0-failed · 32k"


def test_every_ranking_figure_links_to_the_citations_behind_it():
    knowledge = ranked_kb()
    soup = BeautifulSoup(render.stats_page(knowledge, lambda target: target), "html.parser")
    row = soup.select("table.citekb-ranking tbody tr")[1]  # m1-invents
    linked = row.select("td[data-label] a")
    # every figure with something behind it: supported, unsupported, resolved, invented (none partial,
    # no file cited, no failed run: nothing to list)
    assert len(linked) == 4
    for link in linked:
        listing = soup.find(id=link["href"][1:])
        assert listing is not None, link["href"]
        count = link.small.get_text().split("/")[0]
        if listing.name == "h4" and "（" in listing.get_text():  # a citation listing: it lists that many
            assert listing.get_text().endswith(f"（{count}）"), (link["href"], listing.get_text())
    invented = row.select_one(f'td[data-label="{RANKING["invented"]}"] a')
    listed = soup.find(id=invented["href"][1:]).find_next("ul")
    assert "无中生有的标题" in listed.get_text()
    assert listed.select("a")[1]["href"] == "reports/m1-invents/#cite-final-3"  # the citation itself
    assert soup.select_one("table.citekb-ranking svg.citekb-bar") is not None


def test_a_failed_runs_citations_count_and_the_run_is_failed():
    """A report cut off mid-sentence is a failed run; the citations it wrote still count, so the
    comparison counts what the health page lists."""
    knowledge = ranked_kb()
    knowledge.cited["m2-weaker"].report.final += "\n\n总体来看，"  # cut off
    (row,) = [r for r in stats(knowledge) if r.configuration.model == "m2-weaker"]
    assert (row.final.reports, row.final.failed, row.final.failures) == (0, 1, {"truncated": 1})
    assert row.final.citations == 4 and row.final.verdicts["supported"] == 1
    # one rule for "invented" (stats.TitleLookup), over the same citations: every report's final text,
    # as the health page lists them
    lookup = TitleLookup(knowledge)
    listed = sum(lookup.invented(item) for cited in knowledge.cited.values() for item in cited.final)
    assert listed == 1 and sum(r.final.invented or 0 for r in stats(knowledge, lookup)) == listed


# ---------------------------------------------------------------- the reports index


def index_kb():
    loaded = Loaded(Path("/kb"))
    reports = [  # slug, task, model, context, final, query
        ("r1", "001", "gpt4.1", "32k", "# 调研报告\n\n正文。", "请撰写《调研报告》"),
        ("r2", "001", "claude35", "64k", PLAN + CALL, "请撰写《调研报告》"),
        ("r3", "003", "claude35", "32k", "Understood. I will use the RAG tools.", "请撰写《生态对比》"),
        ("r4", "003", "gpt4.1", "64k", LONG + "\n\n总体来看，", "请撰写《生态对比》"),
        ("r5", "003", "qwen", "32k", "No report generated.", "请撰写《生态对比》"),
    ]
    for slug, task, model, context, final, query in reports:
        meta = {"model": model, "context": context}
        run = f"任务 {task} · {model} · {context} · 2025-12-04 15:17"
        loaded.reports[slug] = Report(
            slug, run, f"reports/{slug}", final, query=query, task=task, meta=meta, subtitle=own_title(final, query)
        )
    return assemble(loaded)


def test_the_index_shows_each_reports_own_title_over_its_run_and_marks_failures():
    soup = BeautifulSoup(render.reports_index(index_kb(), lambda target: target), "html.parser")
    rows = {tr.a["href"]: tr for tr in soup.select("tr[data-status]")}
    assert rows["reports/r3/"].a.get_text() == "生态对比"  # the query's title, not the preamble
    assert "Understood" not in soup.get_text() and "Certainly" not in soup.get_text()
    assert rows["reports/r1/"].select_one("small").get_text() == "任务 001 · gpt4.1 · 32k · 2025-12-04 15:17"
    status = {href: (tr["data-status"], tr.select_one("[data-failure]")) for href, tr in rows.items()}
    assert status["reports/r1/"] == ("ok", None)
    for href, why in [("reports/r2/", "plan_only"), ("reports/r3/", "plan_only"), ("reports/r4/", "truncated")]:
        assert status[href][0] == why and status[href][1].get_text() == FAILURE_LABELS[why]
    assert rows["reports/r5/"]["data-status"] == "no_output"
    assert {(tr["data-task"], tr["data-model"], tr["data-context"]) for tr in rows.values()} == {
        ("001", "gpt4.1", "32k"),
        ("001", "claude35", "64k"),
        ("003", "claude35", "32k"),
        ("003", "gpt4.1", "64k"),
        ("003", "qwen", "32k"),
    }
    form = soup.select_one("form.citekb-filters")
    assert form.has_attr("hidden")  # without scripts: the whole list, no controls that do nothing
    options = {s["data-facet"]: [o["value"] for o in s.select("option")] for s in form.select("select")}
    assert options == {
        "task": ["", "001", "003"],
        "model": ["", "claude35", "gpt4.1", "qwen"],
        "context": ["", "32k", "64k"],
        "status": ["", "ok", "no_output", "plan_only", "truncated"],
    }


def test_the_report_page_says_why_its_run_failed():
    knowledge = index_kb()
    page = BeautifulSoup(render.report_page(knowledge, knowledge.cited["r4"], lambda t: t), "html.parser")
    assert page.select_one('[data-failure="truncated"]').get_text() == FAILURE_LABELS["truncated"]
    whole = BeautifulSoup(render.report_page(knowledge, knowledge.cited["r1"], lambda t: t), "html.parser")
    assert whole.select_one("[data-failure]") is None


# ---------------------------------------------------------------- the filters, in a browser


@pytest.fixture(scope="module")
def filtered_site(tmp_path_factory):
    from fixtures import make_sample_app_folder

    root = tmp_path_factory.mktemp("filters")
    app = make_sample_app_folder(root / "app")
    for run, text in [
        ("results/results_64k/modelx/102_20250105_000000", PLAN + CALL),
        ("results/results_32k/modely/102_20250106_000000", LONG + "\n\n总体来看，"),
    ]:
        (app / run).mkdir(parents=True)
        (app / run / "final_report.md").write_text(
            f"# Final Report (After Validation)\n\n## Query\n\n请撰写《规划报告》\n\n## Report\n\n{text}\n",
            encoding="utf-8",
        )
    kb("import", str(app), "--sources", str(root / "kb"))
    built = build_site(root / "kb", root / "site", quiet=True)
    assert built.returncode == 0, built.log
    return built


@pytest.mark.browser
def test_the_filters_work_without_a_server_at_phone_width(filtered_site, browser):
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        with serve(filtered_site.site) as url:
            phone.goto(url + "/reports/")
            rows = phone.locator("tr[data-status]")
            total = rows.count()
            assert total >= 4
            form = phone.locator("form.citekb-filters")
            assert form.is_visible()
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing off-screen
            phone.select_option('select[data-facet="status"]', "truncated")
            visible = phone.locator("tr[data-status]:visible")
            assert visible.count() == 1 and visible.first.get_attribute("data-model") == "modely"
            assert form.locator("output").inner_text() == f"显示 1 / {total} 份报告"
            assert "status=truncated" in phone.url  # a filtered list can be linked to
            phone.select_option('select[data-facet="status"]', "")
            phone.select_option('select[data-facet="context"]', "64k")
            assert {r.get_attribute("data-context") for r in phone.locator("tr[data-status]:visible").all()} == {"64k"}
            phone.select_option('select[data-facet="task"]', "101")  # no 64k run of task 101
            assert phone.locator("tr[data-status]:visible").count() == 0
            assert phone.locator(".citekb-filters-none").is_visible()
            assert phone.locator("section.citekb-task:visible").count() == 0
            phone.goto(url + "/reports/?status=plan_only")  # the address sets the filter
            assert phone.locator("tr[data-status]:visible").count() == 1
            assert phone.locator('select[data-facet="status"]').input_value() == "plan_only"
    finally:
        phone.close()


def test_without_verdicts_the_ranking_states_and_follows_the_resolved_rule():
    knowledge = ranked_kb()
    knowledge.audits = {}  # a build without the audit
    soup = BeautifulSoup(render.stats_page(knowledge, lambda target: target), "html.parser")
    assert RANKING["rule_plain"] in soup.select_one(".citekb-lead").get_text()
    rows = soup.select("table.citekb-ranking tbody tr")
    # all resolved, nothing invented: m2 and m3 tie and keep the page's order; m1 invents one title
    assert [r.th.a.get_text() for r in rows] == [
        "m2-weaker · 32k",
        "m3-best · 32k",
        "m1-invents · 32k",
        "m0-failed · 32k",
    ]
    assert not soup.select("table.citekb-ranking td[data-verdict]")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_ranking_is_all_on_screen_and_readable(filtered_site, browser, width):
    """Nothing of the ranking off-screen or scrolled away inside the table (the invented and failed
    figures included), and its words at least 12 px, at both widths (the old chart's were ~5 px)."""
    tab = browser.new_page(viewport={"width": width, "height": 900})
    try:
        with serve(filtered_site.site) as url:
            tab.goto(url + "/stats/")
            table = tab.locator("table.citekb-ranking")
            assert table.evaluate("t => t.scrollWidth <= t.clientWidth")
            assert tab.evaluate("document.documentElement.scrollWidth") <= width
            for cell in tab.locator(f'table.citekb-ranking td[data-label="{RANKING["invented"]}"]').all():
                box = cell.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width
            sizes = tab.evaluate(
                """() => [...document.querySelectorAll('table.citekb-ranking :is(td, th a)')]
                    .map(e => parseFloat(getComputedStyle(e).fontSize))"""
            )
            assert min(sizes) >= 12, sizes
    finally:
        tab.close()


def test_a_configuration_with_nothing_audited_ranks_after_those_with_verdicts():
    """None supported anywhere: a configuration whose citations could not be audited at all (its
    corpus is missing: nothing resolves, nothing counts as invented) ranked above one with real
    verdicts and an invented title, its empty shares winning the tie; and its ✗ cell said 0.0% in
    red, as if nothing were unsupported."""
    loaded = Loaded(Path("/kb"))
    loaded.sources = {"a": Source("a", A, "甲。\n\n" + "乙。" * 10)}
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", ["a"])
    cite = f'论断 [long_context: "{A}", chunk 0]。'
    texts = {"m6-audited": cite * 2 + '编造 [long_context: "无中生有的标题", chunk 0]。', "m5-no-corpus": cite * 3}
    for model, text in texts.items():
        corpus = "corpora/t/c" if model == "m6-audited" else "corpora/t/gone"
        meta = {"model": model, "context": "32k"}
        loaded.reports[model] = Report(model, model, f"reports/{model}", text, task="t", corpus=corpus, meta=meta)
    knowledge = assemble(loaded)
    knowledge.audits = {"m6-audited": [audit("unsupported"), audit("unsupported"), None], "m5-no-corpus": [None] * 3}
    soup = BeautifulSoup(render.stats_page(knowledge, lambda target: target), "html.parser")
    rows = soup.select("table.citekb-ranking tbody tr")
    assert [r.th.a.get_text() for r in rows] == ["m6-audited · 32k", "m5-no-corpus · 32k"]
    unaudited = rows[1].select_one('td[data-label="✗ 无依据"]')
    assert unaudited.get_text(strip=True) == "—" and not unaudited.has_attr("data-verdict")
