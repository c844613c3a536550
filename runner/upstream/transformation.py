"""Every translation between the model seam and an upstream Chat Completions endpoint, as pure functions
(STYLE.md: one transformation module, tested table by table).

Out: `build_request(ModelInput, RequestOptions)` is the whole `POST /chat/completions` body: the run's
history in the upstream's own form (a system message with the instructions, the thread's messages, each
tool step of the run as an assistant message with `tool_calls` followed by one `role: tool` answer per
call), the tools (built-ins offered as the functions of runner/sim/builtin_functions.py), `tool_choice`,
`stream_options.include_usage`, and the limits arun enforces before anything is sent.

In: `Assembly` folds the upstream's streamed chunks (or one non-streamed completion) into text and tool
calls, reporting each delta as it comes; `to_step` turns the result into the seam's `ModelStep`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.sim import builtin_functions as bf
from runner.sim.tokens import count_tokens
from runner.sim.types import (
    Citation,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelInput,
    ModelStep,
    ToolCall,
    ToolCallsStep,
    ToolChoice,
    Usage,
)

DEFAULT_MAX_STEPS = 8


@dataclass(frozen=True)
class RequestOptions:
    model: str
    stream: bool = True
    # After this many tool steps in one run the model is asked with tool_choice "none", so a model that keeps
    # calling tools still ends the run with a message.
    max_steps: int = DEFAULT_MAX_STEPS
    # What is left of the run's budgets (None: no limit).
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None


class PromptTooLong(Exception):
    """Even with only the latest message the prompt exceeds max_prompt_tokens: nothing is sent."""

    def __init__(self, tokens: int, limit: int) -> None:
        super().__init__(f"the prompt needs about {tokens} tokens, more than the {limit} allowed")
        self.tokens = tokens
        self.limit = limit


# -- out: the request ---------------------------------------------------------------------------------


def call_id(step_index: int, call_index: int) -> str:
    """The id a history tool call carries upstream: positional, so the same run asks the same request."""
    return f"call_{step_index}_{call_index}"


def upstream_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Function tools as they are; file_search and code_interpreter as the offered functions."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        kind = tool.get("type")
        if kind == "function" and "function" in tool:
            out.append({"type": "function", "function": dict(tool["function"])})
        elif kind in bf.DEFINITIONS:
            out.append(bf.function_tool(str(kind)))
    return out


def upstream_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, str):
        return choice
    kind = choice.get("type")
    if kind == "function":
        return {"type": "function", "function": {"name": (choice.get("function") or {}).get("name")}}
    if kind in bf.KINDS:
        return {"type": "function", "function": {"name": bf.KINDS[str(kind)]}}
    return "auto"


def upstream_response_format(value: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    """A JSON format in Chat Completions' shape (Responses' flat `text.format` nested under json_schema);
    None for plain text ("auto", `{"type": "text"}`, nothing)."""
    if not isinstance(value, Mapping) or value.get("type") not in ("json_schema", "json_object"):
        return None
    if value["type"] == "json_object" or "json_schema" in value:
        return json.loads(json.dumps(value))
    inner = {k: value[k] for k in ("name", "description", "schema", "strict") if k in value}
    return {"type": "json_schema", "json_schema": json.loads(json.dumps(inner))}


def _call_function(call: ToolCall) -> dict[str, str]:
    if isinstance(call, FunctionCall):
        return {"name": call.name, "arguments": call.arguments}
    kind = "file_search" if isinstance(call, FileSearchCall) else "code_interpreter"
    return {"name": bf.KINDS[kind], "arguments": bf.arguments_of(call)}


def _answer(call: ToolCall, step_index: int) -> str:
    if isinstance(call, FunctionCall):
        return call.output or ""
    return bf.answer_of(call, step_index)


def step_messages(step: ToolCallsStep, step_index: int) -> list[dict[str, Any]]:
    """One tool step: the assistant's calls, then one `role: tool` answer per call, in order."""
    ids = [call_id(step_index, k) for k in range(len(step.calls))]
    calls = [
        {"id": i, "type": "function", "function": _call_function(c)}
        for i, c in zip(ids, step.calls, strict=True)
    ]
    # The message the model wrote before its calls in the same answer, if any, goes back with them.
    out: list[dict[str, Any]] = [{"role": "assistant", "content": step.text or None, "tool_calls": calls}]
    out += [
        {"role": "tool", "tool_call_id": i, "content": _answer(c, step_index)}
        for i, c in zip(ids, step.calls, strict=True)
    ]
    return out


