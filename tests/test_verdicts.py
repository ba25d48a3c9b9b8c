"""Issue 27: the verdict from the claim's key facts the cited passage holds — names, numbers, content
words — and the span that holds them, on hand-made claims and passages."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from fixtures import make_pptx, pdf_bytes
from hypothesis import example, given
from hypothesis import strategies as st

from build_tools import audit
from build_tools.analysis import TermCache
from build_tools.audit import CorpusTerms, Facts, Pairs, claim_facts, folded_chunk, name_places, states_nothing, verdict
from build_tools.chunk import chunk_text
from build_tools.cli import main
from build_tools.ingest import Loaded
from build_tools.knowledge_base import assemble
from build_tools.models import FilePart, FileSource, Report, document_text


def facts_of(
    claim: str,
    postings: dict[str, list[int]] | None = None,
    chunks: int = 100,
    settings: audit.AuditSettings = audit.SETTINGS,
) -> Facts:
    """A claim's facts over a corpus of `chunks` chunks where only `postings` are known."""
    keys = [("s", n) for n in range(chunks)]
    terms = CorpusTerms(keys, {key: n for n, key in enumerate(keys)}, postings or {})
    return Facts.of(claim, terms, settings)


def test_a_claims_facts_are_its_names_content_words_and_numbers():
    facts = claim_facts("Hugging Face 与 OpenAI 的 GPT-4 在 2024 年显著提升了复杂的推理能力，并且迅速普及")
    kinds = {fact.key: fact.kind for fact in facts}
    assert kinds["hugging face"] == kinds["openai"] == kinds["gpt-4"] == "name"  # one fact per name
    assert {fact.shown for fact in facts if fact.kind == "name"} == {"Hugging Face", "OpenAI", "GPT-4"}
    assert kinds["推理"] == kinds["能力"] == kinds["提升"] == "word"
    framing = {"显著", "复杂", "迅速", "并且", "与", "的", "在"}
    assert not framing & set(kinds)  # framing and function words state no fact
    assert facts_of("GPT-4 在 2024 年发布").numbers == {"2024"}  # the 4 of GPT-4 is the name's
    prose = claim_facts("正如 the state of the art in open models 所说")  # English prose, not one name
    assert [fact.key for fact in prose if fact.kind == "name"] == ["state", "art", "open", "models"]
    # a short run with a word in lower case is prose too; a name's words carry a capital or a digit
    short = claim_facts("Rerankers reorder passages，比 open source 模型和 Claude 3 Opus 都快")
    assert [f.key for f in short if f.kind == "name"] == [
        "rerankers",
        "reorder",
        "passages",
        "open",
        "source",
        "claude 3 opus",
    ]


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("gpt-4", "openai 发布了 gpt-4。", True),
        ("gpt-4", "openai 发布了 gpt4 和 gpt 4", True),  # as people type it
        ("gpt-4", "openai 发布了 gpt-4o", False),  # another model
        ("gpt-4", "openai 发布了 gpt-40", False),
        ("gpt-4", "openai 发布了 gpt-4.5", False),
        ("gpt-oss", "gpt-oss-120b 和 gpt-oss-20b", True),  # the series in its members' names
        ("deepresearch bench", "一个 deepresearch benchmark", False),  # bench is not in benchmark
        ("hugging face", "huggingface 平台", True),
        ("ai", "openai 的模型", False),  # not inside a longer word
        ("mlx-lm", "用 mlx-lm 跑大模型", True),
        # a scraped table's cells run together: letters end where a number starts, either side
        ("qwenlong-l1-32b", "r1-distill-qwen-32b62.567.0qwenlong-l1-32b67.570.1", True),
        ("r1-distill-qwen-32b", "平均r1-distill-qwen-32b62.567.0", True),
        ("ai", "openai2 的模型", False),  # still not inside a longer word
    ],
)
def test_a_name_is_found_whole_as_a_text_may_write_it(name, text, found):
    assert bool(list(name_places(name, text))) is found


