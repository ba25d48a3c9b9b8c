"""Issue 27, point 7: the audit's quicker paths give exactly what the plain computation gives."""

from __future__ import annotations

import gc
import heapq
import re
import weakref
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.scale import synthesize
from build_tools.analysis import TermCache, fold
from build_tools.audit import (
    SETTINGS,
    CorpusTerms,
    Evidence,
    audit_kb,
    by_source,
    claim_facts,
    claims,
    doc_words,
    folded_chunk,
    loaded_claims,
    picked_by_source,
    proposed,
    report_claims,
    source_words,
    start_audit,
    workers,
)
from build_tools.audit.claims import (
    FRAMING_TAGS,
    Fact,
    Pairs,
    Picked,
    chinese_share,
    claim_reading,
    corpus_terms,
    found_facts,
    holds_run,
    remember_facts,
)
from build_tools.audit.workers import no_cycle_collection
from build_tools.documents import chunk_docs, search_docs
from build_tools.knowledge_base import build, report_citations


def plain_proposed(
    evidence: Evidence,
    terms: CorpusTerms,
    cited: tuple[str, int],
    limit_share: float,
    counts: tuple[int, int] = (SETTINGS.source_candidates, SETTINGS.candidates),
) -> list:
    """The chunks compared with the cited one, by a loop over every posting of every rare word."""
    limit = limit_share * len(terms.chunks)
    sums: dict[int, float] = {}
    for word, weight in evidence.weights.items():
        postings = terms.postings.get(word, ())
        if len(postings) <= limit:
            for at in postings:
                sums[at] = sums.get(at, 0.0) + weight
    sums.pop(terms.positions.get(cited, -1), None)
    same = [at for at in sums if terms.chunks[at][0] == cited[0]]
    other = [at for at in sums if terms.chunks[at][0] != cited[0]]
    rank = lambda at: (-sums[at], at)  # noqa: E731
    chosen = heapq.nsmallest(counts[0], same, rank) + heapq.nsmallest(counts[1], other, rank)
    return [terms.chunks[at] for at in chosen]


