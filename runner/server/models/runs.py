"""Runs: creation with the run-level overrides, the rules the real API enforces, status changes, expiry,
cancelling, tool outputs, and what a restart leaves behind. No HTTP and no timing: the engine
(runner/server/engine.py) drives runs forward through these methods.

Run documents carry a few private keys (prefixed `_`, never served): the float deadline behind `expires_at`,
the `include[]` it was created with, the tokens used so far, and the model's tool steps so far (so a run
waiting in `requires_action` survives a restart).
"""

from __future__ import annotations

import math
import time
from typing import Any

from runner.server.exceptions import InvalidRequest, InvalidValue, ObjectNotFound
from runner.server.models.assistants import Assistants, normalise_tool
from runner.server.models.common import Page, check_metadata, list_object, new_id, now
from runner.server.models.run_steps import RunSteps, usage_object
from runner.server.store import Store

ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
# The real API gives a run ten minutes.
DEFAULT_TTL = 600.0
RESTARTED = "The server restarted while this run was in progress."


def public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def check_include(values: list[str]) -> bool:
    for i, value in enumerate(values):
        if value != INCLUDE_CONTENT:
            raise InvalidValue(
                f"Invalid value: '{value}'. Supported values are: '{INCLUDE_CONTENT}'.", f"include[{i}]"
            )
    return bool(values)


def _forced_tool(choice: Any, tools: list[dict[str, Any]]) -> None:
    # The simulator trusts that a forced tool is one the run has; the real API refuses the request.
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "function":
        name = (choice.get("function") or {}).get("name")
        if not any(t["type"] == "function" and t["function"]["name"] == name for t in tools):
            raise InvalidValue(
                f"Invalid 'tool_choice': function '{name}' is not one of the run's tools.", "tool_choice"
            )
    elif not any(t["type"] == kind for t in tools):
        raise InvalidValue(f"Invalid 'tool_choice': '{kind}' is not one of the run's tools.", "tool_choice")