def test_rare_facts_are_named_numbers_and_names_first():
    """A reader is shown the facts that matter: the claim's numbers, its names, then its rarer words
    (a word in most of the corpus's chunks, here 模型, is not named)."""
    facts = facts_of("OpenAI 发布的开源模型下载量 3000 万", {"模型": list(range(80)), "发布": [1, 2]})
    shown = facts.named(set(facts.weights) | facts.numbers)
    assert shown[:2] == ("3000", "OpenAI")
    assert "模型" not in shown and {"开源", "下载量", "发布"} <= set(shown)
    assert shown.index("下载量") < shown.index("发布")  # the rarest first: 发布 is in two chunks


@pytest.mark.parametrize(
    ("support", "lacks", "status", "expected"),
    [
        (0.9, False, "supported", "supported"),
        (0.9, True, "supported", "partial"),  # a number or name missing: partial by definition
        (0.9, False, "title_only", "unsupported"),  # the page's title alone states nothing
        (0.9, False, "no_statement", "unsupported"),  # nor does a passage state a label
        (audit.SETTINGS.supported_from, False, "weak", "supported"),  # decided by what the passage holds
        (audit.SETTINGS.unsupported_below, False, "supported", "partial"),
        (audit.SETTINGS.unsupported_below - 0.01, False, "supported", "unsupported"),
        (0.0, False, "better_elsewhere", "unsupported"),
        (0.0, False, "other_language", "partial"),  # a passage it could not read: not judged wrong
        (0.9, False, "other_language", "partial"),  # nor right
    ],
)
def test_the_verdict_reads_how_much_of_the_claim_the_passage_states(support, lacks, status, expected):
    assert verdict(support, lacks, status) == expected


CLAIM = "甲公司发布的新模型参数量达到700亿"


@pytest.mark.parametrize(
    ("chunk", "span"),
    [
        # the facts in two adjacent sentences, the second the chunk's last: the span covers both
        (
            "开头说的是别的事情。甲公司发布了新模型。该模型参数量达到700亿。",
            "甲公司发布了新模型。该模型参数量达到700亿。",
        ),
        (
            "甲公司发布了新模型。该模型参数量达到700亿。后面说的是别的事情。",
            "甲公司发布了新模型。该模型参数量达到700亿。",
        ),
        # one sentence states them all: the span is that sentence, not its neighbour too
        (
            "甲公司发布了新模型。甲公司发布的新模型参数量达到700亿。后面说的是别的事情。",
            "甲公司发布的新模型参数量达到700亿。",
        ),
        (
            "开头说的是别的事情。甲公司发布的新模型参数量达到700亿。甲公司发布了新模型。",
            "甲公司发布的新模型参数量达到700亿。",
        ),
    ],
)
def test_the_span_covers_the_claims_facts_in_one_or_two_sentences(chunk, span):
    support, window = folded_chunk(chunk).best(facts_of(CLAIM))
    assert window is not None and chunk[window.start : window.end] == span
    assert support > 0.9


_CUT = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+|\n|$)")  # a sentence: up to its ends, or a line end


@given(st.text(st.sampled_from("ab 。！?;；\n\r\t\u3000\x1c\u2028\x85"), max_size=40))
@example("a  。b \n c")
def test_a_chunks_sentences_are_cut_at_their_ends_and_line_ends_and_trimmed_of_spaces(text: str) -> None:
    """`Folded.bounds` (one pattern matching each trimmed sentence) against the definition: cut
    after 。！？!?；; and at line ends, each part stripped as `str.strip` strips, empty ones left out."""
    expected = [
        (match.start() + len(part) - len(part.lstrip()), match.start() + len(part.rstrip()))
        for match in _CUT.finditer(text)
        if (part := match.group()).strip()
    ]
    assert list(zip(*folded_chunk(text).bounds)) == expected


def test_support_is_absolute():
    """The same passage holds the same share of a claim's facts whatever other chunks hold."""
    chunk = folded_chunk("甲公司发布了新模型。")
    alone = chunk.best(facts_of(CLAIM))[0]
    assert 0.3 < alone < 0.9  # 甲公司, 发布 and 模型, not 参数量 nor 700亿
    assert chunk.best(facts_of(CLAIM, chunks=2))[0] == pytest.approx(alone)  # equal weights either way


