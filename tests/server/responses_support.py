"""What the Responses tests share: SDK clients whose every answer is checked against the spec's schemas for
the Responses and Conversations routes, and every streamed event against `ResponseStreamEvent`, with the
checks a stream must pass: `sequence_number` from 0 without gaps, each event's name equal to its `type`,
and text deltas that add up to the text of `response.output_text.done`.

Allowances, all from the recordings (docs/local-server.md, "Responses and Conversations"): the spec gives
`DELETE /responses/{id}` no body schema, so the recordings' `response.deleted` object is checked instead; a
response's `user` is null (the spec says string), and so is its `usage` until it ends; `usage.input_tokens_details` has no
`cache_write_tokens`; a json_schema `text.format` has `description: null` (StructuredOutputs recording);
`response.function_call_arguments.done` has no `name` (FunctionCallStreamingWorks).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from runs_support import RunContract

RESPONSE_ROUTES: list[tuple[str, str, str]] = [
    ("POST", r"/responses", "Response"),
    ("GET", r"/responses/[^/]+", "Response"),
    ("DELETE", r"/responses/[^/]+", "DeletedResponse"),
    ("POST", r"/responses/[^/]+/cancel", "Response"),
    ("GET", r"/responses/[^/]+/input_items", "ResponseItemList"),
    ("POST", r"/conversations", "ConversationResource"),
    ("GET|POST", r"/conversations/[^/]+", "ConversationResource"),
    ("DELETE", r"/conversations/[^/]+", "DeletedConversationResource"),
    ("GET|POST", r"/conversations/[^/]+/items", "ConversationItemList"),
    ("GET", r"/conversations/[^/]+/items/[^/]+", "ConversationItem"),
    ("DELETE", r"/conversations/[^/]+/items/[^/]+", "ConversationResource"),
]


def response_allowances(schemas: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(schemas)
    props = s["ModelResponseProperties"]["properties"]
    props["user"] = {"anyOf": [props["user"], {"type": "null"}]}
    for part in s["Response"]["allOf"]:
        usage = (part.get("properties") or {}).get("usage")
        if usage is not None:
            part["properties"]["usage"] = {"anyOf": [usage, {"type": "null"}]}
    done = s["ResponseFunctionCallArgumentsDoneEvent"]
    done["required"] = [r for r in done["required"] if r != "name"]
    text_format = s["TextResponseFormatJsonSchema"]["properties"]
    text_format["description"] = {"anyOf": [text_format["description"], {"type": "null"}]}
    details = s["ResponseUsage"]["properties"]["input_tokens_details"]
    details["required"] = [r for r in details.get("required", []) if r != "cache_write_tokens"]
    s["DeletedResponse"] = {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "object": {"enum": ["response.deleted"]},
            "deleted": {"enum": [True]},
        },
    }
    return s


class ResponsesContract(RunContract):
    def __init__(self) -> None:
        super().__init__()
        self.schemas = response_allowances(self.schemas)

    def schema_for(self, method: str, path: str, status: int) -> str | None:
        route = path.split("/v1", 1)[1]
        if status < 400:
            for methods, pattern, schema in RESPONSE_ROUTES:
                if method in methods.split("|") and re.fullmatch(pattern, route):
                    return schema
        return super().schema_for(method, path, status)

    def event(self, events: list[tuple[str, Any]], raw: str) -> None:
        if not raw.startswith("event: response.") and not raw.startswith("event: error"):
            super().event(events, raw)  # an Assistants stream
            return
        import json

        fields = dict(line.split(": ", 1) for line in raw.split("\n") if line)
        name, data = fields["event"], json.loads(fields["data"])
        events.append((name, data))
        self.checked += 1
        if data.get("type") != name:
            self.problems.append(f"stream event {name} has type {data.get('type')}")
        schema = self.event_schemas().get(name)
        if schema is None:
            self.problems.append(f"stream event {name}: not a ResponseStreamEvent")
            return
        for error in self.validator(schema).iter_errors(data):
            where = "/".join(str(p) for p in error.absolute_path)
            self.problems.append(f"stream event {name} at {where}: {error.message[:200]}")

    def event_schemas(self) -> dict[str, str]:
        """Event type -> its schema among ResponseStreamEvent's branches (so that errors name the field)."""
        found: dict[str, str] = {}
        union = self.schemas["ResponseStreamEvent"]
        for branch in union.get("anyOf") or union.get("oneOf") or []:
            name = branch["$ref"].rsplit("/", 1)[1]
            for kind in self.schemas[name]["properties"]["type"].get("enum") or []:
                found[kind] = name
        return found

    def finished(self, events: list[tuple[str, Any]]) -> None:
        if not events or not events[0][0].startswith("response."):
            super().finished(events)
            return
        numbers = [d["sequence_number"] for _, d in events]
        if numbers != list(range(len(numbers))):
            self.problems.append(f"sequence numbers are not 0..{len(numbers) - 1}: {numbers[:10]}...")
        deltas: dict[str, str] = {}
        for name, data in events:
            if name == "response.output_text.delta":
                deltas[data["item_id"]] = deltas.get(data["item_id"], "") + data["delta"]
            if name == "response.output_text.done" and deltas.get(data["item_id"], "") != data["text"]:
                self.problems.append(f"text deltas of {data['item_id']} do not add up to its text")
        self.streams.append(events)
