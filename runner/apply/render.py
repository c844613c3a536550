"""Plans for people (`+`, `~`, `-`, colour on a TTY only) and for machines (JSON)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import click

from runner.apply.plan import Change, FieldChange, FileAction, Plan

_MARKS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


def _short(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _field_lines(change: FieldChange) -> list[str]:
    before, after = change.before, change.after
    long_text = (
        isinstance(after, str)
        and isinstance(before, str)
        and ("\n" in before + after or len(before + after) > 100)
    )
    if long_text:
        diff = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "remote", "desired", lineterm="", n=2
        )
        return [f"~ {change.field}:", *(f"    {line}" for line in diff)]
    return [f"~ {change.field}: {_short(before)} -> {_short(after)}"]


def _file_line(action: FileAction) -> str | None:
    where = action.path or action.file_id
    if action.action == "upload":
        return f"+ file {where} ({action.tool}, upload)"
    if action.action == "reuse":
        return f"+ file {where} ({action.tool}, reuse upload {action.file_id})"
    if action.action == "remove":
        verb = "delete" if action.delete else "detach"
        gone = ": the file is gone" if action.gone else ""
        return f"- file {where} ({action.tool}, {verb} {action.file_id}{gone})"
    return None


def _create_lines(change: Change) -> list[str]:
    want = change.desired
    assert want is not None
    lines = [
        f"{name}: {_short(want.fields[name])}"
        for name in ("model", "name")
        if want.fields.get(name) is not None
    ]
    tools = [t.get("function", {}).get("name", t["type"]) for t in want.fields.get("tools", [])]
    if tools:
        lines.append(f"tools: {', '.join(tools)}")
    return lines


def change_lines(change: Change, *, color: bool = False) -> list[str]:
    mark, fg = _MARKS[change.action]
    ident = f" ({change.id})" if change.id else ""
    reason = f": {change.reason}" if change.reason and change.action != "create" else ""
    head = f"{mark} {change.kind.replace('_', ' ')} {change.key}{ident}{reason}"
    lines = [click.style(head, fg=fg) if color else head]
    body = _create_lines(change) if (change.action, change.kind) == ("create", "assistant") else []
    body.extend(f"! {note}" for note in change.notes)
    for item in change.fields:
        body.extend(_field_lines(item))
    body.extend(line for line in map(_file_line, change.files) if line)
    lines.extend(f"    {line}" for line in body)
    return lines


RESPONSES_NOTE = (
    "--api responses: arun manages files and vector stores only; there are no assistant objects "
    "(each request carries its assistant inline)."
)


def render_plan(plan: Plan, requests: int, *, color: bool = False) -> str:
    lines: list[str] = [RESPONSES_NOTE] if plan.protocol == "responses" else []
    for change in plan.changes:
        lines.extend(change_lines(change, color=color))
    for key in plan.unpruned:
        if plan.protocol == "responses":
            lines.append(
                f"! {key}: its YAML is gone; `arun apply --prune` deletes its files and vector store"
            )
        else:
            lines.append(
                f"! assistant {key}: its YAML is gone; `arun apply --prune` deletes it with its files"
            )
    lines.append(summary(plan, requests))
    return "\n".join(lines) + "\n"


def summary(plan: Plan, requests: int) -> str:
    counts = f"{plan.count('create')} to create, {plan.count('update')} to update, {plan.count('delete')} to delete"
    head = "No changes." if plan.empty else "Plan:"
    return f"{head} {counts}. {requests} API request{'s' if requests != 1 else ''}."


def plan_json(plan: Plan, requests: int) -> dict[str, Any]:
    def change(item: Change) -> dict[str, Any]:
        return {
            "action": item.action,
            "kind": item.kind,
            "key": item.key,
            "id": item.id,
            "reason": item.reason,
            "fields": [{"field": f.field, "before": f.before, "after": f.after} for f in item.fields],
            "files": [
                {
                    "action": f.action,
                    "tool": f.tool,
                    "path": f.path,
                    "file_id": f.file_id,
                    "delete": f.delete,
                    "gone": f.gone,
                }
                for f in item.file_changes
            ],
            "notes": list(item.notes),
        }

    return {
        "api": plan.protocol,
        "changes": [change(c) for c in plan.changes],
        "unpruned": list(plan.unpruned),
        "counts": {
            "create": plan.count("create"),
            "update": plan.count("update"),
            "delete": plan.count("delete"),
        },
        "requests": requests,
    }
