"""Assistants, threads and messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.handlers._common import answer, backend, body, page, path, query


async def create_assistant(request: Request) -> Response:
    return answer(backend(request).assistants.create_assistant(await body(request, "CreateAssistantRequest")))


async def list_assistants(request: Request) -> Response:
    return answer(backend(request).assistants.list_assistants(page(request)))


async def get_assistant(request: Request) -> Response:
    return answer(backend(request).assistants.get_assistant(path(request, "assistant_id")))


async def modify_assistant(request: Request) -> Response:
    payload = await body(request, "ModifyAssistantRequest")
    return answer(backend(request).assistants.modify_assistant(path(request, "assistant_id"), payload))


async def delete_assistant(request: Request) -> Response:
    return answer(backend(request).assistants.delete_assistant(path(request, "assistant_id")))


async def create_thread(request: Request) -> Response:
    return answer(backend(request).assistants.create_thread(await body(request, "CreateThreadRequest")))


async def get_thread(request: Request) -> Response:
    return answer(backend(request).assistants.get_thread(path(request, "thread_id")))


async def modify_thread(request: Request) -> Response:
    payload = await body(request, "ModifyThreadRequest")
    return answer(backend(request).assistants.modify_thread(path(request, "thread_id"), payload))


async def delete_thread(request: Request) -> Response:
    return answer(backend(request).assistants.delete_thread(path(request, "thread_id")))


async def create_message(request: Request) -> Response:
    payload = await body(request, "CreateMessageRequest")
    return answer(backend(request).assistants.create_message(path(request, "thread_id"), payload))


async def list_messages(request: Request) -> Response:
    listing = backend(request).assistants.list_messages(
        path(request, "thread_id"), page(request), run_id=query(request, "run_id")
    )
    return answer(listing)


async def get_message(request: Request) -> Response:
    found = backend(request).assistants.get_message(path(request, "thread_id"), path(request, "message_id"))
    return answer(found)


async def modify_message(request: Request) -> Response:
    payload = await body(request, "ModifyMessageRequest")
    modified = backend(request).assistants.modify_message(
        path(request, "thread_id"), path(request, "message_id"), payload
    )
    return answer(modified)


async def delete_message(request: Request) -> Response:
    deleted = backend(request).assistants.delete_message(
        path(request, "thread_id"), path(request, "message_id")
    )
    return answer(deleted)
