"""Issue 15: claims, support and audit statuses on hand-made cases of each kind, through `kb audit`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from build_tools import audit
from build_tools.chunk import chunk_text
from build_tools.cli import main
from build_tools.knowledge_base import Sentences, report_citations
from build_tools.models import Resolved, document_text

SOURCE = "开源模型调查"
TITLE_ONLY = "只有标题的来源"
FINE = "甲公司在去年向监管机构缴纳了671万元罚单。"
DOWNLOADS = "乙实验室发布的开源模型下载量突破三千万次。"
FILLER = "这里是第{n}段的补充说明文字，与论断无关。"


def body() -> str:
    """Paragraphs of filler with one fact near the start and one near the end: different chunks."""
    paragraphs = [FILLER.format(n=n) * 8 for n in range(12)]
    paragraphs[1] = FINE + paragraphs[1]
    paragraphs[10] = DOWNLOADS + paragraphs[10]
    return "\n\n".join(paragraphs)


def chunk_with(fact: str) -> int:
    chunks = chunk_text(document_text(SOURCE, body()))
    return next(c.index for c in chunks if fact in c.text)


@pytest.fixture
def report(tmp_path):
    corpus = tmp_path / "long_context_sampled_60.json"
    corpus.write_text(
        json.dumps(
            [{"title": SOURCE, "page_body": body()}, {"title": TITLE_ONLY, "page_body": ""}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    fine, downloads = chunk_with(FINE), chunk_with(DOWNLOADS)
    assert fine != downloads
    cite = lambda n: f'[long_context: "{SOURCE}", chunk {n}]'  # noqa: E731
    text = (
        f"# 报告\n\n乙实验室发布的开源模型下载量突破三千万次{cite(downloads)}。\n"
        f"甲公司向监管机构缴纳了671万元罚单{cite(downloads)}。\n"
        f"乙实验室发布的开源模型下载量突破三千万次，估值达到95亿{cite(downloads)}。\n"
        f"量子计算芯片的良率显著提升{cite(downloads)}。\n"
        f'这家机构说了很多{TITLE_ONLY}之外的事情[long_context: "{TITLE_ONLY}", chunk 0]。\n'
        f"\n## 参考资料\n\n- {cite(fine)}\n"
    )
    path = tmp_path / "final_report.md"
    path.write_text(text, encoding="utf-8")
    return path, corpus, fine, downloads


def knowledge_base_of(report, corpus_of: dict[str, str]):
    """A knowledge-base folder beside the fixture's report: one report folder per name, each a copy
    of the fixture's report citing a copy of its corpus under corpora/NUMBER/."""
    path, corpus = report[0], report[1]
    root = path.parent / "kb"
    for name, number in corpus_of.items():
        (root / "corpora" / number).mkdir(parents=True, exist_ok=True)
        (root / "corpora" / number / corpus.name).write_text(corpus.read_text(encoding="utf-8"), encoding="utf-8")
        folder = root / "reports" / name
        folder.mkdir(parents=True)
        (folder / "report.yaml").write_text(f"corpus: corpora/{number}/long_context_sampled_60\n", encoding="utf-8")
        (folder / "final_report.md").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def run_audit(capsys, report_path, corpus) -> list[dict]:
    assert main(["audit", str(report_path), "--corpus", str(corpus), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_kb_audit_gives_each_status_on_hand_made_cases(report, capsys):
    path, corpus, fine, downloads = report
    rows = run_audit(capsys, path, corpus)
    assert [set(row) for row in rows] == [
        {
            "raw",
            "title",
            "chunk",
            "status",
            "audit",
            "verdict",
            "support",
            "held",
            "missing",
            "span",
            "better",
            "claim",
            "part",
        }
    ] * 6
    assert [row["audit"] for row in rows] == [
        "supported",
        "better_elsewhere",
        "numbers_missing",
        "weak",
        "title_only",
        None,
    ]
    assert [row["verdict"] for row in rows] == [
        "supported",
        "unsupported",  # 甲公司's fine cited to the chunk on downloads
        "partial",  # the downloads are there, the valuation of 95亿 is not
        "unsupported",
        "unsupported",  # a chunk that is only the page's title states nothing
        None,  # a reference-list entry claims nothing: not judged, neither supported nor not
    ]
    supported, elsewhere, numbers, weak, title_only, listed = rows
    assert supported["support"] > 0.8 and supported["claim"] == "乙实验室发布的开源模型下载量突破三千万次"
    assert supported["missing"] == [] and {"实验室", "下载量"} <= set(supported["held"])
    text = next(c.text for c in chunk_text(document_text(SOURCE, body())) if c.index == downloads)
    start, end = supported["span"]
    assert text[start:end] == DOWNLOADS  # the supporting sentence, as offsets in the chunk's content
    assert elsewhere["better"].endswith(f"#chunk-{fine}") and elsewhere["support"] < 0.3
    assert elsewhere["span"] is None and numbers["span"] is not None  # unsupported: no span to mark as support
    assert elsewhere["missing"][:3] == ["671", "公司", "监管"]  # numbers first, then words in the claim's order
    assert len(elsewhere["missing"]) == audit.claims.SHOWN_FACTS and elsewhere["held"] == []
    assert numbers["better"] is None and numbers["missing"][0] == "95" and "估值" in numbers["missing"]
    assert "下载量" in numbers["held"] and numbers["support"] > audit.SETTINGS.unsupported_below
    assert weak["support"] < audit.SETTINGS.unsupported_below and weak["span"] is None
    assert {"量子", "芯片", "良率"} <= set(weak["missing"])
    assert title_only["chunk"] == 0 and title_only["span"] is None
    assert listed["claim"] == "" and listed["missing"] is None  # a reference-list entry claims nothing to check


def test_a_claims_numbers_are_named_in_its_order_whatever_the_processs_hash_seed():
    """The numbers held and missing beside a citation are in the order the claim states them, the
    same in every build: not a set's order, which changes with PYTHONHASHSEED from one process to
    the next (a page and `kb audit --json` then differed from one build to the next)."""
    code = (
        "from build_tools.audit import CorpusTerms, Facts, SETTINGS\n"
        "terms = CorpusTerms([('s', 0)], {('s', 0): 0})\n"
        "facts = Facts.of('截至6月25日，ChatGLM2 以71.1分位居第一，另一模型以51.7分排名第6', terms, SETTINGS)\n"
        "print(' '.join(facts.named(set(facts.numbers))))"
    )
    named = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(6)
    }
    assert named == {"6 25 71.1 51.7"}


def test_unresolved_citations_are_listed_without_an_audit(tmp_path, capsys):
    corpus = tmp_path / "c.json"
    corpus.write_text(json.dumps([{"title": SOURCE, "page_body": body()}], ensure_ascii=False), encoding="utf-8")
    report = tmp_path / "r.md"
    report.write_text('某个说法[long_context: "不存在的来源", chunk 1]。[文档: x.pdf]', encoding="utf-8")
    rows = run_audit(capsys, report, corpus)
    assert len(rows) == 1 and rows[0]["status"] == "unknown_source"
    assert rows[0]["audit"] is None and rows[0]["support"] is None and rows[0]["claim"] == "某个说法"


@pytest.mark.parametrize(
    "text, claims",
    [
        ('A增长了20%[long_context: "T", chunk 1][long_context: "U", chunk 2]。', ["A增长了20%", "A增长了20%"]),
        ('第一句。B下降了5%。[long_context: "T", chunk 3]', ["B下降了5%"]),  # after the sentence's end
        (
            '据[long_context: "T", chunk 1]报道，开源模型正在快速普及。',
            ["据报道，开源模型正在快速普及"],
        ),  # too short alone
        ('- 列表项说的是某件事[long_context: "T", chunk 4]\n- 另一项', ["列表项说的是某件事"]),
        (
            '| 名称 | 说明 |\n|---|---|\n| Alpha | 单元格里的一个说法[long_context: "T", chunk 5] |',
            ["单元格里的一个说法"],
        ),
        (
            '| 名称 | 说明 |\n|---|---|\n| **Alpha**[long_context: "T", chunk 5] | 963 条任务 | 多智能体[long_context: "U", chunk 1] |',
            ["Alpha；963 条任务；多智能体", "Alpha；963 条任务；多智能体"],
        ),  # a cell too short to say anything stands for its row
        (
            '他说 **重要** 的 [链接](http://x) 是这样的[long_context: "T", chunk 6]，另一件事则完全不同[long_context: "T", chunk 7]。',
            ["他说 重要 的 链接 是这样的", "另一件事则完全不同"],
        ),
        (
            'R&amp;D 投入达 5&nbsp;亿，AT&T 与 x &lt; y 亦然[long_context: "T", chunk 1]。',
            ["R&D 投入达 5 亿，AT&T 与 x < y 亦然"],
        ),  # entities read as the page shows them: no `amp`, `nbsp` or `lt` among the claim's names
    ],
)
def test_claims(text, claims):
    items = [Resolved(c, "resolved") for c in report_citations(text)]
    sentences = Sentences(text, (i.citation for i in items))
    assert [sentences.claim(i.citation.start, i.citation.end) for i in items] == claims


def test_numbers_are_compared_as_written():
    assert audit.numbers_of("增长 1,000 次，占 20.50%，gpt-4 与 h100") == {"1000", "20.5"}


def test_a_chunk_number_is_found_rounded_or_cut_as_a_claim_writes_it():
    assert audit.numbers_of("罚款共计 6894.91 万元", rounded=True) == {"6894.91", "6894.9", "6895", "6894"}
    assert audit.numbers_of("增长 2.45 倍", rounded=True) == {"2.45", "2.5", "2.4", "2"}


@pytest.mark.parametrize(
    "numeral, value",
    [
        ("三十八", 38),
        ("十五", 15),
        ("一百零五", 105),
        ("两千万", 20_000_000),
        ("一百二十三万四千五百", 1_234_500),
        ("三万亿", 3 * 10**12),
        ("二〇二四", 2024),
        ("一", None),  # 一些, 一样: no number
        ("十四五", None),  # a plan's name, not 145 or 15
    ],
)
def test_chinese_numerals_read_as_numbers(numeral, value):
    assert audit.chinese_number(numeral) == value


def test_a_chunk_writing_a_number_in_chinese_has_the_number_a_claim_writes_in_digits():
    numbers = audit.chunk_numbers("《电子商务法》第三十八条规定，罚款两千万元，共6894.91万元")
    assert {"38", "20000000", "6894.91", "6895"} <= numbers
    assert audit.claim_numbers("第38条") <= numbers


@pytest.mark.parametrize(
    "claim, numbers",
    [
        ("六项原则：1) 党的领导；2) 人民至上；3) 高质量发展", set()),
        ("3）利用 25 篇文章", {"25"}),
        ("(2) 增长 40%", {"40"}),
        ("Sections 3.3–4.2", {"3.3", "4.2"}),  # a section number is not a list's numbering
        ("2024、2025 年", {"2024", "2025"}),
        ("论文第 2、3 页给出吞吐与成本", set()),  # the pages read, not a fact read there
        ("报告第12页指出营收增长 30%", {"30"}),
        ("see p. 12: revenue up 30%", {"30"}),
        ("pages 3-5 show 40%", {"40"}),
        ("第3至5页列出 12 个模型", {"12"}),  # a range as a locator writes it
        ("pages 3 and 5 show 40%", {"40"}),
        ("homepage 5 visits", {"5"}),
        ("第3章增长 40%", {"3", "40"}),  # a chapter is a fact of the text (its heading)
    ],
)
def test_a_lists_numbering_and_the_pages_it_names_are_not_numbers_of_the_claim(claim, numbers):
    assert audit.claim_numbers(claim) == numbers


def test_a_serve_rebuild_reaudits_exactly_what_changed(report):
    """audit.Kept: unchanged reports over an unchanged corpus keep their audits; an edited corpus
    document re-audits its corpus's reports, an edited report only itself."""
    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import Memo, build

    root = knowledge_base_of(report, {"a": "001", "b": "001"})
    memo, kept, cache = Memo(), audit.Kept(), TermCache(None)

    def audited() -> dict:
        return audit.audit_kb(build(root, memo), cache, kept=kept)

    first = audited()
    again = audited()
    assert again["a"] is first["a"] and again["b"] is first["b"]  # kept, not redone
    report_b = root / "reports" / "b" / "final_report.md"
    report_b.write_text(report_b.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    edited = audited()
    assert edited["a"] is first["a"] and edited["b"] is not first["b"] and edited["b"] == first["b"]
    document = root / "corpora" / "001" / report[1].name
    document.write_text(
        document.read_text(encoding="utf-8").replace("三千万次", "两千万余次"), encoding="utf-8"
    )  # a new size:
    # a same-size rewrite in the same clock tick as the first write is not seen (corpus_json.read_corpus_kept)
    changed = audited()
    assert changed["a"] is not first["a"]
    assert changed["a"][0].span != first["a"][0].span  # the supporting sentence now reads "两千万余次"
    assert changed == audit.audit_kb(build(root), cache)  # what a fresh build finds


def test_every_status_but_supported_is_a_flag_beside_the_citation(report):
    """weak included: with the thresholds of AuditSettings, flags stay within the issue's 15%."""
    from bs4 import BeautifulSoup

    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import build
    from build_tools.messages import AUDIT_LABELS
    from build_tools.render.citations import audit_marker

    kb = build(knowledge_base_of(report, {"a": "001"}))
    audits = [a for a in audit.audit_kb(kb, TermCache(None))["a"] if a]
    assert {a.status for a in audits} == {"supported", "weak", "better_elsewhere", "numbers_missing", "title_only"}
    for found in audits:
        marker = BeautifulSoup(audit_marker(found, kb, lambda target: target), "html.parser").span
        if found.status == "supported":
            assert marker is None
        elif found.status == "weak" and found.verdict == "unsupported" and not found.better:
            assert marker is None  # ✗ says it: the reason is in the preview (`flag_line`)
        else:
            assert marker["data-audit"] == found.status and f"⚑ {AUDIT_LABELS[found.status]}：" in marker.get_text()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="forked workers need two cores")
def test_forked_workers_audit_exactly_as_one_process(report):
    """start_audit on every core (what a 1,000-report build does) finds the same audits as in one
    process, and keeps them for the next run only once the workers are done."""
    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import build

    kb = build(knowledge_base_of(report, {"a": "001", "b": "002", "c": "003"}))
    alone = audit.audit_kb(kb, TermCache(None), parallel=False)
    kept = audit.Kept()
    running = audit.start_audit(kb, TermCache(None), kept=kept, parallel=True)
    assert kept.reports == {}
    forked = running.result()
    assert list(forked) == list(alone) == ["a", "b", "c"]
    assert forked == alone and {a.status for a in alone["c"] if a} >= {"supported", "numbers_missing", "title_only"}
    assert kept.reports["c"] == (audit.workers.digest([kb.cited["c"].report.final]), forked["c"])
    assert running.result() == forked  # asked again (a page after the first): the same


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="forked workers need two cores")
def test_a_cancelled_audit_stops_its_workers_and_keeps_the_last_run(report):
    """A build that fails while the workers run (MkDocs' on_build_error) leaves no process behind,
    and the next rebuild reuses only audits that were finished."""
    import multiprocessing

    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import build

    kb = build(knowledge_base_of(report, {"a": "001", "b": "002"}))
    kept = audit.Kept()
    running = audit.start_audit(kb, TermCache(None), kept=kept, parallel=True)
    assert multiprocessing.active_children()
    running.cancel()
    assert multiprocessing.active_children() == [] and kept == audit.Kept()