def test_key_share_is_the_weighted_share_of_the_claims_rarest_facts_held():
    """`key_facts` (3) rarest by idf: 良率 (1 chunk), 芯片 (2), 量子 (3); 实验室 and 发布 (in most
    chunks) are not among them."""
    postings = {"良率": [0], "芯片": [0, 1], "量子": [0, 1, 2], "实验室": list(range(60)), "发布": list(range(70))}
    facts = facts_of("实验室发布的量子芯片良率", postings)
    key = sorted(facts.weights, key=lambda t: -facts.weights[t])[:3]
    assert key == ["良率", "芯片", "量子"]
    assert facts.key_share({"实验室", "发布"}) == 0.0  # the topic's words, none of the claim's own
    assert facts.key_share({"良率", "芯片", "量子"}) == 1.0
    half = facts.key_share({"量子", "实验室"})
    assert half == pytest.approx(facts.weights["量子"] / sum(facts.weights[t] for t in key))
    assert facts_of("2024 年").key_share(set()) == 1.0  # no word or name: nothing rare to ask for


def test_name_share_is_the_share_of_the_claims_names_held():
    facts = facts_of("OpenAI 发布了 gpt-oss 开源模型", {"开源": [0], "模型": [0, 1]})
    assert facts.names == {"openai", "gpt-oss"}
    assert facts.name_share({"openai", "开源", "模型"}) == 0.5
    assert facts.name_share({"开源", "模型"}) == 0.0
    assert facts.factor({"开源", "模型"}) == 0.0  # every Chinese word held, neither name: no support
    unnamed = facts_of("实验室发布的量子芯片良率", {"良率": [0]})
    assert unnamed.name_share(set()) == 1.0  # a claim without names loses nothing
    assert unnamed.factor({"良率"}) == pytest.approx(unnamed.key_share({"良率"}) ** 0.5)


def test_a_word_no_chunk_holds_is_not_a_key_fact():
    """口径 and 沿用 are the writer's own words (no chunk holds them): no passage can state them, so
    the key facts are the rarest the corpus holds (`key_known`); without it, they were."""
    postings = {"准确率": [0], "召回": [0, 1], "检索": [0, 1, 2], "任务": list(range(50)), "指标": list(range(60))}
    facts = facts_of("检索任务的指标口径沿用准确率与召回率", postings)
    assert facts.unheld >= {"口径", "沿用"} and not facts.unheld & set(postings)
    assert set(facts.key) == {"准确率", "召回", "检索"}
    assert facts.key_share({"准确率", "召回", "检索"}) == 1.0
    plain = facts_of(
        "检索任务的指标口径沿用准确率与召回率", postings, settings=replace(audit.SETTINGS, key_known=False)
    )
    assert {"口径", "沿用"} & set(plain.key)


def test_support_mixes_in_the_share_of_the_claims_character_pairs():
    """商业利益 said as 商业变现: no word of the claim whole, but its pair 商业 is there. Support is
    the words' part mixed with the pairs' share (`pairs_weight`), times the names' share."""
    assert Pairs.of("商业利益").share("商业变现") == pytest.approx(1 / 3)  # 商业 of 商业, 业利, 利益
    assert Pairs.of("gpt-oss 开源").share("gpt-oss 的权重开源了") == 1.0  # 开源 and the word gpt, oss
    facts = facts_of("闭源保障商业利益", {"商业利益": [0]})
    weight = audit.SETTINGS.pairs_weight
    assert facts.support(0.0, set(), "商业变现") == pytest.approx(weight * facts.pairs.share("商业变现"))
    named = facts_of("OpenAI 保障商业利益", {"商业利益": [0]})
    assert named.support(1.0, {"商业利益"}, "商业利益") == 0.0  # the name missing: nothing stated


