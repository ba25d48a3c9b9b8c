"""Linear-time checks for the readers of report and scraped text (issue 26): time a reader on an
input of size n and 2n, n grown until one run takes at least 50 ms, and require the time to grow at
most 2.5× (4× is quadratic, 8× cubic). Inputs are adversarial shapes: runs of one piece (spaces,
brackets, quotes, `;`…) between a head and a tail, optionally cut into pieces of at most `cap`
characters (a reader that bounds its work per citation is still checked inside that bound)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MIN_SECONDS = 0.05
MAX_RATIO = 2.5
MAX_SIZE = 1 << 22  # 4 M characters read in under MIN_SECONDS (12 ns each): no super-linear reader is that fast
GROWTH = 8  # the most n grows in one step while doubling: the steps skipped are far too short


@dataclass(frozen=True)
class Shape:
    """`head + unit × k + tail`, k chosen for about n characters; with `cap`, such pieces of at most
    `cap` characters (each on its own line when `line`), repeated to about n characters."""

    head: str
    unit: str
    tail: str = ""
    cap: int | None = None
    line: bool = False

    def __call__(self, n: int) -> str:
        if self.cap is None:
            return self.head + self.unit * max(1, n // len(self.unit)) + self.tail
        size = min(n, self.cap)
        piece = self.head + self.unit * max(1, size // len(self.unit)) + self.tail + ("\n" if self.line else "")
        return piece * max(1, n // len(piece))

    def __repr__(self) -> str:
        cut = f", cap={self.cap}" if self.cap else ""
        return f"{self.head!r} + {self.unit!r}×k + {self.tail!r}{cut}"


def _timed(function: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    function(text)
    return time.perf_counter() - start


@contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector off while timing (its passes land at arbitrary sizes), after one full
    pass whose survivors are then frozen: the passes between rounds walk only what the timed runs
    made, not the whole test session's heap (a million objects late in a full run: 0.1 s a pass)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


def paired_ratio(function: Callable[[str], object], small: str, large: str) -> float:
    """t(large) / t(small), measured as `growth` measures it (turns, the garbage collector paused,
    longer rounds before a ratio over MAX_RATIO is believed): for an input whose size is set."""
    with collector_paused():
        return _ratio(function, [small, large], (3, 7, 15))


def _paired(function: Callable[[str], object], texts: list[str], runs: int) -> list[list[float]]:
    """Each text's run times, the texts taking turns: a machine busy for a while slows both."""
    gc.collect()  # what earlier runs left (only that: the rest is frozen)
    times: list[list[float]] = [[] for _ in texts]
    for _ in range(runs):
        for taken, text in zip(times, texts):
            taken.append(_timed(function, text))
    return times


def _doubled(function: Callable[[str], object], shape: Callable[[int], str], start: int) -> tuple[int, str | None]:
    """The first n of start × 2^k at which one run takes MIN_SECONDS, and its text; (n, None) for
    the first n >= MAX_SIZE when a run on it is faster. Steps too short to reach MIN_SECONDS even
    were the time cubic are skipped (up to GROWTH× at once): a reader up to cubic gets the n of
    plain doubling (a slower one's failing check takes no longer than with plain doubling)."""
    n = start
    while (taken := _timed(function, text := shape(n))) < MIN_SECONDS:
        if n >= MAX_SIZE:
            return n, None
        factor = GROWTH
        while factor > 2 and (taken * factor**3 > MIN_SECONDS or n * factor // 2 >= MAX_SIZE):
            factor //= 2
        n *= factor
    return n, text


def growth(function: Callable[[str], object], shape: Callable[[int], str], start: int = 64) -> tuple[int, float]:
    """(n, t(2n) / t(n)) for the first n (doubling from `start`) at which one run takes MIN_SECONDS,
    each t the best of a few runs, or t(4n) / t(2n) when that is less: a linear reader whose input
    outgrows the processor's cache at n slows once (2.8× at 2n, seen in a full run), a super-linear
    one at every doubling; (n, 1.0) when a run on n >= MAX_SIZE characters is faster."""
    with collector_paused():
        n, text = _doubled(function, shape, start)
        if text is None:
            return n, 1.0
        ratio = _ratio(function, [text, shape(2 * n)], (3, 7, 15))
        if ratio > MAX_RATIO:  # a step (the input outgrows a cache) shows at one doubling, growth at each
            ratio = min(ratio, _ratio(function, [shape(2 * n), shape(4 * n)], (3, 7)))
    return n, ratio


def _ratio(function: Callable[[str], object], texts: list[str], rounds: tuple[int, ...]) -> float:
    """t(texts[1]) / t(texts[0]), each the best of a round's runs; a busy machine: the next, longer
    round before calling it super-linear."""
    for runs in rounds:
        small, large = _paired(function, texts, runs)
        ratio = min(large) / max(min(small), 1e-9)
        if ratio <= MAX_RATIO:
            break
    return ratio


def assert_linear(function: Callable[[str], object], shape: Callable[[int], str], start: int = 64) -> None:
    n, ratio = growth(function, shape, start)
    assert ratio <= MAX_RATIO, (
        f"{getattr(function, '__name__', function)} on {shape!r}: n={n}, t(2n)/t(n) = {ratio:.1f}"
    )
