"""What every handler needs: the backend, a validated JSON body, list paging parameters, a JSON answer."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from runner.server.exceptions import InvalidValue
from runner.server.models import Backend
from runner.server.models.common import Page
from runner.server.parsing import parse_request_json
from runner.server.safejson import SafeJSONResponse
from runner.server.validation import validate


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


def answer(payload: dict[str, Any]) -> JSONResponse:
    return SafeJSONResponse(payload)


async def body(request: Request, schema: str) -> dict[str, Any]:
    """The request's JSON body, checked to be servable (runner/server/parsing.py) and against `schema`."""
    return validate(schema, parse_request_json(await request.body()))


def path(request: Request, name: str) -> str:
    return str(request.path_params[name])


def query(request: Request, name: str, choices: tuple[str, ...] | None = None) -> str | None:
    value = request.query_params.get(name)
    if value is not None and choices is not None and value not in choices:
        supported = " and ".join(f"'{c}'" for c in choices) if len(choices) == 2 else ", ".join(choices)
        raise InvalidValue(f"Invalid value: '{value}'. Supported values are: {supported}.", name)
    return value


def page(request: Request, max_limit: int = 100, default_limit: int = 20) -> Page:
    raw = request.query_params.get("limit")
    limit = default_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise InvalidValue(
                f"Invalid 'limit': expected an integer, but got '{raw}' instead.", "limit", "invalid_type"
            ) from None
        if limit < 1:
            raise InvalidValue(
                f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} "
                "instead.",
                "limit",
                "integer_below_min_value",
            )
        if limit > max_limit:
            raise InvalidValue(
                f"Invalid 'limit': integer above maximum value. Expected a value <= {max_limit}, but got "
                f"{limit} instead.",
                "limit",
                "integer_above_max_value",
            )
    order = query(request, "order", ("asc", "desc")) or "desc"
    return Page(limit=limit, order=order, after=query(request, "after"), before=query(request, "before"))
