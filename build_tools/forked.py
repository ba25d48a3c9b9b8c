"""Work done in a forked process while the caller goes on: a build's second core.

`Forked(work)` forks at once and runs `work()` in the child, which inherits the caller's memory
(the knowledge base is not copied or pickled); `result()` waits for the child's answer, pickled
over a pipe. Where there is no fork, or the child fails in any way (an exception, a signal, no
answer), `result()` calls `work()` in the caller: the same value, and any error raised where the
build reports errors, as in a one-process build. `work` must therefore be a pure function of the
caller's state at the fork, and must not log (the child's log lines would escape a strict build's
count): it reports nothing but its value. `cancel()` may come from another thread while one waits
in `result()`, which then raises `Cancelled` instead of doing the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """A platform with fork, and more than one core to run the child on."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Cancelled(Exception):
    """The work was cancelled before it gave a value."""


class Forked(Generic[T]):
    def __init__(self, work: Callable[[], T], fork: bool = True) -> None:
        self.work = work
        self.pid: int | None = None  # the child, until reaped (a killed child is not reaped at once)
        self.pipe: int | None = None  # its answer, until a reader takes it
        self.answered = False  # the value came from the child
        self.cancelled = False
        self.value: tuple[T] | None = None  # once `result()` has it: asked again, the same value
        self.lock = threading.Lock()  # over pid and pipe: a child is killed only while not yet reaped
        if fork and can_fork():
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; ends in _answer
                os.close(read_end)
                _answer(work, write_end)
            os.close(write_end)
            self.pid, self.pipe = pid, read_end

    def result(self) -> T:
        """The child's value, or `work()`'s here when there is no child or it gave no value; asked
        again, the value it gave first (the child's answer is read once)."""
        if self.value is None:
            self.value = (self._value(),)
        return self.value[0]

    def _value(self) -> T:
        answer = self._child_answer()
        if answer is not None:
            try:
                value = pickle.loads(answer)
            except Exception:  # noqa: BLE001 - a damaged answer: the work is done again here
                pass
            else:
                self.answered = True
                return value
        if self.cancelled:
            raise Cancelled
        return self.work()

    def ready(self) -> bool:
        """Whether `result()` would not wait for the child's work: it is answering or has ended (or
        there is no child)."""
        with self.lock:
            pipe = self.pipe
        return pipe is None or bool(select.select([pipe], [], [], 0)[0])

    def cancel(self) -> None:
        """The child killed and reaped (the build failed, or it is no longer needed); a thread
        waiting in `result()` reaps it itself, and gets `Cancelled`."""
        with self.lock:
            self.cancelled = True
            if self.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        self._child_answer()

    def _child_answer(self) -> bytes | None:
        """The child's answer, read to its end, and the child reaped; None when it gave none, or
        another thread is reading it."""
        with self.lock:
            pipe, self.pipe = self.pipe, None
        if pipe is None:
            return None
        chunks = []
        try:
            while chunk := os.read(pipe, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        finally:
            os.close(pipe)
            with self.lock:
                status = os.waitpid(self.pid, 0)[1]
                self.pid = None
        if os.waitstatus_to_exitcode(status) != 0 or not chunks:
            return None
        return b"".join(chunks)


def _answer(work: Callable[[], object], pipe: int) -> None:
    """The child: `work()`'s value pickled into `pipe`, exit status 0; any failure, status 1 and
    nothing said (the caller does the work again and reports it). Never returns."""
    status = 1
    try:
        data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
        with open(pipe, "wb", closefd=True) as out:
            out.write(data)
        status = 0
    except BaseException:  # noqa: BLE001 - reported by the caller's own run of the work
        pass
    finally:
        os._exit(status)
