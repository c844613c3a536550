"""What every replay engine offers `play.py` (the client seam), and what the engines share.

An engine opens a conversation for a scenario's assistant, runs one turn at a time (a user message, the
tool rounds it needs, until the model's answer is terminal or arun cancels it), retries a turn once after a
transient failure, renders a turn as transcript data, and cancels what is still active when replay stops.
Each protocol has its own module beside this one; the transcript code has one home (runner/transcript/).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runner.api.session import Api
    from runner.replay.play import Target
    from runner.transcript.form import Placeholders

# Tool outputs for a round: given the calls as {"id", "function": {"name", "arguments"}}, the outputs as
# {"tool_call_id", "output"} (the Assistants API's words; other engines translate).
Outputs = Callable[[list[dict[str, Any]]], list[dict[str, str]]]
TRANSIENT_FAILURES = ("rate_limit_exceeded", "server_error")


@dataclass
class Stopper:
    """Shared by all workers: why replay is stopping (None while it is not), and the runs still active."""

    reason: str | None = None
    active: dict[str, str] = field(default_factory=dict)  # run id -> thread id (or "" where none)
    streams: set[Any] = field(default_factory=set)  # open event streams, closed to unblock their readers
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancelling: set[str] = field(default_factory=set)  # runs whose cancel was sent: once per run

    def claim(self, run_id: str) -> bool:
        """True for the one caller that should send this run's cancel; the others only wait for it."""
        with self.lock:
            if run_id in self.cancelling:
                return False
            self.cancelling.add(run_id)
            return True

    def close_streams(self) -> None:
        with self.lock:
            streams = list(self.streams)
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason

    def track(self, thread_id: str | None, run_id: str | None, live: bool) -> None:
        if not (thread_id and run_id):
            return
        with self.lock:
            if live:
                self.active[run_id] = thread_id
            else:
                self.active.pop(run_id, None)


@dataclass
class Rendered:
    """One turn as transcript data, protocol independent."""

    run: dict[str, Any]
    steps: list[dict[str, Any]]
    replies: list[dict[str, Any]]
    cited: list[str]  # one entry per citation
    uses: list[tuple[str, str, Any]]  # (type, name, parsed arguments) of every tool call


class TurnResult(Protocol):
    """What an engine hands back for one turn."""

    cancelled_by_arun: str | None
    retried: int

    @property
    def status(self) -> str: ...

    @property
    def failure_code(self) -> str | None: ...

    @property
    def usage(self) -> dict[str, int]: ...


class Engine(Protocol):
    """The client seam: one implementation per protocol."""

    api: Api
    stopper: Stopper
    protocol: str  # the transcript header's `api`

    def open(self, target: Target) -> Any:
        """A new conversation for a scenario with this assistant (nothing is requested yet)."""
        ...

    def run_turn(self, conv: Any, message: dict[str, Any], settings: dict[str, Any], outputs: Outputs) -> Any:
        """One user message and every tool round after it, ending terminal or cancelled by arun."""
        ...

    def retry_turn(self, conv: Any, first: Any, settings: dict[str, Any], outputs: Outputs) -> Any:
        """The turn again after a transient failure of `first`, as one result that shows both."""
        ...

    def render(self, turn: Any, settings: dict[str, Any], ids: Placeholders) -> Rendered: ...

    def cancel_active(self) -> None:
        """Ctrl-C: cancel what is still running on the API (the workers then wait for it to settle)."""
        ...


def transient(turn: TurnResult) -> bool:
    return turn.status == "failed" and turn.failure_code in TRANSIENT_FAILURES
