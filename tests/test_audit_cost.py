"""Issue 27, point 7: the audit's quicker paths give exactly what the plain computation gives."""

from __future__ import annotations

import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from build_tools.audit import SETTINGS, CorpusTerms, Evidence, proposed


def plain_proposed(evidence: Evidence, terms: CorpusTerms, cited: tuple[str, int], limit_share: float) -> list:
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
    chosen = heapq.nsmallest(SETTINGS.source_candidates, same, rank) + heapq.nsmallest(SETTINGS.candidates, other, rank)
    return [terms.chunks[at] for at in chosen]


@st.composite
def corpora(draw):
    """A corpus of a few sources' chunks, words in some of them, a claim's weights (equal ones
    included, so ties are ranked) and a cited chunk, maybe of another corpus."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=6))
    chunks = [(f"s{n}", index) for n, size in enumerate(sizes) for index in range(size)]
    terms = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)})
    words = [f"w{n}" for n in range(draw(st.integers(1, 8)))]
    for word in words:
        postings = draw(st.lists(st.integers(0, len(chunks) - 1), unique=True, max_size=len(chunks)))
        if postings:
            terms.postings[word] = sorted(postings)
    weights = {w: draw(st.sampled_from([0.1, 0.3, 0.7, 1.3, 2.9, 0.30000000000000004])) for w in words}
    weights |= {"nowhere": 1.0} if draw(st.booleans()) else {}
    cited = draw(st.sampled_from([*chunks, ("elsewhere", 0)]))
    return Evidence(weights, frozenset(), SETTINGS), terms, cited


@settings(max_examples=300, deadline=None)
@given(corpora(), st.sampled_from([0.25, 0.5, 1.0]))
def test_the_chunks_compared_are_those_a_plain_loop_finds(case, share):
    evidence, terms, cited = case
    chosen = proposed(evidence, terms, cited, SETTINGS.__class__(common_share=share))
    assert chosen == plain_proposed(evidence, terms, cited, share)


def test_sums_are_added_in_the_claims_order():
    """0.3 + 0.2 + 0.1 is 0.6, a tie with a chunk holding the 0.6 word alone (the first chunk wins);
    added in another order (0.1 + 0.2 + 0.3) it is 0.6000000000000001, and the other chunk wins."""
    chunks = [("a", 0), ("b", 0), ("c", 0)]
    terms = CorpusTerms(chunks, {key: at for at, key in enumerate(chunks)})
    terms.postings = {"w3": [0], "w0": [1], "w1": [1], "w2": [1]}
    evidence = Evidence({"w0": 0.3, "w1": 0.2, "w2": 0.1, "w3": 0.6}, frozenset(), SETTINGS)
    loose = SETTINGS.__class__(common_share=1.0)
    assert proposed(evidence, terms, ("c", 0), loose) == plain_proposed(evidence, terms, ("c", 0), 1.0) == [("a", 0)]
