"""Chat Completions over the model seam: a request's messages as what the model sees, and a model step as a
`chat.completion` (docs/local-server.md, "Chat Completions"). No HTTP and no storage: stored chat
completions (`store: true`) are not served.

What the model sees: the system and developer messages are its instructions (joined in order); user and
assistant texts are its messages; the tool calls after the latest user message, with their `role: tool`
(or legacy `role: function`) answers, are this turn's tool steps, one per assistant message that called.
Earlier turns' tool calls stay out of view, as on an Assistants thread, so one conversation gets the same
answers on both protocols. The functions through which the upstream adapter offers file_search and
code_interpreter (runner/sim/builtin_functions.py) are seen as those tools, and their calls as those calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.server.exceptions import InvalidRequest, InvalidValue
from runner.server.models.common import new_id, now
from runner.sim import builtin_functions as bf
from runner.sim.types import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelInput,
    ModelStep,
    ToolCall,
    ToolCallsStep,
    ToolChoice,
)

SYSTEM_FINGERPRINT = "fp_arun_local"


def text_of(content: Any) -> str:
    """A message's `content`: a string, or a list of parts whose text parts are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or p.get("refusal") or "")
            for p in content
            if isinstance(p, Mapping) and p.get("type") in ("text", "refusal")
        )
    return ""


