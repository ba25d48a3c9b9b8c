"""The linear-time check itself (tests/doubling.py): the size it times takes MIN_SECONDS, a reader
whose time grows 4× with 2× the input fails it and a linear one passes. Its logic on a made-up clock
(a reader's time a formula of its input's length), then once on real time."""

from __future__ import annotations

import time

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


@pytest.mark.parametrize(("power", "unit"), [(2, 1000), (2, 2000), (3, 1000), (3, 5000)])
def test_a_super_linear_reader_fails_after_measuring_longer_at_plain_doublings_size(clock, power, unit):
    """(n / unit)^power ms: its check fails, and takes no longer than with plain doubling."""
    time = lambda n: (n / unit) ** power * 1e-3  # noqa: E731
    runs = clock(time)
    with pytest.raises(AssertionError, match=rf"t\(2n\)/t\(n\) = {2**power}\.0"):
        assert_linear(str, Shape("", "x"))
    n = next(64 * 2**k for k in range(20) if time(64 * 2**k) >= MIN_SECONDS)
    assert runs.count(n) == 1 + 3 + 7 + 15  # calibration, then each round
    assert runs.count(4 * n) == 3 + 7 and max(runs) == 4 * n  # then once more, a doubling further


def test_a_linear_reader_that_slows_once_as_its_input_outgrows_a_cache_passes(clock):
    """2.8× the time a character past 100,000 characters (seen on claim_facts at 2^20 in a full
    run): the next doubling grows 2×."""
    runs = clock(lambda n: n * 1e-6 * (2.8 if n > 100_000 else 1))  # n = 65,536 at MIN_SECONDS
    assert growth(str, Shape("", "x")) == (65_536, 2.0) and max(runs) == 4 * 65_536


@pytest.mark.parametrize(("slowed", "rounds"), [(1, [3]), (2, [3]), (3, [3, 7])])
def test_a_linear_reader_slowed_for_a_while_passes_when_measured_longer(clock, slowed, rounds):
    """The first `slowed` runs of 2n take 4× as long (a busy machine): the best of a round's runs
    counts, and a round whose best is slowed is followed by a longer one."""
    slow = iter([4] * slowed)
    runs = clock(lambda n: n * 1e-6 * (next(slow, 1) if n > 100_000 else 1))  # 2n > 100,000 > n
    n, ratio = growth(str, Shape("", "x"))
    assert ratio == 2 and runs[runs.index(n) + 1 :] == [n, 2 * n] * sum(rounds)  # after the calibration


def test_a_reader_faster_than_min_seconds_on_max_size_passes(clock):
    runs = clock(lambda n: n * 1e-11)  # far faster: steps of 8× up to MAX_SIZE, not past it
    assert growth(str, Shape("", "x")) == (MAX_SIZE, 1.0) and runs[-1] == MAX_SIZE


def quadratic(text: str) -> int:
    """n / 32 searches, each through half the text."""
    return sum(text.count("x", i, i + len(text) // 2) for i in range(0, len(text), 32))


def test_a_quadratic_reader_fails_on_real_time(monkeypatch):
    """At a fifth of the size (26 rounds: 3 s, not 12), on CPU time: at that size, a busy machine's
    waits for a core could hide the growth."""

    def timed(function, text):
        start = time.process_time()
        function(text)
        return time.process_time() - start

    monkeypatch.setattr(doubling, "MIN_SECONDS", MIN_SECONDS / 5)
    monkeypatch.setattr(doubling, "_timed", timed)
    with pytest.raises(AssertionError, match=r"quadratic on ''"):
        assert_linear(quadratic, Shape("", "ab"))
