"""The upstream adapter as the seam's `Model`: each step is one Chat Completions exchange, its deltas
relayed as they arrive (runner/sim/types.py has the event order).

Text is relayed as it comes, except that a citation marker (【N:M†name】) is held back until it is whole,
so that it reaches the client in one piece with its `file_citation`. A function call's arguments are
relayed as they come; a built-in call (file_search, code_interpreter) is relayed once its arguments are
complete, since its query or code is a field inside them. Usage is the upstream's when it reports it
(requested with `stream_options.include_usage`), else arun's own estimate (runner/sim/tokens.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field

from runner.sim import builtin_functions as bf
from runner.sim.tokens import count_tokens
from runner.sim.types import (
    CodeInterpreterCall,
    ContextOverflow,
    FileSearchCall,
    FunctionCall,
    MessageStep,
    ModelEvent,
    ModelFailure,
    ModelInput,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
    Usage,
)
from runner.upstream.recording import Exchanges
from runner.upstream.transformation import (
    Assembly,
    PromptTooLong,
    RequestOptions,
    UpstreamError,
    ask_again_after_unknown,
    build_request,
    citations,
    malformed,
    offered_names,
    prompt_estimate,
    tool_call,
)
from runner.upstream.transformation import TextDelta as UpText

log = logging.getLogger("runner.upstream")


@dataclass(frozen=True)
class ModelNames:
    """Which upstream model answers a request's `model`: the mapping's entry, else `default`, else the
    request's own name."""

    default: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, requested: str) -> str:
        return self.mapping.get(requested) or self.default or requested

    @classmethod
    def parse(cls, value: str | None) -> ModelNames:
        """`NAME`, or `requested=upstream,...` (with an optional bare `NAME` among them as the default)."""
        if not value:
            return cls()
        default, mapping = None, {}
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if "=" in part:
                a, _, b = part.partition("=")
                if not a.strip() or not b.strip():
                    raise ValueError(f"--upstream-model: {part!r} should be REQUESTED=UPSTREAM")
                mapping[a.strip()] = b.strip()
            else:
                default = part
        return cls(default, mapping)


class _Text:
    """Text deltas with citation markers kept whole. Text that is only whitespace so far is held back: a
    model that writes a newline and then calls a tool has not written a message."""

    def __init__(self, inp: ModelInput) -> None:
        self.inp = inp
        self.sent = ""
        self.pending = ""

    def add(self, piece: str) -> list[TextDelta]:
        self.pending += piece
        if not self.sent and not self.pending.strip():
            return []
        cut = self.pending.rfind("【")
        if cut != -1 and "】" not in self.pending[cut:]:
            ready, self.pending = self.pending[:cut], self.pending[cut:]
        else:
            ready, self.pending = self.pending, ""
        return self._emit(ready)

    def flush(self) -> list[TextDelta]:
        ready, self.pending = self.pending, ""
        return self._emit(ready)

    def settle(self) -> list[TextDelta]:
        """Tool calls follow: the rest of a message written before them (whitespace alone is dropped)."""
        if not self.sent:
            self.pending = ""
            return []
        return self.flush()

    def _emit(self, ready: str) -> list[TextDelta]:
        if not ready:
            return []
        start = len(self.sent)
        self.sent += ready
        found = citations(self.sent, self.inp.steps)
        mine = tuple(c for c in found if start <= c.start_index < len(self.sent))
        return [TextDelta(ready, mine)]


# How many times an answer whose calls all name functions nobody offered is answered with an error and the
# model asked again (the last time with tool_choice "none"), before the step fails.
UNKNOWN_RETRIES = 2


class _Step:
    """What one model step has relayed so far, over the upstream attempts it takes."""

    def __init__(self, inp: ModelInput) -> None:
        self.text = _Text(inp)
        self.started: str | None = None  # "message", then perhaps "tool_calls"
        self.usage = Usage(0, 0)

    def start(self, kind: str) -> list[ModelEvent]:
        if self.started == kind:
            return []
        events: list[ModelEvent] = []
        if kind == "tool_calls":
            events += self.text.settle()
        self.started = kind
        events.append(StepStart("message" if kind == "message" else "tool_calls"))
        return events

    def text_piece(self, piece: str) -> list[ModelEvent]:
        deltas = self.text.add(piece)
        return [*self.start("message"), *deltas] if deltas else []


