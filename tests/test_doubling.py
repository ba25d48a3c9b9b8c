"""The linear-time check itself (tests/doubling.py): the size it times takes MIN_SECONDS, a reader
whose time grows 4× with 2× the input fails it and a linear one passes. Its logic on a made-up clock
(a reader's time a formula of its input's length), then once on real time."""

from __future__ import annotations

import doubling
import pytest
from doubling import MAX_SIZE, MIN_SECONDS, Shape, assert_linear, growth


@pytest.fixture
def clock(monkeypatch):
    """Each run's time as `formula(len(text))` seconds, the runs counted (and the reader never run)."""
    runs: list[int] = []

    def use(formula):
        def timed(function, text):
            runs.append(len(text))
            return formula(len(text))

        monkeypatch.setattr(doubling, "_timed", timed)
        return runs

    return use


@pytest.mark.parametrize("start", [64, 13_000, 30_000])
def test_the_size_timed_is_the_first_doubled_one_that_takes_min_seconds(clock, start):
    """As plain doubling from `start` finds it, some of the steps too short skipped."""
    runs = clock(lambda n: n * 1e-6)  # 1 µs a character: MIN_SECONDS at 50,000
    n, ratio = growth(str, Shape("", "x"), start)
    doubled = [start * 2**k for k in range(20)]
    assert n == next(size for size in doubled if size * 1e-6 >= MIN_SECONDS) and ratio == 2
    calibration = runs[: runs.index(n) + 1]
    assert set(calibration) <= set(doubled) and calibration == sorted(calibration)
    assert runs[len(calibration) :] == [n, 2 * n] * 3  # n and 2n in turn, three times each


def test_a_quadratic_reader_fails_after_measuring_longer(clock):
    runs = clock(lambda n: n * n * 1e-11)
    with pytest.raises(AssertionError, match=r"t\(2n\)/t\(n\) = 4\.0"):
        assert_linear(str, Shape("", "x"))
    n = max(runs) // 2
    assert n * n * 1e-11 >= MIN_SECONDS and runs.count(n) == 1 + 3 + 7 + 15  # calibration, then each round


@pytest.mark.parametrize(("slowed", "rounds"), [(1, [3]), (2, [3]), (3, [3, 7])])
def test_a_linear_reader_slowed_for_a_while_passes_when_measured_longer(clock, slowed, rounds):
    """The first `slowed` runs of 2n take 4× as long (a busy machine): the best of a round's runs
    counts, and a round whose best is slowed is followed by a longer one."""
    slow = iter([4] * slowed)
    runs = clock(lambda n: n * 1e-6 * (next(slow, 1) if n > 100_000 else 1))  # 2n > 100,000 > n
    n, ratio = growth(str, Shape("", "x"))
    assert ratio == 2 and runs[runs.index(n) + 1 :] == [n, 2 * n] * sum(rounds)  # after the calibration


def test_a_reader_faster_than_min_seconds_on_max_size_passes(clock):
    runs = clock(lambda n: n * 1e-9)
    assert growth(str, Shape("", "x")) == (MAX_SIZE, 1.0) and runs[-1] == MAX_SIZE


def quadratic(text: str) -> int:
    """n / 32 searches, each through half the text."""
    return sum(text.count("x", i, i + len(text) // 2) for i in range(0, len(text), 32))


def test_a_quadratic_reader_fails_on_real_time(monkeypatch):
    monkeypatch.setattr(doubling, "MIN_SECONDS", MIN_SECONDS / 5)  # 26 rounds at a fifth of the size: 2 s, not 12
    with pytest.raises(AssertionError, match=r"quadratic on ''"):
        assert_linear(quadratic, Shape("", "ab"))
