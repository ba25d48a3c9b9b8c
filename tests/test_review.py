"""Issue 28 points 3, 4 and 6: validation review one can trust (a rewritten paragraph shown replaced,
each changed citation's status and verdicts), the report page's summary, and dense pages kept
usable (the health page's reasons once each, the sources index's filter, a file's content first).

In-process renders (text in, HTML out) first, then a small site in chromium."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from doubling import MAX_RATIO, assert_linear, paired_ratio
from fixtures import report_over_two_sources
from helpers import build_site, serve, write_page

from build_tools import render
from build_tools.knowledge_base import Backlink, KnowledgeBase
from build_tools.messages import (
    AUDIT_LABELS,
    CHANGES_TABLE,
    FILE_BACKLINKS,
    STATUS_LABELS,
    UNRESOLVED,
    VERDICT_LABELS,
)
from build_tools.models import Audit, FilePart, FileSource
from build_tools.render import changes

A, B = "开源模型的崛起", "闭源模型的护城河"
BODY = "开源模型在二〇二四年发布了很多版本。" * 40
SHAPES = {"supported": "✓", "partial": "◐", "unsupported": "✗"}  # the shapes


def cite(title: str, chunk: int = 0) -> str:
    return f'[long_context: "{title}", chunk {chunk}]'


def knowledge(final: str, original: str | None = None) -> KnowledgeBase:
    return report_over_two_sources(final, original, (A, B), BODY)


def audit(verdict: str, status: str = "supported") -> Audit:
    return Audit(status, 0.5, "一句论断", (0, 8), verdict=verdict)


def with_audits(kb: KnowledgeBase, plan: list[tuple[str, str] | None]) -> KnowledgeBase:
    """One audit (verdict, status) or None per citation of the final report, in order."""
    assert len(plan) == len(kb.cited["r"].final)
    kb.audits["r"] = [audit(*step) if step else None for step in plan]
    return kb


def report_soup(kb: KnowledgeBase) -> BeautifulSoup:
    return BeautifulSoup(render.report_page(kb, kb.cited["r"], lambda target: target), "html.parser")


# ---------------------------------------------------------------- point 3: the text diff

LONG = "模型的参数规模持续增长，推理成本随之下降。" * 120  # over WORD_DIFF_CHARS with its rewording

PARAGRAPHS = [  # (before, after, shown as)
    # rewritten in English: the few words they share are no reason to cut both into pieces
    ("Understood. I will use the RAG tools to answer.", "\\boxed{The final answer is 42}", "replaced"),
    # rewritten in Chinese on the same subject: they share most of their characters, in another order
    (
        "人工智能技术生态正处于快速变革期，其中以OpenAI为代表的封闭型创新平台，与以Hugging Face为代表的开源协作平台，构成了两大生态。",
        "全球人工智能领域发展迅猛，技术生态与治理模式的分化日益成为影响创新和产业落地的核心变量。",
        "replaced",
    ),
    ("甲乙丙丁戊己庚辛", "辛庚己戊丁丙乙甲", "replaced"),  # the same characters, reversed: nothing kept in order
    ("模型很快地发展。", "模型飞快地发展。", "changed"),  # one character of eight: reworded
    ("The model grew quickly in 2024.", "The model grew rapidly in 2024.", "changed"),
    ("Understanding the boxed result", "Understood the boxed results", "changed"),  # half the words kept
    (LONG, LONG.replace("下降", "降低", 1), "replaced"),  # too long to compare word by word: bounded
    ("甲" + "的" * 1500, "乙" + "的" * 1500, "replaced"),  # too many comparisons for difflib: bounded
]


def whole_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9]+", text))


@pytest.mark.parametrize(("before", "after", "shown"), PARAGRAPHS, ids=range(len(PARAGRAPHS)))
def test_a_paragraph_is_shown_replaced_when_most_of_its_words_changed(before, after, shown):
    soup = BeautifulSoup(
        changes.text_diff_html(f"开头。\n\n{before}\n\n结尾。", f"开头。\n\n{after}\n\n结尾。"), "html.parser"
    )
    if shown == "replaced":
        replaced = soup.select_one(".citekb-diff-replaced")
        assert soup.select(".citekb-diff-changed") == [] and replaced is not None
        assert replaced.select_one("del").get_text() == before and replaced.select_one("ins").get_text() == after
    else:
        changed = soup.select_one(".citekb-diff-changed")
        assert soup.select(".citekb-diff-replaced") == [] and changed is not None
        assert "".join(t.get_text() for t in changed.find_all(string=True) if t.parent.name != "ins") == before
        assert "".join(t.get_text() for t in changed.find_all(string=True) if t.parent.name != "del") == after
        for mark, text in (("del", before), ("ins", after)):  # whole words only
            assert all(whole_words(piece.get_text()) <= whole_words(text) for piece in changed.select(mark))


@pytest.mark.parametrize(
    ("before", "after", "deleted", "inserted"),
    [
        (
            "Understanding the boxed result",
            "Understood the boxed results",
            ["Understanding", "result"],
            ["Understood", "results"],
        ),
        ("The model grew quickly in 2024.", "The model grew rapidly in 2024.", ["quickly"], ["rapidly"]),
        # a reworded phrase is one change, not fragments with a space kept between them
        ("we ran the old slow tests today", "we ran the new fast tests today", ["old slow"], ["new fast"]),
        ("模型很快地发展。", "模型飞快地发展。", ["很"], ["飞"]),  # Chinese: each character is a word
    ],
)
def test_a_latin_word_is_never_split(before, after, deleted, inserted):
    changed = BeautifulSoup(changes.changed_html(before, after), "html.parser").select_one(".citekb-diff-changed")
    assert [d.get_text() for d in changed.select("del")] == deleted
    assert [i.get_text() for i in changed.select("ins")] == inserted
    for mark, text in (("del", before), ("ins", after)):
        for piece in changed.select(mark):
            assert whole_words(piece.get_text()) <= whole_words(text)


def test_the_text_diff_is_linear_in_the_length_of_rewritten_paragraphs():
    """Pairs of paragraphs of one repeated character, difflib's worst case (quadratic: 2.5 s for a
    pair of 2,000 characters), n characters then 2n, both under WORD_DIFF_CHARS: the word diff's
    bound (WORD_DIFF_PAIRS) keeps the time linear."""

    def diff(n: int) -> str:
        pairs = range(64)
        return changes.text_diff_html(
            "\n".join(f"{k}甲" + "的" * n for k in pairs), "\n".join(f"{k}乙" + "的" * n for k in pairs)
        )

    assert paired_ratio(diff, 600, 1200) <= MAX_RATIO  # type: ignore[arg-type]  # n is what `diff` reads


def swapped_paragraphs(n: int) -> str:
    """A report of about n characters of paragraphs that each occur once, and its rewrite with every
    pair swapped (`\\x00` between the two): difflib searched again around each of its n/2 matches."""
    paragraphs = [f"段落{k}。" for k in range(max(2, n // 8) // 2 * 2)]
    swapped = [p for k in range(0, len(paragraphs), 2) for p in (paragraphs[k + 1], paragraphs[k])]
    return "\n\n".join(paragraphs) + "\x00" + "\n\n".join(swapped)


def test_the_text_diff_is_linear_in_paragraphs_moved_in_small_steps():
    assert_linear(lambda text: changes.text_diff_html(*text.split("\x00")), swapped_paragraphs)


# ---------------------------------------------------------------- point 3: the citation changes


def cell(row, column: str):
    return row.select_one(f'td[data-label="{CHANGES_TABLE[column]}"]')


def test_each_changed_citation_shows_its_status_and_its_verdicts():
    original = f"甲 {cite(A)}。"
    final = f"甲 {cite(A)}。乙 {cite('模型编造的来源')}。丙 {cite(B, 1)}。丁 {cite(B, 1)}。"
    kb = with_audits(knowledge(final, original), [("supported",), None, ("unsupported",), ("partial",)])
    rows = {
        cell(tr, "source").select_one(".citekb-change-title").get_text(): tr
        for tr in report_soup(kb).select("table.citekb-changes tbody tr")
    }
    invented, added = rows["模型编造的来源"], rows[B]
    status = cell(invented, "status")
    assert status["data-status"] == "unknown_source"  # added by validation, and it does not resolve
    assert status.get_text() == f"{UNRESOLVED[0]} {STATUS_LABELS['unknown_source']}" and status.span["title"]
    assert cell(invented, "verdict").get_text() == "—"
    assert cell(added, "status").get_text() == STATUS_LABELS["resolved"]
    verdicts = cell(added, "verdict")
    assert [s["data-verdict"] for s in verdicts.select(".citekb-count")] == ["partial", "unsupported"]
    assert [(s.b.get_text(), s["title"], s.get_text()) for s in verdicts.select(".citekb-count")] == [
        (SHAPES["partial"], VERDICT_LABELS["partial"], f"{SHAPES['partial']}{VERDICT_LABELS['partial']} 1"),
        (
            SHAPES["unsupported"],
            VERDICT_LABELS["unsupported"],
            f"{SHAPES['unsupported']}{VERDICT_LABELS['unsupported']} 1",
        ),
    ]
    assert all(td.get("data-label") for td in invented.select("td"))  # each field named on a phone


def test_a_removed_citation_shows_the_status_it_had():
    kb = knowledge(f"甲 {cite(A)}。", f"甲 {cite(A)}。乙 {cite(A, 99)}。")
    [row] = report_soup(kb).select('table.citekb-changes tr[data-change="removed"]')
    assert cell(row, "status")["data-status"] == "chunk_out_of_range" and cell(row, "verdict").get_text() == "—"


# ---------------------------------------------------------------- point 4: the report page's summary

SUMMARY_REPORT = "".join(
    [
        f"一 {cite(A)}。",  # supported
        f"二 {cite('编造一')}。",  # unknown source
        f"三 {cite(B)}。",  # partial, flagged weak
        f"四 {cite(A, 99)}。",  # chunk out of range
        f"五 {cite(B, 1)}。",  # unsupported, flagged title_only
        f"六 {cite('编造二')}。",  # unknown source
        f"七 {cite(A, 1)}。",  # supported, flagged weak
    ]
)
SUMMARY_PLAN = [
    ("supported", "supported"),
    None,
    ("partial", "weak"),
    None,
    ("unsupported", "title_only"),
    None,
    ("supported", "weak"),
]


def figures(soup: BeautifulSoup) -> dict[tuple[str, str], tuple[int, str | None]]:
    """The summary's figures: (attribute, value) → (count, href)."""
    found = {}
    for tag in soup.select(".citekb-checks .citekb-count"):
        attribute = next(a for a in ("data-verdict", "data-status", "data-audit") if tag.has_attr(a))
        found[attribute[5:], tag[attribute]] = (int(tag.get_text().split()[-1]), tag.get("href"))
    return found