class Runs:
    def __init__(self, store: Store, assistants: Assistants, ttl: float = DEFAULT_TTL) -> None:
        self.store = store
        self.assistants = assistants
        self.ttl = ttl
        self.steps = RunSteps(store)
        # The copy of each active run saved last: while that is the engine's own, nothing else has changed
        # the run and the engine need not read it back between deltas (see `current`).
        self._saved: dict[str, dict[str, Any]] = {}
        self.recover()

    # -- creation -------------------------------------------------------------------------------------

    def _new_run(
        self, thread: dict[str, Any], body: dict[str, Any], include: bool, tool_resources: dict[str, Any]
    ) -> dict[str, Any]:
        assistant = self.assistants.get_assistant(body["assistant_id"])
        tools = (
            [normalise_tool(t) for t in body["tools"]]
            if body.get("tools") is not None
            else assistant["tools"]
        )
        choice = body.get("tool_choice") or "auto"
        _forced_tool(choice, tools)
        created = time.time()
        instructions = body.get("instructions")
        combined = instructions if instructions is not None else assistant.get("instructions")
        if body.get("additional_instructions"):
            combined = (
                f"{combined}\n\n{body['additional_instructions']}"
                if combined
                else body["additional_instructions"]
            )
        if not combined and not body.get("additional_messages") and not self._has_messages(thread["id"]):
            # The real API refuses to run a model on nothing at all.
            raise InvalidRequest(
                f"Thread {thread['id']} has no messages, and neither the run nor assistant "
                f"{assistant['id']} has instructions: add a message or instructions before running.",
                code="invalid_thread",
            )
        run = {
            "id": new_id("run"),
            "object": "thread.run",
            "created_at": int(created),
            "assistant_id": assistant["id"],
            "thread_id": thread["id"],
            "status": "queued",
            "started_at": None,
            "expires_at": math.ceil(created + self.ttl),
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": body.get("model") or assistant["model"],
            "instructions": combined or None,
            "tools": tools,
            "tool_resources": tool_resources,
            "metadata": check_metadata(body.get("metadata")),
            "temperature": _pick(body, assistant, "temperature"),
            "top_p": _pick(body, assistant, "top_p"),
            "reasoning_effort": body.get("reasoning_effort", assistant.get("reasoning_effort")),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "truncation_strategy": {
                "type": "auto",
                "last_messages": None,
                **(body.get("truncation_strategy") or {}),
            },
            "incomplete_details": None,
            "usage": None,
            "response_format": body.get("response_format") or assistant.get("response_format") or "auto",
            "tool_choice": choice,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "_deadline": created + self.ttl,
            "_include": include,
            "_steps": [],
            "_prompt_tokens": 0,
            "_completion_tokens": 0,
        }
        for i, message in enumerate(body.get("additional_messages") or []):
            self.assistants._insert_message(thread["id"], message, f"additional_messages[{i}]")
        self._index_attachments(thread)
        self.store.insert("runs", run, thread_id=thread["id"], assistant_id=assistant["id"], status="queued")
        return run

    def _has_messages(self, thread_id: str) -> bool:
        found, _ = self.store.page(
            "messages", {"thread_id": thread_id}, limit=1, order="asc", after=None, before=None
        )
        return bool(found)

    def _index_attachments(self, thread: dict[str, Any]) -> None:
        """Files attached to the thread's messages for file_search go into the thread's vector store (made
        when needed, expiring after 7 idle days), as the real API does with such attachments."""
        wanted = [
            a["file_id"]
            for m in self.store.all("messages", thread_id=thread["id"])
            for a in m.get("attachments") or []
            if any(t.get("type") == "file_search" for t in a.get("tools") or [])
            and self.store.get("files", a["file_id"]) is not None
        ]
        search = thread["tool_resources"].get("file_search") or {}
        ids = list(search.get("vector_store_ids") or [])
        indexed = {
            f["id"] for vs_id in ids for f in self.store.all("vector_store_files", vector_store_id=vs_id)
        }
        missing = [f for f in dict.fromkeys(wanted) if f not in indexed]
        if not missing:
            return
        stores = self.assistants.vector_stores
        if ids:
            for file_id in missing:
                stores.create_file(ids[0], {"file_id": file_id})
        else:
            expiry = {"anchor": "last_active_at", "days": 7}
            ids = [stores.create({"file_ids": missing, "expires_after": expiry})["id"]]
        thread["tool_resources"]["file_search"] = {"vector_store_ids": ids}
        self.store.update("threads", thread)

    def create_run(self, thread_id: str, body: dict[str, Any], include: bool = False) -> dict[str, Any]:
        with self.store.transaction():
            thread = self.assistants.get_thread(thread_id)
            self.assistants.get_assistant(body["assistant_id"])
            self.ensure_idle(thread_id)
            return self._new_run(thread, body, include, {})

    def create_thread_and_run(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        with self.store.transaction():
            # Checked before the thread exists, so a refused request leaves nothing behind.
            self.assistants.get_assistant(body["assistant_id"])
            resources = (
                self.assistants.tool_resources(body.get("tool_resources"), [])
                if body.get("tool_resources")
                else {}
            )
            thread = self.assistants.create_thread(body.get("thread") or {})
            return thread, self._new_run(thread, body, False, resources)

    # -- reading --------------------------------------------------------------------------------------

    def load(self, run_id: str) -> dict[str, Any]:
        run = self.store.get("runs", run_id)
        if run is None:
            raise ObjectNotFound("run", run_id)
        return self.refresh(run)

    def current(self, run: dict[str, Any]) -> dict[str, Any]:
        """The run as stored now: `run` itself while it is the copy saved last (no request has changed the
        run since: a cancel or a metadata change saves another copy), otherwise read again."""
        if self._saved.get(run["id"]) is run:
            return self.refresh(run)
        return self.load(run["id"])

    def get_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        self.assistants.get_thread(thread_id)
        run = self.store.get("runs", run_id, thread_id=thread_id)
        if run is None:
            raise ObjectNotFound("run", run_id)
        return self.refresh(run)

    def list_runs(self, thread_id: str, page: Page) -> dict[str, Any]:
        self.assistants.get_thread(thread_id)
        self.expire_due(thread_id)
        items, more = self.store.page(
            "runs",
            {"thread_id": thread_id},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        return list_object([public(r) for r in items], more)

    def modify_run(self, thread_id: str, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            run = self.get_run(thread_id, run_id)
            if "metadata" in body:
                run["metadata"] = check_metadata(body["metadata"])
            self.save(run)
        return run

    # -- the rules ------------------------------------------------------------------------------------

    def active_run(self, thread_id: str) -> dict[str, Any] | None:
        for status in ACTIVE:
            for run in self.store.all("runs", thread_id=thread_id, status=status):
                if self.refresh(run)["status"] in ACTIVE:
                    return run
        return None

    def ensure_idle(self, thread_id: str, for_message: bool = False) -> None:
        run = self.active_run(thread_id)
        if run is None:
            return
        if for_message:
            raise InvalidRequest(f"Can't add messages to {thread_id} while a run {run['id']} is active.")
        raise InvalidRequest(f"Thread {thread_id} already has an active run {run['id']}.")

    def refresh(self, run: dict[str, Any]) -> dict[str, Any]:
        """Expiry is applied whenever a run is read, so a run nobody answers expires even with no task."""
        if run["status"] in ACTIVE and run["status"] != "cancelling" and time.time() >= run["_deadline"]:
            self.finish(run, "expired")
        return run

    def expire_due(self, thread_id: str) -> None:
        for status in ACTIVE:
            for run in self.store.all("runs", thread_id=thread_id, status=status):
                self.refresh(run)

    def request_cancel(self, thread_id: str, run_id: str) -> dict[str, Any]:
        with self.store.transaction():
            run = self.get_run(thread_id, run_id)
            if run["status"] not in ("queued", "in_progress", "requires_action"):
                raise InvalidRequest(f"Cannot cancel run with status '{run['status']}'.")
            return self.set_status(run, "cancelling")

    def accept_tool_outputs(
        self, thread_id: str, run_id: str, outputs: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fills the waiting step's function outputs (all of them, at once) and queues the run again."""
        with self.store.transaction():
            run = self.get_run(thread_id, run_id)
            if run["status"] != "requires_action":
                raise InvalidRequest(f'Runs in status "{run["status"]}" do not accept tool outputs.')
            step = self.steps.waiting(run)
            expected = [c["id"] for c in step["step_details"]["tool_calls"] if c["type"] == "function"]
            given = {str(o.get("tool_call_id")): o.get("output") for o in outputs}
            if sorted(given) != sorted(expected) or len(outputs) != len(expected):
                raise InvalidRequest(
                    f"Expected tool outputs for call_ids {expected}, got {[o.get('tool_call_id') for o in outputs]}",
                    "tool_outputs",
                )
            texts = {k: "" if v is None else str(v) for k, v in given.items()}
            prompt, completion = run["_steps"][-1]["usage"]
            step = self.steps.fill_outputs(step, texts, (prompt, completion))
            # The model's own copy of the step, in the order of its function calls.
            ordered = iter(texts[c] for c in expected)
            for call in run["_steps"][-1]["calls"]:
                if call["type"] == "function":
                    call["output"] = next(ordered)
            run["required_action"] = None
            return self.set_status(run, "queued"), step

    # -- status changes -------------------------------------------------------------------------------

    def save(self, run: dict[str, Any]) -> None:
        self.store.update("runs", run, status=run["status"])
        if run["status"] in ("queued", "in_progress", "cancelling"):
            self._saved[run["id"]] = run
        else:
            # Waiting for tool outputs or ended: the engine drops its copy, and so does this map.
            self._saved.pop(run["id"], None)

    def set_status(self, run: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
        run["status"] = status
        run.update(fields)
        self.save(run)
        return run

    def finish(
        self,
        run: dict[str, Any],
        status: str,
        *,
        last_error: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Ends a run: its timestamps, its open steps closed the same way, and `expires_at` cleared as the
        real API clears it (an expired run keeps it, to say when that was)."""
        stamp = now()
        with self.store.transaction():
            run["status"] = status
            run["required_action"] = None
            if status == "completed":
                run["completed_at"] = stamp
            elif status in ("failed", "expired"):
                run["failed_at"] = stamp if status == "failed" else None
                run["last_error"] = last_error
            elif status == "cancelled":
                run["cancelled_at"] = stamp
            elif status == "incomplete":
                run["incomplete_details"] = {"reason": reason}
            if status != "expired":
                run["expires_at"] = None
            if run["_prompt_tokens"] or run["_completion_tokens"] or status == "completed":
                run["usage"] = usage_object(run["_prompt_tokens"], run["_completion_tokens"])
            self.save(run)
            self.steps.close_open(run, status, last_error)
        return run

    def recover(self) -> None:
        """Runs cut off by a stop or crash end `failed` (a cancel in flight ends `cancelled`). Runs waiting
        in `requires_action` keep waiting: everything they need is stored, and expiry still applies."""
        error = {"code": "server_error", "message": RESTARTED}
        for status in ("queued", "in_progress", "cancelling"):
            for run in self.store.all("runs", status=status):
                if status == "cancelling":
                    self.finish(run, "cancelled")
                else:
                    self.finish(run, "failed", last_error=error)


def _pick(body: dict[str, Any], assistant: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if value is None:
        value = assistant.get(key)
    return 1.0 if value is None else float(value)
