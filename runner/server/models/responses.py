"""Responses (the Responses API): a request checked against the real API's rules and made into a response
object, its input items, get / delete / cancel / input items, and what a restart leaves behind. No HTTP and
no timing: the engine (runner/server/responses_engine.py) drives a response through these methods.

Response documents carry private keys (prefixed `_`, never served): the `include` values they were made
with and the seam-shaped tools. A `store: false` response is never written here; the engine keeps it in
memory while it runs.
"""

from __future__ import annotations

from typing import Any

from runner.server.exceptions import InvalidRequest, InvalidValue, NotFound
from runner.server.models.common import Page, check_metadata, list_object, now
from runner.server.models.conversations import Conversations
from runner.server.models.files import Files
from runner.server.models.items import INCLUDE_CODE, INCLUDE_SEARCH, input_item, public_item
from runner.server.models.vector_stores import VectorStores
from runner.server.store import Store
from runner.sim.execute import DEFAULT_RANKER

ACTIVE = ("queued", "in_progress")
TERMINAL = ("completed", "failed", "cancelled", "incomplete")
INCLUDES = (INCLUDE_SEARCH, INCLUDE_CODE)
RESTARTED = "The server restarted while this response was in progress."
# Which request fields the response echoes, with the value when the request leaves them out.
_ECHOED = {
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "safety_identifier": None,
    "store": True,
    "temperature": 1.0,
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
    "background": False,
}


class ResponseNotFound(NotFound):
    def __init__(self, response_id: str) -> None:
        super().__init__(f"Response with id '{response_id}' not found.")


def public(response: dict[str, Any]) -> dict[str, Any]:
    include = response.get("_include") or []
    shown = {k: v for k, v in response.items() if not k.startswith("_")}
    shown["output"] = [public_item(i, include) for i in response["output"]]
    return shown


def check_include(values: list[str], param: str = "include") -> list[str]:
    for i, value in enumerate(values):
        if value not in INCLUDES:
            supported = " and ".join(f"'{v}'" for v in INCLUDES)
            raise InvalidValue(
                f"Invalid value: '{value}'. This server supports: {supported}.", f"{param}[{i}]"
            )
    return list(values)


