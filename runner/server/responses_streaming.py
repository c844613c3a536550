"""The Responses API's stream: seam deltas become `response.*` events numbered from 0 (`sequence_number`),
relayed as `event: X` / `data: {...}` frames until the response's terminal event, as the recordings show
(no `[DONE]` line, unlike the Assistants stream). The event shapes are built here, in one place; the
Responses engine (runner/server/responses_engine.py) says when.

Citation markers: the simulator writes a file_search answer with a marker (`【0:0†a.md】`) that the
Assistants API keeps in the text. The Responses API has no markers: its `file_citation` annotation has an
`index` into the text instead. So a marker piece becomes a `response.output_text.annotation.added` event
(no text delta) whose index is where the marker stood, and the text deltas add up to the text without it.
"""

from __future__ import annotations

import os
import string
from collections.abc import AsyncGenerator
from typing import Any

from runner.server.safejson import HOLE, Template
from runner.server.streaming import Bus, Feed, frame

FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
# Published (never sent) when a response ends without a terminal event (it was cancelled: the API has no
# `response.cancelled` event), so that its streams close.
END = "_end"
_PAD = string.ascii_letters + string.digits


class ResponseEvents:
    """Numbers and publishes the events of one response. With nobody listening it only counts."""

    def __init__(self, bus: Bus, response_id: str) -> None:
        self.bus = bus
        self.response_id = response_id
        self.sequence = 0
        # The shape of each item's deltas, encoded once (safejson.Template): a delta encodes its own values.
        self._deltas: dict[tuple[str, str], Template] = {}

    def end(self) -> None:
        self.bus.publish(self.response_id, END, {})

    def emit(self, kind: str, **fields: Any) -> None:
        self.bus.publish(self.response_id, kind, {"type": kind, "sequence_number": self.sequence, **fields})
        self.sequence += 1

    def _delta(self, kind: str, item_id: str, delta: str, /, **shape: Any) -> None:
        """A delta event, `shape` its fields after the sequence number, with HOLEs for the delta and its
        obfuscation (in that order): the same text as `emit`, from the item's template."""
        if self.bus.followed(self.response_id):
            template = self._deltas.get((kind, item_id))
            if template is None:
                template = Template({"type": kind, "sequence_number": HOLE, **shape})
                self._deltas[(kind, item_id)] = template
            text = template.fill(self.sequence, delta, _padding(delta))
            self.bus.publish_encoded(self.response_id, kind, text)
        self.sequence += 1

    # -- whole-response events --------------------------------------------------------------------------

    def response(self, kind: str, response: dict[str, Any]) -> None:
        self.emit(kind, response=response)

    # -- items ------------------------------------------------------------------------------------------

    def item_added(self, index: int, item: dict[str, Any]) -> None:
        self.emit("response.output_item.added", output_index=index, item=item)

    def item_done(self, index: int, item: dict[str, Any]) -> None:
        self.emit("response.output_item.done", output_index=index, item=item)

    def part_added(self, index: int, item_id: str) -> None:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        self.emit(
            "response.content_part.added", item_id=item_id, output_index=index, content_index=0, part=part
        )

    def text_delta(self, index: int, item_id: str, delta: str) -> None:
        self._delta(
            "response.output_text.delta",
            item_id,
            delta,
            item_id=item_id,
            output_index=index,
            content_index=0,
            delta=HOLE,
            logprobs=[],
            obfuscation=HOLE,
        )

    def annotation_added(self, index: int, item_id: str, number: int, annotation: dict[str, Any]) -> None:
        self.emit(
            "response.output_text.annotation.added",
            item_id=item_id,
            output_index=index,
            content_index=0,
            annotation_index=number,
            annotation=annotation,
        )

    def text_done(self, index: int, item_id: str, part: dict[str, Any]) -> None:
        self.emit(
            "response.output_text.done",
            item_id=item_id,
            output_index=index,
            content_index=0,
            text=part["text"],
            logprobs=[],
        )
        self.emit(
            "response.content_part.done", item_id=item_id, output_index=index, content_index=0, part=part
        )

    def arguments_delta(self, index: int, item_id: str, delta: str) -> None:
        self._delta(
            "response.function_call_arguments.delta",
            item_id,
            delta,
            item_id=item_id,
            output_index=index,
            delta=HOLE,
            obfuscation=HOLE,
        )

    def arguments_done(self, index: int, item: dict[str, Any]) -> None:
        # No `name`, though the spec requires one: the recordings (which win) have none.
        self.emit(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=index,
            arguments=item["arguments"],
        )

    def call_status(self, kind: str, index: int, item_id: str) -> None:
        """`response.file_search_call.searching`, `response.code_interpreter_call.interpreting`, ..."""
        self.emit(kind, output_index=index, item_id=item_id)

    def code_delta(self, index: int, item_id: str, delta: str) -> None:
        self._delta(
            "response.code_interpreter_call_code.delta",
            item_id,
            delta,
            output_index=index,
            item_id=item_id,
            delta=HOLE,
            obfuscation=HOLE,
        )

    def code_done(self, index: int, item_id: str, code: str) -> None:
        self.emit("response.code_interpreter_call_code.done", output_index=index, item_id=item_id, code=code)


def _padding(delta: str) -> str:
    # The real API pads deltas with random characters so that their sizes say nothing (include_obfuscation).
    # One read of the system's random source per delta, not one per character: a character's slight bias
    # (256 is not a multiple of 62) does not matter for padding.
    return "".join(_PAD[b % len(_PAD)] for b in os.urandom(max(1, 16 - len(delta))))


async def response_segment(bus: Bus, response_id: str, feed: Feed) -> AsyncGenerator[list[bytes], None]:
    """The frames of one response's stream, in batches: whatever was published since the last batch."""
    try:
        while True:
            batch = []
            for event, data in await feed.take():
                if event == END:
                    break
                batch.append(frame(event, data))
                if event in FINAL_EVENTS:
                    break
            else:
                yield batch
                continue
            if batch:
                yield batch
            return
    finally:
        bus.unsubscribe(response_id, feed)
