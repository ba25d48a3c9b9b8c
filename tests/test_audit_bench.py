"""The audit benchmark's own arithmetic (benchmarks/audit_bench.py): AUCs and the comparison with
a blind reader's judgment, on hand-made scores."""

from __future__ import annotations

import pytest

from benchmarks.audit_bench import against_judgment, roc_auc


@pytest.mark.parametrize(
    ("positives", "negatives", "expected"),
    [
        ([0.9, 0.8], [0.1, 0.2], 1.0),
        ([0.1], [0.9], 0.0),
        ([0.5], [0.5], 0.5),  # a tie counts half
        ([0.9, 0.1], [0.5], 0.5),
        ([], [0.5], None),
    ],
)
def test_roc_auc(positives, negatives, expected):
    assert roc_auc(positives, negatives) == expected


def case(key: str, positive: float, adjacent: float, other: float) -> dict:
    scores = {"positive": positive, "adjacent": adjacent, "beyond_overlap": adjacent, "other": other}
    return {"key": key, "support": scores}


def test_against_judgment_splits_the_pairs_by_the_readers_verdict():
    checkable = [
        case("r@1", 1.0, 0.2, 0.0),  # the reader found the claim in the written chunk: a win
        case("r@2", 0.9, 0.3, 0.1),
        case("r@3", 0.2, 1.0, 0.0),  # ... in the adjacent chunk: the writer's error, a loss
        case("r@4", 0.5, 0.5, 0.6),  # in neither
        case("r@5", 0.5, 0.1, 0.0),  # not judged
    ]
    judged = {"r@1": "written", "r@2": "written", "r@3": "adjacent", "r@4": "neither"}
    found = against_judgment(checkable, judged)
    assert found["cases"] == 4
    assert found["judged"] == {"written": 2, "adjacent": 1, "neither": 1}
    assert found["paired"]["written"] == {"adjacent": {"win": 2}, "other": {"win": 2}}
    assert found["paired"]["adjacent"] == {"adjacent": {"loss": 1}, "other": {"win": 1}}
    assert found["paired"]["neither"] == {"adjacent": {"tie": 1}, "other": {"loss": 1}}
    assert found["paired_share_adjacent"] == round((2 + 0 + 0.5) / 4, 3)
    assert found["paired_share_agreeing_reader"] == round((2 + 0.5) / 4, 3)  # written wins, neither ties
    assert found["aucs_judged_written"]["auc_adjacent"] == 1.0
    assert found["aucs_judged_written"]["positives"] == 2


def test_against_judgment_without_judged_cases():
    assert against_judgment([case("r@1", 1.0, 0.0, 0.0)], {"x@2": "written"}) == {"cases": 0}
