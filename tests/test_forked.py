"""build_tools/forked.py: work done in a forked process gives what the work gives in the caller,
and the caller does it itself (raising its own errors) when the child gives no answer."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from build_tools import forked

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="needs fork and two cores")


def test_the_value_comes_from_a_child_process():
    parent = os.getpid()
    child = forked.Forked(lambda: (os.getpid(), [b"x" * 3_000_000, {"k": (1, "二")}]))
    pid, value = child.result()
    assert pid != parent and child.answered
    assert value == [b"x" * 3_000_000, {"k": (1, "二")}]  # larger than a pipe's buffer: read whole


def test_asked_again_the_result_is_the_first_answer_not_the_work_done_here():
    """A build takes the claims' child's answer before the chunks are segmented (once `ready`), and
    the audit asks for it again: the child's answer, read once, never the work done here."""
    child = forked.Forked(os.getpid)
    while not child.ready():
        time.sleep(0.01)
    first = child.result()
    assert first != os.getpid() and child.ready()
    assert child.result() == first and child.answered


def test_the_child_runs_while_the_caller_goes_on():
    child = forked.Forked(lambda: time.sleep(0.5) or time.monotonic())
    started = time.monotonic()
    time.sleep(0.5)  # the caller's own work, at the same time
    assert child.result() - started < 0.9 and child.answered


def test_without_fork_the_work_runs_here():
    child = forked.Forked(os.getpid, fork=False)
    assert child.result() == os.getpid() and not child.answered


def test_an_error_in_the_work_is_raised_here():
    def work():
        raise ValueError("bad input")

    child = forked.Forked(work)
    with pytest.raises(ValueError, match="bad input"):
        child.result()  # done again here: the error is the caller's, as without a child
    assert not child.answered


def test_a_child_killed_before_answering_is_replaced_by_the_work_here():
    parent = os.getpid()

    def work():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return "made here"

    child = forked.Forked(work)
    assert child.result() == "made here" and not child.answered


def test_cancel_ends_the_child():
    child = forked.Forked(lambda: time.sleep(60))
    pid = child.pid
    started = time.monotonic()
    child.cancel()
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no longer a child of this process


def test_cancel_from_another_thread_ends_the_wait_without_doing_the_work_here():
    """A serve rebuild's search index is cancelled by the next edit while a thread waits for it:
    that thread must not then make the index itself (seconds at 10,000 sources)."""
    parent = os.getpid()
    done_here = []

    def work():
        if os.getpid() == parent:
            done_here.append(True)
        time.sleep(60)

    child = forked.Forked(work)
    pid = child.pid
    outcome = []

    def wait() -> None:
        try:
            child.result()
        except forked.Cancelled:
            outcome.append("cancelled")

    waiting = threading.Thread(target=wait)
    waiting.start()
    time.sleep(0.2)  # the thread is reading the child's pipe
    started = time.monotonic()
    child.cancel()
    waiting.join(10)
    assert not waiting.is_alive() and time.monotonic() - started < 5
    assert outcome == ["cancelled"] and not done_here
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_after_cancel_the_work_is_not_done_here_even_when_the_child_had_answered():
    child = forked.Forked(lambda: "made")
    time.sleep(0.3)  # answered and exited: there is nothing left to kill
    child.cancel()
    with pytest.raises(forked.Cancelled):
        child.result()  # cancel read and dropped the answer