def attachment_note(message: Message, inp: ModelInput) -> str:
    """What a model that has no attachments is told about a message's attached files: each file's name and
    id, and the offered tool that reads it (code_interpreter finds it in /mnt/data under its name)."""
    if not message.attachments:
        return ""
    lines = ["[Files attached to this message:"]
    for a in message.attachments:
        name = a.filename or a.file_id
        uses = []
        if "file_search" in a.tools and inp.tool("file_search") is not None:
            uses.append(f"searchable with {bf.FILE_SEARCH}")
        if "code_interpreter" in a.tools and inp.tool("code_interpreter") is not None:
            uses.append(f"at /mnt/data/{name} for {bf.CODE_INTERPRETER}")
        lines.append(f"- {name} ({a.file_id})" + (": " + ", ".join(uses) if uses else ""))
    return "\n".join(lines) + "]"


def history(inp: ModelInput) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if inp.instructions:
        messages.append({"role": "system", "content": inp.instructions})
    for m in inp.messages:
        note = attachment_note(m, inp)
        messages.append({"role": m.role, "content": f"{m.text}\n\n{note}" if note else m.text})
    for n, step in enumerate(inp.steps):
        messages += step_messages(step, n)
    return messages


def prompt_estimate(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]) -> int:
    """arun's own count (runner/sim/tokens.py) of what a request asks the model to read: the upstream's
    tokenizer differs, so limits are enforced on this estimate and usage is taken from the upstream."""
    total = 0
    for m in messages:
        total += count_tokens(str(m.get("content") or ""))
        for call in m.get("tool_calls") or ():
            total += count_tokens(call["function"]["name"]) + count_tokens(call["function"]["arguments"])
    if tools:
        total += count_tokens(json.dumps(list(tools), separators=(",", ":"), sort_keys=True))
    return total


