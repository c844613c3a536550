"""The replay engine for the Responses API (`arun replay --api responses`, docs/responses.md "Replay").

A turn is one streamed `POST /responses` carrying the user's message, and one more per tool round carrying
a `function_call_output` item for every call of that round: no polls, no separate reads. Built-in tools
(file_search, code_interpreter) run inside a response. The assistant travels inline in every request
(runner/responses/compile.py); where the conversation's earlier items live is the state mode:

- `conversation` (the default): one `POST /conversations` per scenario; every request names it and sends
  only what is new. The server keeps the items.
- `previous-response`: each request names the response before it (`previous_response_id`, `store: true`)
  and sends only what is new. The server keeps every response.
- `stateless`: `store: false`; every request sends the whole conversation so far (the items the server
  sent back, and ours). The server keeps nothing.

Every response this engine starts ends terminal. A foreground response cannot be cancelled on the API
(only background ones can); when replay stops or a turn's time is up the engine closes the stream and, where
the response is stored, waits briefly for it to end, recording the turn as cut short by arun.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.api.session import Api
from runner.errors import ApiError, RunnerError
from runner.project.models import Scenario
from runner.replay.engines.base import Outputs, Rendered, Stopper
from runner.responses.compile import Managed, NotOnResponses, compile_request
from runner.transcript.form import Placeholders
from runner.transcript.responses import API, run_from_responses, turn_from_responses, usage_from_responses

if TYPE_CHECKING:
    from runner.replay.play import Target

STATES = ("conversation", "previous-response", "stateless")
INCLUDE = (("file_search", "file_search_call.results"), ("code_interpreter", "code_interpreter_call.outputs"))
TERMINAL = ("completed", "failed", "cancelled", "incomplete")
# A response's stream has no `[DONE]`: it ends after one of these (a cancelled one just ends).
ENDS = frozenset({"response.completed", "response.failed", "response.incomplete"})
SETTLE_SECONDS = 30.0
STATELESS_TRIES = 3  # sends of one stateless request whose stream broke


@dataclass
class Conversation:
    """One scenario's conversation on the Responses API."""

    target: Target
    conversation_id: str | None = None  # state `conversation`
    previous_id: str | None = None  # state `previous-response`
    history: list[dict[str, Any]] = field(default_factory=list)  # state `stateless`: every item so far


@dataclass
class ResponsesTurn:
    """Every response of one turn (one per request), in order, and the outputs arun sent for its calls."""

    message: dict[str, Any] = field(default_factory=dict)  # the user's, sent again by a retry
    responses: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # by call_id
    retried: int = 0
    # The last request's new items and the turn's items before it: what a retry sends again.
    resume: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None
    cancelled_by_arun: str | None = None
    error: str | None = None

    @property
    def last(self) -> dict[str, Any]:
        return self.responses[-1] if self.responses else {}

    @property
    def status(self) -> str:
        return str(self.last.get("status") or "unknown")

    @property
    def failure_code(self) -> str | None:
        return (self.last.get("error") or {}).get("code")

    @property
    def usage(self) -> dict[str, int]:
        return usage_from_responses([r for r in self.responses if r.get("status") in TERMINAL])

    def pending_calls(self) -> list[dict[str, Any]]:
        """The function calls of the last response, which the next request must answer."""
        if self.status != "completed":
            return []
        return [i for i in self.last.get("output") or [] if i.get("type") == "function_call"]


def user_item(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": message["content"]}],
    }


NO_SEARCH_ATTACHMENTS = (
    "attaches {file} for file_search, which the Responses API has no form for (a message cannot bring its "
    "own vector store): give the file to the assistant's file_search files, or replay with --api assistants"
)


def check_attachments(scenarios: Iterable[Scenario]) -> None:
    """Before any request: attachments the Responses API cannot carry."""
    for scenario in scenarios:
        for turn in scenario.turns:
            for attachment in turn.user.attachments:
                if "file_search" in attachment.tools:
                    where = f"scenario {scenario.name}, turn {turn.index + 1}"
                    raise RunnerError(f"{where} " + NO_SEARCH_ATTACHMENTS.format(file=attachment.file))