@pytest.mark.pipeline
def test_the_health_page_counts_the_audits_the_report_pages_show(imported):
    """The health page waits for the audits like the report pages do: its audit column counts
    exactly the statuses each report page's citations carry."""
    from collections import Counter

    from bs4 import BeautifulSoup

    health = BeautifulSoup(imported.page("health"), "html.parser")
    rows = health.select("#reports + table tbody tr")
    assert len(rows) == 33
    audited = 0
    for row in rows:
        counts = Counter({span["data-audit"]: int(span.get_text().split()[-1]) for span in row.select("[data-audit]")})
        report = BeautifulSoup(imported.page(row.a["href"].strip("/").removeprefix("../")), "html.parser")
        assert counts == Counter(a["data-audit"] for a in report.select("a.citekb-cite[data-audit]")), row.a["href"]
        audited += sum(counts.values())
    assert audited >= 80


def test_chunks_are_compared_only_where_they_can_change_the_audit(report, monkeypatch):
    """`rivals_matter`: a cited chunk scoring high enough that no other chunk could be better by the
    margins, nor make it weak, is compared with none; the audits are those of comparing every one."""
    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import build

    kb = build(knowledge_base_of(report, {"a": "001"}))
    asked: list[bool] = []  # for each citation, before any chunk is looked at: whether to compare
    rivals_matter = audit.verdicts.rivals_matter

    def recorded(*args):
        matter = rivals_matter(*args)
        if len(args) == 3:  # (local, numbers_missing, settings): no reach yet
            asked.append(matter)
        return matter

    monkeypatch.setattr(audit.verdicts, "rivals_matter", recorded)
    skipping = audit.audit_kb(kb, TermCache(None), parallel=False)
    monkeypatch.setattr(audit.verdicts, "rivals_matter", lambda *args: True)
    assert audit.audit_kb(kb, TermCache(None), parallel=False) == skipping
    assert not all(asked) and any(asked)  # the supported claim compared nothing; the others did