def _each_in_turn(facts: Facts, compared: list, local: float) -> tuple:
    """What `best_rival` must give: every chunk scored, in order, the first of the highest above `local`."""
    rival, key, window = 0.0, None, None
    for candidate, chunk in compared:
        score, best = chunk.best(facts)
        if score > local and score > rival:
            rival, key, window = score, candidate, best
    return rival, key, window


def random_passages(rng, words: list[str], most: int) -> list[str]:
    """1 to `most` passages of 1 to 4 sentences, each of up to 4 of `words`."""
    return [
        "。".join("".join(rng.sample(words, rng.randint(0, 4))) for _ in range(rng.randint(1, 4))) + "。"
        for _ in range(rng.randint(1, most))
    ]


def test_the_best_rival_is_the_one_scoring_each_in_turn_finds(monkeypatch):
    """`best_rival` scores the chunks compared highest whole share first and stops where none can
    pass the best so far: the same chunk, score and window as scoring each in turn, ties (the claim's
    words weigh the same here) going to the first, on random passages built from the claim's words."""
    import random

    monkeypatch.setattr(audit.verdicts, "rivals_matter", lambda *args: True)  # `best_rival`'s order alone
    facts = facts_of("开源模型的推理能力和代码生成超过闭源模型")
    words = list(facts.weights) + ["天气", "散步", "午饭"]
    rng = random.Random(27)
    scored = 0
    for _ in range(400):
        compared = [(("s", n), folded_chunk(text)) for n, text in enumerate(random_passages(rng, words, 5))]
        local = rng.choice([0.0, 0.1, 0.25, 0.5, compared[0][1].best(facts)[0]])
        found = audit.verdicts.best_rival(facts, compared, local, False)
        assert found == _each_in_turn(facts, compared, local)
        scored += found[1] is not None
    assert 100 < scored < 400  # both outcomes, many times


def test_a_whole_files_best_place_is_the_one_scoring_each_in_turn_finds():
    """`best_place` scores a file's pages highest bound first and stops where none can reach the best
    so far: the same page, support and window as scoring every page and keeping the first of the
    highest (score times `Facts.factor`, whole share), on random pages built from the claim's
    words, ties among them."""
    import random

    facts = facts_of("开源模型的推理能力和代码生成超过闭源模型", {"推理": [1], "代码": [1, 2], "闭源": [3]})
    words = list(facts.weights) + ["天气", "散步", "午饭"]
    rng = random.Random(27)
    skipped = 0
    for _ in range(400):
        texts = random_passages(rng, words, 6)
        places = [folded_chunk(text) for text in texts]
        at, found = audit.verdicts.best_place(facts, places)
        skipped += sum("bounds" not in place.__dict__ for place in places)  # never cut into windows
        each = [audit.verdicts._scored(facts, folded_chunk(text)) for text in texts]
        wholes = [folded_chunk(text).whole(facts) for text in texts]
        stated = [local * facts.factor(held) for _, local, _, held, _ in each]
        first = max(range(len(texts)), key=lambda n: (stated[n], wholes[n]))  # max keeps the first of equals
        assert (at, found[:3]) == (first, each[first][:3])
    assert skipped > 300  # many pages are never scored


@pytest.mark.parametrize(
    ("local", "numbers_missing", "reach", "matter"),
    [
        (0.3, False, 0.29, False),  # none scores above the cited chunk: none is ever named
        (0.3, True, 0.29, False),  # not even beside a number missing
        (0.3, True, 0.35, True),  # one may, and is named beside the number missing
        (0.3, False, 1.0, False),  # above it, but even a perfect chunk is not 6× (better_ratio) its 0.3
        (0.1, False, 0.65, False),  # 6× passed, the margin (0.6 more) not
        (0.1, False, 0.7, True),  # both may be passed: a better chunk
        (0.02, False, 0.3, False),  # 0.02 / 0.3 is not under `weak` (0.05)
        (0.02, False, 0.5, True),  # 0.02 / 0.5 is: a rival would make it weak
        (0.005, False, 0.05, True),  # weak against full_score (0.2) anyway, and a rival named beside it
    ],
)
def test_rivals_matter_only_where_one_could_change_the_audit(local, numbers_missing, reach, matter):
    assert audit.verdicts.rivals_matter(local, numbers_missing, audit.SETTINGS, reach) is matter