def with_attachments(request: dict[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
    """A message's code_interpreter attachments join the container's files (check_attachments refused the
    file_search ones)."""
    attachments = message.get("attachments") or []
    if not attachments:
        return request
    extra = [a["file_id"] for a in attachments]
    for tool in request.get("tools") or []:
        if tool.get("type") == "code_interpreter":
            container = dict(tool["container"])
            container["file_ids"] = [*container.get("file_ids", []), *extra]
            tool["container"] = container
            return request
    raise RunnerError(
        "a turn attaches a file for code_interpreter, but the assistant has no code_interpreter"
    )


class ResponsesEngine:
    protocol = API

    def __init__(
        self, api: Api, stopper: Stopper, *, state: str = "conversation", timeout: float = 300.0
    ) -> None:
        if state not in STATES:
            raise RunnerError(f"--state {state!r}: one of {', '.join(STATES)}")
        self.api = api
        self.stopper = stopper
        self.state = state
        self.timeout = timeout

    def open(self, target: Target) -> Conversation:
        return Conversation(target)

    # One turn

    def run_turn(
        self, conv: Conversation, message: dict[str, Any], settings: dict[str, Any], outputs: Outputs
    ) -> ResponsesTurn:
        turn = ResponsesTurn()
        self._turn(conv, turn, message, settings, outputs)
        return turn

    def retry_turn(
        self, conv: Conversation, first: ResponsesTurn, settings: dict[str, Any], outputs: Outputs
    ) -> ResponsesTurn:
        """The failed request again: a failed response leaves nothing in the conversation (or the chain), so
        its input goes again, and the turn goes on from there; both tries show in the transcript."""
        retry = ResponsesTurn(first.message, list(first.responses), dict(first.outputs), retried=1)
        self._turn(conv, retry, first.message, settings, outputs, resume=first.resume)
        return retry

    def _turn(
        self,
        conv: Conversation,
        turn: ResponsesTurn,
        message: dict[str, Any],
        settings: dict[str, Any],
        outputs: Outputs,
        resume: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> None:
        turn.message = message
        deadline = time.monotonic() + self.timeout
        target = conv.target
        if target.assistant is None:
            raise ApiError(f"assistant {target.key}: no YAML to compile for the Responses API")
        try:
            base = compile_request(target.assistant, settings, target.managed or Managed())
        except NotOnResponses as exc:
            raise RunnerError(
                f"assistant {target.key}: {exc} (arun validate --api responses shows where)"
            ) from None
        base = with_attachments(base, message)
        # What the transcript shows of built-in calls is only sent when asked for.
        tools = {t.get("type") for t in base.get("tools") or []}
        include = [name for kind, name in INCLUDE if kind in tools]
        if include:
            base["include"] = include
        if self.state == "conversation" and conv.conversation_id is None:
            created = self.api.call("create a conversation", self.api.client.conversations.create, write=True)
            conv.conversation_id = created.id
        # `new`: what the next request adds; `sent`: this turn's items so far (stateless mode sends them back,
        # and keeps them in conv.history once the turn has ended).
        new: list[dict[str, Any]] = [user_item(message)]
        sent: list[dict[str, Any]] = []
        if resume is not None:
            new, sent = list(resume[0]), list(resume[1])
        while True:
            turn.resume = (list(new), list(sent))
            request = dict(base)
            if self.state == "conversation":
                request["conversation"] = conv.conversation_id
                request["input"] = new
            elif self.state == "previous-response":
                request["store"] = True
                if conv.previous_id:
                    request["previous_response_id"] = conv.previous_id
                request["input"] = new
            else:
                request["store"] = False
                request["input"] = [*conv.history, *sent, *new]
            response = self._stream(turn, request, deadline)
            tries = 1
            while self._lost(turn, response) and tries < STATELESS_TRIES:
                # Nothing was stored, so there is nothing to look up and sending it again is safe.
                turn.responses.pop()
                response = self._stream(turn, request, deadline)
                tries += 1
            if self._lost(turn, response):
                turn.error = (
                    f"the stream broke before the response ended, {tries} times; a response sent with "
                    "store: false is not kept, so it cannot be looked up"
                )
            sent += new
            if self.state == "previous-response" and response.get("status") in ("completed", "incomplete"):
                conv.previous_id = response["id"]
            if response.get("status") in ("completed", "incomplete"):
                sent += [_as_input(item) for item in response.get("output") or []]
            calls = turn.pending_calls()
            if not calls or turn.cancelled_by_arun or self.stopper.reason is not None:
                break
            if time.monotonic() > deadline:
                turn.cancelled_by_arun = "timeout"
                break
            answered = outputs(
                [
                    {"id": c["call_id"], "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ]
            )
            new = []
            for output in answered:
                turn.outputs[output["tool_call_id"]] = output["output"]
                new.append(
                    {
                        "type": "function_call_output",
                        "call_id": output["tool_call_id"],
                        "output": output["output"],
                    }
                )
        if self.state == "stateless" and turn.status in ("completed", "incomplete"):
            conv.history += sent

    def _stream(self, turn: ResponsesTurn, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """One streamed response to its end; the response as its last event showed it."""
        stream = self.api.call(
            "create a response", self.api.stream, "responses", request, last=ENDS, write=True
        )
        current: dict[str, Any] = {}
        with self.stopper.lock:
            self.stopper.streams.add(stream)
        dropped = False
        try:
            for event in stream:
                # Only the lifecycle events carry the response (its output complete at the end); the
                # deltas in between are not read, so they are not decoded either.
                if event.name is None or not event.name.endswith(".delta"):
                    decoded = event.json()
                    data: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
                    kind = event.name or str(data.get("type") or "")
                    if isinstance(data.get("response"), dict):
                        current = data["response"]
                    elif kind == "error":
                        turn.error = str(data.get("message") or kind)
                    if current.get("status") in TERMINAL:
                        break
                if self.stopper.reason is not None or time.monotonic() > deadline:
                    turn.cancelled_by_arun = self.stopper.reason or "timeout"
                    break
        except ApiError:
            raise
        except Exception as exc:  # a dropped stream: a stored response goes on server-side, so look it up
            turn.error = f"stream ended early ({type(exc).__name__})"
            if request.get("store") is not False:
                turn.error += "; the response was looked up instead"
            dropped = True
        finally:
            with self.stopper.lock:
                self.stopper.streams.discard(stream)
            stream.close()
        if current.get("status") not in TERMINAL and turn.cancelled_by_arun is None and self.stopper.reason:
            turn.cancelled_by_arun = self.stopper.reason  # Ctrl-C closed the stream under us
        if not current.get("id"):
            raise ApiError(f"the stream ended before the response started ({turn.error or 'no events'})")
        if current.get("status") not in TERMINAL:
            if dropped and self.stopper.reason is None and turn.cancelled_by_arun is None:
                current = self._settle(current, request, deadline)
            else:
                current = self._settle(current, request, time.monotonic() + SETTLE_SECONDS)
        turn.responses.append(current)
        return current

    def _lost(self, turn: ResponsesTurn, response: Mapping[str, Any]) -> bool:
        """An unstored response whose stream broke before its end: it cannot be looked up."""
        return (
            self.state == "stateless"
            and response.get("status") not in TERMINAL
            and turn.cancelled_by_arun is None
            and self.stopper.reason is None
        )

    def _settle(self, response: dict[str, Any], request: dict[str, Any], until: float) -> dict[str, Any]:
        """Wait for a stored response to end (it goes on without a listener); an unstored one is gone."""
        if request.get("store") is False:
            return response
        client: Any = self.api.client
        include = request.get("include") or []
        wait = 0.05
        while response.get("status") not in TERMINAL and time.monotonic() < until:
            time.sleep(wait)
            wait = min(wait * 2, 1.0)
            fresh = self.api.call(
                "look up a response", client.responses.retrieve, response["id"], include=include
            )
            response = fresh.model_dump(mode="json")
        return response

    # The transcript

    def render(self, turn: ResponsesTurn, settings: dict[str, Any], ids: Placeholders) -> Rendered:
        shown = turn_from_responses(turn.responses, turn.outputs, ids)
        run = run_from_responses(turn.responses, settings, ids)
        if not turn.responses:
            run["status"] = "failed"
        if turn.cancelled_by_arun:
            run["cancelled_by_arun"] = turn.cancelled_by_arun
        elif run["status"] not in TERMINAL and turn.error and "reason" not in run:
            run["reason"] = turn.error  # the stream broke and the response could not be seen to its end
        if turn.retried:
            run["retried"] = turn.retried
        return Rendered(run, shown.steps, shown.reply, shown.cited, shown.uses)

    def cancel_active(self) -> None:
        """Foreground responses cannot be cancelled on the API: replay closes their streams (the runner does)
        and each worker waits for its stored response to end. So `stopper.active` (the Assistants engine's
        runs to cancel) never holds a response."""


def _as_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """An output item as the next request's input (stateless mode sends the conversation back): as the
    server sent it, without the fields it left empty."""
    return {k: v for k, v in item.items() if v is not None}


__all__ = ["STATES", "Conversation", "ResponsesEngine", "ResponsesTurn"]