@st.composite
def corpora(draw):
    """A corpus of a few sources' chunks, words in some of them, a claim's weights (equal ones
    included, so ties are ranked) and a cited chunk, maybe of another corpus."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=6))
    chunks = [(f"s{n}", index) for n, size in enumerate(sizes) for index in range(size)]
    words = [f"w{n}" if n % 2 else f"词{n}" for n in range(draw(st.integers(1, 8)))]  # names and Chinese words
    postings = {}
    for word in words:
        if found := draw(st.lists(st.integers(0, len(chunks) - 1), unique=True, max_size=len(chunks))):
            postings[word] = sorted(found)
    terms = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)}, postings)
    weights = {w: draw(st.sampled_from([0.1, 0.3, 0.7, 1.3, 2.9, 0.30000000000000004])) for w in words}
    weights |= {"nowhere": 1.0} if draw(st.booleans()) else {}
    cited = draw(st.sampled_from([*chunks, ("elsewhere", 0)]))
    return Evidence(weights, frozenset(), SETTINGS), terms, cited


@settings(max_examples=300, deadline=None)
@given(corpora(), st.sampled_from([0.25, 0.5, 1.0]), st.sampled_from([(1, 1), (2, 1), (3, 2), (0, 3)]))
def test_the_chunks_compared_are_those_a_plain_loop_finds(case, share, counts):
    evidence, terms, cited = case
    chosen = proposed(
        evidence,
        terms,
        cited,
        SETTINGS.__class__(common_share=share, source_candidates=counts[0], candidates=counts[1]),
    )
    assert chosen == plain_proposed(evidence, terms, cited, share, counts)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from([(1, 1), (2, 1), (0, 3)]), st.sampled_from([1, 7, 1 << 20]))
def test_the_chunks_proposed_for_many_claims_at_once_are_each_ones(data, counts, cells):
    """`proposals` sums many claims' words in one matrix (rows of PROPOSAL_CELLS cells at most): each
    claim gets the chunks the plain loop finds for it alone."""
    from build_tools.audit import scoring

    evidence, terms, cited = data.draw(corpora())
    words = list(evidence.weights)
    weights = st.dictionaries(st.sampled_from(words), st.sampled_from([0.1, 0.3, 0.7, 1.3, 2.9]), max_size=len(words))
    cases = [(evidence, cited)] + [
        (
            Evidence(data.draw(weights), frozenset(), SETTINGS),
            data.draw(st.sampled_from([*terms.chunks, ("elsewhere", 0)])),
        )
        for _ in range(data.draw(st.integers(0, 5)))
    ]
    chosen = SETTINGS.__class__(source_candidates=counts[0], candidates=counts[1])
    saved, scoring.PROPOSAL_CELLS = scoring.PROPOSAL_CELLS, cells
    try:
        found = scoring.proposals(cases, terms, chosen)
    finally:
        scoring.PROPOSAL_CELLS = saved
    assert found == [plain_proposed(claim, terms, key, chosen.common_share, counts) for claim, key in cases]


def test_chinese_words_are_weighed_at_once_as_one_by_one():
    """`CorpusTerms.weigh` gives each word that is no name's (a Chinese one) the `fact_weight` it is
    asked for one by one, and leaves words in Latin script (maybe names, weighed by their rarest
    index word) to be asked."""
    chunks = [("a", 0), ("a", 1), ("b", 0)]
    postings = {"模型": [0, 2], "开源": [1], "gpt": [0, 1, 2]}
    weighed = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)}, dict(postings))
    weighed.weigh()
    asked = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)}, dict(postings))
    assert weighed.facts == {word: asked.fact_weight(word, False) for word in ("模型", "开源")}


def test_sums_are_added_in_the_claims_order():
    """0.3 + 0.2 + 0.1 is 0.6, a tie with a chunk holding the 0.6 word alone (the first chunk wins);
    added in another order (0.1 + 0.2 + 0.3) it is 0.6000000000000001, and the other chunk wins."""
    chunks = [("a", 0), ("b", 0), ("c", 0)]
    postings = {"w3": [0], "w0": [1], "w1": [1], "w2": [1]}
    terms = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)}, postings)
    evidence = Evidence({"w0": 0.3, "w1": 0.2, "w2": 0.1, "w3": 0.6}, frozenset(), SETTINGS)
    loose = SETTINGS.__class__(common_share=1.0)
    assert proposed(evidence, terms, ("c", 0), loose) == plain_proposed(evidence, terms, ("c", 0), 1.0) == [("a", 0)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("kb")
    synthesize(root, 40, 6, seed=3)
    return build(root)


def test_a_build_hands_the_audit_its_chunks_terms_and_gets_the_same_audits(synthetic):
    """The plugin segments every search document once and hands the chunks' terms to the audit
    (`by_source`): the audits are those the audit makes finding them itself."""
    kb = synthetic
    chunks = chunk_docs(kb)
    found = TermCache(None).analyses([doc.text for doc in search_docs(kb, chunks)])
    handed = start_audit(kb, TermCache(None), parallel=False, analyses=by_source(chunks, found, set(kb.chunks)))
    own = audit_kb(kb, TermCache(None), parallel=False)
    assert handed.result() == own
    assert sum(a is not None for audits in own.values() for a in audits) > 20


@pytest.mark.parametrize("parallel", [False, True])
def test_the_claims_words_picked_as_the_chunks_are_segmented_give_the_same_audits(synthetic, parallel):
    """The plugin hands the audit, besides every chunk's terms, the claims' words among them, picked
    as the chunks are segmented (`picked_by_source`): the audits are the same, and each corpus's
    postings are read from those words alone."""
    kb = synthetic
    chunks = chunk_docs(kb)
    words = source_words(kb, loaded_claims(kb.loaded).words)
    docs = search_docs(kb, chunks)
    found, picks = TermCache(None).analyses_picking([doc.text for doc in docs], doc_words(docs, words))
    picked = picked_by_source(chunks, picks, words, set(kb.chunks))
    own = audit_kb(kb, TermCache(None), parallel=False)
    unread = {slug: ["" for _ in terms] for slug, terms in by_source(chunks, found, set(kb.chunks)).items()}
    assert start_audit(kb, TermCache(None), parallel=parallel, analyses=unread, picked=picked).result() == own


def test_the_audit_worker_bench_makes_the_audits_a_build_makes(synthetic, tmp_path):
    """`benchmarks.audit_worker`, which cuts of the audit's CPU are measured with, stands in for a
    build's workers: with the claims remembered and each chunk's claim words picked from cached
    terms, it makes the audits `audit_kb` makes; timed, it counts one `Facts.of` per citation
    audited and one `corpus_terms` per corpus, and puts back the functions it timed."""
    from benchmarks import audit_worker

    own = audit_kb(synthetic, TermCache(None), parallel=False)
    untimed = (audit_worker.verdicts.proposals, claims.Facts.__dict__["of"])
    try:
        state = audit_worker.prepare(synthetic, TermCache(tmp_path / "terms"))
        with audit_worker.timed() as spent:
            made = audit_worker.audit_all(state)
    finally:
        workers.remember_claims(workers.FoundClaims())  # the next test finds its claims itself
    assert made == own
    audited = sum(a is not None for audits in own.values() for a in audits)
    assert spent["Facts.of calls"] == spent["_audit calls"] >= audited > 20
    assert spent["corpus_terms calls"] == len({synthetic.cited[slug].report.corpus for slug in own})
    assert (audit_worker.verdicts.proposals, claims.Facts.__dict__["of"]) == untimed


def _chunk_terms(kb) -> tuple[dict[str, list[str]], list[str], set[str]]:
    """Each source's chunk terms (as a build segments them), the sources in order, and a few words
    of the first source's chunks."""
    chunks = chunk_docs(kb)
    found = TermCache(None).analyses([doc.text for doc in search_docs(kb, chunks)])
    analyses = by_source(chunks, found, set(kb.chunks))
    slugs = sorted(analyses)
    return analyses, slugs, {word for text in analyses[slugs[0]] for word in text.split("\n")[:3]}


