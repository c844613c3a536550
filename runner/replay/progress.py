"""What a replay shows while it runs: a live counter on a terminal, one plain line per scenario elsewhere.

On a terminal (and not in CI) one line is rewritten in place, `[12/52] 10 passed 2 failed 3.4s`, and
only the scenarios that did not pass get a line of their own above it. In CI, or when stdout is a file or
a pipe, every scenario gets its line as it finishes: that log is the record.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click

from runner.replay import report
from runner.replay.play import Outcome
from runner.transcript.golden import in_ci

CLEAR = "\r\x1b[K"  # back to the line's start, erase it
_ORDER = ("passed", "failed", "error", "interrupted")


def live_wanted(stream: TextIO) -> bool:
    return stream.isatty() and not in_ci()


class Progress:
    def __init__(
        self, total: int, *, live: bool, color: bool, quiet: bool = False, stream: TextIO | None = None
    ) -> None:
        self.total = total
        self.live = live and not quiet
        self.quiet = quiet
        self.color = color
        self.stream = stream
        self.started = time.perf_counter()
        self.tally = dict.fromkeys(_ORDER, 0)
        self._shown = False

    def counter(self) -> str:
        done = sum(self.tally.values())
        parts = [f"{n} {k}" for k, n in self.tally.items() if n or k == "passed"]
        return f"[{done}/{self.total}] {' '.join(parts)} {time.perf_counter() - self.started:.1f}s"

    def _write(self, text: str, nl: bool) -> None:
        click.echo(text, nl=nl, color=self.color, file=self.stream or sys.stdout)

    def _control(self, text: str) -> None:
        # Written as is: click strips escape sequences when colour is off, and this one is no colour.
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self._control(CLEAR)
            self._shown = False

    def done(self, name: str, outcome: Outcome) -> None:
        self.tally[outcome.result] += 1
        if self.quiet:
            return
        line = report.progress_line(name, outcome, color=self.color)
        if not self.live:
            self._write(line, nl=True)
            return
        self._clear()
        if outcome.result != "passed":
            self._write(line, nl=True)
        self.tick()

    def tick(self) -> None:
        if self.live:
            self._control(CLEAR + self.counter())
            self._shown = True

    def finish(self) -> None:
        self._clear()
