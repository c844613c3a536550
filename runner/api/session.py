"""One way to reach an Assistants API: the SDK client, the embedded server when it is the default,
honest request counting, retries of transient errors, and API errors turned into messages.

The SDK client is made on first use, and `openai` imported then: importing it and its Assistants
resources costs about a second, which a read-only plan (runner/apply/listing.py reads over plain HTTP)
does not need to pay."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from runner import __version__
from runner.api.local import LocalServer
from runner.config import HOSTED_API_HOST, HOSTED_GONE_MESSAGE, NO_KEY, Backend, Settings
from runner.errors import ApiError, ApiNotFound, HostedApiGone, RunnerError

if TYPE_CHECKING:
    import httpx2
    import openai

    from runner.api import wire
    from runner.api.events import EventStream

T = TypeVar("T")
RETRY_STATUSES = (408, 409, 429, 500, 502, 503, 504)
_COUNT_LOCK = threading.Lock()  # replay calls from many threads
_CLIENT_LOCK = threading.Lock()
LANE_THREADS = 25  # replay threads per SDK client (Api.spread)
BETA = {"OpenAI-Beta": "assistants=v2"}  # what the SDK's Assistants resources add to their requests


def plain_headers(key: str | None) -> dict[str, str]:
    """The headers of arun's own HTTP requests beside the SDK's (plan's listings, replay's streamed turns):
    `Authorization: Bearer`, and `OpenAI-Organization` / `OpenAI-Project` from the environment, as the SDK
    reads them."""
    headers = {"Accept": "application/json", "User-Agent": f"arun/{__version__}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    for variable, header in (
        ("OPENAI_ORG_ID", "OpenAI-Organization"),
        ("OPENAI_PROJECT_ID", "OpenAI-Project"),
    ):
        if os.environ.get(variable):
            headers[header] = os.environ[variable]
    return headers


@dataclass
class Counter:
    requests: int = 0
    writes: int = 0


@dataclass
class Api:
    """The SDK client plus what arun adds around each call. Each attempt counts as one request."""

    _client: openai.OpenAI | None  # None: made on first use from base_url, api_key and timeout
    base_url: str
    attempts: int = 6
    backoff: float = 0.25
    counter: Counter = field(default_factory=Counter)
    sleep: Callable[[float], None] = time.sleep
    local: bool = False  # the embedded server: the user's private sandbox (replay may apply there)
    api_key: str | None = field(default=None, repr=False)
    timeout: float | None = None  # seconds per request; None: the SDK's default (600 s, 5 s to connect)

    # Lanes: replay's many threads share a few SDK clients, each with its own connection pool (see spread).
    _lanes: list[openai.OpenAI] = field(default_factory=list, repr=False)
    _lane_count: int = 1
    _turn: int = 0  # the next thread's lane
    _thread: threading.local = field(default_factory=threading.local, repr=False)
    _tls: Any = field(default=None, repr=False)
    _http: dict[int, httpx2.Client] = field(default_factory=dict, repr=False)  # each SDK client's HTTP client
    _headers: dict[bool, dict[str, str]] = field(default_factory=dict, repr=False)  # of `stream`, by beta
    _wire: dict[int, wire.Pool] = field(default_factory=dict, repr=False)  # `stream`'s, per SDK client
    # Whether `stream` goes through a proxy: read from the environment once (76 us a turn otherwise).
    _via_proxy: bool | None = field(default=None, repr=False)

    @property
    def client(self) -> openai.OpenAI:
        if self._lane_count > 1:
            lane: openai.OpenAI | None = getattr(self._thread, "lane", None)
            if lane is None:
                lane = self._thread.lane = self._next_lane()
            return lane
        if self._client is None:
            with _CLIENT_LOCK:  # replay's threads may all ask at once: one client
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    def spread(self, threads: int) -> None:
        """Before `threads` threads call at once: one SDK client per LANE_THREADS of them. An SDK client has
        one connection pool behind one lock, which 200 replay threads queued on for a third of their time
        (docs/performance.md, "Replay client"); each thread keeps its lane, so its calls stay in order."""
        self._lane_count = max(1, -(-threads // LANE_THREADS))

    def _next_lane(self) -> openai.OpenAI:
        with _CLIENT_LOCK:
            index = self._turn % self._lane_count
            self._turn += 1
            if self._client is None:
                self._client = self._new_client()
            if not self._lanes:
                self._lanes.append(self._client)
            while len(self._lanes) <= index:
                if self._tls is None:
                    import httpx2  # the SDK's transport

                    # Loading the CA store costs 25 ms per client: once for all the lanes.
                    self._tls = httpx2.create_ssl_context()
                self._lanes.append(self._new_client(self._tls))
            return self._lanes[index]

    def _new_client(self, shared_tls: Any = None) -> openai.OpenAI:
        import openai

        extra: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        tls: dict[str, Any] = {} if shared_tls is None else {"verify": shared_tls}  # the lanes' one context
        # The HTTP client (its own connection pool) is made here, as the SDK would make it, so that `stream`
        # sends on the same pool as the SDK's calls of this lane.
        http = openai.DefaultHttpxClient(**tls, **extra)
        client = openai.OpenAI(
            base_url=self.base_url, api_key=self.api_key, max_retries=0, http_client=http, **extra
        )
        self._http[id(client)] = http
        return client

    def stream(
        self,
        path: str,
        body: dict[str, Any],
        *,
        query: dict[str, Any] | None = None,
        beta: bool = False,
        last: frozenset[str] = frozenset(),
    ) -> EventStream:
        """POST `body` with `"stream": true` to `path` (relative to the base URL) on this thread's lane and
        return its events, raising the SDK's exceptions as the SDK's `with_streaming_response` call would
        (runner/api/events.py). Use it inside `call`, which counts and retries it. The request goes on
        arun's own HTTP/1.1 (runner/api/wire.py), or on the lane's SDK HTTP client when the environment
        names a proxy."""
        from runner.api.events import EventStream

        client = self.client
        headers = self._headers.get(beta)
        if headers is None:
            headers = self._headers[beta] = {
                **plain_headers(client.api_key),
                **(BETA if beta else {}),
                "Accept": "text/event-stream",
                "Accept-Encoding": "identity",
                "Content-Type": "application/json",
            }
        if self._via_proxy is None:
            self._via_proxy = _proxied(self.base_url)
        if not self._via_proxy:
            return EventStream.send(self._pool(client), headers, body, path, query=query, last=last)
        http = self._http.get(id(client))
        if http is None:  # an SDK client made elsewhere (a test's): a pool of its own beside it
            import openai

            http = self._http[id(client)] = openai.DefaultHttpxClient(timeout=client.timeout)
        url = str(client.base_url).rstrip("/") + "/" + path
        return EventStream.post(http, url, headers, body, query=query, last=last)

    def _pool(self, client: openai.OpenAI) -> wire.Pool:
        """The kept-alive connections of `stream` for this SDK client's lane."""
        pool = self._wire.get(id(client))
        if pool is None:
            from runner.api import wire

            with _CLIENT_LOCK:
                pool = self._wire.get(id(client))
                if pool is None:
                    base = str(client.base_url)
                    if base.startswith("https:") and self._tls is None:
                        import httpx2  # the SDK's transport: its certificate settings

                        self._tls = httpx2.create_ssl_context()
                    # The SDK's timeouts: 600 s per read and 5 s to connect, or arun's one figure for both.
                    read, connect = (600.0, 5.0) if self.timeout is None else (self.timeout, self.timeout)
                    pool = self._wire[id(client)] = wire.Pool(
                        base, connect_timeout=connect, read_timeout=read, tls=self._tls
                    )
        return pool

    @property
    def key(self) -> str | None:
        """The API key requests carry (for plain HTTP requests beside the SDK's)."""
        return self.api_key if self._client is None else self._client.api_key

    def close(self) -> None:
        for lane in self._lanes[1:]:
            lane.close()
        if self._client is not None:
            self._client.close()
        for http in self._http.values():  # the SDK closed its own; those made for a test's client remain
            http.close()
        for pool in self._wire.values():
            pool.close()

    def count(self, *, write: bool = False) -> None:
        """One request attempt, counted (from any thread)."""
        with _COUNT_LOCK:
            self.counter.requests += 1
            self.counter.writes += int(write)

    def call(self, what: str, fn: Callable[..., T], *args: Any, write: bool = False, **kwargs: Any) -> T:
        import openai  # already imported: `fn` is the client's

        from runner.api.retry import Again, retrying  # the policy, shared with plan's plain listings

        def attempt() -> T | Again:
            try:
                return fn(*args, **kwargs)
            except openai.APIStatusError as exc:
                if exc.status_code not in RETRY_STATUSES:
                    raise explain(exc, what, self.base_url) from None
                return Again(explain(exc, what, self.base_url), _retry_after(exc))
            except openai.APIConnectionError as exc:
                return Again(explain(exc, what, self.base_url), connection=True)

        def count() -> None:
            self.count(write=write)

        return retrying(attempt, attempts=self.attempts, backoff=self.backoff, sleep=self.sleep, count=count)

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
    return retry_after(exc.response.headers.get("retry-after") if exc.response is not None else None)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, when it holds a number."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(exc: openai.APIStatusError) -> str:
    return message_in(exc.body) or exc.message


