"""The Assistants API's objects as transcript data: run steps, messages and their annotations, the run.

Pure functions over the JSON the API sent (gathered in a `TurnState`); `responses.py` beside it maps the
Responses API's output items to the same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.replay.collect import TurnState
from runner.transcript.form import Citation, FileLink, Placeholders, Reply, joined, parsed
from runner.transcript.io import canonical

API = "assistants"


def _call(raw: dict[str, Any], ids: Placeholders) -> dict[str, Any]:
    kind = raw.get("type", "")
    out: dict[str, Any] = {"type": kind, "id": ids("call", raw.get("id"))}
    body = raw.get(kind) or {}
    if kind == "function":
        out["name"] = body.get("name")
        out["arguments"] = parsed(body.get("arguments"))
        if body.get("output") is not None:
            out["output"] = parsed(body["output"])
    elif kind == "code_interpreter":
        out["input"] = body.get("input") or ""
        outputs = []
        for item in body.get("outputs") or []:
            if item.get("type") == "image":
                outputs.append({"image": ids("file", (item.get("image") or {}).get("file_id"))})
            else:
                outputs.append({"logs": item.get("logs") or ""})
        out["outputs"] = outputs
    elif kind == "file_search":
        results = []
        for hit in body.get("results") or []:
            content = "\n".join(
                part.get("text", "") for part in hit.get("content") or [] if part.get("type") == "text"
            )
            result: dict[str, Any] = {
                "file": ids("file", hit.get("file_id")),
                "score": round(float(hit.get("score", 0)), 4),
            }
            if content:
                result["content"] = content
            results.append(result)
        out["results"] = results
    return {k: v for k, v in out.items() if v is not None}


def tool_uses(state: TurnState) -> list[tuple[str, str, Any]]:
    """(type, name, parsed arguments) of every tool call the turn's runs made, in order."""
    uses = []
    for step in state.steps.values():
        for raw in (step.get("step_details") or {}).get("tool_calls") or []:
            kind = raw.get("type", "")
            if kind == "function":
                body = raw.get("function") or {}
                uses.append((kind, str(body.get("name")), parsed(body.get("arguments"))))
            else:
                uses.append((kind, kind, None))
    return uses


# Annotations: the citation markers leave the text, each citation keeps its place in what remains.


def _span(value: str, note: Mapping[str, Any], cursor: int) -> tuple[int, int] | None:
    """Where the annotation's text is in `value`: at its start_index when that holds it, else its next
    occurrence after `cursor`, else its first; None when the text is not there."""
    text = note.get("text") or ""
    start = note.get("start_index")
    if not text:
        return None
    if isinstance(start, int) and value[start : start + len(text)] == text:
        return start, start + len(text)
    found = value.find(text, cursor)
    if found < 0:
        found = value.find(text)
    return (found, found + len(text)) if found >= 0 else None


def _clamped(value: str, index: Any) -> int:
    return min(max(index, 0), len(value)) if isinstance(index, int) else len(value)


def reply_from_text(value: str, annotations: list[Mapping[str, Any]], ids: Placeholders) -> Reply:
    """One text part of an Assistants message in the transcript form (docs/transcripts.md, "Citations").

    `file_citation` markers (`【4:0†name】`) are cut out of the text; each citation is its file and the
    offset in the cut text where its marker stood (the API puts it right after the cited words), with the
    quote when the API gives one. `file_path` annotations (links to files the tools made) stay in the text
    and are listed with their span in it.
    """
    cursor = 0
    located: list[tuple[Mapping[str, Any], tuple[int, int] | None]] = []
    for note in annotations:
        span = _span(value, note, cursor) if note.get("type") == "file_citation" else None
        if span is not None:
            cursor = span[1]
        located.append((note, span))
    markers: list[tuple[int, int]] = []
    for span in sorted({s for _, s in located if s is not None}):
        if not markers or span[0] >= markers[-1][1]:  # overlapping markers: the first one is cut
            markers.append(span)

    def moved(index: int) -> int:
        shift = 0
        for start, end in markers:
            if end <= index:
                shift += end - start
            elif start < index:  # inside a marker: the place where it stood
                return start - shift
        return index - shift

    pieces, last = [], 0
    for start, end in markers:
        pieces.append(value[last:start])
        last = end
    text = "".join(pieces) + value[last:]
    citations: list[Citation] = []
    files: list[FileLink] = []
    for note, span in located:
        kind = note.get("type")
        target = note.get(str(kind)) or {}
        file = ids("file", target.get("file_id")) if target.get("file_id") else None
        if file is None:
            continue
        if kind == "file_citation":
            at = span[0] if span else _clamped(value, note.get("start_index"))
            citations.append(Citation(file, moved(at), target.get("quote") or None))
        elif kind == "file_path":
            where = _span(value, note, 0)
            start, end = where or (
                _clamped(value, note.get("start_index")),
                _clamped(value, note.get("end_index")),
            )
            files.append(FileLink(file, moved(start), moved(end)))
    citations.sort(key=lambda c: c.index)
    files.sort(key=lambda f: f.start)
    return Reply(text, tuple(citations), tuple(files))


def reply_from_message(message: Mapping[str, Any], ids: Placeholders) -> Reply:
    """An Assistants message object (`thread.message`) in the transcript form: its text parts joined."""
    parts = [
        reply_from_text(part["text"].get("value", ""), list(part["text"].get("annotations") or []), ids)
        for part in message.get("content") or []
        if part.get("type") == "text" and isinstance(part.get("text"), Mapping)
    ]
    return joined(parts) if parts else Reply("")


def replies(state: TurnState, ids: Placeholders) -> tuple[list[dict[str, Any]], list[str]]:
    """The assistant messages as transcript data, and the cited files (one entry per citation)."""
    out, cited = [], []
    for message in state.messages.values():
        reply = reply_from_message(message, ids)
        out.append(reply.to_data())
        cited += [c.file for c in reply.citations]
    return out, cited


def steps(state: TurnState, ids: Placeholders) -> list[dict[str, Any]]:
    order = list(state.messages)
    out = []
    for step in state.steps.values():
        details = step.get("step_details") or {}
        entry: dict[str, Any] = {"type": details.get("type", step.get("type")), "status": step.get("status")}
        if entry["type"] == "message_creation":
            message_id = (details.get("message_creation") or {}).get("message_id")
            if message_id in order:
                entry["message"] = order.index(message_id) + 1
        else:
            entry["calls"] = [_call(raw, ids) for raw in details.get("tool_calls") or []]
        out.append(entry)
    return out


def run_section(state: TurnState, settings: Mapping[str, Any], ids: Placeholders) -> dict[str, Any]:
    run: dict[str, Any] = {"id": ids("run", state.run_id)} if state.run_id else {}
    if settings:
        run["settings"] = canonical(settings)
    run["status"] = state.status if state.status != "unknown" else "failed"
    if state.reason:
        run["reason"] = state.reason
    if state.cancelled_by_arun:
        run["cancelled_by_arun"] = state.cancelled_by_arun
    if state.retried:
        run["retried"] = state.retried
    return run
