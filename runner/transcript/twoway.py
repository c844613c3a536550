"""Work over many files done by two processes: this one and one forked child (docs/performance.md, "Diff").

`arun diff` of a large changed set is CPU-bound in parsing, checking and showing transcripts, one file pair
at a time, independently. A forked child starts in a few milliseconds (it already has everything imported
and every file's bytes in memory) and does the second half of the work while this process does the first.

The child only ever hands back a finished result: if anything goes wrong in it (a bad file, an interrupt, a
bug), it says nothing and exits, and this process does the second half itself, after its own, so errors are
raised here, in the order and with the words of one process doing it all. Forking is used only where it is
safe and can pay: a POSIX `fork`, no other thread running (a replay's connection pools), two CPUs to run
on with one of them idle over the last minute, and enough work to be worth the child.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items the work takes well under a tenth of a second: one process is as fast.
MIN_ITEMS = 64


def _cpus() -> int:
    getaffinity = getattr(os, "sched_getaffinity", None)
    return len(getaffinity(0)) if getaffinity is not None else os.cpu_count() or 1


def _idle_cpu(cpus: int) -> bool:
    """Whether a CPU has been free over the last minute: on a machine that is busy already, a child only
    competes with this process (measured: slower than one process at load 4 on 2 CPUs)."""
    try:
        return os.getloadavg()[0] <= cpus - 1
    except OSError:
        return False


def can_fork(items: int) -> bool:
    if items < MIN_ITEMS or not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    cpus = _cpus()
    return cpus >= 2 and _idle_cpu(cpus)


def split(items: Sequence[T], run: Callable[[Sequence[T]], list[R]]) -> list[R]:
    """`run(items)`, the same list, with the second half done by a forked child when that pays."""
    if not can_fork(len(items)):
        return run(items)
    import pickle  # only here: diff's start-up does not pay for it

    half = len(items) // 2
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, hand back, and leave without running this process's exit code
        status = 1
        try:
            os.close(read_end)
            payload = pickle.dumps(run(items[half:]), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            status = 0
        except BaseException:  # any failure is redone by the parent, which reports it
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    child: int | None = pid
    try:
        first = run(items[:half])
        with os.fdopen(read_end, "rb") as answer:
            read_end = -1
            payload = answer.read()
        _, status = os.waitpid(pid, 0)
        child = None
        if status == 0 and payload:
            second: list[R] = pickle.loads(payload)  # our own child's bytes, over a pipe
        else:
            second = run(items[half:])
    finally:
        if read_end != -1:
            os.close(read_end)
        if child is not None:  # this process failed or was interrupted: the child's work is not wanted
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
    return first + second