def _picks(analyses: dict[str, list[str]], words: set[str]) -> dict[str, list[str | None]]:
    """Of each chunk's terms, the `words` among them, as a build picks them."""
    return {
        slug: ["\n".join(words.intersection(text.split("\n"))) for text in terms] for slug, terms in analyses.items()
    }


def test_a_corpus_with_a_word_not_picked_reads_its_chunks_terms_whole(synthetic):
    """Picked words are read only where they hold every claim word of the corpus: another word
    (a claim found again in other words) is looked for in each chunk's terms, whole."""
    kb = synthetic
    analyses, slugs, some = _chunk_terms(kb)
    nothing = Picked(
        dict.fromkeys(slugs, frozenset(some)), {slug: [""] * len(terms) for slug, terms in analyses.items()}
    )
    whole = corpus_terms(slugs, kb, analyses, some)
    assert whole.postings and corpus_terms(slugs, kb, analyses, some, nothing).postings == {}  # picks read
    assert corpus_terms(slugs, kb, analyses, some | {"不在其中的词"}, nothing).postings == whole.postings
    picks = _picks(analyses, some)
    picked = Picked(dict.fromkeys(slugs, frozenset(some)), picks)
    assert corpus_terms(slugs, kb, analyses, some, picked).postings == whole.postings  # picks read as they are
    fewer = set(sorted(some)[:2])  # some reports' claims (the others' audits kept): their words among the picks
    assert (
        corpus_terms(slugs, kb, analyses, fewer, picked).postings == corpus_terms(slugs, kb, analyses, fewer).postings
    )
    # The last source also in another corpus: its chunks picked the other's words too, read apart.
    other = frozenset(some | {word for word in analyses[slugs[-1]][0].split("\n") if word not in some})
    shared = {slugs[-1]: ["\n".join(other.intersection(text.split("\n"))) for text in analyses[slugs[-1]]]}
    both = Picked({**picked.words, slugs[-1]: other}, {**picks, **shared})
    assert other > some and corpus_terms(slugs, kb, analyses, some, both).postings == whole.postings


