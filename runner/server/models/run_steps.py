"""Run steps and the assistant messages runs write, in the shapes of the recordings.

Step objects have the recordings' keys: `expires_at` (the spec says `expired_at`) and no `metadata`.
file_search results are stored with their content; it is served only when a request asks for it with
`include[]`, as the real API does.
"""

from __future__ import annotations

from typing import Any

from runner.server.exceptions import ObjectNotFound
from runner.server.models.common import Page, list_object, new_id, now
from runner.server.store import Store

# What an open step becomes when its run ends some other way than completing.
_CLOSED_AS = {"failed": "failed", "cancelled": "cancelled", "expired": "expired", "incomplete": "cancelled"}


def usage_object(prompt: int, completion: int) -> dict[str, Any]:
    # As the recordings show it, with the detail objects the spec leaves out.
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_token_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def public_step(step: dict[str, Any], include_content: bool) -> dict[str, Any]:
    if include_content or step["type"] != "tool_calls":
        return step
    calls = []
    for call in step["step_details"]["tool_calls"]:
        if call["type"] == "file_search":
            results = [{k: v for k, v in r.items() if k != "content"} for r in call["file_search"]["results"]]
            call = {**call, "file_search": {**call["file_search"], "results": results}}
        calls.append(call)
    return {**step, "step_details": {"type": "tool_calls", "tool_calls": calls}}


class RunSteps:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, run: dict[str, Any], kind: str, details: dict[str, Any]) -> dict[str, Any]:
        step = {
            "id": new_id("step"),
            "object": "thread.run.step",
            "created_at": now(),
            "run_id": run["id"],
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "type": kind,
            "status": "in_progress",
            "cancelled_at": None,
            "completed_at": None,
            "expires_at": run["expires_at"],
            "failed_at": None,
            "last_error": None,
            "step_details": {"type": kind, kind: details} if kind == "message_creation" else details,
            "usage": None,
        }
        self.store.insert("run_steps", step, thread_id=run["thread_id"], run_id=run["id"])
        return step

    def save(self, step: dict[str, Any]) -> dict[str, Any]:
        self.store.update("run_steps", step)
        return step

    def complete(self, step: dict[str, Any], usage: tuple[int, int] | None) -> dict[str, Any]:
        step["status"] = "completed"
        step["completed_at"] = now()
        if usage is not None:
            step["usage"] = usage_object(*usage)
        return self.save(step)

    def waiting(self, run: dict[str, Any]) -> dict[str, Any]:
        for step in reversed(self.store.all("run_steps", run_id=run["id"])):
            if step["type"] == "tool_calls" and step["status"] == "in_progress":
                return step
        raise ObjectNotFound("run step", f"{run['id']} (waiting for tool outputs)")

    def fill_outputs(
        self, step: dict[str, Any], outputs: dict[str, str], usage: tuple[int, int]
    ) -> dict[str, Any]:
        for call in step["step_details"]["tool_calls"]:
            if call["type"] == "function":
                call["function"]["output"] = outputs[call["id"]]
        return self.complete(step, usage)

    def close_open(self, run: dict[str, Any], status: str, last_error: dict[str, str] | None) -> None:
        stamp = now()
        for step in self.store.all("run_steps", run_id=run["id"]):
            if step["status"] == "in_progress" and status in _CLOSED_AS:
                step["status"] = _CLOSED_AS[status]
                if step["status"] == "failed":
                    step["failed_at"], step["last_error"] = stamp, last_error
                elif step["status"] == "cancelled":
                    step["cancelled_at"] = stamp
            if status != "expired":
                step["expires_at"] = None
            self.save(step)

    def get(self, thread_id: str, run_id: str, step_id: str, include_content: bool) -> dict[str, Any]:
        step = self.store.get("run_steps", step_id, run_id=run_id)
        if step is None or step["thread_id"] != thread_id:
            raise ObjectNotFound("run step", step_id)
        return public_step(step, include_content)

    def list(self, run: dict[str, Any], page: Page, include_content: bool) -> dict[str, Any]:
        items, more = self.store.page(
            "run_steps",
            {"thread_id": run["thread_id"], "run_id": run["id"]},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        return list_object([public_step(s, include_content) for s in items], more)