def test_a_name_proposes_the_chunk_that_states_it(tmp_path):
    """A claim whose one rare fact is a name written in parts (`GPT-4o`): the chunk stating it is
    compared with the cited one through the name's rarest index word, and named as better."""
    from helpers import write_page

    from build_tools.analysis import TermCache
    from build_tools.knowledge_base import build

    root = tmp_path / "kb"
    common = "今天公司发布了新的版本。"
    write_page(root, "a.txt", "天气随笔", common + "今天的天气很好，适合出门散步。" * 3)
    write_page(root, "b.txt", "模型评测", common + "评测显示 GPT-4o 发布了新的版本，效果不错。")
    for n in range(6):
        write_page(root, f"c{n}.txt", f"随笔{n}", common + f"第{n}篇随笔，写一些日常的心得体会。")
    report = root / "reports" / "r"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t\ncorpus: pages\n", encoding="utf-8")
    (report / "final_report.md").write_text('# 报告\n\nGPT-4o 发布了新的版本 [long_context: "天气随笔", chunk 0]。\n')
    kb = build(root)
    found = [a for a in audit.audit_kb(kb, TermCache(None), parallel=False)["r"] if a]
    assert len(found) == 1 and found[0].status == "better_elsewhere"
    assert found[0].better == (next(s for s in kb.chunks if kb.loaded.sources[s].title == "模型评测"), 0)
    assert found[0].better_terms[0] == "GPT-4o"  # as the claim writes it
