"""Assistants, threads and messages: defaults and normalisation as the real API applies them."""

from __future__ import annotations

from typing import Any

from runner.server.exceptions import InvalidRequest, ObjectNotFound
from runner.server.models.common import Page, check_metadata, list_object, new_id, now
from runner.server.models.files import Files
from runner.server.models.vector_stores import VectorStores
from runner.server.store import Store

DEFAULT_RANKER = "default_2024_08_21"


def normalise_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool["type"] == "function":
        given = tool["function"]
        function: dict[str, Any] = {"name": given["name"]}
        if "description" in given:
            function["description"] = given["description"]
        function["parameters"] = given.get("parameters") or {"type": "object", "properties": {}}
        function["strict"] = bool(given.get("strict") or False)
        return {"type": "function", "function": function}
    if tool["type"] == "file_search":
        given = tool.get("file_search") or {}
        options = given.get("ranking_options") or {}
        file_search: dict[str, Any] = {}
        if "max_num_results" in given:
            file_search["max_num_results"] = given["max_num_results"]
        file_search["ranking_options"] = {
            "ranker": options.get("ranker", DEFAULT_RANKER),
            "score_threshold": float(options.get("score_threshold", 0.0)),
            "hybrid_search": None,
        }
        return {"type": "file_search", "file_search": file_search}
    return {"type": tool["type"]}


