"""The route table (moto's urls.py): path, handler, method. Everything is served under /v1."""

from __future__ import annotations

from collections.abc import Sequence

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
    """Starlette's router, except that a request tries only the routes that could match its path: those
    with the same first segment and as many segments (a `{name:path}` parameter may span several), in the
    table's order, so the first that matches fully is the one Starlette's own scan would pick (every route
    left out cannot match at all). Starlette matched a regular expression per route in turn: some sixty
    for the last route in the list, about 45 us of every chat request, and 27 on average for a run's
    `POST /threads/{thread_id}/runs`. A request none of them matches fully (a method a path does not
    serve, which is a 405; a path no route knows) goes through Starlette's scan as before."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        shapes = [_shape(route) for route in routes]
        self._near: dict[tuple[str, int], list[BaseRoute]] = {}
        self._spanning: dict[str, list[tuple[BaseRoute, int]]] = {}
        for route, (first, count, spans) in zip(routes, shapes, strict=True):
            if spans:
                self._spanning.setdefault(first, []).append((route, count))
        for first, count, _ in shapes:
            if (first, count) in self._near:
                continue
            self._near[(first, count)] = [
                route
                for route, (f, n, spans) in zip(routes, shapes, strict=True)
                if f == first and (n == count or (spans and count >= n))
            ]

    def near(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The first of the routes near the request's path that matches it fully, with its child scope."""
        path = _route_path(scope)
        count = path.count("/")
        first = path.split("/", 2)[1] if count else ""
        near = self._near.get((first, count))
        if near is None:  # only a parameter that spans segments can match a path of this shape
            near = [route for route, n in self._spanning.get(first, ()) if count >= n]
        for route in near:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.near(scope) if scope["type"] == "http" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = found
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)


def _shape(route: BaseRoute) -> tuple[str, int, bool]:
    """A route's first segment, its number of segments, and whether a parameter may span several."""
    assert isinstance(route, Route) and route.path.startswith("/"), "every route is a path from the root"
    return route.path.split("/", 2)[1], route.path.count("/"), ":path}" in route.path


def _route_path(scope: Scope) -> str:
    # As starlette's get_route_path: the path below the mount point (root_path is "/v1" here).
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path
