"""One way to reach an Assistants API: the SDK client, the embedded server when it is the default,
honest request counting, retries of transient errors, and API errors turned into messages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
import openai

from runner.config import HOSTED_API_HOST, HOSTED_GONE_MESSAGE, Backend, Settings
from runner.errors import ApiError, ApiNotFound, HostedApiGone

T = TypeVar("T")
RETRY_STATUSES = (408, 409, 429, 500, 502, 503, 504)
_COUNT_LOCK = threading.Lock()  # replay calls from many threads


@dataclass
class Counter:
    requests: int = 0
    writes: int = 0


@dataclass
class Api:
    """The SDK client plus what arun adds around each call. Each attempt counts as one request."""

    client: openai.OpenAI
    base_url: str
    attempts: int = 6
    backoff: float = 0.25
    counter: Counter = field(default_factory=Counter)
    sleep: Callable[[float], None] = time.sleep
    local: bool = False  # the embedded server: the user's private sandbox (replay may apply there)

    def call(self, what: str, fn: Callable[..., T], *args: Any, write: bool = False, **kwargs: Any) -> T:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            with _COUNT_LOCK:
                self.counter.requests += 1
                self.counter.writes += int(write)
            try:
                return fn(*args, **kwargs)
            except openai.APIStatusError as exc:
                if exc.status_code not in RETRY_STATUSES or attempt == self.attempts:
                    raise explain(exc, what, self.base_url) from None
                wait = _retry_after(exc) or delay
            except openai.APIConnectionError as exc:
                # A refused or dropped connection is retried twice, not six times: a server that is not
                # there should be said so within a second.
                if attempt >= min(self.attempts, 3):
                    raise explain(exc, what, self.base_url) from None
                wait = delay
            self.sleep(min(wait, 20.0))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def list_all(
        self, what: str, fn: Callable[..., Any], *args: Any, limit: int = 100, **kwargs: Any
    ) -> list[Any]:
        """Every item of a cursor-paged list, in creation order, one counted request per page."""
        items: list[Any] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {**kwargs, "limit": limit, "order": "asc"}
            if after:
                params["after"] = after
            page = self.call(what, fn, *args, **params)
            items.extend(page.data)
            if not page.has_more or not page.data:
                return items
            after = page.data[-1].id


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return exc.message


def explain(exc: openai.APIError, what: str, base_url: str) -> ApiError:
    if isinstance(exc, openai.APIConnectionError):
        return ApiError(f"{what}: cannot reach {base_url} ({exc.__cause__ or exc}); is the server running?")
    assert isinstance(exc, openai.APIStatusError)
    if exc.status_code == 404 and HOSTED_API_HOST in base_url:
        return HostedApiGone(HOSTED_GONE_MESSAGE)
    if exc.status_code == 404:
        return ApiNotFound(f"{what}: the API answered 404: {_message(exc)}")
    if exc.status_code == 401:
        return ApiError(
            f"{what}: the server refused the API key (401: {_message(exc)}). Check OPENAI_API_KEY."
        )
    return ApiError(f"{what}: the API answered {exc.status_code}: {_message(exc)}")


@contextmanager
def open_api(settings: Settings, *, announce: bool = True) -> Iterator[Api]:
    """An Api for the configured backend; the embedded server lives exactly as long as the block."""
    if settings.backend is Backend.LOCAL:
        from runner.server.embedded import EmbeddedServer
        from runner.server.engine import RunSettings

        db = Path(settings.local_db)
        db.parent.mkdir(parents=True, exist_ok=True)
        with EmbeddedServer(db, runs=RunSettings(model_time=settings.model_time)) as server:
            if announce:
                click.echo(f"arun: using the embedded local server (state in {settings.local_db})", err=True)
            client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
            try:
                yield Api(client, server.base_url, local=True)
            finally:
                client.close()
        return
    assert settings.base_url is not None
    client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key, max_retries=0, timeout=60)
    try:
        yield Api(client, settings.base_url)
    finally:
        client.close()
