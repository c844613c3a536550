"""Server-sent events: a per-run event bus the engine publishes to, and the response that relays one
segment of a run (up to `requires_action` or the end) as `event: X` / `data: {...}` frames, ending with
`event: done` / `data: [DONE]`, as the recordings show.

A run never depends on its streams: a client that disconnects, or a stream cut by the `drop_stream`
fault, leaves the run going on to its terminal state on the server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# The events after which a stream has said all it will say.
FINAL_EVENTS = frozenset(
    {
        "thread.run.requires_action",
        "thread.run.completed",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.incomplete",
        "error",
    }
)

Event = tuple[str, dict[str, Any]]


class Bus:
    """Fan-out of a run's events to the streams that follow it. Lives on the server's event loop."""

    def __init__(self) -> None:
        self._queues: dict[str, list[asyncio.Queue[Event]]] = {}

    def subscribe(self, run_id: str, first: list[Event]) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        for event in first:
            queue.put_nowait(event)
        self._queues.setdefault(run_id, []).append(queue)
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[Event]) -> None:
        queues = self._queues.get(run_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._queues.pop(run_id, None)

    def publish(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        queues = self._queues.get(run_id)
        if not queues:
            return
        # Serialised once, and a snapshot: the engine goes on changing its objects.
        frozen = json.loads(json.dumps(data))
        for queue in queues:
            queue.put_nowait((event, frozen))

    def followers(self, run_id: str) -> int:
        return len(self._queues.get(run_id, []))


def frame(event: str, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def segment(bus: Bus, run_id: str, queue: asyncio.Queue[Event]) -> AsyncIterator[bytes]:
    try:
        while True:
            event, data = await queue.get()
            yield frame(event, data)
            if event in FINAL_EVENTS:
                break
        yield frame("done", "[DONE]")
    finally:
        bus.unsubscribe(run_id, queue)


class EventStreamResponse(Response):
    """`text/event-stream`, written frame by frame. With `cut_after`, the connection is dropped after that
    many frames without finishing the chunked body, which a client sees as a broken connection."""

    def __init__(self, frames: AsyncIterator[bytes], cut_after: int | None = None) -> None:
        # Not Response.__init__, which would declare a Content-Length for an empty body.
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
        ]
        self.frames = frames
        self.cut_after = cut_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        try:
            async for chunk in self.frames:
                if self.cut_after is not None and sent >= self.cut_after:
                    # Returning without the final body message makes uvicorn close the connection.
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += 1
        finally:
            await _close(self.frames)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close(frames: AsyncIterator[bytes]) -> None:
    closer = getattr(frames, "aclose", None)
    if closer is not None:
        await closer()


# -- how text and tool calls are cut into deltas -----------------------------------------------------------

_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+$")


def text_pieces(text: str, keep_whole: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) spans covering `text`: one word or punctuation mark with its leading space each, as the
    real API streams tokens, except that each `keep_whole` span (a citation marker) is one piece."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for start, end in sorted(keep_whole):
        spans.extend(_spans(text, pos, start))
        spans.append((start, end))
        pos = end
    spans.extend(_spans(text, pos, len(text)))
    return spans


def _spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    found = [(start + m.start(), start + m.end()) for m in _PIECE.finditer(text[start:end]) if m.group()]
    return found


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of about `size` tokens, for tool-call arguments and code input."""
    spans = _spans(text, 0, len(text))
    if not spans:
        return [text] if text else []
    starts = [s for s, _ in spans[::size]]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