class _Watched(list):
    """A source's chunk terms that say which were read, and refuse to be read all in a row."""

    def __init__(self, items: list[str]):
        super().__init__(items)
        self.read: set[int] = set()

    def __getitem__(self, index):
        self.read.add(index)
        return super().__getitem__(index)

    def __iter__(self):
        raise AssertionError("every chunk's terms read")


def test_picked_chunks_terms_are_not_read(synthetic):
    """Where a corpus's picks serve, a chunk's terms are read only where nothing was picked for it
    (its terms were cached): in a forked audit worker each text read is a page copied."""
    kb = synthetic
    analyses, slugs, some = _chunk_terms(kb)
    whole = corpus_terms(slugs, kb, analyses, some)
    picks = _picks(analyses, some)
    picks[slugs[0]][0] = None  # its terms were cached: nothing picked
    watched = {slug: _Watched(terms) for slug, terms in analyses.items()}
    picked = Picked(dict.fromkeys(slugs, frozenset(some)), picks)
    assert corpus_terms(slugs, kb, watched, some, picked).postings == whole.postings
    assert {slug: terms.read for slug, terms in watched.items() if terms.read} == {slugs[0]: {0}}


def test_a_source_of_two_corpora_picks_the_words_of_both():
    """`source_words`: a source picks the claim words of every corpus holding it (one set shared by
    the sources of one corpus); a corpus no report's name finds, or no corpus, picks nothing."""
    corpus = lambda key, slugs: SimpleNamespace(key=key, slugs=slugs)  # noqa: E731
    kb = SimpleNamespace(
        loaded=SimpleNamespace(corpora={"a": corpus("a", ["s1", "s2"]), "b": corpus("b", ["s2", None])})
    )
    first, second = frozenset({"开源", "模型"}), frozenset({"芯片"})
    found = source_words(kb, {"a": first, "b": second, "": frozenset({"别的"}), "gone": frozenset({"词"})})
    assert found == {"s1": first, "s2": first | second} and found["s1"] is first


def plain_claim_words(claim: str) -> list[str]:
    """A claim's content words, each Chinese run tagged on its own."""
    import rjieba

    found: dict[str, None] = {}
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", fold(claim)):
        for word, tag in rjieba.tag(run):
            if len(word) > 1 and tag not in FRAMING_TAGS:
                found.setdefault(word)
    return list(found)


CHINESE = "的了是在和与开源模型发布下载量突破三千万次甲公司向监管机构缴纳罚单乙实验室估值达到亿量子计算芯片良率显著提升"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=CHINESE + "，。 ,\n\t0123456789abcGPT-\u3000：（）", max_size=60))
def test_a_claims_runs_tagged_at_once_are_tagged_as_each_alone(claim):
    assert [f.key for f in claim_facts(claim) if f.kind == "word"] == plain_claim_words(claim)


def plain_pair_share(claim: str, text: str) -> float:
    """The share of a folded claim's Chinese character pairs and Latin words a text holds, each
    pair looked for on its own."""
    runs = re.findall("[\u3400-\u4dbf\u4e00-\u9fff]+", claim)
    pairs = {run[i : i + 2] for run in runs for i in range(len(run) - 1)}
    words = set(re.findall("[a-z0-9]+", claim))
    total = len(pairs) + len(words)
    found = sum(pair in text for pair in pairs) + len(words & set(re.findall("[a-z0-9]+", text)))
    return found / total if total else 0.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1", min_size=1, max_size=4), st.text(alphabet="ab1 -.中", max_size=40))
def test_a_word_is_held_as_a_run_where_the_runs_of_the_text_hold_it(word, text):
    assert holds_run(text, word) == (word in re.findall("[a-z0-9]+", text))


