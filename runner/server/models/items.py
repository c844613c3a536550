"""Items of the Responses and Conversations APIs: a request's input items in their stored shapes, the shapes
served (with `include`), and what the model seam sees of a list of items.

Stored items keep what `include` may reveal (file_search results, code_interpreter logs) under private keys
(prefixed `_`); `public_item` shows them only when asked, as the real API does.

How items reach the seam (`seam_view`): the messages become `ModelInput.messages` (user and assistant
messages, text parts only; system and developer messages are added to the instructions); the tool calls
after the last user message are this turn's `steps` (function calls with the outputs the client sent,
built-in calls with their results), exactly what an Assistants run's steps are; tool calls of earlier turns
go to `ModelInput.earlier_steps`, which a real model sees and the simulator ignores, so that one scenario
gets the same answers on both protocols (an Assistants thread shows the model its messages only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.server.exceptions import InvalidRequest
from runner.server.models.common import new_id
from runner.sim import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    SearchHit,
    ToolCall,
    ToolCallsStep,
    Usage,
)

INCLUDE_SEARCH = "file_search_call.results"
INCLUDE_CODE = "code_interpreter_call.outputs"


def _parts(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        part: dict[str, Any] = {"type": kind, "text": content}
        if kind == "output_text":
            part.update(annotations=[], logprobs=[])
        return [part]
    return [dict(p) for p in content]


def input_item(item: Mapping[str, Any], param: str) -> dict[str, Any]:
    """A request's input item (a message, a function call output, a replayed call) as it is stored."""
    kind = item.get("type", "message")
    if kind == "message":
        role = str(item["role"])
        stored = {
            "id": item.get("id") or new_id("item_msg"),
            "type": "message",
            "status": item.get("status") or "completed",
            "content": _parts(item["content"], role),
            "role": role,
        }
        return stored
    if kind == "function_call_output":
        output = item["output"]
        if not isinstance(output, str):
            # A list of content parts: the model sees their text.
            output = "".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
        return {
            "id": item.get("id") or new_id("fc"),
            "type": "function_call_output",
            "status": item.get("status") or "completed",
            "call_id": item["call_id"],
            "output": output,
        }
    if kind == "function_call":
        return {
            "id": item.get("id") or new_id("fc"),
            "type": "function_call",
            "status": item.get("status") or "completed",
            "arguments": item["arguments"],
            "call_id": item["call_id"],
            "name": item["name"],
        }
    if kind in ("file_search_call", "code_interpreter_call"):
        return {k: v for k, v in item.items()}
    raise InvalidRequest(
        f"Invalid value: '{kind}'. This server accepts input items of type 'message', "
        "'function_call_output', 'function_call', 'file_search_call' and 'code_interpreter_call'.",
        f"{param}.type",
        "invalid_value",
    )


def public_item(item: Mapping[str, Any], include: Iterable[str]) -> dict[str, Any]:
    shown = {k: v for k, v in item.items() if not k.startswith("_")}
    wanted = set(include)
    if item.get("type") == "file_search_call" and "results" in shown:
        shown["results"] = item.get("_results") if INCLUDE_SEARCH in wanted else None
    if item.get("type") == "code_interpreter_call" and "outputs" in shown:
        shown["outputs"] = item.get("_outputs") if INCLUDE_CODE in wanted else None
    return shown


def message_text(item: Mapping[str, Any]) -> str:
    parts = item.get("content") or []
    return "\n".join(
        str(p.get("text", "")) for p in parts if p.get("type") in ("input_text", "output_text", "text")
    )


def _call_of(item: Mapping[str, Any], outputs: Mapping[str, str]) -> ToolCall:
    if item["type"] == "function_call":
        return FunctionCall(item["name"], item["arguments"], outputs.get(item["call_id"]))
    if item["type"] == "code_interpreter_call":
        logs = "".join(o.get("logs", "") for o in item.get("_outputs") or [] if o.get("type") == "logs")
        return CodeInterpreterCall(item.get("code") or "", logs or None)
    results = tuple(
        SearchHit(r["file_id"], r.get("filename", ""), float(r.get("score", 0.0)), r.get("text", ""))
        for r in item.get("_results") or []
    )
    queries = item.get("queries") or [""]
    return FileSearchCall(queries[0], results)


def _group(calls: list[Mapping[str, Any]], outputs: Mapping[str, str]) -> list[ToolCallsStep]:
    """Consecutive calls of one kind are one step (as the simulator writes them: all functions of a step
    together, each built-in call its own step)."""
    steps: list[ToolCallsStep] = []
    kind = None
    for item in calls:
        call = _call_of(item, outputs)
        if steps and item["type"] == "function_call" and kind == "function_call":
            steps[-1] = ToolCallsStep((*steps[-1].calls, call), Usage(0, 0))
        else:
            steps.append(ToolCallsStep((call,), Usage(0, 0)))
        kind = item["type"]
    return steps


CALL_TYPES = ("function_call", "file_search_call", "code_interpreter_call")


def seam_view(
    items: Sequence[Mapping[str, Any]],
) -> tuple[str, tuple[Message, ...], tuple[ToolCallsStep, ...], tuple[tuple[int, ToolCallsStep], ...]]:
    """(extra instructions, messages, this turn's steps, earlier turns' steps) from items, oldest first."""
    outputs = {i["call_id"]: i["output"] for i in items if i.get("type") == "function_call_output"}
    last_user = max((n for n, i in enumerate(items) if _is_user(i)), default=-1)
    system: list[str] = []
    messages: list[Message] = []
    earlier: list[tuple[int, ToolCallsStep]] = []
    pending: list[Mapping[str, Any]] = []
    for n, item in enumerate(items):
        kind = item.get("type")
        if kind == "message":
            if n <= last_user and pending:
                earlier.extend((len(messages), s) for s in _group(pending, outputs))
                pending = []
            role = item.get("role")
            if role in ("system", "developer"):
                system.append(message_text(item))
            elif role == "assistant":
                messages.append(Message("assistant", message_text(item)))
            else:
                messages.append(Message("user", message_text(item)))
        elif kind in CALL_TYPES:
            pending.append(item)
    steps = tuple(_group(pending, outputs)) if pending else ()
    return "\n\n".join(t for t in system if t), tuple(messages), steps, tuple(earlier)


def _is_user(item: Mapping[str, Any]) -> bool:
    return item.get("type") == "message" and item.get("role") == "user"


def missing_outputs(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """The call ids of function calls that no function_call_output answers (the real API refuses to go on
    from a function call without its output)."""
    answered = {i["call_id"] for i in items if i.get("type") == "function_call_output"}
    return [i["call_id"] for i in items if i.get("type") == "function_call" and i["call_id"] not in answered]


def arguments_json(arguments: str) -> str:
    """Arguments as compact JSON when they parse (the simulator's are), else as written."""
    try:
        return json.dumps(json.loads(arguments), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return arguments
