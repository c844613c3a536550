"""What plan reads, over plain HTTP: cursor-paged lists of assistants, vector stores, their files, and files.

A plan only reads, and reading through the SDK costs about a second before the first request (importing
`openai`, then its Assistants resources and types on the first `client.beta`), several times what a no-op
plan of 100 assistants spends on the wire. So the listings are plain GETs with the SDK's own client library
(httpx2), and the SDK is loaded only when apply writes (docs/performance.md, "Apply").

The requests are the ones the SDK sends: the same paths and query, `Authorization: Bearer`, `OpenAI-Beta:
assistants=v2` where the SDK sends it, `OpenAI-Organization` / `OpenAI-Project` from the environment as
the SDK reads them, the same timeouts. Each attempt is counted in `api.counter`, retries and Retry-After
follow the one policy of runner/api/retry.py, and error messages are those of `Api.call`
(runner/api/session.py), so a user cannot tell the two apart.

The listings of many vector stores' files run concurrently, a few at a time (`WORKERS`): they are
independent reads of objects that were all listed before the first of them starts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx2

from runner.api.retry import Again, retrying
from runner.api.session import (
    BETA,
    RETRY_STATUSES,
    Api,
    message_in,
    plain_headers,
    retry_after,
    status_error,
    unreachable,
)
from runner.errors import ApiError, ApiNotFound

# Store-file listings in flight at once. Enough to hide a remote server's round trip (100 stores at 20 ms
# each: 2.0 s one by one, 0.3 s eight at a time, see bench/apply.py) while staying a polite client: the
# SDK itself would open up to 1,000 connections.
WORKERS = 8
# The SDK's default timeout (openai._constants.DEFAULT_TIMEOUT), used where arun leaves the SDK's own.
SDK_TIMEOUT = httpx2.Timeout(600.0, connect=5.0)


def store_files_path(store_id: str) -> str:
    return f"vector_stores/{quote(store_id, safe='')}/files"


def _error_message(response: httpx2.Response) -> str:
    """What the SDK's exception would say, as `runner.api.session._message` reads it."""
    status = response.status_code
    try:
        body: Any = json.loads(response.text.strip())
    except ValueError:
        return f"Error code: {status}"
    data = body.get("error", body) if isinstance(body, dict) else body  # the SDK's exception body
    return message_in(data) or f"Error code: {status}"


class Lister:
    """A plain HTTP client for one plan's reads; use it as a context manager."""

    def __init__(self, api: Api, workers: int = WORKERS) -> None:
        self.api = api
        self.workers = workers
        headers = plain_headers(api.key)
        timeout = SDK_TIMEOUT if api.timeout is None else httpx2.Timeout(api.timeout)
        self._base = api.base_url.rstrip("/") + "/"
        self._http = httpx2.Client(headers=headers, timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Lister:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def get(self, what: str, path: str, params: dict[str, Any], *, beta: bool) -> dict[str, Any]:
        """One GET with `Api.call`'s retries (runner/api/retry.py): every attempt counted, transient
        statuses retried with backoff or Retry-After, a refused connection tried three times, other errors
        explained."""
        api = self.api
        url = self._base + path
        headers = BETA if beta else None

        def attempt() -> dict[str, Any] | Again:
            try:
                response = self._http.get(url, params=params, headers=headers)
            except httpx2.TransportError as exc:
                return Again(unreachable(what, api.base_url, exc), connection=True)
            if response.is_success:
                return self._page(what, response)
            error = status_error(what, api.base_url, response.status_code, _error_message(response))
            if response.status_code not in RETRY_STATUSES:
                raise error
            return Again(error, retry_after(response.headers.get("retry-after")))

        return retrying(attempt, attempts=api.attempts, backoff=api.backoff, sleep=api.sleep, count=api.count)

    def _page(self, what: str, response: httpx2.Response) -> dict[str, Any]:
        try:
            page = response.json()
        except ValueError:
            page = None
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list):
            raise ApiError(
                f"{what}: {self.api.base_url} answered {response.status_code} with something that is not "
                "a list page (JSON with a `data` list); is it an Assistants API?"
            )
        return page

    def list_all(
        self, what: str, path: str, *, beta: bool = True, limit: int = 100, **params: Any
    ) -> list[dict[str, Any]]:
        """Every item of a cursor-paged list, in creation order, one counted request per page."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            query: dict[str, Any] = {**params, "limit": limit, "order": "asc"}
            if after:
                query["after"] = after
            page = self.get(what, path, query, beta=beta)
            data = page.get("data") or []
            items.extend(data)
            if not page.get("has_more") or not data:
                return items
            after = str(data[-1]["id"])

    def list_each(self, what: str, paths: Sequence[str]) -> list[list[dict[str, Any]] | None]:
        """Every item of each listing, `workers` listings at a time, in the order of `paths`; None for an
        object that is gone (404). The first error in that order is raised, after the others stop."""

        def one(path: str) -> list[dict[str, Any]] | None:
            try:
                return self.list_all(what, path)
            except ApiNotFound:
                return None

        if len(paths) <= 1 or self.workers <= 1:
            return [one(path) for path in paths]
        with ThreadPoolExecutor(min(self.workers, len(paths)), thread_name_prefix="arun-list") as pool:
            futures = [pool.submit(one, path) for path in paths]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
