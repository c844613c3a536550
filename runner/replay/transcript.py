"""Turning what a turn did into transcript data: stable placeholders, parsed JSON, project paths."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runner.replay.collect import TurnState, message_text
from runner.transcript.io import canonical


class Placeholders:
    """Ids become `run_1`, `call_1`, ... in order of first appearance; files become project paths if known."""

    def __init__(self, file_labels: Mapping[str, str]) -> None:
        self.file_labels = file_labels
        self.given: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str, value: str | None) -> str | None:
        if value is None:
            return None
        if kind == "file" and value in self.file_labels:
            return self.file_labels[value]
        if value not in self.given:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.given[value] = f"{kind}_{self.counts[kind]}"
        return self.given[value]


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return canonical(json.loads(text))
    except ValueError:
        return text


def _call(raw: dict[str, Any], ids: Placeholders) -> dict[str, Any]:
    kind = raw.get("type", "")
    out: dict[str, Any] = {"type": kind, "id": ids("call", raw.get("id"))}
    body = raw.get(kind) or {}
    if kind == "function":
        out["name"] = body.get("name")
        out["arguments"] = _parsed(body.get("arguments"))
        if body.get("output") is not None:
            out["output"] = _parsed(body["output"])
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
                uses.append((kind, str(body.get("name")), _parsed(body.get("arguments"))))
            else:
                uses.append((kind, kind, None))
    return uses


def replies(state: TurnState, ids: Placeholders) -> tuple[list[dict[str, Any]], list[str]]:
    """The assistant messages as transcript data, and the cited files (one entry per citation)."""
    out, cited = [], []
    for message in state.messages.values():
        text, annotations = message_text(message)
        shown = []
        for note in annotations:
            kind = note.get("type", "")
            target = note.get(kind) or {}
            entry: dict[str, Any] = {"type": kind, "text": note.get("text", "")}
            if target.get("file_id"):
                entry["file"] = ids("file", target["file_id"])
            if target.get("quote"):
                entry["quote"] = target["quote"]
            if kind == "file_citation" and "file" in entry:
                cited.append(entry["file"])
            shown.append(entry)
        out.append({"text": text, "annotations": shown})
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
