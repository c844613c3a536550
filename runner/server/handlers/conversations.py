"""The Conversations API: conversations and their items."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.handlers._common import answer, backend, body, page, path
from runner.server.handlers.responses import faults
from runner.server.models.responses import check_include


def _include(request: Request) -> set[str]:
    values = request.query_params.getlist("include[]") or request.query_params.getlist("include")
    return set(check_include(values))


async def create_conversation(request: Request) -> Response:
    faults(request)
    payload = await body(request, "CreateConversationBody")
    return answer(backend(request).conversations.create(payload))


async def get_conversation(request: Request) -> Response:
    faults(request)
    return answer(backend(request).conversations.get(path(request, "conversation_id")))


async def update_conversation(request: Request) -> Response:
    faults(request)
    payload = await body(request, "UpdateConversationBody")
    return answer(backend(request).conversations.update(path(request, "conversation_id"), payload))


async def delete_conversation(request: Request) -> Response:
    faults(request)
    return answer(backend(request).conversations.delete(path(request, "conversation_id")))


async def create_conversation_items(request: Request) -> Response:
    faults(request)
    include = _include(request)
    payload = await body(request, "CreateConversationItemsRequest")
    created = backend(request).conversations.create_items(path(request, "conversation_id"), payload, include)
    return answer(created)


async def list_conversation_items(request: Request) -> Response:
    faults(request)
    include = _include(request)
    listed = backend(request).conversations.list_items(
        path(request, "conversation_id"), page(request), include
    )
    return answer(listed)


async def get_conversation_item(request: Request) -> Response:
    faults(request)
    include = _include(request)
    conversations = backend(request).conversations
    return answer(conversations.get_item(path(request, "conversation_id"), path(request, "item_id"), include))


async def delete_conversation_item(request: Request) -> Response:
    faults(request)
    conversations = backend(request).conversations
    return answer(conversations.delete_item(path(request, "conversation_id"), path(request, "item_id")))