def test_the_summary_counts_every_group_and_links_the_first_of_each():
    soup = report_soup(with_audits(knowledge(SUMMARY_REPORT), SUMMARY_PLAN))
    shown = figures(soup)
    assert {key: n for key, (n, _) in shown.items()} == {
        ("status", "resolved"): 4,
        ("verdict", "supported"): 2,
        ("verdict", "partial"): 1,
        ("verdict", "unsupported"): 1,
        ("verdict", "unresolved"): 3,
        ("status", "unknown_source"): 2,
        ("status", "chunk_out_of_range"): 1,
        ("audit", "weak"): 2,
        ("audit", "title_only"): 1,
    }
    first = {  # the n-th bracket of the final report (cite-final-n) each figure's first citation is in
        ("status", "resolved"): 0,
        ("verdict", "supported"): 0,
        ("verdict", "partial"): 2,
        ("verdict", "unsupported"): 4,
        ("verdict", "unresolved"): 1,
        ("status", "unknown_source"): 1,
        ("status", "chunk_out_of_range"): 3,
        ("audit", "weak"): 2,
        ("audit", "title_only"): 4,
    }
    assert {key: href for key, (_, href) in shown.items()} == {k: f"#cite-final-{n}" for k, n in first.items()}
    for (_, _), (_, href) in shown.items():
        assert soup.select_one(f'.citekb-report[data-section="final"] [id="{href[1:]}"]')
    text = soup.select_one(".citekb-checks").get_text()
    assert STATUS_LABELS["unknown_source"] in text and AUDIT_LABELS["title_only"] in text and "7" in text


