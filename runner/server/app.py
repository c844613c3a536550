"""The ASGI app: routes under /v1 behind one guard for auth, size limits, latency and the access log."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runner.server.exceptions import (
    ApiError,
    IncorrectApiKey,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    MissingApiKey,
    PayloadTooLarge,
    RouteNotFound,
)
from runner.server.models import Backend
from runner.server.urls import ROUTES

log = logging.getLogger("runner.server")


@dataclass(frozen=True)
class Limits:
    # JSON bodies: the largest legitimate one is an assistant with 256k characters of instructions.
    max_body_bytes: int = 2 * 1024 * 1024
    # Uploads: well below the real API's 512 MB, since everything is kept in one SQLite file.
    max_upload_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    db_path: Path
    api_key: str
    limits: Limits = Limits()
    latency: float = 0.0
    access_log: IO[str] | None = None


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _error(MethodNotAllowed(f"Method {request.method} is not allowed for {request.url.path}."))
    if exc.status_code == 404:
        return _error(RouteNotFound(request.method, request.url.path))
    # Starlette's own refusals, such as a malformed multipart body.
    refused = InvalidRequest(str(exc.detail))
    refused.status = exc.status_code
    return _error(refused)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return _error(InternalError())


class Guard:
    """Outermost layer: every request is timed, logged, delayed, authenticated and size-checked here."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._expected = settings.api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        logged = False

        async def logged_send(message: Message) -> None:
            nonlocal status, logged
            if message["type"] == "http.response.body" and not message.get("more_body", False) and not logged:
                # Logged before the last byte leaves, so a client that has its answer finds the line written.
                logged = True
                self._log(scope, status, started)
            if message["type"] == "http.response.start":
                status = int(message["status"])
                # The headers the real API adds to every answer; the SDK reads x-request-id.
                elapsed = round((time.perf_counter() - started) * 1000)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", f"req_{secrets.token_hex(16)}".encode()),
                    (b"openai-version", b"2020-10-01"),
                    (b"openai-processing-ms", str(elapsed).encode()),
                ]
            await send(message)

        try:
            if self.settings.latency > 0:
                await asyncio.sleep(self.settings.latency)
            refused = self._refuse(scope)
            if refused is not None:
                await _error(refused)(scope, receive, logged_send)
                return
            await self.app(scope, self._counting(scope, receive), logged_send)
        finally:
            if not logged:
                self._log(scope, status, started)

    def _refuse(self, scope: Scope) -> ApiError | None:
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").strip().partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            return MissingApiKey()
        if not hmac.compare_digest(token, self._expected):
            return IncorrectApiKey(token.decode("latin-1"))
        limit = self._limit(headers)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return PayloadTooLarge(int(length), limit)
        return None

    def _limit(self, headers: dict[bytes, bytes]) -> int:
        limits = self.settings.limits
        if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            # Room for the multipart framing and the small fields around the file itself.
            return limits.max_upload_bytes + 64 * 1024
        return limits.max_body_bytes

    def _counting(self, scope: Scope, receive: Receive) -> Receive:
        limit = self._limit(dict(scope["headers"]))
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # A body sent without Content-Length (chunked) is cut off here instead.
                    raise PayloadTooLarge(None, limit)
            return message

        return counted

    def _log(self, scope: Scope, status: int, started: float) -> None:
        out = self.settings.access_log
        if out is None:
            return
        ms = round((time.perf_counter() - started) * 1000, 3)
        line = {"method": scope["method"], "path": scope["path"], "status": status, "ms": ms}
        out.write(json.dumps(line) + "\n")
        out.flush()


def create_app(settings: Settings, backend: Backend | None = None) -> ASGIApp:
    app = Starlette(
        routes=[Mount("/v1", routes=ROUTES)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.backend = backend or Backend(settings.db_path)
    app.state.limits = settings.limits
    return Guard(app, settings)
