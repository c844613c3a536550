"""The Responses API: create (plain, streamed, background), get, delete, cancel, input items."""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runner.server.exceptions import InvalidRequest
from runner.server.handlers._common import answer, backend, body, page, path
from runner.server.models.common import new_id
from runner.server.models.responses import check_include, public
from runner.server.responses_engine import ResponseEngine
from runner.server.validation import subset


def _engine(request: Request) -> ResponseEngine:
    engine: ResponseEngine = backend(request).response_engine
    return engine


def faults(request: Request) -> None:
    refused = _engine(request).settings.faults.request_fault()
    if refused is not None:
        raise refused


@cache
def _known_fields() -> frozenset[str]:
    # CreateResponse is an allOf of several objects, so the schema itself cannot refuse unknown fields.
    schemas = subset()["components"]["schemas"]
    names: set[str] = set()
    todo = [schemas["CreateResponse"]]
    while todo:
        node = todo.pop()
        names |= set(node.get("properties") or {})
        for part in node.get("allOf") or []:
            todo.append(schemas[part["$ref"].rsplit("/", 1)[1]] if "$ref" in part else part)
    return frozenset(names)


def _include(request: Request) -> list[str]:
    values = request.query_params.getlist("include[]") or request.query_params.getlist("include")
    return check_include(values)


async def create_response(request: Request) -> Response:
    faults(request)
    payload = await body(request, "CreateResponse")
    unknown = sorted(k for k in payload if k not in _known_fields())
    if unknown:
        raise InvalidRequest(
            f"Unrecognized request argument supplied: {unknown[0]}", None, "unknown_parameter"
        )
    responses = backend(request).responses
    response, items = responses.prepare(payload)
    response["id"] = new_id("resp")
    engine = _engine(request)
    engine.check(response, items)
    if response["store"]:
        responses.insert(response, items)
    if payload.get("stream"):
        stream = engine.follow(response["id"])
        engine.start(response, items)
        return stream
    task = engine.start(response, items)
    if response["background"]:
        return answer(public(response))
    return answer(public(await task))


async def get_response(request: Request) -> Response:
    faults(request)
    include = _include(request)
    response = backend(request).responses.load(path(request, "response_id"))
    # What `include` reveals is this request's to ask for, not the creating request's.
    shown: dict[str, Any] = public({**response, "_include": include})
    return answer(shown)


async def delete_response(request: Request) -> Response:
    faults(request)
    return answer(backend(request).responses.delete(path(request, "response_id")))


async def cancel_response(request: Request) -> Response:
    faults(request)
    return answer(public(backend(request).responses.cancel(path(request, "response_id"))))


async def list_input_items(request: Request) -> Response:
    faults(request)
    include = _include(request)
    listed = backend(request).responses.list_input_items(path(request, "response_id"), page(request), include)
    return answer(listed)