def test_there_is_one_summary_not_two_competing_lines():
    soup = report_soup(with_audits(knowledge(SUMMARY_REPORT), SUMMARY_PLAN))
    assert len(soup.select(".citekb-checks")) == 1
    resolved = re.compile(STATUS_LABELS["resolved"])
    outside = [t for t in soup.find_all(string=resolved) if not t.find_parent(class_="citekb-report")]
    assert outside and all(t.find_parent(class_="citekb-checks") for t in outside)


def test_without_audits_the_summary_still_counts_by_status():
    shown = figures(report_soup(knowledge(SUMMARY_REPORT)))
    assert {key: n for key, (n, _) in shown.items()} == {
        ("status", "resolved"): 4,
        ("verdict", "unresolved"): 3,
        ("status", "unknown_source"): 2,
        ("status", "chunk_out_of_range"): 1,
    }


# ---------------------------------------------------------------- point 6: dense pages

SAME_REASON = [f"编造的来源{n}" for n in range(5)]


def test_the_health_page_says_each_reason_once_and_opens_on_its_places():
    kb = knowledge("".join(f"{title}一 {cite(title)}。{title}二 {cite(title)}。" for title in SAME_REASON))
    soup = BeautifulSoup(render.health_page(kb, lambda t: t), "html.parser")
    section = soup.select_one("#status-unknown_source")
    reasons = soup.select('details.citekb-reason[data-status="unknown_source"]')
    assert len(reasons) == 1 and not reasons[0].has_attr("open")  # five cited titles, one reason: one line
    reason = reasons[0].select_one("summary .citekb-reason-text").get_text()
    assert soup.get_text().count(reason) == 1 and section.find_next("details") is reasons[0]
    assert "10" in reasons[0].summary.get_text() and "5" in reasons[0].summary.get_text()
    rows = reasons[0].select("tbody tr")
    assert sorted(tr.code.get_text() for tr in rows) == SAME_REASON
    for row in rows:
        places = row.select(".citekb-places")
        assert len(places) == 1 and places[0].span.get_text() == "报告"  # the report, then its places
        numbers = places[0].select("a")
        assert [a.get_text() for a in numbers] == ["1", "2"]
        assert all(a["href"].startswith("reports/r/#cite-final-") and "报告" in a["title"] for a in numbers)


