"""What one turn did, gathered from stream events or from polled objects, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass
class TurnState:
    """Everything the API told us about one turn's runs; filled as events or objects arrive."""

    thread_id: str | None = None
    run: dict[str, Any] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, in order of first sight
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    usages: dict[str, dict[str, int]] = field(default_factory=dict)  # by run id, from terminal runs
    retried: int = 0
    cancelled_by_arun: str | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        return str(self.run.get("status", "unknown"))

    @property
    def run_id(self) -> str | None:
        return self.run.get("id")

    def see_run(self, run: dict[str, Any]) -> None:
        if run.get("id") and run["id"] not in self.run_ids:
            self.run_ids.append(run["id"])
        self.run = run
        self.thread_id = self.thread_id or run.get("thread_id")
        if run.get("status") in TERMINAL and run.get("usage"):
            self.usages[run["id"]] = {k: int(run["usage"].get(k) or 0) for k in USAGE_KEYS}

    @property
    def usage(self) -> dict[str, int]:
        return {k: sum(u[k] for u in self.usages.values()) for k in USAGE_KEYS}

    def see_step(self, step: dict[str, Any]) -> None:
        self.steps[step["id"]] = step

    def see_message(self, message: dict[str, Any]) -> None:
        if message.get("role") == "assistant":
            self.messages[message["id"]] = message

    def see_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "thread.created":
            self.thread_id = data["id"]
        elif name.startswith("thread.run.step."):
            if name != "thread.run.step.delta":
                self.see_step(data)
        elif name.startswith("thread.run."):
            self.see_run(data)
        elif name.startswith("thread.message.") and name != "thread.message.delta":
            self.see_message(data)
        elif name == "error":
            self.error = str((data or {}).get("message") or data)

    @property
    def failure_code(self) -> str | None:
        return (self.run.get("last_error") or {}).get("code")

    @property
    def reason(self) -> str | None:
        error = self.run.get("last_error") or {}
        if error:
            return f"{error.get('code')}: {error.get('message')}"
        details = self.run.get("incomplete_details") or {}
        return str(details["reason"]) if details.get("reason") else None

    def required_calls(self) -> list[dict[str, Any]]:
        action = self.run.get("required_action") or {}
        return list((action.get("submit_tool_outputs") or {}).get("tool_calls") or [])
