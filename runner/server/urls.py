"""The route table (moto's urls.py): path, handler, method. Everything is served under /v1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

from runner.server.handlers import assistants as a
from runner.server.handlers import chat as ch
from runner.server.handlers import conversations as c
from runner.server.handlers import files as f
from runner.server.handlers import models as m
from runner.server.handlers import responses as rs
from runner.server.handlers import runs as r
from runner.server.handlers import vector_stores as v

_VS = "/vector_stores/{vector_store_id}"
_RUN = "/threads/{thread_id}/runs/{run_id}"
_RESP = "/responses/{response_id}"
_CONV = "/conversations/{conversation_id}"

ROUTES = [
    Route("/assistants", a.create_assistant, methods=["POST"]),
    Route("/assistants", a.list_assistants, methods=["GET"]),
    Route("/assistants/{assistant_id}", a.get_assistant, methods=["GET"]),
    Route("/assistants/{assistant_id}", a.modify_assistant, methods=["POST"]),
    Route("/assistants/{assistant_id}", a.delete_assistant, methods=["DELETE"]),
    Route("/threads", a.create_thread, methods=["POST"]),
    # Before /threads/{thread_id}, which would take "runs" for a thread id.
    Route("/threads/runs", r.create_thread_and_run, methods=["POST"]),
    Route("/threads/{thread_id}", a.get_thread, methods=["GET"]),
    Route("/threads/{thread_id}", a.modify_thread, methods=["POST"]),
    Route("/threads/{thread_id}", a.delete_thread, methods=["DELETE"]),
    # Part 2: a thread with an active run refuses new messages, so runs guard this route.
    Route("/threads/{thread_id}/messages", r.create_message, methods=["POST"]),
    Route("/threads/{thread_id}/messages", a.list_messages, methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", a.get_message, methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", a.modify_message, methods=["POST"]),
    Route("/threads/{thread_id}/messages/{message_id}", a.delete_message, methods=["DELETE"]),
    Route("/files", f.create_file, methods=["POST"]),
    Route("/files", f.list_files, methods=["GET"]),
    Route("/files/{file_id}", f.retrieve_file, methods=["GET"]),
    Route("/files/{file_id}", f.delete_file, methods=["DELETE"]),
    Route("/files/{file_id}/content", f.download_file, methods=["GET"]),
    Route("/vector_stores", v.create_vector_store, methods=["POST"]),
    Route("/vector_stores", v.list_vector_stores, methods=["GET"]),
    Route(_VS, v.get_vector_store, methods=["GET"]),
    Route(_VS, v.modify_vector_store, methods=["POST"]),
    Route(_VS, v.delete_vector_store, methods=["DELETE"]),
    Route(f"{_VS}/files", v.create_vector_store_file, methods=["POST"]),
    Route(f"{_VS}/files", v.list_vector_store_files, methods=["GET"]),
    Route(f"{_VS}/files/{{file_id}}", v.get_vector_store_file, methods=["GET"]),
    Route(f"{_VS}/files/{{file_id}}", v.update_vector_store_file_attributes, methods=["POST"]),
    Route(f"{_VS}/files/{{file_id}}", v.delete_vector_store_file, methods=["DELETE"]),
    Route(f"{_VS}/files/{{file_id}}/content", v.retrieve_vector_store_file_content, methods=["GET"]),
    Route(f"{_VS}/file_batches", v.create_vector_store_file_batch, methods=["POST"]),
    Route(f"{_VS}/file_batches/{{batch_id}}", v.get_vector_store_file_batch, methods=["GET"]),
    Route(f"{_VS}/file_batches/{{batch_id}}/cancel", v.cancel_vector_store_file_batch, methods=["POST"]),
    Route(f"{_VS}/file_batches/{{batch_id}}/files", v.list_files_in_vector_store_batch, methods=["GET"]),
    Route(f"{_VS}/search", v.search_vector_store, methods=["POST"]),
    # Part 2: runs and run steps.
    Route("/threads/{thread_id}/runs", r.create_run, methods=["POST"]),
    Route("/threads/{thread_id}/runs", r.list_runs, methods=["GET"]),
    Route(f"{_RUN}", r.get_run, methods=["GET"]),
    Route(f"{_RUN}", r.modify_run, methods=["POST"]),
    Route(f"{_RUN}/cancel", r.cancel_run, methods=["POST"]),
    Route(f"{_RUN}/submit_tool_outputs", r.submit_tool_ouputs_to_run, methods=["POST"]),
    Route(f"{_RUN}/steps", r.list_run_steps, methods=["GET"]),
    Route(f"{_RUN}/steps/{{step_id}}", r.get_run_step, methods=["GET"]),
    # The Responses and Conversations APIs.
    Route("/responses", rs.create_response, methods=["POST"]),
    Route(_RESP, rs.get_response, methods=["GET"]),
    Route(_RESP, rs.delete_response, methods=["DELETE"]),
    Route(f"{_RESP}/cancel", rs.cancel_response, methods=["POST"]),
    Route(f"{_RESP}/input_items", rs.list_input_items, methods=["GET"]),
    Route("/conversations", c.create_conversation, methods=["POST"]),
    Route(_CONV, c.get_conversation, methods=["GET"]),
    Route(_CONV, c.update_conversation, methods=["POST"]),
    Route(_CONV, c.delete_conversation, methods=["DELETE"]),
    Route(f"{_CONV}/items", c.create_conversation_items, methods=["POST"]),
    Route(f"{_CONV}/items", c.list_conversation_items, methods=["GET"]),
    Route(f"{_CONV}/items/{{item_id}}", c.get_conversation_item, methods=["GET"]),
    Route(f"{_CONV}/items/{{item_id}}", c.delete_conversation_item, methods=["DELETE"]),
    # Models: the names the server answers for. {model:path}, since fine-tuned ids hold colons and slashes.
    Route("/models", m.list_models, methods=["GET"]),
    Route("/models/{model:path}", m.retrieve_model, methods=["GET"]),
    # Chat Completions (stored completions are not served: no GET/POST/DELETE on /chat/completions/{id}).
    Route("/chat/completions", ch.create_chat_completion, methods=["POST"]),
]


class Routes(Router):
    """Starlette's router, except that a request for a path without parameters (`POST /chat/completions`,
    `POST /threads/runs`, `POST /responses`) finds its route in a table instead of by trying the routes in
    turn: the route Starlette's own scan would pick (the first that matches fully), found once for each
    such path and method. Starlette matched some sixty regular expressions for the last route in the list,
    about 45 us of every chat request. Anything else (paths with ids, a method a path does not serve,
    which is a 405) goes through Starlette's scan as before."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._exact: dict[tuple[str, str], BaseRoute] = {}
        literal = [route for route in routes if isinstance(route, Route) and "{" not in route.path]
        methods = {m for route in literal for m in route.methods or ()}
        for path in {route.path for route in literal}:
            for method in methods:
                probe: dict[str, Any] = {"type": "http", "path": path, "root_path": "", "method": method}
                first = next((route for route in routes if route.matches(probe)[0] is Match.FULL), None)
                if first is not None:
                    self._exact[(method, path)] = first

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http":
            route = self._exact.get((scope["method"], _route_path(scope)))
        if route is None:
            await super().app(scope, receive, send)
            return
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:  # pragma: no cover - the table holds only paths matched in full
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)


def _route_path(scope: Scope) -> str:
    # As starlette's get_route_path: the path below the mount point (root_path is "/v1" here).
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path
