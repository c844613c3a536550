"""A streamed response's server-sent events, read off the wire as plain JSON, beneath the replay engines'
client seam (DESIGN.md "Seams").

Replay reads a run's or a response's stream only for the events that change what it knows (a run's status,
a finished step or message, a response's lifecycle). The SDK's own `Stream` parsed every event, the many
text deltas included, into its pydantic models: 60 times the cost of `json.loads`, and most of the client's
CPU at -j 200 (docs/performance.md, "Replay client"). Here an event's data stays bytes until the engine asks
for it, so the deltas it never reads cost a line split.

The request is arun's own too (`Api.stream`): one POST built from a JSON body and headers made once, sent
on arun's own HTTP/1.1 (`EventStream.send`, runner/api/wire.py), or on the lane's SDK HTTP client when the
environment names a proxy (`EventStream.post`). The SDK's `with_streaming_response` layers (its options,
the body transform of typed parameters, the headers merged anew for each request, the response wrappers)
were about a third of the CPU of a plain turn's one request, and httpx, httpcore and h11 most of the rest
(docs/performance.md, "A streamed turn's own request"). The request is the one the SDK sends: the same
path, query and JSON body, `Authorization`, `OpenAI-Beta` where the SDK adds it; the body is only ever
plain data from arun's own files, so the SDK's transform has nothing to change in it. A refused request raises the SDK's
own status error for its status (`openai.NotFoundError` for a 404 and so on, with the same message and
body), a broken connection or a timeout the SDK's `APIConnectionError` / `APITimeoutError`, and a stream
that breaks or reports an error the same exceptions as the SDK's own stream did, so the retries of
`Api.call` and the engines' handling of dropped streams are unchanged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from runner.api import wire

if TYPE_CHECKING:  # both are loaded with the SDK client, on first use (runner/api/session.py)
    import httpx2


class Event:
    """One server-sent event: its name (None when the stream names none) and its data, decoded on demand."""

    __slots__ = ("data", "name")

    def __init__(self, name: str | None, data: bytes) -> None:
        self.name = name
        self.data = data

    def json(self) -> Any:
        return json.loads(self.data) if self.data else {}


class Decoder:
    """Bytes in, whole events out (the SSE format: `event:` and `data:` lines, a blank line ends an event;
    comment lines and other fields are ignored). LF and CRLF line ends."""

    def __init__(self) -> None:
        self._rest = b""
        self._name: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Event]:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()  # an unfinished line waits for the next chunk
        events = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data or self._name is not None:
                    events.append(Event(self._name, b"\n".join(self._data)))
                self._name, self._data = None, []
                continue
            field, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                self._data.append(value)
            elif field == b"event":
                self._name = value.decode("utf-8")
        return events


class EventStream:
    """The events of one streamed response, in order, until `[DONE]` or the end of the body. `close()`, from
    any thread, releases the connection and ends a read in progress."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        close: Callable[[], None],
        url: str,
        last: frozenset[str] = frozenset(),
    ) -> None:
        self._chunks = chunks  # the body of an answer whose status was a success
        self._close = close
        self._url = url  # for the SDK's exceptions, which name the request
        self._last = last  # the names of the events after which the server ends the stream

    @classmethod
    def send(
        cls,
        pool: wire.Pool,
        headers: dict[str, str],
        body: dict[str, Any],
        path: str,
        *,
        query: dict[str, Any] | None = None,
        last: frozenset[str] = frozenset(),
    ) -> EventStream:
        """POST `body` with `"stream": true` to `path` (under the pool's base URL) on arun's own HTTP/1.1
        (runner/api/wire.py) and return its events once the server has answered with a success; else raise
        the SDK's exception for the answer. The stream ends at `[DONE]` or after an event named in `last`
        (a protocol without `[DONE]`)."""
        target = pool.target(path, query)
        url = f"{pool.scheme}://{pool.host_header}{target}"
        try:
            answer = pool.post(target, headers, _encode(body))
        except wire.Broken as exc:
            raise _connection_error(exc, url) from exc
        if 200 <= answer.status < 300:
            return cls(answer.chunks(), answer.close, url, last)
        import httpx2

        try:
            content = answer.read()
        except wire.Broken:  # the error's body was cut: the status still says what happened
            content = b""
        # The body is decoded already: its framing and encoding headers no longer describe `content`.
        framing = {"content-encoding", "content-length", "transfer-encoding"}
        kept = [(name, value) for name, value in answer.headers if name.lower() not in framing]
        response = httpx2.Response(
            answer.status, headers=kept, content=content, request=httpx2.Request("POST", url)
        )
        response.read()
        raise sdk_status_error(response)

    @classmethod
    def post(
        cls,
        http: httpx2.Client,
        url: str,
        headers: dict[str, str],
        body: dict[str, Any],
        *,
        query: dict[str, Any] | None = None,
        last: frozenset[str] = frozenset(),
    ) -> EventStream:
        """As `send`, on the SDK's HTTP client (httpx): the way through a proxy."""
        import httpx2

        request = http.build_request("POST", url, headers=headers, content=_encode(body), params=query)
        try:
            response = http.send(request, stream=True)
        except httpx2.RequestError as exc:
            raise _connection_error(exc, str(request.url)) from exc
        if response.is_success:
            return cls(_httpx_chunks(response), response.close, str(request.url), last)
        try:
            response.read()
        except httpx2.RequestError:  # the error's body was cut: the status still says what happened
            pass
        finally:
            response.close()
        raise sdk_status_error(response)

    def close(self) -> None:
        self._close()

    def __iter__(self) -> Iterator[Event]:
        decoder = Decoder()
        chunks = self._chunks
        try:
            for chunk in chunks:
                for event in decoder.feed(chunk):
                    # At the end, the body is read to its end before the stream is closed: that returns its
                    # connection to the pool for the next request, where closing it first would drop it.
                    if event.data.startswith(b"[DONE]"):
                        _drain(chunks)
                        return
                    _raise_reported_error(event, self._url)
                    if event.name in self._last:
                        _drain(chunks)
                        yield event
                        return
                    yield event
        except OSError as exc:  # wire.Broken and wire.TimedOut, as the SDK's stream reports them
            raise _connection_error(exc, self._url) from exc
        finally:
            self.close()


