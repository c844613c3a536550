"""The ASGI app: routes under /v1 behind one guard for auth, size limits, latency and the access log."""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    InvalidBeta,
    InvalidRequest,
    MethodNotAllowed,
    MissingApiKey,
    PayloadTooLarge,
    RequestTimeout,
    RouteNotFound,
)
from runner.server.models import Backend
from runner.server.safejson import SafeJSONResponse
from runner.server.urls import ROUTES, Routes

log = logging.getLogger("runner.server")


@dataclass(frozen=True)
class Limits:
    # JSON bodies: the largest legitimate one is an assistant with 256k characters of instructions.
    max_body_bytes: int = 2 * 1024 * 1024
    # Uploads: well below the real API's 512 MB, since everything is kept in one SQLite file.
    max_upload_bytes: int = 64 * 1024 * 1024
    # A client that stops sending in the middle of its body is answered 408 and its connection closed.
    body_timeout: float = 30.0
    # A connection must finish its request headers this soon after it opens (runner/server/connections.py).
    header_timeout: float = 30.0


# The Assistants API's routes need `OpenAI-Beta: assistants=v2`, as in the real API.
BETA_PREFIXES = ("/v1/assistants", "/v1/threads")
MISSING_BETA = (
    "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try again by setting "
    "the header 'OpenAI-Beta: assistants=v2'."
)
OLD_BETA = (
    "The v1 Assistants API has been deprecated. Please try again by setting the header "
    "'OpenAI-Beta: assistants=v2'."
)


@dataclass(frozen=True)
class Settings:
    db_path: Path
    api_key: str
    limits: Limits = Limits()
    latency: float = 0.0
    access_log: IO[str] | None = None


def _error(exc: ApiError) -> JSONResponse:
    return SafeJSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


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
    # Starlette raises the exception again after this answer is sent; Guard logs it, once.
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
            try:
                await self.app(scope, self._counting(scope, receive), logged_send)
            except Exception:
                # The 500 body has been sent by _unexpected; this is the one log line for it.
                log.exception("unexpected error in %s %s", scope["method"], scope["path"])
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
        if str(scope["path"]).startswith(BETA_PREFIXES):
            refused = _beta_refusal(headers.get(b"openai-beta", b""))
            if refused is not None:
                return refused
        limit = self._limit(scope)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return PayloadTooLarge(int(length), limit)
        return None

    def _limit(self, scope: Scope) -> int:
        limits = self.settings.limits
        headers = dict(scope["headers"])
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/files"
        if upload and headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            # Room for the multipart framing and the small fields around the file itself. Only the upload
            # route gets it: the limit follows what the body is for, not the Content-Type it claims.
            return limits.max_upload_bytes + 64 * 1024
        return limits.max_body_bytes

    def _counting(self, scope: Scope, receive: Receive) -> Receive:
        limit = self._limit(scope)
        timeout = self.settings.limits.body_timeout
        seen = 0
        complete = False

        async def counted() -> Message:
            nonlocal seen, complete
            if complete:
                # After the body, receive() waits for the disconnect (a stream's whole life): no timeout.
                return await receive()
            try:
                # A timer, not wait_for: wait_for wraps the receive in a task of its own, every request.
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(timeout) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
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


def _beta_refusal(header: bytes) -> ApiError | None:
    betas = [b.strip() for b in header.decode("latin-1").split(",") if b.strip()]
    wanted = [b.split("=", 1)[1].strip() for b in betas if b.startswith("assistants=")]
    if not wanted:
        return InvalidBeta(MISSING_BETA)
    if "v2" not in wanted:
        return InvalidBeta(OLD_BETA)
    return None


def create_app(settings: Settings, backend: Backend | None = None) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # What exists once the server is up (modules, the schemas, their validators: some forty thousand
        # objects) lives as long as the process; frozen, it is no longer walked by every full collection,
        # which took 40 ms at a time in the middle of a burst of runs (docs/performance.md, "Server").
        gc.freeze()
        yield
        # As the server stops, on its own event loop: the upstream adapter's HTTP client is closed here.
        await app.state.backend.aclose_model()

    app = Starlette(
        lifespan=lifespan,
        routes=[Mount("/v1", app=Routes(ROUTES))],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.backend = backend or Backend(settings.db_path)
    app.state.limits = settings.limits
    return Guard(app, settings)