# Characters around the pairs' own: a character outside the Basic Multilingual Plane (two UTF-16
# code units, 𠀀 of CJK Extension B, 😀), a lone surrogate half as a page may hold, one code unit
# whose number is a pair's first half shifted (丁 is U+4E01), Latin letters and digits.
AROUND = "𠀀😀\ud800\udc00丁 ,。\n ab12"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=CHINESE[:12] + "abc ", max_size=20), st.text(alphabet=CHINESE[:12] + AROUND, max_size=80))
def test_the_pairs_a_text_holds_are_those_looked_for_one_by_one(claim, text):
    assert Pairs.of(fold(claim)).share(text) == plain_pair_share(fold(claim), text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=CHINESE[:6] + AROUND + "AZaz@[`{\u33ff\u3400\u4dbf\u4dc0\u4dff\u9fff\ua000", max_size=60))
def test_a_texts_chinese_share_is_its_chinese_characters_among_its_letters(text):
    """`chinese_share` counts code units by range: as many as the characters each pattern finds."""
    chinese = sum(map(len, re.findall("[\u3400-\u4dbf\u4e00-\u9fff]", text)))
    latin = len(re.findall("[a-zA-Z]", text))
    assert chinese_share(text) == (chinese / (chinese + latin) if chinese + latin else 1.0)


def test_the_pipelines_lines_are_tagged_as_each_run_alone(pipeline):
    """Every line of the pipeline's reports (a claim is part of one)."""
    lines = {
        line for path in sorted((pipeline / "results").rglob("*.md")) for line in path.read_text("utf-8").splitlines()
    }
    assert len(lines) > 1000
    for line in lines:
        assert [f.key for f in claim_facts(line) if f.kind == "word"] == plain_claim_words(line), line


def test_the_audit_leaves_no_cycles_for_the_collector(synthetic):
    """Why the audit may pause the cycle collector: everything it makes is freed by reference counts."""
    gc.collect()
    with no_cycle_collection():
        audits = audit_kb(synthetic, TermCache(None), parallel=False)
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.collect() == 0
    assert audits


def test_the_collector_is_paused_while_auditing_and_resumed_after(synthetic, monkeypatch):
    """At 10k sources the collector's full passes were 15–20% of the audit's CPU."""
    seen = []
    real = workers.audit_corpus
    monkeypatch.setattr(workers, "audit_corpus", lambda *args: seen.append(gc.isenabled()) or real(*args))
    audit_kb(synthetic, TermCache(None), parallel=False)
    assert seen and not any(seen)
    assert gc.isenabled()


def test_a_folded_chunk_keeps_no_claim_alive():
    """A chunk remembers the last claim's words found in it (a cited chunk is asked twice), but the
    audit keeps every folded chunk until it ends: the claims must not live as long."""
    chunk = folded_chunk("开源模型的下载量突破三千万次。估值达到95亿。")
    evidence = Evidence({"开源": 1.0, "估值": 2.0}, frozenset({"95"}), SETTINGS)
    assert chunk.best(evidence)[0] > 0 and chunk.found(evidence) == {"开源", "估值", "95"}
    gone = weakref.ref(evidence)
    del evidence
    assert gone() is None


NAMED = (
    "Hugging Face 与 OpenAI 的 GPT-4 在 2024 年显著提升了复杂的推理能力，并且迅速普及",
    "正如 the state of the art in open models 所说",  # English prose: a fact per word
    "ＧＰＴ－４ 的下载量突破三千万次",  # a name shown as written, looked for folded
    "的了",  # no fact
)


def audited_claims(kb) -> set[str]:
    """The claims the audit reads: those of the reports that cite a corpus."""
    return {
        claim
        for cited in kb.cited.values()
        if kb.loaded.corpora.get(cited.report.corpus or "")
        for claim in report_claims(cited.report.final, cited.final)
        if claim
    }


