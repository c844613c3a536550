"""The Responses API's objects as transcript data, in the same shape as `assistants.py` writes.

A turn on the Responses API is one response, plus one more per tool round (after the `function_call_output`
items arun sends). Its output items map as the Assistants API's run steps do:
- consecutive tool calls of one response (`function_call`, `file_search_call`, `code_interpreter_call`)
  are one `tool_calls` step, as one model step is one run step on the Assistants API;
- each `message` item is a `message_creation` step and one reply;
- `reasoning` items are not recorded (the Assistants API shows none).
Pure functions over the JSON the API sent; the engine that calls them lives in runner/replay/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.transcript.form import Citation, FileLink, Placeholders, Reply, joined, parsed
from runner.transcript.io import canonical

API = "responses"
TOOL_CALLS = {
    "function_call": "function",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
}
USAGE = (
    ("input_tokens", "prompt_tokens"),
    ("output_tokens", "completion_tokens"),
    ("total_tokens", "total_tokens"),
)
# An item's status in the words of the Assistants API's run steps, which the transcript uses.
STEP_STATUS = {"searching": "in_progress", "interpreting": "in_progress", "incomplete": "incomplete"}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def reply_from_output_text(part: Mapping[str, Any], ids: Placeholders) -> Reply:
    """One `output_text` part in the transcript form (docs/transcripts.md, "Replies and citations").

    The text has no markers; a `file_citation` annotation's `index` is already the place in it where the
    citation belongs. `container_file_citation` spans (files the code interpreter made) become file links;
    the spec's `file_path` (an index, no span) becomes an empty span at that index.
    """
    text = str(part.get("text") or "")
    citations: list[Citation] = []
    files: list[FileLink] = []
    for note in part.get("annotations") or []:
        kind, file_id = note.get("type"), note.get("file_id")
        file = ids("file", file_id) if isinstance(file_id, str) and file_id else None
        if file is None:
            continue
        if kind == "file_citation":
            index = _int(note.get("index"))
            citations.append(Citation(file, len(text) if index is None else min(max(index, 0), len(text))))
        elif kind == "container_file_citation":
            start, end = _int(note.get("start_index")), _int(note.get("end_index"))
            if start is not None and end is not None:
                files.append(FileLink(file, start, end))
        elif kind == "file_path":
            index = _int(note.get("index"))
            if index is not None:
                files.append(FileLink(file, index, index))
    citations.sort(key=lambda c: c.index)
    files.sort(key=lambda f: f.start)
    return Reply(text, tuple(citations), tuple(files))


def reply_from_message(item: Mapping[str, Any], ids: Placeholders) -> Reply:
    """A `message` output item: its `output_text` parts joined (refusals are not text the model said)."""
    parts = [
        reply_from_output_text(part, ids)
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    ]
    return joined(parts) if parts else Reply("")


def call_from_item(item: Mapping[str, Any], outputs: Mapping[str, str], ids: Placeholders) -> dict[str, Any]:
    """A tool call output item as a transcript call. `outputs`: what arun sent back, by `call_id`."""
    kind = TOOL_CALLS[str(item.get("type"))]
    if kind == "function":
        # `call_id` is the id the outputs answer (and the one the Assistants API calls the call's id).
        call_id = item.get("call_id") or item.get("id")
        out: dict[str, Any] = {"type": kind, "id": ids("call", call_id), "name": item.get("name")}
        out["arguments"] = parsed(item.get("arguments"))
        if isinstance(call_id, str) and outputs.get(call_id) is not None:
            out["output"] = parsed(outputs[call_id])
    elif kind == "code_interpreter":
        out = {"type": kind, "id": ids("call", item.get("id")), "input": item.get("code") or ""}
        shown = []
        for output in item.get("outputs") or []:
            if output.get("type") == "image":
                shown.append({"image": ids("file", output.get("url"))})
            else:
                shown.append({"logs": output.get("logs") or ""})
        out["outputs"] = shown
    else:
        results = []
        for hit in item.get("results") or []:
            result: dict[str, Any] = {
                "file": ids("file", hit.get("file_id")),
                "score": round(float(hit.get("score") or 0), 4),
            }
            if hit.get("text"):
                result["content"] = hit["text"]
            results.append(result)
        out = {"type": kind, "id": ids("call", item.get("id")), "results": results}
    return {k: v for k, v in out.items() if v is not None}


def _status(items: Sequence[Mapping[str, Any]]) -> str:
    statuses = [STEP_STATUS.get(str(i.get("status")), str(i.get("status") or "completed")) for i in items]
    return next((s for s in statuses if s != "completed"), "completed")


@dataclass
class Turn:
    """What one turn's responses showed, as transcript data."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    reply: list[dict[str, Any]] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)  # one entry per citation, for the expectations
    uses: list[tuple[str, str, Any]] = field(default_factory=list)  # (type, name, parsed arguments)


def _model_steps(output: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """A response's output items as model steps: each run of consecutive tool calls, each message."""
    groups: list[list[Mapping[str, Any]]] = []
    for item in output:
        kind = item.get("type")
        if kind in TOOL_CALLS:
            if groups and groups[-1][0].get("type") in TOOL_CALLS:
                groups[-1].append(item)
            else:
                groups.append([item])
        elif kind == "message" and item.get("role", "assistant") == "assistant":
            groups.append([item])
    return groups


def turn_from_responses(
    responses: Sequence[Mapping[str, Any]], outputs: Mapping[str, str], ids: Placeholders
) -> Turn:
    """The steps, replies, citations and tool uses of a turn's responses, in order. `outputs`: the
    function outputs arun sent, by `call_id`."""
    turn = Turn()
    for response in responses:
        for group in _model_steps(response.get("output") or []):
            if group[0].get("type") == "message":
                reply = reply_from_message(group[0], ids)
                turn.reply.append(reply.to_data())
                turn.cited += [c.file for c in reply.citations]
                step = {"type": "message_creation", "status": _status(group), "message": len(turn.reply)}
                turn.steps.append(step)
                continue
            calls = [call_from_item(item, outputs, ids) for item in group]
            turn.steps.append({"type": "tool_calls", "status": _status(group), "calls": calls})
            for call in calls:
                arguments = call.get("arguments") if call["type"] == "function" else None
                turn.uses.append((call["type"], str(call.get("name", call["type"])), arguments))
    return turn


def run_from_responses(
    responses: Sequence[Mapping[str, Any]], settings: Mapping[str, Any], ids: Placeholders
) -> dict[str, Any]:
    """The turn's `run` section: the final response stands for the turn, as the final run does on the
    Assistants API (`run_1`, ... by turn, whatever the number of tool rounds)."""
    last = responses[-1] if responses else {}
    run: dict[str, Any] = {"id": ids("run", last.get("id"))} if last.get("id") else {}
    if settings:
        run["settings"] = canonical(settings)
    run["status"] = str(last.get("status") or "failed")
    error = last.get("error") or {}
    details = last.get("incomplete_details") or {}
    if error:
        run["reason"] = f"{error.get('code')}: {error.get('message')}"
    elif details.get("reason"):
        run["reason"] = str(details["reason"])
    return run


def usage_from_responses(responses: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Token usage of the turn in the transcript's words (prompt, completion, total), summed."""
    total = {ours: 0 for _, ours in USAGE}
    for response in responses:
        usage = response.get("usage") or {}
        for theirs, ours in USAGE:
            total[ours] += int(usage.get(theirs) or 0)
    return total
