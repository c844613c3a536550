"""Server-sent events: a per-run event bus the engine publishes to, and the response that relays one
segment of a run (up to `requires_action` or the end) as `event: X` / `data: {...}` frames, ending with
`event: done` / `data: [DONE]`, as the recordings show.

The Assistants shapes of the model seam's deltas (runner.sim.types: a text piece as a message delta, a
call's id and name before its arguments as step deltas) and of streamed messages (with the status fields
non-streamed ones lack) are here too; how the model cuts its step into deltas is the model's business
(runner/sim/stream.py for the simulator).

A run never depends on its streams: a client that disconnects, or a stream cut by the `drop_stream`
fault, leaves the run going on to its terminal state on the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from runner.server.models.common import now
from runner.server.safejson import HOLE, Template, dumps
from runner.sim import FileSearchCall, ModelInput, ToolCallDelta, tool_call_to_api

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

# An event name and its data as JSON text, serialised when it happened: a snapshot, since the engine goes
# on changing its objects.
Event = tuple[str, str]


class Feed:
    """The events published to one stream and not yet sent. A stream takes everything that is waiting at
    once, so events published together (or while the stream was waiting for its socket) go out in one
    write; one that comes alone goes out alone, at once."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: Event) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> list[Event]:
        while not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        events, self._events = self._events, []
        return events


class Bus:
    """Fan-out of a run's events to the streams that follow it. Lives on the server's event loop."""

    def __init__(self) -> None:
        self._feeds: dict[str, list[Feed]] = {}

    def subscribe(self, run_id: str, first: Sequence[tuple[str, dict[str, Any]]]) -> Feed:
        feed = Feed()
        for name, data in first:
            feed.put((name, _dumps(_as_streamed(name, data))))
        self._feeds.setdefault(run_id, []).append(feed)
        return feed

    def unsubscribe(self, run_id: str, feed: Feed) -> None:
        feeds = self._feeds.get(run_id, [])
        if feed in feeds:
            feeds.remove(feed)
        if not feeds:
            self._feeds.pop(run_id, None)

    def publish(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        feeds = self._feeds.get(run_id)
        if not feeds:
            return
        text = _dumps(_as_streamed(event, data))  # once, however many follow
        for feed in feeds:
            feed.put((event, text))

    def followed(self, run_id: str) -> bool:
        return run_id in self._feeds

    def publish_encoded(self, run_id: str, event: str, text: str) -> None:
        """An event whose data is JSON text already (a filled `safejson.Template`): a delta."""
        for feed in self._feeds.get(run_id, ()):
            feed.put((event, text))


def _as_streamed(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Streamed run objects carry `tool_resources` with an empty code_interpreter entry where polled ones
    carry `{}`: a wart of the real API that the recordings show."""
    if (
        event.startswith("thread.run.")
        and not event.startswith("thread.run.step")
        and "tool_resources" in data
    ):
        resources = data["tool_resources"] or {}
        return {**data, "tool_resources": {"code_interpreter": {"file_ids": []}, **resources}}
    return data


def _dumps(data: dict[str, Any]) -> str:
    return dumps(data, compact=True)


def frame(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


DONE = frame("done", "[DONE]")


async def segment(bus: Bus, run_id: str, feed: Feed) -> AsyncGenerator[list[bytes], None]:
    """The frames of one segment, in batches: whatever was published since the last batch."""
    try:
        while True:
            batch = []
            for event, data in await feed.take():
                batch.append(frame(event, data))
                if event in FINAL_EVENTS:
                    batch.append(DONE)
                    yield batch
                    return
            yield batch
    finally:
        bus.unsubscribe(run_id, feed)


class EventStreamResponse(Response):
    """`text/event-stream`, written a batch of frames at a time (one socket write each). With `cut_after`,
    the connection is dropped after that many frames without finishing the chunked body, which a client
    sees as a broken connection."""

    def __init__(self, frames: AsyncGenerator[list[bytes], None], cut_after: int | None = None) -> None:
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
            async for batch in self.frames:
                if self.cut_after is not None and sent + len(batch) > self.cut_after:
                    if sent < self.cut_after:
                        body = b"".join(batch[: self.cut_after - sent])
                        await send({"type": "http.response.body", "body": body, "more_body": True})
                    # Returning without the final body message makes uvicorn close the connection.
                    return
                await send({"type": "http.response.body", "body": b"".join(batch), "more_body": True})
                sent += len(batch)
        finally:
            # Unsubscribes the stream from the bus, also when the client went away mid-stream.
            await self.frames.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# -- the shapes of deltas and streamed objects, as the recordings show them ------------------------------


def message_delta(message_id: str, piece: dict[str, Any]) -> dict[str, Any]:
    content = [{"index": 0, "type": "text", "text": piece}]
    return {"id": message_id, "object": "thread.message.delta", "delta": {"content": content}}


def text_delta_template(message_id: str) -> Template:
    """A message's plain text deltas (no annotations): `fill(text)` is the message_delta's JSON text."""
    return Template(message_delta(message_id, {"value": HOLE}))


def step_delta(step_id: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": calls}},
    }


def delta_annotation(index: int, annotation: dict[str, Any]) -> dict[str, Any]:
    # Streamed annotations carry their index and an empty quote, as the recordings show.
    cited = {**annotation["file_citation"], "quote": ""}
    return {"index": index, **annotation, "file_citation": cited}


def streamed(message: dict[str, Any], status: str) -> dict[str, Any]:
    stamp = now()
    shaped = {k: message[k] for k in ("id", "object", "created_at", "assistant_id", "thread_id", "run_id")}
    shaped.update(
        status=status,
        incomplete_details={"reason": "max_tokens"} if status == "incomplete" else None,
        incomplete_at=stamp if status == "incomplete" else None,
        completed_at=stamp if status == "completed" else None,
    )
    shaped.update({k: message[k] for k in ("role", "content", "attachments", "metadata")})
    return shaped


def tool_call_delta(
    delta: ToolCallDelta, call_id: str, first: bool, inp: ModelInput
) -> dict[str, Any] | None:
    """A seam delta as a run step's tool-call delta, as the recordings stream them: a call's first delta
    carries its id and kind (and a function's name), the later ones pieces of its arguments or code. A
    file_search call shows no query (the API's step object has none), so only its first delta is sent."""
    index = delta.index
    if delta.kind == "function":
        if first:
            function = {"name": delta.name, "arguments": delta.text, "output": None}
            return {"index": index, "id": call_id, "type": "function", "function": function}
        return {"index": index, "type": "function", "function": {"arguments": delta.text}}
    if delta.kind == "code_interpreter":
        if first:
            code = {"input": delta.text, "outputs": []}
            return {"index": index, "id": call_id, "type": "code_interpreter", "code_interpreter": code}
        return {"index": index, "type": "code_interpreter", "code_interpreter": {"input": delta.text}}
    if not first:
        return None
    shaped = tool_call_to_api(FileSearchCall(delta.text), call_id, inp)
    return {"index": index, **shaped, "file_search": {**shaped["file_search"], "results": []}}