def file_knowledge(backlinks: int) -> KnowledgeBase:
    kb = knowledge("正文。")
    rows = (("名称", "数值"), *((f"第{n}行", str(n)) for n in range(5)))
    file = FileSource(
        "file-x", "数据.xlsx", "files/t/数据.xlsx", "xlsx", "t", [FilePart("sheet", 1, "", "表一", rows, 5)]
    )
    kb.loaded.files[file.path] = file
    kb.files_by_slug[file.slug] = file
    kb.backlinks[file.slug, None] = [
        Backlink("r", "报告", f"第{n}句引用了数据。", f"cite-final-{n}") for n in range(backlinks)
    ]
    return kb


def test_a_file_page_shows_its_content_first_and_its_backlinks_after_folded():
    kb = file_knowledge(55)
    soup = BeautifulSoup(render.file_page(kb, kb.files_by_slug["file-x"], lambda t: t), "html.parser")
    table, backlinks = soup.select_one("table.citekb-sheet"), soup.select_one(".citekb-backlinks")
    assert table.find_next(class_="citekb-backlinks") is backlinks  # the content first
    assert backlinks.name == "details" and not backlinks.has_attr("open")
    assert backlinks.summary.get_text() == FILE_BACKLINKS["heading"].format(count=55)
    assert len(backlinks.select("li")) == 55
    jump = soup.select_one(f'.citekb-lead a[href="#{backlinks["id"]}"]')
    assert jump.get_text() == FILE_BACKLINKS["jump"].format(count=55)
    kb = file_knowledge(0)  # a file nobody cites: neither the block nor the link
    soup = BeautifulSoup(render.file_page(kb, kb.files_by_slug["file-x"], lambda t: t), "html.parser")
    assert soup.select(".citekb-backlinks, .citekb-lead a[href^='#']") == [] and soup.select("table.citekb-sheet")


# ---------------------------------------------------------------- in chromium

TITLES = [f"{topic}的第{n}篇报道" for topic in ("开源模型", "闭源模型", "芯片出口", "Open weights") for n in range(8)]
LONG_TITLE = "一个由验证步骤新增却在任何语料中都找不到的很长很长很长的来源标题" * 2


