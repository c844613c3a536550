"""The retry policy of arun's API requests, in one place: the SDK path (`Api.call`, runner/api/session.py)
and plan's plain-HTTP listings (`Lister.get`, runner/apply/listing.py) differ only in what an attempt
raises, so each says what its attempt ended with, and `retrying` decides what follows.

- Every attempt is counted (the request counts that replay and apply report).
- A transient answer (the statuses of `RETRY_STATUSES`) is tried again after Retry-After when the server
  sent one, else after the backoff, which doubles per attempt; until `attempts` tries are spent.
- A refused or dropped connection is tried at most three times: a server that is not there should be said
  so within a second, not after six backoffs.
- No wait is longer than 20 s, whatever Retry-After asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Tries of an attempt that could not connect, at most (fewer when `attempts` is smaller).
CONNECTION_TRIES = 3
# Seconds: the longest wait between two attempts.
MAX_WAIT = 20.0


class Again:
    """An attempt that may be tried again: `error` is what is raised if it is not (the attempts spent);
    `wait` the seconds the server asked for (Retry-After), if any; `connection`: it could not connect."""

    __slots__ = ("connection", "error", "wait")

    def __init__(self, error: BaseException, wait: float | None = None, *, connection: bool = False) -> None:
        self.error, self.wait, self.connection = error, wait, connection


def retrying(
    attempt: Callable[[], T | Again],
    *,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
    count: Callable[[], None],
) -> T:
    """`attempt()`'s result, tried again by the policy above while it answers `Again`. An error it raises
    itself (an answer that is final, such as a 400) goes through at once."""
    delay = backoff
    for number in range(1, attempts + 1):
        count()
        outcome = attempt()
        if not isinstance(outcome, Again):
            return outcome
        if number >= (min(attempts, CONNECTION_TRIES) if outcome.connection else attempts):
            raise outcome.error
        sleep(min(outcome.wait or delay, MAX_WAIT))
        delay *= 2
    raise ValueError(f"attempts must be at least 1, not {attempts}")