def test_facts_found_in_another_process_read_back_as_found_here(synthetic):
    """A build finds the claims' facts and readings in a process forked while it reads the folder,
    as texts (`found_facts`); `claim_facts` and `claim_reading` read them back (`remember_facts`)
    as what they find."""
    asked = set(NAMED) | audited_claims(synthetic) | {"GPT-4 的得分为 86.4%，排名第 2"}
    here = {claim: (claim_facts.__wrapped__(claim), claim_reading.__wrapped__(claim)) for claim in asked}
    assert any(f.shown != f.key for facts, _ in here.values() for f in facts) and () in [f for f, _ in here.values()]
    assert any(numbers and pairs.chinese and pairs.latin for _, (numbers, pairs) in here.values())
    assert any(not numbers and not pairs.latin for _, (numbers, pairs) in here.values())
    remember_facts(found_facts(asked))
    try:
        back = {claim: (claim_facts.__wrapped__(claim), claim_reading.__wrapped__(claim)) for claim in asked}
        assert not claims._found and not claims._readings  # each read from what was found, once
    finally:
        remember_facts({})
    assert back == here and all(type(f) is Fact for facts, _ in back.values() for f in facts)


def test_a_fact_holding_a_separator_is_not_written_but_found_again():
    """Folding that keeps a claim's length may still shift its offsets (ﬁ → fi, e + ◌́ → é): the name
    "fi" is then shown as the claim's first two characters, a separator among them."""
    claim = "ﬁ\x1fab e\u0301 是开源模型"
    assert any("\x1f" in f.shown for f in claim_facts.__wrapped__(claim))
    assert claim not in found_facts([claim, NAMED[0]]) and NAMED[0] in found_facts([NAMED[0]])


@pytest.mark.parametrize("parallel", [False, True])
def test_audits_from_the_claims_found_while_the_folder_is_read_are_the_same(synthetic, monkeypatch, parallel):
    """`loaded_claims` finds every report's claims and every claim's facts the audit reads from the
    reports as loaded, before its citations are resolved; the audits made from them are those made
    without, and no report's claims are found again."""
    own = audit_kb(synthetic, TermCache(None), parallel=False)
    found = loaded_claims(synthetic.loaded)
    assert set(found.facts) == audited_claims(synthetic) and len(found.facts) > 20
    assert [claims for _, claims in found.reports.values()] == [
        report_claims(cited.report.final, cited.final) for cited in synthetic.cited.values()
    ]
    claim_facts.cache_clear()
    claim_reading.cache_clear()
    read: list[str] = []
    remembered = claims._remembered
    monkeypatch.setattr(claims, "_remembered", lambda text: read.append(text) or remembered(text))

    def not_again(*_: object) -> None:  # a forked worker inherits it
        raise AssertionError("a report's claims found again")

    monkeypatch.setattr(workers, "Sentences", not_again)
    try:
        handed = start_audit(synthetic, TermCache(None), parallel=parallel, facts=lambda: found).result()
    finally:
        workers.remember_claims(workers.FoundClaims())
    assert handed == own
    if not parallel:  # the workers' reads are in their own processes
        assert len(read) == len(found.facts)


def test_claims_found_for_other_citations_are_found_again():
    """A report's claims are taken from what was found only for the same text and the same
    citations (start, end and kind each): for others they are found again."""
    text = 'GPT-4 的得分为 86.4% [long_context: "A", chunk 1]。另一句话说明开源 [long_context: "B", chunk 2]。'
    citations = report_citations(text)
    assert len(citations) == 2
    plain = workers.citation_claims(text, citations)
    try:
        workers.remember_claims(workers.FoundClaims({text: (workers.claim_key(citations[:1]), ["别的"])}))
        assert workers.citation_claims(text, citations) == plain
        workers.remember_claims(workers.FoundClaims({text: (workers.claim_key(citations), ["别的", "话"])}))
        assert workers.citation_claims(text, citations) == ["别的", "话"]
    finally:
        workers.remember_claims(workers.FoundClaims())
