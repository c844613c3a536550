"""The models the server answers for: list and retrieve (a client's usual connection check)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.handlers._common import answer, path
from runner.server.models import catalog


async def list_models(request: Request) -> Response:
    return answer(catalog.list_models())


async def retrieve_model(request: Request) -> Response:
    return answer(catalog.retrieve_model(path(request, "model")))
