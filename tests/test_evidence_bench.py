"""The evidence benchmark's own arithmetic (benchmarks/evidence_bench.py): the issue's figures, the
readers' agreement and the baseline, on hand-made verdicts and scores."""

from __future__ import annotations

import json

import pytest

from benchmarks.evidence_bench import (
    HELDOUT,
    HELDOUT_REPORTS,
    agreement,
    bigram_share,
    bootstrap,
    cohen_kappa,
    halves,
    metrics,
    missed,
    traditional_copy,
    with_heldout,
)

ROWS = [  # (reader, audit verdict, support, baseline)
    ("states", "supported", 0.9, 0.5),
    ("states", "partial", 0.6, 0.1),
    ("states", "unsupported", 0.1, 0.6),  # a stated claim flagged
    ("partial", "partial", 0.5, 0.4),
    ("partial", "unsupported", 0.15, 0.2),
    ("topic", "unsupported", 0.1, 0.3),
    ("topic", "unsupported", 0.05, 0.05),
    ("topic", "supported", 0.7, 0.2),  # shown supported
    ("unrelated", "unsupported", 0.0, 0.0),
    ("unrelated", "partial", 0.3, 0.0),
]


def test_the_issues_figures():
    found = metrics(ROWS)
    assert found["cases"] == 10
    assert found["readers"] == {"states": 3, "partial": 2, "topic": 3, "unrelated": 2}
    assert found["recall_unsupported"] == round(3 / 5, 3)  # of topic+unrelated, 3 of 5 unsupported
    assert found["not_stated_shown_supported"] == round(1 / 5, 3)
    assert found["states_flagged_unsupported"] == round(1 / 3, 3)
    # support: states 0.9, 0.6, 0.1 against 0.1, 0.05, 0.7, 0.0, 0.3 → wins 5 + 4 + (2 + 0.5 tie) = 11.5 of 15
    assert found["auc_support"] == round(11.5 / 15, 3)
    # baseline: 0.5, 0.1, 0.6 against 0.3, 0.05, 0.2, 0.0, 0.0 → 5 + 3 + 5 = 13 of 15
    assert found["auc_baseline"] == round(13 / 15, 3)
    assert found["by_reader"]["states"] == {"supported": 1, "partial": 1, "unsupported": 1}
    assert found["by_reader"]["partial"] == {"partial": 1, "unsupported": 1}
    assert found["exact"] == round(5 / 10, 3)  # states→supported, partial→partial, topic/unrelated→unsupported


def test_figures_without_a_kind_of_case_are_none():
    found = metrics([("partial", "partial", 0.5, 0.5)])
    assert found["recall_unsupported"] is None and found["states_flagged_unsupported"] is None
    assert found["auc_support"] is None


def test_missed_is_how_far_from_the_targets():
    assert missed(metrics(ROWS)) == round((0.8 - 0.6) + (0.2 - 0.1) + (1 / 3 - 0.05), 3)
    met = [("states", "supported", 1.0, 1.0), ("topic", "unsupported", 0.0, 0.0)]
    assert missed(metrics(met)) == 0


def test_cohens_kappa_on_a_textbook_table():
    # 50 items: both yes 20, only the first 5, only the second 10, both no 15: p_o 0.7, p_e 0.5
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == 0.4
    assert cohen_kappa([("a", "a"), ("b", "b")]) == 1.0
    assert cohen_kappa([("a", "a")]) is None  # one label only: chance explains everything


def test_agreement_of_the_readers_on_the_cases_judged_twice():
    judged = {
        "k1": {"verdict": "states", "second": "states"},
        "k2": {"verdict": "topic", "second": "unrelated"},
        "k3": {"verdict": "partial", "second": "states"},
        "k4": {"verdict": "unrelated", "second": "unrelated"},
        "k5": {"verdict": "topic"},  # judged once
    }
    found = agreement(judged)
    assert found["cases"] == 4
    assert found["exact"] == 0.5
    assert found["states_vs_not"] == 0.75  # k3 is states for one reader only
    assert found["not_stated_vs_not"] == 1.0  # topic and unrelated are both not stated
    assert agreement({"k": {"verdict": "topic"}}) == {"cases": 0}


@pytest.mark.parametrize(
    ("claim", "passage", "share"),
    [
        ("开源模型", "这是开源模型的报告", 1.0),  # 开源, 源模, 模型
        ("开源模型", "开源的大模型", 2 / 3),  # 源模 is not there
        ("OpenAI 发布 GPT", "openai 的 gpt-4", 2 / 3),  # openai and gpt as words; the bigram 发布 not
        ("GPT", "chatgpt", 0.0),  # a word, not a substring
        ("，。", "任何文本", 0.0),
    ],
)
def test_the_bigram_baseline(claim, passage, share):
    assert bigram_share(claim, passage) == pytest.approx(share)


def test_halves_split_each_verdict_evenly_and_stay_the_same():
    judged = {f"k{n}": verdict for n, verdict in enumerate(["states"] * 12 + ["topic"] * 42 + ["partial"] * 31)}
    first, second = halves(judged)
    assert first | second == set(judged) and not first & second
    for verdict in ("states", "topic", "partial"):
        count = sum(judged[key] == verdict for key in first)
        assert abs(2 * count - sum(v == verdict for v in judged.values())) <= 1
    assert halves(dict(reversed(judged.items()))) == (first, second)


