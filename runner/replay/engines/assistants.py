"""The client layer replay uses to reach the Assistants API (DESIGN.md, "Seams").

Streaming (the default): the first turn is one create-thread-and-run request, each later turn one
create-run request carrying the user's message in `additional_messages`, each tool round one
submit-tool-outputs request, all streamed: no polls, no separate message requests. An assistant with
file_search gets its thread created first, because create-thread-and-run takes no `include[]` and the
search results' content belongs in the transcript. Polling mode exists for servers without streaming.
Every run this engine starts ends terminal, or is cancelled by it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

from runner.api.session import Api
from runner.errors import ApiError, RunnerError
from runner.replay.collect import TERMINAL, TurnState
from runner.replay.engines.base import Outputs, Rendered, Stopper
from runner.transcript.assistants import API, replies, run_section, steps, tool_uses
from runner.transcript.form import Placeholders

if TYPE_CHECKING:
    from runner.replay.play import Target

SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
DELTAS = frozenset({"thread.message.delta", "thread.run.step.delta"})


@dataclass
class Conversation:
    assistant_id: str
    search_content: bool  # the assistant has file_search: ask for result content (include[])
    instructions: str | None = None  # the assistant's, as applied
    thread_id: str | None = None


def fold_additional(settings: dict[str, Any], assistant_instructions: str | None) -> dict[str, Any]:
    """Create-thread-and-run takes no `additional_instructions`; the API appends them to the instructions
    after a blank line, so send that sum as `instructions` and keep the first turn one request."""
    if "additional_instructions" not in settings:
        return settings
    folded = dict(settings)
    extra = folded.pop("additional_instructions")
    base = folded.get("instructions", assistant_instructions) or ""
    folded["instructions"] = f"{base}\n\n{extra}" if base else extra
    return folded


class AssistantsEngine:
    protocol = API

    def __init__(self, api: Api, stopper: Stopper, *, poll: bool = False, timeout: float = 300.0) -> None:
        self.api = api
        self.stopper = stopper
        self.poll = poll
        self.timeout = timeout

    def open(self, target: Target) -> Conversation:
        return Conversation(target.id, target.search, target.instructions)

    def retry_turn(
        self, conv: Conversation, first: TurnState, settings: dict[str, Any], outputs: Outputs
    ) -> TurnState:
        """A new run on the thread without a new message; the turn shows both runs' steps and messages."""
        retry = self.run_turn(conv, None, settings, outputs)
        retry.retried, retry.steps, retry.messages = (
            1,
            {**first.steps, **retry.steps},
            {**first.messages, **retry.messages},
        )
        retry.usages = {**first.usages, **retry.usages}
        return retry

    def render(self, turn: TurnState, settings: dict[str, Any], ids: Placeholders) -> Rendered:
        reply_data, cited = replies(turn, ids)
        return Rendered(
            run_section(turn, settings, ids), steps(turn, ids), reply_data, cited, tool_uses(turn)
        )

    def cancel_active(self) -> None:
        """Ctrl-C: send each active run's cancel once (the workers then only wait for it), and say what
        really happened: a cancel the API refused because the run had ended meanwhile is no failure."""
        with self.stopper.lock:
            active = dict(self.stopper.active)
        runs: Any = self.api.client.beta.threads.runs
        sent, failed = 0, []
        for run_id, thread_id in active.items():
            if not self.stopper.claim(run_id):
                continue
            try:
                self.api.call("cancel a run", runs.cancel, run_id, thread_id=thread_id, write=True)
                sent += 1
            except RunnerError as exc:
                try:
                    status = self.api.call("look up a run", runs.retrieve, run_id, thread_id=thread_id).status
                except RunnerError:
                    status = None
                if status not in TERMINAL:
                    failed.append(f"arun: could not cancel {run_id}: {exc}")
        if sent:
            click.echo(f"arun: cancelled {sent} active run{'s' if sent != 1 else ''}.", err=True)
        for line in failed:
            click.echo(line, err=True)

    # One turn

    def run_turn(
        self, conv: Conversation, message: dict[str, Any] | None, settings: dict[str, Any], outputs: Outputs
    ) -> TurnState:
        """One run on the conversation's thread; `message` None runs again without a new message."""
        if message is None and conv.thread_id is None:
            raise ApiError("cannot run again: the conversation has no thread yet")
        state = TurnState(thread_id=conv.thread_id)
        deadline = time.monotonic() + self.timeout
        threads: Any = self.api.client.beta.threads
        include = [SEARCH_CONTENT] if conv.search_content else []
        stream = not self.poll
        # Create-thread-and-run takes no include[]: a file_search assistant's first turn creates its thread
        # first (one more request for that scenario), so the search results' content reaches the transcript.
        if conv.thread_id is None and (conv.search_content or self.poll):
            thread = self.api.call("create thread", threads.create, messages=[message], write=True)
            conv.thread_id = state.thread_id = thread.id
            first: Callable[[], Any] = partial(self._create_run, conv, None, settings, include, stream)
        elif conv.thread_id is None:
            body = {
                "assistant_id": conv.assistant_id,
                "thread": {"messages": [message]},
                **fold_additional(settings, conv.instructions),
            }
            first = partial(self.api.stream, "threads/runs", body, beta=True)
        else:
            first = partial(self._create_run, conv, message, settings, include, stream)
        self._drive(state, first, deadline)
        conv.thread_id = conv.thread_id or state.thread_id
        while (
            state.status == "requires_action" and self.stopper.reason is None and time.monotonic() < deadline
        ):
            assert state.run_id is not None and state.thread_id is not None
            tool_outputs = outputs(state.required_calls())
            submit: Callable[[], Any] = (
                partial(
                    threads.runs.submit_tool_outputs,
                    state.run_id,
                    thread_id=state.thread_id,
                    tool_outputs=tool_outputs,
                    stream=False,
                )
                if self.poll
                else partial(
                    self.api.stream,
                    f"{_run_path(state.thread_id, state.run_id)}/submit_tool_outputs",
                    {"tool_outputs": tool_outputs},
                    beta=True,
                )
            )
            self._drive(state, submit, deadline)
        self._finish(state, deadline)
        return state

    def _create_run(
        self,
        conv: Conversation,
        message: dict[str, Any] | None,
        settings: dict[str, Any],
        include: list[str],
        stream: bool,
    ) -> Any:
        extra: dict[str, Any] = {"additional_messages": [message]} if message else {}
        assert conv.thread_id is not None
        if not stream:
            runs: Any = self.api.client.beta.threads.runs
            if include:
                extra["include"] = include
            return runs.create(
                conv.thread_id, assistant_id=conv.assistant_id, stream=False, **settings, **extra
            )
        body = {"assistant_id": conv.assistant_id, **settings, **extra}
        query = {"include[]": include} if include else None  # as the SDK writes a list in a query
        return self.api.stream(_run_path(conv.thread_id), body, query=query, beta=True)

    # Driving a run to a stop: requires_action, terminal, or cancelled by us

    def _drive(self, state: TurnState, start: Callable[[], Any], deadline: float) -> None:
        response = self.api.call("start a run", start, write=True)
        if self.poll:
            state.see_run(response.model_dump(mode="json"))
            self._track(state)
            self._poll(state, deadline)
            return
        with self.stopper.lock:
            self.stopper.streams.add(response)
        try:
            for event in response:
                # The deltas (most of a stream) are not read: the run's finished objects follow them.
                if event.name not in DELTAS:
                    state.see_event(event.name or "", event.json())
                    self._track(state)
                if self.stopper.reason is not None or time.monotonic() > deadline:
                    break
        except ApiError:
            raise
        except Exception as exc:  # a dropped stream: the run goes on server-side, so look it up
            state.error = f"stream ended early ({type(exc).__name__}); the run was looked up instead"
            dropped = True
        else:
            dropped = False
        finally:
            with self.stopper.lock:
                self.stopper.streams.discard(response)
            response.close()
        if state.run_id is None and state.thread_id is not None:
            # The stream broke before it named the run (create-thread-and-run sends the thread first).
            runs: Any = self.api.client.beta.threads.runs
            page = self.api.call("find the run", runs.list, state.thread_id, limit=1, order="desc")
            if page.data:
                state.see_run(page.data[0].model_dump(mode="json"))
        if state.run_id is None:
            raise ApiError(f"the stream ended before the run started ({state.error or 'no events'})")
        if dropped and state.status not in TERMINAL:
            # What we saw last may be stale (a cut submit stream still shows requires_action): ask.
            runs = self.api.client.beta.threads.runs
            fresh = self.api.call("poll a run", runs.retrieve, state.run_id, thread_id=state.thread_id)
            state.see_run(fresh.model_dump(mode="json"))
        if dropped or (state.status not in TERMINAL and state.status != "requires_action"):
            self._poll(state, deadline)  # follows the run, then lists the steps and messages we missed

    def _track(self, state: TurnState) -> None:
        self.stopper.track(state.thread_id, state.run_id, state.status not in TERMINAL)

    def _poll(self, state: TurnState, deadline: float) -> None:
        runs: Any = self.api.client.beta.threads.runs
        wait = 0.1
        while state.status not in TERMINAL and state.status != "requires_action":
            if self.stopper.reason is not None or time.monotonic() > deadline:
                return
            raw = self.api.call(
                "poll a run", runs.with_raw_response.retrieve, state.run_id, thread_id=state.thread_id
            )
            state.see_run(raw.parse().model_dump(mode="json"))
            self._track(state)
            hint = raw.headers.get("openai-poll-after-ms")
            wait = float(hint) / 1000 if hint and hint.isdigit() else min(wait * 2, 2.0)
            if state.status not in TERMINAL and state.status != "requires_action":
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        self._fetch_objects(state)

    def _fetch_objects(self, state: TurnState) -> None:
        """Polling sees runs, not steps or messages: list them once the run has stopped."""
        threads: Any = self.api.client.beta.threads
        run_id, thread_id = state.run_id, state.thread_id
        include = [SEARCH_CONTENT]
        for step in self.api.list_all(
            "list run steps", threads.runs.steps.list, run_id, thread_id=thread_id, include=include
        ):
            state.see_step(step.model_dump(mode="json"))
        for message in self.api.list_all("list messages", threads.messages.list, thread_id, run_id=run_id):
            state.see_message(message.model_dump(mode="json"))

    def _finish(self, state: TurnState, deadline: float) -> None:
        if state.status in TERMINAL:
            return
        why = self.stopper.reason or ("timeout" if time.monotonic() > deadline else "stopped")
        self.cancel(state, why)

    def cancel(self, state: TurnState, why: str) -> None:
        """Cancel an active run and wait (briefly) until the API says it is terminal."""
        state.cancelled_by_arun = why
        runs: Any = self.api.client.beta.threads.runs
        assert state.run_id is not None
        if self.stopper.claim(state.run_id):  # Ctrl-C's cancel may have been sent already: not twice
            try:
                state.see_run(
                    self.api.call(
                        "cancel a run", runs.cancel, state.run_id, thread_id=state.thread_id, write=True
                    ).model_dump(mode="json")
                )
            except ApiError as exc:
                if "400" not in str(exc):  # 400: it ended meanwhile, which is what we wanted
                    raise
        settle = time.monotonic() + 30
        while state.status not in TERMINAL and time.monotonic() < settle:
            time.sleep(0.05)
            state.see_run(
                self.api.call(
                    "poll a run", runs.retrieve, state.run_id, thread_id=state.thread_id
                ).model_dump(mode="json")
            )
        self._track(state)


def _run_path(thread_id: str, run_id: str | None = None) -> str:
    """The path of a thread's runs, or of one run, each id quoted as one path segment."""
    path = f"threads/{quote(thread_id, safe='')}/runs"
    return path if run_id is None else f"{path}/{quote(run_id, safe='')}"
