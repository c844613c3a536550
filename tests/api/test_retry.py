"""The one retry policy of API requests (runner/api/retry.py), at its edges; tests/apply/test_listing.py
checks that the SDK path and plan's plain-HTTP listings follow it alike."""

from __future__ import annotations

from typing import Any

import pytest

from runner.api.retry import CONNECTION_TRIES, MAX_WAIT, Again, retrying


class Final(Exception):
    pass


def _run(outcomes: list[Any], attempts: int = 6, backoff: float = 0.25) -> tuple[Any, list[float], int]:
    """retrying() over a script of outcomes (an Again, an exception to raise, or a result)."""
    waits: list[float] = []
    counted = 0

    def count() -> None:
        nonlocal counted
        counted += 1

    def attempt() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    try:
        result: Any = retrying(attempt, attempts=attempts, backoff=backoff, sleep=waits.append, count=count)
    except Final as exc:
        result = exc
    return result, waits, counted


def test_a_result_at_once_is_one_counted_attempt() -> None:
    assert _run(["page"]) == ("page", [], 1)


def test_transient_answers_back_off_doubling_until_one_succeeds() -> None:
    result, waits, counted = _run([Again(Final("busy"))] * 3 + ["page"])
    assert (result, waits, counted) == ("page", [0.25, 0.5, 1.0], 4)


def test_retry_after_is_followed_and_a_zero_falls_back_to_the_backoff() -> None:
    result, waits, _ = _run([Again(Final("slow"), 1.5), Again(Final("slow"), 0.0), "page"])
    assert (result, waits) == ("page", [1.5, 0.5])


def test_no_wait_is_longer_than_the_cap() -> None:
    result, waits, _ = _run([Again(Final("slow"), 3600.0), Again(Final("x"))] * 2 + ["page"], backoff=16.0)
    assert result == "page"
    assert waits == [MAX_WAIT, MAX_WAIT, MAX_WAIT, MAX_WAIT] and MAX_WAIT == 20.0


def test_transient_answers_are_tried_attempts_times_then_the_last_error_is_raised() -> None:
    errors = [Final(f"busy {n}") for n in range(6)]
    result, waits, counted = _run([Again(e) for e in errors])
    assert result is errors[-1] and counted == 6 and len(waits) == 5


def test_a_refused_connection_is_tried_three_times() -> None:
    errors = [Final(f"refused {n}") for n in range(6)]
    result, waits, counted = _run([Again(e, connection=True) for e in errors])
    assert result is errors[CONNECTION_TRIES - 1] and counted == CONNECTION_TRIES == 3
    assert waits == [0.25, 0.5]
    # Fewer attempts allowed than that: those.
    result, _, counted = _run([Again(Final("refused"), connection=True)] * 3, attempts=2)
    assert counted == 2


def test_a_final_answer_goes_through_at_once() -> None:
    final = Final("400")
    assert _run([Again(Final("busy")), final, "never"]) == (final, [0.25], 2)


def test_no_attempts_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retrying(lambda: "x", attempts=0, backoff=0.0, sleep=lambda _s: None, count=lambda: None)