TOPIC_CLAIM = "乙实验室发布的量子芯片良率突破九成"


def kb_audit(tmp_path, capsys, pages: dict[str, str], report: str, *more: str) -> list[dict]:
    """`kb audit --json` of `report` against a corpus of `pages` (title → body)."""
    corpus = tmp_path / "long_context_sampled_60.json"
    documents = [{"title": title, "page_body": body} for title, body in pages.items()]
    corpus.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    path = tmp_path / "final_report.md"
    path.write_text(report, encoding="utf-8")
    assert main(["audit", str(path), "--corpus", str(corpus), "--json", *more]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_passage_holding_the_topics_words_but_none_of_the_claims_rarest_is_unsupported(tmp_path, capsys):
    """The same claim cited twice: once to a paragraph on the lab's releases (its common words),
    once to the one stating the chip's yield. `kb audit`: the first `unsupported` (it holds none of
    the claim's three rarest facts: only its share of the claim's character pairs counts, under
    `unsupported_below`, whatever its share of the other words), the second `supported`."""
    paragraphs = [f"乙实验室第{n}次发布了新的进展，突破了多项纪录。" * 6 for n in range(10)]
    paragraphs[8] = "乙实验室发布的量子芯片良率突破九成，量产在即。" + paragraphs[8]
    body = "\n\n".join(paragraphs)
    chunks = chunk_text(document_text("实验室动态", body))
    stated = next(c.index for c in chunks if "良率" in c.text)
    topic = next(c.index for c in chunks if "良率" not in c.text and c.index > 0)
    cite = lambda n: f'[long_context: "实验室动态", chunk {n}]'  # noqa: E731
    report = f"# 报告\n\n{TOPIC_CLAIM}{cite(topic)}。\n{TOPIC_CLAIM}{cite(stated)}。\n"
    audits = kb_audit(tmp_path, capsys, {"实验室动态": body}, report)
    assert [a["verdict"] for a in audits] == ["unsupported", "supported"]
    assert audits[0]["support"] < audit.SETTINGS.unsupported_below < audits[1]["support"]


def test_a_passage_stating_the_claim_of_another_name_is_unsupported(tmp_path, capsys):
    """The claim names the Orion model; one page states it of Orion, another states the same of
    Vega in the same words. A reader would not take the second for evidence: `unsupported` (with
    names weighed as words only, `name_power` 0, it was `partial`: every other word is there)."""
    claim = "甲公司的 Orion 模型在数学推理评测中首次超过了闭源模型"
    pages = {
        "Orion 评测": "甲公司的 Orion 模型在数学推理评测中首次超过了闭源模型，成绩领先。",
        "Vega 评测": "甲公司的 Vega 模型在数学推理评测中首次超过了闭源模型，成绩领先。",
    } | {f"杂记{n}": f"第{n}天的天气晴朗，适合散步。" for n in range(6)}  # so that Orion is a rare fact, named
    report = (
        f'# 报告\n\n{claim}[long_context: "Orion 评测", chunk 0]。\n{claim}[long_context: "Vega 评测", chunk 0]。\n'
    )
    audits = kb_audit(tmp_path, capsys, pages, report)
    assert [a["verdict"] for a in audits] == ["supported", "unsupported"]
    assert audits[1]["missing"] == ["Orion"]


@pytest.mark.parametrize(
    ("claim", "label"),
    [
        # labels: table cells and list entries naming a kind of source or a benchmark
        ("arxiv官方与主论文源", True),
        ("官方GitHub、学术RAG数据库", True),
        ("Hugging Face 平台生态数据、机器人项目、白皮书", True),
        ("DeepResearch Bench", True),
        ("BrowseComp-Plus", True),
        ("  主流行业/学术/生态社区报告 ", True),
        # statements: a verb, a number, English prose, or too long for a cell
        ("OpenAI 发布会与产品说明", False),  # 说明: a verb
        ("甲公司发布了新模型", False),
        ("参数量约1.8万亿", False),  # a number is a fact a passage can state
        ("中国首个万亿参数模型", False),  # so is a numeral
        ("最大的开源模型", False),  # and an adjective
        ("开源模型与闭源模型也已难分高下", False),  # an adverb, an idiom
        ("均为开源", False),  # an adverb
        ("未公开", False),  # an idiom
        ("Meta released Llama openly", False),  # English prose
        ("models reason", False),
        ("国内外主流开源大模型社区、行业研究机构、学术论文数据库与生态报告汇总", False),  # over LABEL_CHARACTERS
    ],
)
def test_a_label_states_nothing_a_passage_could_state(claim, label):
    assert states_nothing(claim) is label


def test_a_label_claims_its_table_row_and_elsewhere_states_nothing(tmp_path, capsys):
    """`kb audit`: a benchmark's name citing in a table's first cell claims the row (its facts are
    what the citation is there for), judged as any claim; the same name as a list entry states
    nothing a passage could state: `no_statement` (support 0, unsupported, no span to mark),
    whatever the passage."""
    body = "DeepResearch Bench 是一个评测深度研究智能体的基准，包含 100 个博士级研究任务。"
    cite = '[long_context: "基准介绍", chunk 0]'
    report = (
        f"# 报告\n\n| 基准 | 任务数 |\n|---|---|\n| DeepResearch Bench{cite} | 100 个博士级研究任务 |\n\n"
        f"资料来源：\n\n- DeepResearch Bench{cite}\n"
    )
    row, entry = kb_audit(tmp_path, capsys, {"基准介绍": body}, report)
    assert row["claim"] == "DeepResearch Bench；100 个博士级研究任务"
    assert (row["audit"], row["verdict"]) == ("supported", "supported")
    assert entry["claim"] == "DeepResearch Bench"
    assert (entry["audit"], entry["verdict"], entry["support"]) == ("no_statement", "unsupported", 0.0)
    assert entry["span"] is None and row["span"] is not None


ENGLISH_PAGE = (
    "GPT-4 Technical Report\n\nWe report the development of GPT-4, a large multimodal model. "
    "GPT-4 scores 86.4% on the MMLU benchmark, ahead of earlier models.\n"
    "The model was trained on publicly available data and licensed data."
)


@pytest.mark.parametrize(
    ("claim", "passage", "unread"),
    [
        ("GPT-4 在 MMLU 测试中取得 86.4% 的成绩", ENGLISH_PAGE, {"测试", "取得", "成绩"}),  # names and numbers are read
        ("该平台强调开放协作", ENGLISH_PAGE, {"平台", "强调", "开放", "协作"}),
        ("该平台强调开放协作", "关键词: 开放协作 / 平台 " + ENGLISH_PAGE, set()),  # it holds one: read
        ("该平台强调开放协作", "一个讨论别的事情的中文段落，提到了 API 和 GPT-4。", set()),  # Chinese: missing
        ("rerankers reorder passages", "重排模型可以给段落重新排序。", set()),  # English words: names, read
        ("该平台强调开放协作", "12345 67890", set()),  # no letters: nothing to read in another script
    ],
)
def test_a_claims_words_are_unread_in_a_passage_of_another_script(claim, passage, unread):
    """`Facts.unread`: a claim's Chinese words are unread, not missing, where the passage holds none
    of them and Chinese is under `read_share` of its letters."""
    facts, chunk = facts_of(claim), folded_chunk(passage)
    assert facts.unread(chunk.found(facts), chunk.text) == unread


def test_a_chinese_claim_citing_an_english_page_is_partial_with_its_names_checked(tmp_path, capsys):
    """`kb audit`: a Chinese claim citing an English page is checked for its names and numbers only
    (`other_language`, `partial`: neither flagged unsupported for words the passage is not written
    in, nor supported on its names alone); one with no names has nothing checked (no span); one whose
    names the page lacks is `unsupported` as in any passage."""
    cite = '[long_context: "GPT-4 Technical Report", chunk 0]'
    report = (
        f"# 报告\n\nGPT-4 在 MMLU 测试中取得 86.4% 的成绩{cite}。\n\n该平台强调开放协作{cite}。\n\n"
        f"Claude 3 Opus 在 GSM8K 测试中取得 95% 的成绩{cite}。\n"
    )
    stated, nameless, other = kb_audit(tmp_path, capsys, {"GPT-4 Technical Report": ENGLISH_PAGE}, report)
    assert (stated["audit"], stated["verdict"]) == ("other_language", "partial")
    start, end = stated["span"]
    assert "86.4%" in ENGLISH_PAGE[start:end] and "成绩" in stated["missing"]
    assert (nameless["audit"], nameless["verdict"], nameless["span"]) == ("other_language", "partial", None)
    assert other["verdict"] == "unsupported" and other["audit"] != "other_language"


def test_a_file_citation_is_audited_against_the_page_or_slide_it_names(tmp_path, capsys):
    """`kb audit --files`: a citation of a task file's slide or page is checked against the text the
    pipeline extracted from it, as a chunk is (its row titled with the file's name, no chunk, the
    place checked as `part`); a citation of the whole file against the place stating most."""
    files = tmp_path / "files"
    files.mkdir()
    chip = "乙实验室的量子芯片良率突破九成"
    make_pptx(files / "deck.pptx", ["甲公司发布了新模型，该模型参数量达到700亿", chip])
    (files / "paper.pdf").write_bytes(pdf_bytes(["Introduction", "GPT-4 scores 86.4% on the MMLU benchmark"]))
    report = (
        f"# 报告\n\n{CLAIM}[文档: deck.pptx, slide 1]。\n\n{chip}[文档: deck.pptx, slide 1]。\n\n"
        f"{chip}[文档: deck.pptx, 第2张幻灯片]。\n\nGPT-4 在 MMLU 测试中取得 86.4% 的成绩[文档: paper.pdf, page 2]。\n\n"
        f"{chip}[文档: deck.pptx]。GPT-4 在 MMLU 测试中取得 86.4% 的成绩[文档: paper.pdf]。\n"
    )
    rows = kb_audit(tmp_path, capsys, {"别的页面": "无关的内容。"}, report, "--files", str(files))
    assert [(r["title"], r["chunk"], r["part"], r["verdict"]) for r in rows] == [
        ("deck.pptx", None, "slide-1", "supported"),
        ("deck.pptx", None, "slide-1", "unsupported"),
        ("deck.pptx", None, "slide-2", "supported"),
        ("paper.pdf", None, "page-2", "partial"),  # an English page: its names and numbers checked (other_language)
        ("deck.pptx", None, "slide-2", "supported"),  # the whole deck: its slide stating the claim
        ("paper.pdf", None, "page-2", "partial"),  # support 0 on both pages (its rarest facts unread): the score
    ]
    assert rows[1]["span"] is None and "良率" in rows[1]["missing"]
    assert rows[3]["audit"] == "other_language" and "86.4" in rows[3]["held"]


def pdf_kb(pages: list[str], report: str):
    """A knowledge base of one task file, x.pdf of `pages`, and one report citing it, no corpus."""
    loaded = Loaded(Path("/kb"))
    parts = [FilePart("page", n, text) for n, text in enumerate(pages, 1)]
    loaded.files["files/t/x.pdf"] = FileSource("f", "x.pdf", "files/t/x.pdf", "pdf", "t", parts)
    loaded.reports["r"] = Report("r", "报告", "reports/r", report, task="t", files="files/t")
    return assemble(loaded)


def test_a_file_longer_than_file_chars_is_not_audited():
    """`file_chars` bounds what one file citation reads: past it, no verdict (the header counts it
    unjudged), where a page named within it still has one."""
    kb = pdf_kb(["甲公司发布了新模型。" * 3, CLAIM + "。"], f"{CLAIM}[文档: x.pdf]。{CLAIM}[文档: x.pdf, page 2]。")
    verdicts = lambda limit: [  # noqa: E731
        a and (a.verdict, a.part)
        for a in audit.audit_kb(kb, TermCache(None), replace(audit.SETTINGS, file_chars=limit))["r"]
    ]
    assert verdicts(1_000) == [("supported", 2), ("supported", 2)]  # no corpus needed: the file is the passage
    assert verdicts(len(CLAIM) + 1) == [None, ("supported", 2)]


def test_a_place_named_in_a_form_not_read_is_never_checked_on_another_page():
    """`[文档: x.pdf, Page II]`: the place is not read, so the citation links to the file with a
    note; no page is audited in its stead (the page stating the claim was labelled, linked and ✓'d
    as if cited). `Section 2` names no page: the file's page stating most is checked, as before."""
    kb = pdf_kb(
        ["甲公司发布了新模型。" * 3, CLAIM + "。"], f"{CLAIM}[文档: x.pdf, Page II]。{CLAIM}[文档: x.pdf, Section 2]。"
    )
    unread, section = kb.cited["r"].final
    assert unread.target == "sources/f/" and unread.reason.code == "place_unread"
    assert "无法读出" in unread.reason.chinese() and section.reason is None
    audits = audit.audit_kb(kb, TermCache(None))["r"]
    assert audits[0] is None and (audits[1].verdict, audits[1].part) == ("supported", 2)


def test_a_file_citations_kept_audit_is_made_again_when_the_file_changes():
    """Audits kept between serve rebuilds stand while the report and what it cites are the same: a
    task file's text is part of that (a PDF replaced by another version)."""
    kept, cache, report = audit.Kept(), TermCache(None), f"{CLAIM}[文档: x.pdf]。"
    assert audit.audit_kb(pdf_kb([CLAIM], report), cache, kept=kept)["r"][0].verdict == "supported"
    assert audit.audit_kb(pdf_kb(["说的是别的事情。"], report), cache, kept=kept)["r"][0].verdict == "unsupported"


def test_a_chunk_that_does_not_state_the_claim_either_is_never_suggested(tmp_path, capsys):
    """The claim cited to an unrelated page; another page holds most of its words (实验室, 芯片,
    良率, 突破) but not the name it makes its claim of: it scores higher, and was named as the
    better chunk beside the flag, though it states the claim no more (support 0). No suggestion
    now; the flag stays."""
    pages = {
        "天气随笔": "今天的天气很好，适合出门散步。",
        "实验室动态": "乙实验室发布了新的芯片进展，良率突破了多项纪录。",
    } | {f"杂记{n}": f"第{n}天的天气晴朗，适合散步。" for n in range(6)}
    report = '# 报告\n\n乙实验室的 Nova 芯片良率突破九成[long_context: "天气随笔", chunk 0]。\n'
    [found] = kb_audit(tmp_path, capsys, pages, report)
    assert found["verdict"] == "unsupported" and found["audit"] == "weak"
    assert found["better"] is None


def test_a_passage_holding_under_half_the_claims_key_facts_lacks_one():
    """`supported` wants the claim's key facts (its three rarest, by weight): a passage holding one
    of them and every common word lacks a key fact (`partial` at best), one holding two of the three
    does not; a missing name or number is lacking whatever the rest."""
    common = {word: list(range(40 + n)) for n, word in enumerate(["公司", "突破", "计划", "提前"])}
    rare = {"良率": [1], "量产": [2], "芯片": [3, 4]}
    facts = facts_of("甲公司的芯片良率突破九成，量产计划提前", common | rare | {"九成": list(range(30))})
    assert set(facts.key) == set(rare)
    everything = set(facts.weights) | facts.numbers
    assert not audit.lacks_key_fact(facts, everything)
    assert not audit.lacks_key_fact(facts, everything - {"良率"})
    assert audit.lacks_key_fact(facts, everything - {"良率", "量产"})
    named = facts_of("OpenAI 的芯片良率突破九成", rare | common)
    assert audit.lacks_key_fact(named, set(named.weights) - {"openai"})  # names are folded
