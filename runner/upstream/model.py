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
    CallDelta,
    PromptTooLong,
    RequestOptions,
    UpstreamError,
    build_request,
    citations,
    malformed,
    prompt_estimate,
    to_step,
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
    """Text deltas with citation markers kept whole."""

    def __init__(self, inp: ModelInput) -> None:
        self.inp = inp
        self.sent = ""
        self.pending = ""

    def add(self, piece: str) -> list[TextDelta]:
        self.pending += piece
        cut = self.pending.rfind("【")
        if cut != -1 and "】" not in self.pending[cut:]:
            ready, self.pending = self.pending[:cut], self.pending[cut:]
        else:
            ready, self.pending = self.pending, ""
        return self._emit(ready)

    def flush(self) -> list[TextDelta]:
        ready, self.pending = self.pending, ""
        return self._emit(ready)

    def _emit(self, ready: str) -> list[TextDelta]:
        if not ready:
            return []
        start = len(self.sent)
        self.sent += ready
        found = citations(self.sent, self.inp.steps)
        mine = tuple(c for c in found if start <= c.start_index < len(self.sent))
        return [TextDelta(ready, mine)]


class UpstreamModel:
    """Implements `runner.sim.types.Model` over an upstream Chat Completions endpoint."""

    def __init__(self, upstream: Exchanges, names: ModelNames | None = None, max_steps: int = 8) -> None:
        self.upstream = upstream
        self.names = names or ModelNames()
        self.max_steps = max_steps

    def request(self, inp: ModelInput) -> dict[str, object]:
        clashing = bf.clashes(inp.functions)
        if clashing:
            raise ModelFailure(
                "server_error",
                f"the function name {clashing[0]!r} is reserved for a built-in tool offered to the upstream "
                "model; rename the function",
            )
        options = RequestOptions(
            model=self.names(inp.model), max_steps=self.max_steps, max_completion_tokens=inp.max_tokens
        )
        try:
            return build_request(inp, options)
        except PromptTooLong as exc:
            raise ContextOverflow(str(exc)) from None

    async def stream(self, inp: ModelInput) -> AsyncGenerator[ModelEvent, None]:
        body = self.request(inp)
        answer = Assembly()
        text = _Text(inp)
        started: str | None = None
        relayed_calls: set[int] = set()
        async for raw in self.upstream.exchange(dict(body)):
            try:
                data = json.loads(raw)
            except ValueError:
                raise ModelFailure(
                    "server_error", f"the upstream sent something that is not JSON: {raw[:200]!r}"
                ) from None
            try:
                pieces = (
                    answer.complete(data) if data.get("object") == "chat.completion" else answer.feed(data)
                )
            except UpstreamError as exc:
                raise ModelFailure("server_error", str(exc)) from None
            for piece in pieces:
                if isinstance(piece, UpText):
                    if started is None:
                        started = "message"
                        yield StepStart("message")
                    if started == "message" and not answer.calls:
                        for delta in text.add(piece.text):
                            yield delta
                    continue
                if started is None:
                    started = "tool_calls"
                    yield StepStart("tool_calls")
                for event in self._call_delta(piece, answer, relayed_calls):
                    yield event
        if started == "message" and not answer.calls:
            for delta in text.flush():
                yield delta
        usage = answer.usage or self._estimate(body, answer)
        if started is None:
            # An empty answer: an empty message, as a model that says nothing.
            yield StepStart("message")
        if answer.calls:
            if started == "message":
                log.warning("the upstream wrote text before its tool calls; the text is dropped from the run")
            for index in sorted(answer.calls):
                call = answer.calls[index]
                if index not in relayed_calls:
                    for event in _builtin_deltas(index, call.name, call.arguments):
                        yield event
                if malformed(call.arguments):
                    log.warning("the upstream model's call %s has arguments that are not a JSON object: %r",
                                call.name, call.arguments[:200])  # fmt: skip
        step = to_step(answer, inp, usage)
        if isinstance(step, ToolCallsStep):
            step = ToolCallsStep(step.calls, usage)
        yield StepDone(step, "length" if answer.finish_reason == "length" else "stop")

    def _call_delta(self, piece: CallDelta, answer: Assembly, relayed: set[int]) -> list[ToolCallDelta]:
        call = answer.calls[piece.index]
        if bf.kind_of(call.name) is not None:
            return []  # relayed whole at the end, once its query or code is known
        relayed.add(piece.index)
        if piece.name is not None:
            return [ToolCallDelta(piece.index, "function", piece.name, "")]
        return [ToolCallDelta(piece.index, "function", "", piece.arguments)]

    def _estimate(self, body: Mapping[str, object], answer: Assembly) -> Usage:
        messages = body.get("messages")
        tools = body.get("tools")
        prompt = prompt_estimate(
            messages if isinstance(messages, list) else [], tools if isinstance(tools, list) else []
        )
        written = answer.text + "".join(c.name + c.arguments for c in answer.calls.values())
        return Usage(prompt, count_tokens(written))


def _builtin_deltas(index: int, name: str, arguments: str) -> list[ToolCallDelta]:
    call = bf.call_of(name, arguments)
    if isinstance(call, FileSearchCall):
        return [ToolCallDelta(index, "file_search", "", call.query)]
    if isinstance(call, CodeInterpreterCall):
        return [
            ToolCallDelta(index, "code_interpreter", "", ""),
            ToolCallDelta(index, "code_interpreter", "", call.input),
        ]
    return []


__all__ = ["FunctionCall", "ModelNames", "UpstreamModel"]