def tools_of(payload: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The request's function tools (or legacy `functions`), the offered built-ins as their own tools."""
    functions = [t["function"] for t in payload.get("tools") or () if t.get("type") == "function"]
    functions += list(payload.get("functions") or ())
    out: list[dict[str, Any]] = []
    for f in functions:
        kind = bf.kind_of(str(f.get("name")))
        out.append({"type": kind} if kind else {"type": "function", "function": dict(f)})
    return tuple(out)


def tool_choice_of(payload: Mapping[str, Any]) -> ToolChoice:
    choice = payload.get("tool_choice")
    if choice is None and "function_call" in payload:
        legacy = payload["function_call"]
        choice = legacy if isinstance(legacy, str) else {"type": "function", "function": dict(legacy)}
    if choice is None:
        return "auto"
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = str((choice.get("function") or {}).get("name"))
        kind = bf.kind_of(name)
        return {"type": kind} if kind else {"type": "function", "function": {"name": name}}
    if isinstance(choice, Mapping):
        # allowed_tools and custom tools name things this server does not offer
        raise InvalidValue(
            f"Invalid value: '{choice.get('type')}'. Supported values are: 'function'.", "tool_choice.type"
        )
    return str(choice)


def _calls_of(message: Mapping[str, Any]) -> list[tuple[str, ToolCall]]:
    """(id the answers refer to, call) for each call an assistant message makes."""
    out: list[tuple[str, ToolCall]] = []
    for tc in message.get("tool_calls") or ():
        function = tc.get("function") or {}
        out.append(
            (str(tc.get("id")), _call(str(function.get("name")), str(function.get("arguments") or "")))
        )
    legacy = message.get("function_call")
    if legacy:
        name = str(legacy.get("name"))
        out.append((f"function:{name}", _call(name, str(legacy.get("arguments") or ""))))
    return out


def _call(name: str, arguments: str) -> ToolCall:
    builtin = bf.call_of(name, arguments)
    return builtin if builtin is not None else FunctionCall(name, arguments)


def _answered(call: ToolCall, content: str) -> ToolCall:
    if isinstance(call, FileSearchCall | CodeInterpreterCall):
        return bf.answered(call, content)
    return FunctionCall(call.name, call.arguments, content)


def _turn_steps(messages: Sequence[Mapping[str, Any]]) -> tuple[ToolCallsStep, ...]:
    steps: list[list[tuple[str, ToolCall]]] = []
    for m in messages:
        if m.get("role") == "assistant" and (m.get("tool_calls") or m.get("function_call")):
            steps.append(_calls_of(m))
        elif m.get("role") in ("tool", "function") and steps:
            key = str(m.get("tool_call_id")) if m["role"] == "tool" else f"function:{m.get('name')}"
            content = text_of(m.get("content"))
            steps[-1] = [(k, _answered(c, content) if k == key else c) for k, c in steps[-1]]
    return tuple(ToolCallsStep(tuple(c for _, c in step)) for step in steps)


def model_input(payload: Mapping[str, Any]) -> ModelInput:
    messages: list[Mapping[str, Any]] = list(payload["messages"])
    instructions = "\n\n".join(
        text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )
    latest_user = max((n for n, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    seen = tuple(
        Message("user" if m["role"] == "user" else "assistant", text_of(m.get("content")))
        for m in messages
        if m.get("role") == "user" or (m.get("role") == "assistant" and text_of(m.get("content")))
    )
    return ModelInput(
        instructions=instructions,
        tools=tools_of(payload),
        tool_choice=tool_choice_of(payload),
        model=str(payload["model"]),
        temperature=payload.get("temperature"),
        messages=seen,
        steps=_turn_steps(messages[latest_user + 1 :]),
        parallel_tool_calls=payload.get("parallel_tool_calls") is not False,
        max_tokens=payload.get("max_completion_tokens", payload.get("max_tokens")),
        response_format=payload.get("response_format"),
    )


def check(payload: Mapping[str, Any]) -> None:
    """What the schema allows but this server does not serve, refused as the API refuses it."""
    n = payload.get("n")
    if n is not None and n != 1:
        raise InvalidValue(f"Invalid 'n': this server answers one choice per request, but got {n}.", "n")
    if payload.get("tools") and payload.get("functions"):
        raise InvalidRequest(
            "Invalid request: send either 'tools' or the deprecated 'functions', not both.", "functions"
        )
    for n, tool in enumerate(payload.get("tools") or ()):
        if tool.get("type") != "function":
            raise InvalidValue(
                f"Invalid value: '{tool.get('type')}'. Supported values are: 'function'.", f"tools[{n}].type"
            )


# -- the model's step as the API's objects -----------------------------------------------------------


def call_function(call: ToolCall) -> dict[str, str]:
    if isinstance(call, FunctionCall):
        return {"name": call.name, "arguments": call.arguments}
    kind = "file_search" if isinstance(call, FileSearchCall) else "code_interpreter"
    return {"name": bf.KINDS[kind], "arguments": bf.arguments_of(call)}


def finish_reason(step: ModelStep, cut: bool, legacy: bool) -> str:
    if isinstance(step, ToolCallsStep):
        return "function_call" if legacy else "tool_calls"
    return "length" if cut else "stop"


def usage_of(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion_id() -> str:
    return new_id("chatcmpl")


def assistant_message(step: ModelStep, text: str, ids: Sequence[str], legacy: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if isinstance(step, MessageStep):
        message["content"] = text
    elif legacy:
        message["content"] = step.text or None
        message["function_call"] = call_function(step.calls[0])
    else:
        message["content"] = step.text or None  # text a real model wrote before its calls
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": call_function(c)}
            for i, c in zip(ids, step.calls, strict=True)
        ]
    return message


def completion(
    cid: str, model: str, step: ModelStep, text: str, ids: Sequence[str], *, cut: bool, legacy: bool,
    usage: tuple[int, int],
) -> dict[str, Any]:  # fmt: skip
    """The `chat.completion` object, in the recordings' shape and key order."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": assistant_message(step, text, ids, legacy),
                "logprobs": None,
                "finish_reason": finish_reason(step, cut, legacy),
            }
        ],
        "usage": usage_of(*usage),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def chunk(
    cid: str, created: int, model: str, delta: dict[str, Any] | None, finish: str | None = None,
    usage: tuple[int, int] | None = None, with_usage: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One `chat.completion.chunk`: a delta of choice 0, or (with `usage`) the last chunk, without choices.
    With `stream_options.include_usage` every other chunk carries `usage: null`, as the API documents."""
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    out: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if usage is not None:
        out["usage"] = usage_of(*usage)
    elif with_usage:
        out["usage"] = None
    return out
