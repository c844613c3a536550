"""Chat Completions over the model seam: one model step, its events turned into the API's answer, either
whole (`chat.completion`) or as `data:` frames of `chat.completion.chunk`s ending in `data: [DONE]`.

Chunk order, as the API streams: a first delta with `role: assistant` (and `content: ""` for a message, or
the first call's id and name), the text or each call's arguments in pieces (calls by `index`), a last
delta `{}` with the `finish_reason`, then, with `stream_options.include_usage`, a chunk with no choices
and the usage (every earlier chunk then carries `usage: null`). The offered built-ins' calls (a file_search
query, code) are sent as their functions' JSON arguments in one piece, once the step is done.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.server.models import chat
from runner.server.models.common import new_id, now
from runner.sim import builtin_functions as bf
from runner.sim.types import (
    ContextOverflow,
    MessageStep,
    Model,
    ModelEvent,
    ModelFailure,
    ModelInput,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
)


@dataclass
class ChatTurn:
    """One request's answer being made: the ids it hands out and what it has said so far."""

    model: str
    legacy: bool = False  # asked with `functions`: answered with `function_call`
    include_usage: bool = False
    id: str = field(default_factory=chat.completion_id)
    created: int = field(default_factory=now)
    call_ids: dict[int, str] = field(default_factory=dict)
    started_calls: set[int] = field(default_factory=set)
    spoke: bool = False  # a message began (a real model may write text before its calls)

    def call_id(self, index: int) -> str:
        return self.call_ids.setdefault(index, new_id("call"))

    def _chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        return chat.chunk(self.id, self.created, self.model, delta, finish, with_usage=self.include_usage)

    def chunks(self, event: ModelEvent) -> list[dict[str, Any]]:
        if isinstance(event, StepStart):
            if event.kind == "message":
                self.spoke = True
                return [self._chunk({"role": "assistant", "content": "", "refusal": None})]
            return []  # the first call's delta carries the role
        if isinstance(event, TextDelta):
            return [self._chunk({"content": event.text})] if event.text else []
        if isinstance(event, ToolCallDelta):
            return self._call_chunks(event)
        return []

    def _call_chunks(self, event: ToolCallDelta) -> list[dict[str, Any]]:
        first = event.index not in self.started_calls
        self.started_calls.add(event.index)
        builtin = event.kind != "function"
        if not first and (builtin or not event.text):
            return []  # a built-in's query or code goes out whole at the end
        if first:
            name = bf.KINDS[event.kind] if builtin else event.name
            text = "" if builtin else event.text
            # The answer's first chunk says who writes; later calls' first chunks do not repeat it.
            # After text the role was said already.
            opening = len(self.started_calls) == 1 and not self.spoke
            head: dict[str, Any] = {"role": "assistant", "content": None} if opening else {}
            if self.legacy:
                head["function_call"] = {"name": name, "arguments": text}
            else:
                call = {"index": event.index, "id": self.call_id(event.index), "type": "function"}
                head["tool_calls"] = [{**call, "function": {"name": name, "arguments": text}}]
            if opening:
                head["refusal"] = None
            return [self._chunk(head)]
        if self.legacy:
            return [self._chunk({"function_call": {"arguments": event.text}})]
        return [self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": event.text}}]})]

    def closing(self, done: StepDone) -> list[dict[str, Any]]:
        """The last chunks: a built-in call's arguments, the finish reason, then the usage."""
        out: list[dict[str, Any]] = []
        step = done.step
        if isinstance(step, ToolCallsStep):
            for index, call in enumerate(step.calls):
                if bf.is_builtin(call):
                    arguments = chat.call_function(call)["arguments"]
                    piece = {"index": index, "function": {"arguments": arguments}}
                    out.append(self._chunk({"tool_calls": [piece]}))
        out.append(self._chunk({}, chat.finish_reason(step, done.finish == "length", self.legacy)))
        if self.include_usage:
            usage = (step.usage.prompt_tokens, step.usage.completion_tokens)
            out.append(chat.chunk(self.id, self.created, self.model, None, usage=usage))
        return out

    def whole(self, done: StepDone) -> dict[str, Any]:
        step = done.step
        ids = [self.call_id(n) for n in range(len(step.calls))] if isinstance(step, ToolCallsStep) else []
        text = step.text if isinstance(step, MessageStep) else ""
        usage = (step.usage.prompt_tokens, step.usage.completion_tokens)
        return chat.completion(
            self.id, self.model, step, text, ids, cut=done.finish == "length", legacy=self.legacy, usage=usage
        )


def _data(payload: Mapping[str, Any] | str) -> bytes:
    text = (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    )
    return f"data: {text}\n\n".encode()


async def frames(model: Model, inp: ModelInput, turn: ChatTurn) -> AsyncGenerator[list[bytes], None]:
    """The SSE frames of one streamed answer, a model event's frames at a time (the last event's with
    `[DONE]`); closing it early stops the model."""
    events = model.stream(inp)
    try:
        async for event in events:
            if isinstance(event, StepDone):
                yield [*(_data(piece) for piece in turn.closing(event)), _data("[DONE]")]
                return
            batch = [_data(piece) for piece in turn.chunks(event)]
            if batch:
                yield batch
    except (ModelFailure, ContextOverflow) as exc:
        # The status line has gone out: the failure is an `error` frame, as the API sends mid-stream.
        code = exc.code if isinstance(exc, ModelFailure) else "context_length_exceeded"
        error = {"message": str(exc), "type": "server_error", "param": None, "code": code}
        yield [_data({"error": error})]
        return
    finally:
        await events.aclose()
    yield [_data("[DONE]")]


async def finished(model: Model, inp: ModelInput) -> StepDone:
    """The step, for an answer that is not streamed."""
    events = model.stream(inp)
    try:
        async for event in events:
            if isinstance(event, StepDone):
                return event
    finally:
        await events.aclose()
    raise RuntimeError("the model's stream ended without its step")