@pytest.fixture(scope="module")
def review_site(tmp_path_factory):
    """Pages on four topics; a report whose validation added an unresolved citation with a long title,
    and a bracket citing a chunk that exists and one that does not."""
    root = tmp_path_factory.mktemp("review")
    for n, title in enumerate(TITLES):
        write_page(root / "kb", f"p{n}.txt", title, f"{title}的正文。\n\n" * 6)
    report = root / "kb" / "reports" / "checked"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t\ncorpus: pages\n", encoding="utf-8")
    (report / "initial_report.md").write_text(f"# 报告\n\n开源模型很多 {cite(TITLES[0])}。\n", encoding="utf-8")
    (report / "final_report.md").write_text(
        f"# 报告\n\n开源模型很多 {cite(TITLES[0])}。\n\n"
        f'又一句 [long_context: "{TITLES[9]}", chunks 0, 99]；{cite(LONG_TITLE, 3)}。\n',
        encoding="utf-8",
    )
    built = build_site(root / "kb", root / "site")
    assert built.returncode == 0, built.log
    return built


@pytest.mark.browser
def test_the_sources_index_filters_as_one_types(review_site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with serve(review_site.site) as url:
            tab.goto(url + "/sources/")
            rows = tab.locator("table.citekb-filtered tbody tr")
            visible = "() => [...document.querySelectorAll('table.citekb-filtered tbody tr')].filter(r => r.offsetParent).length"
            assert rows.count() == len(TITLES) and tab.evaluate(visible) == len(TITLES)
            box = tab.locator(".citekb-filter input")
            box.fill("芯片")
            assert tab.evaluate(visible) == 8
            assert all(
                "芯片" in t for t in tab.locator("table.citekb-filtered tbody tr:not([hidden])").all_inner_texts()
            )
            box.fill("芯片 第3篇")  # every word typed
            assert tab.evaluate(visible) == 1
            box.fill("OPEN WEIGHTS")  # case folded
            assert tab.evaluate(visible) == 8
            box.fill("開源")  # Traditional characters as Simplified, as the search reads them
            assert tab.evaluate(visible) == 8
            assert "8" in tab.locator(".citekb-filter-count").inner_text()
            box.fill("")
            assert tab.evaluate(visible) == len(TITLES)
            assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_without_scripts_the_index_is_whole_and_no_box_is_shown(review_site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    tab = context.new_page()
    try:
        with serve(review_site.site) as url:
            tab.goto(url + "/sources/")
            assert not tab.locator(".citekb-filter").is_visible()
            assert tab.locator("table.citekb-filtered tbody tr:visible").count() == len(TITLES)
    finally:
        context.close()


@pytest.mark.browser
def test_on_a_phone_the_citation_changes_are_all_on_screen(review_site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    try:
        with serve(review_site.site) as url:
            tab.goto(url + "/reports/checked/")
            table = tab.locator("table.citekb-changes")
            assert table.locator("tbody tr").count() == 3
            assert tab.evaluate("document.documentElement.scrollWidth") <= 390
            for cell in table.locator("td").all():
                if cell.inner_text().strip():
                    box = cell.bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, cell.inner_text()
            row = table.locator('tr:has(td[data-status="unknown_source"])')
            assert STATUS_LABELS["unknown_source"] in row.inner_text()
            status = row.locator("td[data-status]")  # each field named, the header being out of sight
            assert CHANGES_TABLE["status"] in status.evaluate("td => getComputedStyle(td, '::before').content")
            assert not tab.locator("table.citekb-changes thead").evaluate("h => h.getBoundingClientRect().width > 1")
            places = row.locator(f'td[data-label="{CHANGES_TABLE["places"]}"] a')
            assert places.count() and places.first.is_visible()
            assert tab.evaluate("el => el.scrollWidth <= el.clientWidth", table.element_handle())
    finally:
        context.close()


@pytest.mark.browser
def test_a_summary_figure_by_status_lands_on_the_first_such_citation(review_site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    try:
        with serve(review_site.site) as url:
            tab.goto(url + "/reports/checked/")
            # the second citation of a bracket (chunks 0, 99): the figure's link names the bracket
            figure = tab.locator('.citekb-checks a.citekb-count[data-status="chunk_out_of_range"]')
            assert figure.inner_text().endswith("1")
            figure.click()
            focused = "() => { const c = document.activeElement; return c.matches('.citekb-cite') && c.dataset.status }"
            assert tab.evaluate(focused) == "chunk_out_of_range"
            tab.locator('.citekb-checks a.citekb-count[data-status="unknown_source"]').click()
            assert tab.evaluate(focused) == "unknown_source"
            tab.locator('.citekb-checks a.citekb-count[data-status="resolved"]').click()
            assert tab.evaluate(focused) == "resolved"
    finally:
        context.close()
