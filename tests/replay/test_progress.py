"""Replay progress: a live counter on a terminal, one plain line per scenario elsewhere."""

from __future__ import annotations

import io

import pytest

from runner.replay.play import Outcome
from runner.replay.progress import Progress, live_wanted


def outcome(result: str, failures: list[str] | None = None) -> Outcome:
    return Outcome("x", {"result": result, "turns": [{}]}, failures or [])


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(2, live=live_wanted(out), color=False, stream=out)
    progress.done("a/one", outcome("passed"))
    progress.tick()
    progress.done("a/two", outcome("failed", ["turn 1: contains 'x': missing"]))
    progress.finish()
    assert out.getvalue() == (
        "PASS    a/one (1 turn)\nFAIL    a/two (1 turn): turn 1: contains 'x': missing\n"
    )


def test_a_live_counter_on_a_terminal_and_a_line_only_for_what_did_not_pass() -> None:
    out = Tty()
    assert live_wanted(out)
    progress = Progress(3, live=live_wanted(out), color=False, stream=out)
    progress.done("a/one", outcome("passed"))
    progress.done("a/two", outcome("failed", ["turn 1: boom"]))
    progress.done("b", outcome("passed"))
    progress.finish()
    text = out.getvalue()
    assert "PASS" not in text
    assert "FAIL    a/two (1 turn): turn 1: boom\n" in text
    frames = [f for f in text.split("\r\x1b[K") if f.startswith("[")]
    assert [f.rsplit(" ", 1)[0] for f in frames] == [
        "[1/3] 1 passed",
        "[2/3] 1 passed 1 failed",
        "[3/3] 2 passed 1 failed",
    ]
    assert all(f.endswith("s") for f in frames)
    assert text.endswith("\r\x1b[K")  # the counter is cleared before the summary line


def test_ci_keeps_plain_lines_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert not live_wanted(Tty())