def test_bootstrap_intervals_hold_the_aucs():
    found = bootstrap(ROWS, resamples=200)
    low, high = found["auc_support"]
    assert 0 <= low <= round(11.5 / 15, 3) <= high <= 1
    assert found["difference"][0] <= found["difference"][1]
    assert bootstrap([("partial", "partial", 0.5, 0.5)]) == {}


def test_alternates_are_the_written_claims_against_the_chunks_beside_the_cited_one(tmp_path):
    """`export --alternates`: each written claim against the cited source's chunks before and after
    the cited one (and a chunk of another source sharing its rarer words, where one does), never a
    pair already written; `run` audits such a case against its own chunk."""
    from fixtures import make_sample_kb

    from benchmarks.evidence_bench import ALTERNATE, alternates, audited_cases, cases
    from build_tools import audit
    from build_tools.knowledge_base import build

    kb = build(make_sample_kb(tmp_path / "kb"))
    written = {case.key: case for case in cases(kb)}
    found = alternates(kb)
    pairs = {(case.claim, case.passage) for case in written.values()}
    assert found and not pairs & {(case.claim, case.passage) for case in found}
    beside = set()
    for case in found:
        key, _, other = case.key.partition(ALTERNATE)
        slug, _, number = other.rpartition("#")
        cited = written[key]
        assert case.claim == cited.claim and case.passage == kb.chunks[slug][int(number)].text
        if slug == next(s for s, chunks in kb.chunks.items() if any(c.text == cited.passage for c in chunks)):
            beside.add((key, int(number) - int(key.rpartition("#")[2])))
    assert ("demo@final@61#1", -1) in beside and ("demo@final@61#1", 1) in beside
    rows = audited_cases(kb, audit.SETTINGS, {case.key for case in found})
    assert set(rows) == {case.key for case in found}
    for case in found:
        assert rows[case.key].baseline == bigram_share(case.claim, case.passage)


def test_searched_pairs_each_judged_claim_with_its_searchs_first_chunk(tmp_path):
    """`export --searched SITE`: a judged written claim against the chunk of its corpus that the
    site's search ranks first for it, never the cited chunk nor a pair already judged, a claim once."""
    from helpers import build_site, write_page

    from benchmarks.evidence_bench import ALTERNATE, cases, searched
    from build_tools.knowledge_base import build

    root = tmp_path / "kb"
    write_page(root, "a.txt", "天气随笔", "今天的天气很好，适合出门散步。")
    write_page(root, "b.txt", "模型评测", "评测显示甲模型的推理得分达到九十分，领先同类。")
    write_page(root, "c.txt", "园艺札记", "关于园艺的一些心得体会。")
    report = root / "reports" / "r"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text("task: t\ncorpus: pages\n", encoding="utf-8")
    claim = "甲模型的推理得分领先同类"
    (report / "final_report.md").write_text(
        f'# 报告\n\n{claim} [long_context: "天气随笔", chunk 0]。\n\n{claim} [long_context: "园艺札记", chunk 0]。\n',
        encoding="utf-8",
    )
    built = build_site(root, tmp_path / "site")
    assert built.returncode == 0, built.log
    kb = build(root)
    written = [case.key for case in cases(kb)]
    evaluated = next(slug for slug in kb.chunks if kb.loaded.sources[slug].title == "模型评测")
    found = searched(kb, built.site, written)
    assert [case.key for case in found] == [f"{written[0]}{ALTERNATE}{evaluated}#0"]  # the claim once
    assert found[0].claim == claim and "九十分" in found[0].passage
    assert searched(kb, built.site, [written[0], found[0].key]) == []  # already judged
    assert searched(kb, built.site, []) == []  # only judged claims


def test_the_traditional_copy_writes_the_corpora_pages_in_traditional_and_keeps_their_titles(tmp_path):
    source = tmp_path / "kb"
    (source / "corpora" / "t").mkdir(parents=True)
    pages = [{"title": "开源模型观察", "page_body": "开源模型已经发布，台湾厂商跟进。"}]
    (source / "corpora" / "t" / "c.json").write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    (source / "chunks.lock").write_text("{}", encoding="utf-8")
    copy = traditional_copy(source, tmp_path / "work")
    [page] = json.loads((copy / "corpora" / "t" / "c.json").read_text(encoding="utf-8"))
    assert page == {"title": "开源模型观察", "page_body": "開源模型已經發布，臺灣廠商跟進。"}
    assert not (copy / "chunks.lock").exists() and (source / "chunks.lock").exists()


def test_the_heldout_reports_join_a_copy_of_the_knowledge_base(tmp_path):
    source = tmp_path / "kb"
    (source / "reports" / "r1").mkdir(parents=True)
    (source / "reports" / "r1" / "final_report.md").write_text("x", encoding="utf-8")
    copy = with_heldout(source, tmp_path / "work")
    names = {path.name for path in (copy / "reports").iterdir()}
    heldout = {path.name for path in HELDOUT_REPORTS.iterdir()}
    assert names == {"r1"} | heldout and all(name.startswith(HELDOUT) for name in heldout)
    assert [path.name for path in (source / "reports").iterdir()] == ["r1"]  # the knowledge base untouched
    assert with_heldout(copy, tmp_path / "work") == copy  # already in `work` (a Traditional copy): added there