def message_in(body: Any) -> str | None:
    """The message of an API's error body (`{"error": {"message": ...}}` or the error itself), if any."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return None


def explain(exc: openai.APIError, what: str, base_url: str) -> ApiError:
    import openai

    if isinstance(exc, openai.APIConnectionError):
        return unreachable(what, base_url, exc.__cause__ or exc)
    assert isinstance(exc, openai.APIStatusError)
    return status_error(what, base_url, exc.status_code, _message(exc))


def unreachable(what: str, base_url: str, cause: BaseException) -> ApiError:
    return ApiError(f"{what}: cannot reach {base_url} ({cause}); is the server running?")


def status_error(what: str, base_url: str, status: int, message: str) -> ApiError:
    if status == 404 and HOSTED_API_HOST in base_url:
        return HostedApiGone(HOSTED_GONE_MESSAGE)
    if status == 404:
        return ApiNotFound(f"{what}: the API answered 404: {message}")
    if status == 401:
        return ApiError(f"{what}: the server refused the API key (401: {message}). Check OPENAI_API_KEY.")
    return ApiError(f"{what}: the API answered {status}: {message}")


def _proxied(base_url: str) -> bool:
    """Whether the environment names a proxy that the SDK's HTTP client could use for `base_url`
    (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY, as httpx reads them); NO_PROXY is left to httpx to apply."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    if proxies.get("no", "").strip() == "*":
        return False
    scheme = "https" if base_url.startswith("https:") else "http"
    return bool(proxies.get(scheme) or proxies.get("all"))