class Responses:
    def __init__(
        self, store: Store, files: Files, vector_stores: VectorStores, conversations: Conversations
    ) -> None:
        self.store = store
        self.files = files
        self.vector_stores = vector_stores
        self.conversations = conversations
        # The copy of each active response saved last: while that is the engine's own, no request has
        # cancelled or deleted the response, and the engine need not read it back between deltas.
        self._saved: dict[str, dict[str, Any]] = {}
        self.recover()

    # -- creation -------------------------------------------------------------------------------------

    def prepare(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The new response (status in_progress, or queued in the background) and its input items, nothing
        stored yet. The items are the whole context for a `previous_response_id` chain (as the API lists
        them), and this request's input only on a conversation (whose items come first)."""
        if body.get("prompt") is not None:
            raise InvalidRequest(
                "Stored prompts are not served by this server: send 'model', 'instructions' and 'input' "
                "instead of 'prompt'.",
                "prompt",
                "unsupported_parameter",
            )
        if not body.get("model"):
            raise InvalidRequest(
                "Missing required parameter: 'model'.", "model", "missing_required_parameter"
            )
        previous_id, conversation = body.get("previous_response_id"), body.get("conversation")
        if previous_id and conversation:
            raise InvalidRequest(
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                None,
                "mutually_exclusive_parameters",
            )
        store = body.get("store", True) is not False
        if body.get("background") and not store:
            raise InvalidRequest(
                "Background responses must be stored: send 'store': true (the default) with 'background'.",
                "background",
                "invalid_value",
            )
        include = check_include(list(body.get("include") or []))
        tools = [self._tool(t, f"tools[{i}]") for i, t in enumerate(body.get("tools") or [])]
        choice = body.get("tool_choice") or "auto"
        _forced_tool(choice, tools)
        raw_input = body.get("input")
        given = (
            [{"type": "message", "role": "user", "content": raw_input}]
            if isinstance(raw_input, str)
            else list(raw_input or [])
        )
        items = [input_item(item, f"input[{i}]") for i, item in enumerate(given)]
        conversation_id = None
        if conversation:
            conversation_id = conversation if isinstance(conversation, str) else conversation["id"]
            self.conversations.get(conversation_id)
            busy = self.store.all("responses", conversation_id=conversation_id)
            if any(r["status"] in ACTIVE for r in busy):
                raise InvalidRequest(
                    f"Another response is in progress on conversation '{conversation_id}'. Wait for it to "
                    "finish, or cancel it, before you create the next one.",
                    "conversation",
                    "conversation_locked",
                )
        if previous_id:
            previous = self.store.get("responses", previous_id)
            if previous is None:
                raise InvalidRequest(
                    f"Previous response with id '{previous_id}' not found.", "previous_response_id", None
                )
            if previous["status"] in ACTIVE:
                raise InvalidRequest(
                    f"Previous response with id '{previous_id}' is still {previous['status']}: wait for it "
                    "to end.",
                    "previous_response_id",
                )
            chain = [*self.input_items(previous_id), *previous["output"]]
            items = [*chain, *items]
        text = dict(body.get("text") or {})
        text_format = dict(text.get("format") or {"type": "text"})
        if text_format["type"] == "json_schema":
            text_format = {
                "type": "json_schema",
                "description": text_format.get("description"),
                "name": text_format["name"],
                "schema": text_format.get("schema") or {},
                "strict": text_format.get("strict", True) is not False,
            }
        background = bool(body.get("background"))
        response: dict[str, Any] = {
            "id": "",
            "object": "response",
            "created_at": now(),
            "status": "queued" if background else "in_progress",
            "background": background,
            "completed_at": None,
            "error": None,
            "incomplete_details": None,
        }
        for key, default in _ECHOED.items():
            value = body.get(key)
            response[key] = default if value is None else value
        response.update(
            model=body["model"],
            output=[],
            reasoning={"effort": None, "summary": None},
            service_tier="default",
            store=store,
            text={"format": text_format, "verbosity": text.get("verbosity") or "medium"},
            tool_choice=choice,
            tools=tools,
            usage=None,
            metadata=check_metadata(body.get("metadata")),
        )
        response["temperature"] = float(response["temperature"])
        response["top_p"] = float(response["top_p"])
        if conversation_id:
            response["conversation"] = {"id": conversation_id}
        response["_include"] = include
        return response, items

    def _tool(self, tool: dict[str, Any], param: str) -> dict[str, Any]:
        kind = tool["type"]
        if kind == "function":
            return {
                "type": "function",
                "description": tool.get("description"),
                "name": tool["name"],
                "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
                "strict": tool.get("strict", True) is not False,
            }
        if kind == "file_search":
            for store_id in tool.get("vector_store_ids") or []:
                self.vector_stores.get(store_id)
            options = tool.get("ranking_options") or {}
            return {
                "type": "file_search",
                "filters": tool.get("filters"),
                "max_num_results": tool.get("max_num_results") or 20,
                "ranking_options": {
                    "ranker": options.get("ranker") or "auto",
                    "score_threshold": float(options.get("score_threshold") or 0.0),
                },
                "vector_store_ids": list(tool.get("vector_store_ids") or []),
            }
        if kind == "code_interpreter":
            container = tool.get("container")
            if isinstance(container, dict):
                for file_id in container.get("file_ids") or []:
                    self.files.get(file_id)
                container = {"type": "auto", "file_ids": list(container.get("file_ids") or [])}
            return {"type": "code_interpreter", "container": container}
        raise InvalidValue(
            f"Invalid value: '{kind}'. This server serves the tools 'function', 'file_search' and "
            "'code_interpreter'.",
            f"{param}.type",
        )

    def insert(self, response: dict[str, Any], items: list[dict[str, Any]]) -> None:
        with self.store.transaction():
            self.store.insert(
                "responses",
                response,
                status=response["status"],
                conversation_id=(response.get("conversation") or {}).get("id"),
            )
            for item in items:
                self.store.insert(
                    "response_items",
                    {**item, "created_at": response["created_at"]},
                    response_id=response["id"],
                )
        self._remember(response)

    def save(self, response: dict[str, Any]) -> None:
        if response["store"]:
            self.store.update("responses", response, status=response["status"])
            self._remember(response)

    def _remember(self, response: dict[str, Any]) -> None:
        if response["status"] in ACTIVE:
            self._saved[response["id"]] = response
        else:
            self._saved.pop(response["id"], None)

    def stored(self, response: dict[str, Any]) -> dict[str, Any] | None:
        """`response` as stored now (None once deleted): `response` itself while it is the copy saved last,
        otherwise read again."""
        if self._saved.get(response["id"]) is response:
            return response
        return self.store.get("responses", response["id"])

    # -- reading --------------------------------------------------------------------------------------

    def load(self, response_id: str) -> dict[str, Any]:
        found = self.store.get("responses", response_id)
        if found is None:
            raise ResponseNotFound(response_id)
        return found

    def input_items(self, response_id: str) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in i.items() if k != "created_at"}
            for i in self.store.all("response_items", response_id=response_id)
        ]

    def list_input_items(self, response_id: str, page: Page, include: list[str]) -> dict[str, Any]:
        self.load(response_id)
        rows, more = self.store.page(
            "response_items",
            {"response_id": response_id},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        shown = [public_item({k: v for k, v in r.items() if k != "created_at"}, include) for r in rows]
        return list_object(shown, more)

    def delete(self, response_id: str) -> dict[str, Any]:
        self.load(response_id)
        self._saved.pop(response_id, None)
        with self.store.transaction():
            self.store.delete("responses", response_id)
            for item in self.store.all("response_items", response_id=response_id):
                self.store.delete("response_items", item["id"], response_id=response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    def cancel(self, response_id: str) -> dict[str, Any]:
        """Only a background response can be cancelled; it ends `cancelled` at once (the engine stops at
        its next delta). Cancelling a cancelled response answers it again."""
        response = self.load(response_id)
        if not response["background"]:
            raise InvalidRequest(
                "Only responses created with background set to true can be cancelled.", None, None
            )
        if response["status"] == "cancelled":
            return response
        if response["status"] in TERMINAL:
            raise InvalidRequest(f"Cannot cancel a response with status '{response['status']}'.", None, None)
        response["status"] = "cancelled"
        self.save(response)
        return response

    def recover(self) -> None:
        """Responses cut off by a stop or crash end `failed`, so no poller waits for ever."""
        error = {"code": "server_error", "message": RESTARTED}
        for status in ACTIVE:
            for response in self.store.all("responses", status=status):
                response.update(status="failed", error=error)
                self.save(response)


def _forced_tool(choice: Any, tools: list[dict[str, Any]]) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if not any(t["type"] == "function" and t["name"] == name for t in tools):
            raise InvalidValue(
                f"Tool choice 'function' with name '{name}' not found in 'tools' parameter.", "tool_choice"
            )
    elif kind in ("file_search", "code_interpreter") and not any(t["type"] == kind for t in tools):
        raise InvalidValue(f"Tool choice '{kind}' not found in 'tools' parameter.", "tool_choice")


def seam_tools(tools: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The response's flat tools in the seam's (Assistants) shapes, so the simulator reads them alike."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        if tool["type"] == "function":
            function = {k: tool[k] for k in ("name", "parameters", "strict")}
            if tool.get("description") is not None:
                function["description"] = tool["description"]
            out.append({"type": "function", "function": function})
        elif tool["type"] == "file_search":
            # As an assistant's file_search tool is normalised (runner/server/models/assistants.py), so that
            # the prompt-token count is the same on both protocols.
            options = tool["ranking_options"]
            ranker = options.get("ranker") or "auto"
            file_search: dict[str, Any] = {}
            if tool["max_num_results"] != 20:
                file_search["max_num_results"] = tool["max_num_results"]
            file_search["ranking_options"] = {
                "ranker": DEFAULT_RANKER if ranker == "auto" else ranker,
                "score_threshold": float(options.get("score_threshold") or 0.0),
                "hybrid_search": None,
            }
            out.append({"type": "file_search", "file_search": file_search})
        else:
            out.append({"type": tool["type"]})
    return tuple(out)


def seam_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            return {"type": "function", "function": {"name": choice.get("name")}}
        if choice.get("type") in ("file_search", "code_interpreter"):
            return {"type": choice["type"]}
        return "auto"
    return choice