def _encode(body: dict[str, Any]) -> bytes:
    """The request's body as the SDK encodes one: UTF-8 JSON without spaces, no NaN, `stream` true."""
    return json.dumps(
        {**body, "stream": True}, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def _httpx_chunks(response: httpx2.Response) -> Iterator[bytes]:
    """The body of an httpx response, its transport's errors raised as the OS errors `__iter__` maps."""
    import httpx2

    try:
        yield from response.iter_bytes()
    except httpx2.TimeoutException as exc:
        raise wire.TimedOut(str(exc)) from exc
    except httpx2.RequestError as exc:
        raise wire.Broken(str(exc)) from exc


def _connection_error(exc: BaseException, url: str) -> Exception:
    """The SDK's exception for a request that got no (whole) answer: APITimeoutError for a timeout."""
    import httpx2
    import openai

    request = httpx2.Request("POST", url)
    if isinstance(exc, (wire.TimedOut, httpx2.TimeoutException)):
        return openai.APITimeoutError(request=request)
    return openai.APIConnectionError(request=request)


def _drain(chunks: Iterator[bytes], limit: int = 1 << 16) -> None:
    """Read what is left of a body whose last event has been read: the chunked encoding's terminator, or a
    trailing newline. More than `limit` bytes means the server goes on talking: then stop reading. A body
    that breaks here has said all it had to say: the connection is dropped (not reused), the events stand."""
    with contextlib.suppress(OSError):  # wire.Broken, and the SDK client's errors as _httpx_chunks maps them
        for chunk in chunks:
            limit -= len(chunk)
            if limit < 0:
                return


def _raise_reported_error(event: Event, url: str) -> None:
    """An event whose data carries an `error` object ends the stream with the SDK's APIError, as the SDK's
    own stream does (the Assistants API's `thread.*` events excepted, whose data is the object itself)."""
    if (event.name or "").startswith("thread.") or b'"error"' not in event.data:
        return
    import openai

    try:
        data = event.json()
    except ValueError:
        return
    error = data.get("error") if isinstance(data, dict) else None
    if not error:
        return
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    import httpx2

    raise openai.APIError(message=message, request=httpx2.Request("POST", url), body=error)


def sdk_status_error(response: httpx2.Response) -> Exception:
    """The SDK's exception for a refused request (not runner.api.session.status_error, arun's message for
    one), as the SDK makes it: the class of the status, the message
    `Error code: N - <the error's message>`, and the body's `error` object (or the whole body) as `body`."""
    import openai

    status = response.status_code
    message = f"Error code: {status}"
    body: Any = None
    if response.is_stream_consumed:
        text = response.text.strip()
        body = text
        try:
            body = json.loads(text)
        except ValueError:
            pass
        else:
            error = body.get("error", body) if isinstance(body, dict) else None
            if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
                message += f" - {error['message']}"
            if isinstance(body, dict):
                body = body.get("error", body)
    location = response.headers.get("location")
    if 300 <= status < 400 and location:  # wire.py does not follow redirects (docs/replay.md, "Requests")
        message += f" - a redirect to {location}: set the base URL to where it points"
    kinds: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        409: openai.ConflictError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    kind = kinds.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return kind(message, response=response, body=body)
