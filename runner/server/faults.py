"""Faults for testing clients (`arun serve --fault K=P --seed N`), drawn from seeded random sources.

Scope: faults only touch the run operations (create thread and run, runs, submit tool outputs, cancel, run
steps), the calls a conversation client makes over and over. Assistants, threads, messages, files and
vector stores never fail on purpose, so `arun apply` and a test's own setup stay deterministic.

Each kind draws from its own `random.Random`, seeded with the seed and the kind's name, so that switching
one kind on does not change when another fires. With one client making requests in order, the same seed
gives the same faults at the same requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from runner.errors import ConfigError
from runner.server.exceptions import ApiError, InternalError, RateLimited

KINDS = ("rate_limit", "server_error", "drop_stream", "run_failed")

# Seconds a client is told to wait after a 429; short, since the limit is made up.
RETRY_AFTER = 1.0
RATE_LIMIT_MESSAGE = (
    "Rate limit reached for requests in organization org-local on requests per min (RPM): Limit 60, Used "
    "60, Requested 1. Please try again in 1s. (fault injected by arun serve --fault rate_limit)"
)


def parse_fault(text: str) -> tuple[str, float]:
    """`rate_limit=0.1` -> ("rate_limit", 0.1); a ConfigError names what is wrong."""
    kind, sep, value = text.partition("=")
    kind = kind.strip()
    if not sep or kind not in KINDS:
        raise ConfigError(f"--fault {text!r}: expected KIND=P with KIND one of {', '.join(KINDS)}.")
    try:
        probability = float(value)
    except ValueError:
        raise ConfigError(f"--fault {text!r}: P must be a number between 0 and 1.") from None
    if not 0.0 <= probability <= 1.0:
        raise ConfigError(f"--fault {text!r}: P must be a number between 0 and 1.")
    return kind, probability


@dataclass
class Faults:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = {kind: random.Random(f"{self.seed}:{kind}") for kind in KINDS}
        # Handlers run on one event loop, but the engine's worker threads may draw too.
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...], seed: int = 0) -> Faults:
        return cls(dict(parse_fault(s) for s in specs), seed)

    def fires(self, kind: str) -> bool:
        rate = self.rates.get(kind, 0.0)
        if rate <= 0.0:
            return False
        with self._lock:
            return self._random[kind].random() < rate

    def choose(self, kind: str, options: list[str]) -> str:
        with self._lock:
            return self._random[kind].choice(options)

    def request_fault(self) -> ApiError | None:
        """The refusal a run operation answers with instead of doing anything (so retrying is safe)."""
        if self.fires("rate_limit"):
            return RateLimited(RATE_LIMIT_MESSAGE, RETRY_AFTER)
        if self.fires("server_error"):
            return InternalError()
        return None

    def stream_cut(self) -> int | None:
        """After how many events a new stream is cut off, or None to deliver it whole. Every stream has at
        least three events before `done`, so a cut after one to three is always mid-way."""
        if not self.fires("drop_stream"):
            return None
        return int(self.choose("drop_stream", ["1", "2", "3"]))

    def run_failure(self) -> str | None:
        """The `last_error.code` of a run made to fail, or None."""
        if not self.fires("run_failed"):
            return None
        return self.choose("run_failed", ["server_error", "rate_limit_exceeded"])