def _fit(inp: ModelInput, tools: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The history, its oldest thread messages dropped until the estimate fits `limit` (the instructions,
    the latest message and the run's own tool steps always stay)."""
    messages = history(inp)
    if limit is None:
        return messages
    system = 1 if inp.instructions else 0
    droppable = max(0, len(inp.messages) - 1)
    dropped = 0
    while prompt_estimate(messages, tools) > limit and dropped < droppable:
        del messages[system]
        dropped += 1
    tokens = prompt_estimate(messages, tools)
    if tokens > limit:
        raise PromptTooLong(tokens, limit)
    return messages


def build_request(inp: ModelInput, options: RequestOptions) -> dict[str, Any]:
    """The `POST /chat/completions` body for the next model step of `inp`."""
    tools = upstream_tools(inp.tools)
    body: dict[str, Any] = {
        "model": options.model,
        "messages": _fit(inp, tools, options.max_prompt_tokens),
    }
    if tools:
        body["tools"] = tools
        choice = upstream_tool_choice(inp.tool_choice)
        if len(inp.steps) >= options.max_steps:
            choice = "none"
        if choice != "auto":
            body["tool_choice"] = choice
        if not inp.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if inp.temperature is not None:
        body["temperature"] = inp.temperature
    response_format = upstream_response_format(inp.response_format)
    if response_format is not None:
        body["response_format"] = response_format
    if options.max_completion_tokens is not None:
        body["max_completion_tokens"] = max(1, options.max_completion_tokens)
    if options.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def offered_names(inp: ModelInput) -> tuple[str, ...]:
    """The function names the upstream model may call: the run's functions and the offered built-ins."""
    return tuple(str(t["function"]["name"]) for t in upstream_tools(inp.tools))


def unknown_answer(name: str, offered: Sequence[str]) -> str:
    """What the model is told about a call of a function it was not offered (the `role: tool` content)."""
    choices = ", ".join(offered) if offered else "none"
    message = f"There is no function named {name!r}. The functions you can call are: {choices}."
    return json.dumps({"error": message}, ensure_ascii=False)


def ask_again_after_unknown(
    body: Mapping[str, Any],
    text: str,
    calls: Sequence[tuple[str, str]],
    offered: Sequence[str],
    attempt: int,
    last: bool,
) -> dict[str, Any]:
    """The request that answers an answer whose calls all named functions nobody offered: the same messages,
    then the model's calls (name, arguments; positional ids) each answered with an error naming the offered
    functions; with `last`, `tool_choice: "none"` so that the model writes a message."""
    ids = [f"call_unknown_{attempt}_{k}" for k in range(len(calls))]
    made = [
        {"id": i, "type": "function", "function": {"name": n, "arguments": "{}" if malformed(a) else a}}
        for i, (n, a) in zip(ids, calls, strict=True)
    ]
    messages = [*body["messages"], {"role": "assistant", "content": text or None, "tool_calls": made}]
    messages += [
        {"role": "tool", "tool_call_id": i, "content": unknown_answer(n, offered)}
        for i, (n, _) in zip(ids, calls, strict=True)
    ]
    out = {**body, "messages": messages}
    if last:
        out["tool_choice"] = "none"
    return out


# -- in: the answer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CallDelta:
    """A piece of tool call `index`: its name comes first (once), its arguments in pieces."""

    index: int
    name: str | None = None
    arguments: str = ""


Delta = TextDelta | CallDelta


@dataclass
class _Call:
    upstream_id: str = ""
    name: str = ""
    arguments: str = ""


class UpstreamError(Exception):
    """The upstream answered something that is not a Chat Completions answer."""


@dataclass
class Assembly:
    """The answer being put together from the upstream's chunks (or its one non-streamed completion)."""

    text: str = ""
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None
    refusal: str = ""

    def feed(self, chunk: Mapping[str, Any]) -> list[Delta]:
        """One `chat.completion.chunk`; the deltas it adds, in order."""
        self._usage(chunk)
        deltas: list[Delta] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            deltas += self._content(delta.get("content"), delta.get("refusal"))
            for tc in delta.get("tool_calls") or ():
                deltas += self._call_piece(tc, fallback_index=len(self.calls))
            # The legacy form, from older servers; llama.cpp's server sends each piece in both forms, so
            # it counts only where `tool_calls` is absent (else the arguments arrive twice).
            if delta.get("function_call") and not delta.get("tool_calls"):
                deltas += self._call_piece({"index": 0, "function": delta["function_call"]}, 0)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return deltas

    def complete(self, completion: Mapping[str, Any]) -> list[Delta]:
        """A whole non-streamed `chat.completion`, as one batch of deltas."""
        self._usage(completion)
        choices = completion.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UpstreamError("the upstream's answer has no choices")
        choice = choices[0]
        message = choice.get("message") or {}
        deltas = self._content(message.get("content"), message.get("refusal"))
        for n, tc in enumerate(message.get("tool_calls") or ()):
            deltas += self._call_piece({**tc, "index": n}, n)
        if message.get("function_call") and not message.get("tool_calls"):
            deltas += self._call_piece({"index": 0, "function": message["function_call"]}, 0)
        self.finish_reason = choice.get("finish_reason")
        return deltas

    def _usage(self, data: Mapping[str, Any]) -> None:
        usage = data.get("usage")
        if isinstance(usage, Mapping) and isinstance(usage.get("prompt_tokens"), int):
            self.usage = Usage(int(usage["prompt_tokens"]), int(usage.get("completion_tokens") or 0))

    def _content(self, content: Any, refusal: Any) -> list[Delta]:
        out: list[Delta] = []
        if isinstance(content, str) and content:
            self.text += content
            out.append(TextDelta(content))
        if isinstance(refusal, str) and refusal:
            self.refusal += refusal
        return out

    def _call_piece(self, tc: Mapping[str, Any], fallback_index: int) -> list[Delta]:
        index = tc.get("index")
        index = int(index) if isinstance(index, int) else fallback_index
        call = self.calls.setdefault(index, _Call())
        if tc.get("id"):
            call.upstream_id = str(tc["id"])
        function = tc.get("function") or {}
        out: list[Delta] = []
        name = function.get("name")
        if isinstance(name, str) and name and not call.name:
            call.name = name
            out.append(CallDelta(index, name=name))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments += arguments
            out.append(CallDelta(index, arguments=arguments))
        return out


_MARKER = re.compile(r"【(\d+):(\d+)†([^】]*)】")


def citations(text: str, steps: Sequence[ToolCallsStep]) -> tuple[Citation, ...]:
    """The `file_citation`s of a reply: every marker 【N:M†name】 that names result M of a file_search in
    tool step N of this run. Markers that name nothing the run found stay text, without an annotation."""
    found = []
    for m in _MARKER.finditer(text):
        step, result = int(m.group(1)), int(m.group(2))
        if step >= len(steps):
            continue
        search = next((c for c in steps[step].calls if isinstance(c, FileSearchCall)), None)
        hits = search.results or () if search is not None else ()
        if result < len(hits):
            hit = hits[result]
            found.append(Citation(m.group(0), hit.file_id, hit.filename, "", m.start(), m.end()))
    return tuple(found)


def tool_call(name: str, arguments: str) -> ToolCall:
    """The seam's call for a function call the upstream made: a built-in when it names an offered one."""
    builtin = bf.call_of(name, arguments)
    return builtin if builtin is not None else FunctionCall(name, arguments)


def malformed(arguments: str) -> bool:
    """Arguments that are not a JSON object (kept as they are, and reported)."""
    try:
        return not isinstance(json.loads(arguments), dict)
    except ValueError:
        return True


def to_step(answer: Assembly, inp: ModelInput, usage: Usage, preamble: str = "") -> ModelStep:
    """The seam's step for a finished answer: its tool calls (after `preamble`, the text the model wrote
    before them) when it made any, else its message."""
    if answer.calls:
        calls = tuple(tool_call(c.name, c.arguments) for _, c in sorted(answer.calls.items()))
        return ToolCallsStep(calls, usage, preamble)
    text = answer.text or answer.refusal
    return MessageStep(text, citations(text, inp.steps), usage)