def warm_sdk(protocol: str) -> None:
    """Import the SDK and the resources the engine of `protocol` (`assistants` or `responses`) uses now,
    not at their first request: about a second of the command's own CPU, which it can spend while the
    embedded server's process starts (runner/api/local.py) rather than after it. The other protocol's
    resources are left unloaded: the Responses engine has no use for the Assistants' models (0.4 s and
    19 MB more), nor the other way round."""
    import openai

    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key=NO_KEY, max_retries=0)
    _ = (client.files, client.vector_stores.files)
    if protocol == "responses":
        _ = (client.responses, client.conversations)
    else:
        beta = client.beta
        _ = (beta.assistants, beta.threads.runs.steps, beta.threads.messages)
    client.close()


def start_local(settings: Settings) -> LocalServer | None:
    """The embedded server's process, started now for a later `open_api(settings, server=...)`; None for
    another backend."""
    if settings.backend is not Backend.LOCAL:
        return None
    db = Path(settings.local_db)
    db.parent.mkdir(parents=True, exist_ok=True)
    return LocalServer(db, settings.model_time).start()


@contextmanager
def start_early(root: Path, settings: Callable[[Path], Settings]) -> Iterator[LocalServer | None]:
    """`start_local` first thing in a command, so that the server's start-up overlaps the loading of the
    project; the server is stopped when the block ends. Only in a folder that is a project at all (a command
    run in the wrong folder leaves no .arun/ there), and a configuration error is left to be raised where
    the command always raised it (the block gets None, as for another backend)."""
    server = None
    if (root / "assistants").is_dir():
        with suppress(RunnerError):
            server = start_local(settings(root))
    try:
        yield server
    finally:
        if server is not None:
            server.stop()


@contextmanager
def open_api(
    settings: Settings, *, announce: bool = True, server: LocalServer | None = None
) -> Iterator[Api]:
    """An Api for the configured backend; the embedded server (`server`, or one started here) lives exactly
    as long as the block."""
    if settings.backend is Backend.LOCAL:
        local = server or start_local(settings)
        assert local is not None
        with local:
            base_url = local.wait()
            if announce:
                click.echo(f"arun: using the embedded local server (state in {settings.local_db})", err=True)
            api = Api(None, base_url, local=True, api_key=local.api_key)
            try:
                yield api
            finally:
                api.close()
        return
    assert settings.base_url is not None
    api = Api(None, settings.base_url, api_key=settings.api_key, timeout=60)
    try:
        yield api
    finally:
        api.close()