def text_content(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": {"value": content, "annotations": []}}]
    parts = []
    for part in content:
        if part["type"] == "text":
            parts.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
        elif part["type"] == "image_file":
            parts.append({"type": "image_file", "image_file": {"detail": "auto", **part["image_file"]}})
        else:
            parts.append({"type": "image_url", "image_url": {"detail": "auto", **part["image_url"]}})
    return parts


class Assistants:
    def __init__(self, store: Store, files: Files, vector_stores: VectorStores) -> None:
        self.store = store
        self.files = files
        self.vector_stores = vector_stores

    # -- tool resources, shared by assistants and threads ---------------------------------------------------

    def tool_resources(self, given: dict[str, Any] | None, tools: list[dict[str, Any]]) -> dict[str, Any]:
        given = given or {}
        out: dict[str, Any] = {}
        code = given.get("code_interpreter")
        if code is not None or any(t["type"] == "code_interpreter" for t in tools):
            file_ids = list((code or {}).get("file_ids") or [])
            for file_id in file_ids:
                self.files.get(file_id)
            out["code_interpreter"] = {"file_ids": file_ids}
        search = given.get("file_search")
        if search is not None:
            ids = list(search.get("vector_store_ids") or [])
            for i, vs_id in enumerate(ids):
                if self.store.get("vector_stores", vs_id) is None:
                    raise InvalidRequest(
                        f"Vector store '{vs_id}' not found.",
                        f"tool_resources.file_search.vector_store_ids[{i}]",
                    )
            for inline in search.get("vector_stores") or []:
                ids.append(self.vector_stores.create(inline)["id"])
            out["file_search"] = {"vector_store_ids": ids}
        return out

    # -- assistants -----------------------------------------------------------------------------------------

    def create_assistant(self, body: dict[str, Any]) -> dict[str, Any]:
        tools = [normalise_tool(t) for t in body.get("tools") or []]
        with self.store.transaction():
            assistant = {
                "id": new_id("asst"),
                "object": "assistant",
                "created_at": now(),
                "name": body.get("name"),
                "description": body.get("description"),
                "model": body["model"],
                "instructions": body.get("instructions"),
                "tools": tools,
                "top_p": _float(body.get("top_p"), 1.0),
                "temperature": _float(body.get("temperature"), 1.0),
                "reasoning_effort": body.get("reasoning_effort"),
                "tool_resources": self.tool_resources(body.get("tool_resources"), tools),
                "metadata": check_metadata(body.get("metadata")),
                "response_format": body.get("response_format") or "auto",
            }
            self.store.insert("assistants", assistant)
        return assistant

    def get_assistant(self, assistant_id: str) -> dict[str, Any]:
        assistant = self.store.get("assistants", assistant_id)
        if assistant is None:
            raise ObjectNotFound("assistant", assistant_id)
        return assistant

    def list_assistants(self, page: Page) -> dict[str, Any]:
        items, more = self.store.page(
            "assistants", {}, limit=page.limit, order=page.order, after=page.after, before=page.before
        )
        return list_object(items, more)

    def modify_assistant(self, assistant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            assistant = self.get_assistant(assistant_id)
            for key in ("name", "description", "instructions", "reasoning_effort", "model"):
                if key in body:
                    assistant[key] = body[key]
            if "tools" in body:
                assistant["tools"] = [normalise_tool(t) for t in body["tools"] or []]
            for key in ("top_p", "temperature"):
                if key in body:
                    assistant[key] = _float(body[key], 1.0)
            if "response_format" in body:
                assistant["response_format"] = body["response_format"] or "auto"
            if "metadata" in body:
                assistant["metadata"] = check_metadata(body["metadata"])
            if "tool_resources" in body or "tools" in body:
                given = body["tool_resources"] if "tool_resources" in body else assistant["tool_resources"]
                assistant["tool_resources"] = self.tool_resources(given, assistant["tools"])
            self.store.update("assistants", assistant)
        return assistant

    def delete_assistant(self, assistant_id: str) -> dict[str, Any]:
        if not self.store.delete("assistants", assistant_id):
            raise ObjectNotFound("assistant", assistant_id)
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    # -- threads --------------------------------------------------------------------------------------------

    def create_thread(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            thread: dict[str, Any] = {
                "id": new_id("thread"),
                "object": "thread",
                "created_at": now(),
                "metadata": check_metadata(body.get("metadata")),
                "tool_resources": self.tool_resources(body.get("tool_resources"), []),
            }
            self.store.insert("threads", thread)
            for i, message in enumerate(body.get("messages") or []):
                self._insert_message(thread["id"], message, f"messages[{i}]")
        return thread

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        thread = self.store.get("threads", thread_id)
        if thread is None:
            raise ObjectNotFound("thread", thread_id)
        return thread

    def modify_thread(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            thread = self.get_thread(thread_id)
            if "metadata" in body:
                thread["metadata"] = check_metadata(body["metadata"])
            if "tool_resources" in body:
                thread["tool_resources"] = self.tool_resources(body["tool_resources"], [])
            self.store.update("threads", thread)
        return thread

    def delete_thread(self, thread_id: str) -> dict[str, Any]:
        if not self.store.delete("threads", thread_id):
            raise ObjectNotFound("thread", thread_id)
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    # -- messages -------------------------------------------------------------------------------------------

    def _insert_message(
        self,
        thread_id: str,
        body: dict[str, Any],
        param: str = "",
        assistant_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        where = f"{param}." if param else ""
        if body["content"] == "":
            raise InvalidRequest("Message content must be non-empty.", f"{where}content", "invalid_value")
        attachments = list(body.get("attachments") or [])
        for i, attachment in enumerate(attachments):
            if self.store.get("files", attachment["file_id"]) is None:
                raise InvalidRequest(
                    f"File '{attachment['file_id']}' not found.", f"{where}attachments[{i}].file_id"
                )
        # Non-streamed messages carry no status fields in the real API (see the recordings); part 2's
        # runs add them to the messages they stream.
        message = {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": now(),
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "run_id": run_id,
            "role": body["role"],
            "content": text_content(body["content"]),
            "attachments": attachments,
            "metadata": check_metadata(body.get("metadata"), f"{where}metadata"),
        }
        self.store.insert("messages", message, thread_id=thread_id, run_id=run_id, assistant_id=assistant_id)
        return message

    def create_message(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            self.get_thread(thread_id)
            return self._insert_message(thread_id, body)

    def get_message(self, thread_id: str, message_id: str) -> dict[str, Any]:
        self.get_thread(thread_id)
        message = self.store.get("messages", message_id, thread_id=thread_id)
        if message is None:
            raise ObjectNotFound("message", message_id)
        return message

    def list_messages(self, thread_id: str, page: Page, run_id: str | None = None) -> dict[str, Any]:
        self.get_thread(thread_id)
        items, more = self.store.page(
            "messages",
            {"thread_id": thread_id, "run_id": run_id},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        return list_object(items, more)

    def modify_message(self, thread_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            message = self.get_message(thread_id, message_id)
            if "metadata" in body:
                message["metadata"] = check_metadata(body["metadata"])
            self.store.update("messages", message)
        return message

    def delete_message(self, thread_id: str, message_id: str) -> dict[str, Any]:
        with self.store.transaction():
            self.get_message(thread_id, message_id)
            self.store.delete("messages", message_id, thread_id=thread_id)
        return {"id": message_id, "object": "thread.message.deleted", "deleted": True}


def _float(value: Any, default: float) -> float:
    return default if value is None else float(value)