class UpstreamModel:
    """Implements `runner.sim.types.Model` over an upstream Chat Completions endpoint."""

    def __init__(self, upstream: Exchanges, names: ModelNames | None = None, max_steps: int = 8) -> None:
        self.upstream = upstream
        self.names = names or ModelNames()
        self.max_steps = max_steps

    async def aclose(self) -> None:
        """Closes the upstream's HTTP client, if it has one (a replay has none)."""
        close = getattr(self.upstream, "aclose", None)
        if close is not None:
            await close()

    def request(self, inp: ModelInput) -> dict[str, object]:
        clashing = bf.clashes(inp.functions)
        if clashing:
            raise ModelFailure(
                "server_error",
                f"the function name {clashing[0]!r} is reserved for a built-in tool offered to the upstream "
                "model; rename the function",
            )
        options = RequestOptions(
            model=self.names(inp.model),
            max_steps=self.max_steps,
            max_completion_tokens=inp.max_tokens,
            max_prompt_tokens=inp.max_prompt_tokens,
        )
        try:
            return build_request(inp, options)
        except PromptTooLong as exc:
            raise ContextOverflow(str(exc)) from None

    async def stream(self, inp: ModelInput) -> AsyncGenerator[ModelEvent, None]:
        body = self.request(inp)
        offered = offered_names(inp)
        step = _Step(inp)
        attempt = 0
        while True:
            answer = Assembly()
            kept: dict[int, int] = {}  # upstream call index -> its place among the calls kept, as relayed
            async for raw in self.upstream.exchange(dict(body)):
                for event in self._pieces(raw, answer, step, offered, kept):
                    yield event
            step.usage = _plus(step.usage, answer.usage or self._estimate(body, answer))
            calls = [(i, c) for i, c in sorted(answer.calls.items())]
            unknown = [(c.name, c.arguments) for _, c in calls if c.name not in offered]
            if unknown and len(unknown) == len(calls):
                # Every call names a function nobody offered: the model is told so and asked again.
                log.warning("the upstream model called functions it was not offered: %s",
                            ", ".join(n for n, _ in unknown))  # fmt: skip
                if attempt >= UNKNOWN_RETRIES:
                    names = ", ".join(repr(n) for n, _ in unknown)
                    raise ModelFailure(
                        "server_error",
                        f"the upstream model kept calling functions that are not offered ({names}) "
                        f"after being told {UNKNOWN_RETRIES} times",
                    )
                attempt += 1
                body = ask_again_after_unknown(
                    body, answer.text, unknown, offered, attempt, last=attempt == UNKNOWN_RETRIES
                )
                continue
            break
        if unknown:
            log.warning("the upstream model's calls of functions it was not offered are left out: %s",
                        ", ".join(n for n, _ in unknown))  # fmt: skip
        mine = [c for _, c in calls if c.name in offered]
        if not mine:
            for event in step.start("message"):
                yield event
            for delta in step.text.flush():
                yield delta
            text = step.text.sent or answer.refusal
            message = MessageStep(text, citations(text, inp.steps), step.usage)
            yield StepDone(message, "length" if answer.finish_reason == "length" else "stop")
            return
        for event in step.start("tool_calls"):
            yield event
        relayed = set(kept)
        for place, (index, call) in enumerate((i, c) for i, c in calls if c.name in offered):
            if index not in relayed:
                for event in _whole_deltas(place, call.name, call.arguments):
                    yield event
            if malformed(call.arguments):
                log.warning("the upstream model's call %s has arguments that are not a JSON object: %r",
                            call.name, call.arguments[:200])  # fmt: skip
        out = ToolCallsStep(tuple(tool_call(c.name, c.arguments) for c in mine), step.usage, step.text.sent)
        yield StepDone(out, "length" if answer.finish_reason == "length" else "stop")

    def _pieces(
        self, raw: str, answer: Assembly, step: _Step, offered: tuple[str, ...], kept: dict[int, int]
    ) -> list[ModelEvent]:
        """The seam's events for one chunk (or completion) of the upstream's answer."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise ModelFailure(
                "server_error", f"the upstream sent something that is not JSON: {raw[:200]!r}"
            ) from None
        try:
            pieces = answer.complete(data) if data.get("object") == "chat.completion" else answer.feed(data)
        except UpstreamError as exc:
            raise ModelFailure("server_error", str(exc)) from None
        events: list[ModelEvent] = []
        for piece in pieces:
            if isinstance(piece, UpText):
                if step.started != "tool_calls" and not answer.calls:
                    events += step.text_piece(piece.text)
                continue  # text after the calls began is not part of the message
            call = answer.calls[piece.index]
            if piece.name is not None and piece.name in offered and bf.kind_of(piece.name) is None:
                # A function call is relayed as it comes; built-ins once whole, unknown names never.
                kept[piece.index] = len(kept)
                events += step.start("tool_calls")
                events.append(ToolCallDelta(kept[piece.index], "function", piece.name, ""))
            elif piece.name is None and piece.index in kept and call.name:
                events.append(ToolCallDelta(kept[piece.index], "function", "", piece.arguments))
        return events

    def _estimate(self, body: Mapping[str, object], answer: Assembly) -> Usage:
        messages = body.get("messages")
        tools = body.get("tools")
        prompt = prompt_estimate(
            messages if isinstance(messages, list) else [], tools if isinstance(tools, list) else []
        )
        written = answer.text + "".join(c.name + c.arguments for c in answer.calls.values())
        return Usage(prompt, count_tokens(written))


def _plus(a: Usage, b: Usage) -> Usage:
    return Usage(a.prompt_tokens + b.prompt_tokens, a.completion_tokens + b.completion_tokens)


def _whole_deltas(index: int, name: str, arguments: str) -> list[ToolCallDelta]:
    """A call relayed at once, at the end: a built-in (its query or code is known only then) or a function
    whose name came late."""
    call = bf.call_of(name, arguments)
    if call is None:
        return [ToolCallDelta(index, "function", name, ""), ToolCallDelta(index, "function", "", arguments)]
    if isinstance(call, FileSearchCall):
        return [ToolCallDelta(index, "file_search", "", call.query)]
    if isinstance(call, CodeInterpreterCall):
        return [
            ToolCallDelta(index, "code_interpreter", "", ""),
            ToolCallDelta(index, "code_interpreter", "", call.input),
        ]
    return []


__all__ = ["FunctionCall", "ModelNames", "UpstreamModel"]
