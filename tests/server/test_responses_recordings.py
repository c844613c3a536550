"""Replay the requests of the recorded Responses and Conversations sessions (../shared/recordings/responses/)
against the server, with the helpers of the Assistants replays (ids mapped to ours, uploads made from the
recorded multipart bodies, the recorded tool forced through `tool_choice` where the real model chose one).

Compared: status codes, object types, key sets (of responses with the keys below set aside), the shapes
of list items, and for streams the event order (runs of deltas collapsed) with each event's keys: the
stream's envelope (`response.created` ... `response.completed`) and, per output item type, the sequence of
that item's events. The simulator writes other items than the real model (one code step where the model
took three, no message before its code), so the items' sequences are compared type by type, never their
number. `MultipleResponseInstructions.json` is left out: it names a stored Prompt object, which this server
does not serve (docs/local-server.md).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recordings_support import (
    assert_listing,
    events,
    is_listing,
    learn,
    path_of,
    recorded_entries,
    recording_client,
    send,
    shape,
    stream_shape,
)
from responses_support import ResponsesContract
from runs_support import start_server

from runner.server.embedded import EmbeddedServer
from tests.shared import shared_path

ID = re.compile(r"^(resp_|conv_|msg_|fc_|fs_|ci_|cntr_|call_|file-|vs_)[A-Za-z0-9]+$")
# Keys of a response object that only some recordings have (fields the API added later, billing and
# moderation details this server has no counterpart for): set aside on both sides.
LATER_KEYS = {
    "billing",
    "completed_at",
    "conversation",
    "frequency_penalty",
    "moderation",
    "presence_penalty",
    "prompt_cache_retention",
    "tool_usage",
}
RECORDINGS = {
    "AllInstructionMethodsWork(InstructionsProperty).json": 3,
    "CanCancelBackgroundResponses.json": 2,
    "CanCreateGetUpdateAndDeleteConversation.json": 4,
    "CanDeleteResponse.json": 4,
    "CanOptOutOfStorage.json": 2,
    "CodeInterpreterToolStreaming.json": 1,
    "CodeInterpreterToolWithUploadedFileIds.json": 3,
    "CodeInterpreterToolWithoutFileIds.json": 1,
    "FileSearchCallStreaming.json": 3,
    "FunctionCallStreamingWorks.json": 1,
    "FunctionCallWorks.json": 3,
    "FunctionToolChoiceWorks.json": 1,
    "GetInputItemsWithAfterIdPagination.json": 3,
    "GetInputItemsWithPagination.json": 3,
    "GetResponseNoOptions.json": 2,
    "MaxTokens.json": 1,
    "ResponseUsingConversations.json": 4,
    "ResponsesHelloWorldWithTool(%gpt-4o-mini%).json": 1,
    "StreamingResponses.json": 1,
    "StructuredOutputs(%gpt-4o-mini%).json": 1,
}


def _upload(body: list[str]) -> tuple[str, bytes]:
    """The filename and content of a recorded multipart upload (its parts are stored, base64 as `b64:`)."""
    name = next(m.group(1) for part in body if (m := re.search(r"filename=([^;\r\n]+)", part)))
    content = b"".join(base64.b64decode(p[4:]) for p in body if p.startswith("b64:"))
    return name.strip('"'), content


def _forced(path: str, body: dict[str, Any], recorded: Any) -> None:
    """With tools and no tool_choice, force the tool the real model called first, if it called one."""
    if path != "/responses" or not body.get("tools") or body.get("tool_choice"):
        return
    items = recorded.get("output") if isinstance(recorded, dict) else None
    if items is None and isinstance(recorded, list):
        done = [d for n, d in events(recorded) if n == "response.completed"]
        items = done[0]["response"]["output"] if done else []
    for item in items or []:
        if item["type"] == "function_call":
            body["tool_choice"] = {"type": "function", "name": item["name"]}
            return
        if item["type"] in ("file_search_call", "code_interpreter_call"):
            body["tool_choice"] = {"type": item["type"].removesuffix("_call")}
            return


def _response_shape(body: Any) -> Any:
    if isinstance(body, dict) and body.get("object") == "response":
        kept = {k: v for k, v in body.items() if k not in LATER_KEYS}
        return (body["object"], sorted(kept), sorted({(i["type"], tuple(sorted(i))) for i in body["output"]}))
    return shape(body)


def _item_sequences(events: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The stream's envelope, and per output item type the (collapsed) events of its first item."""
    envelope: list[tuple[str, Any]] = []
    per_item: dict[int, list[tuple[str, Any]]] = {}
    types: dict[int, str] = {}
    for name, data in events:
        index = data.get("output_index") if isinstance(data, dict) else None
        if index is None:
            envelope.append((name, data))
            continue
        if name == "response.output_item.added":
            types[index] = data["item"]["type"]
        per_item.setdefault(index, []).append((name, data))
    by_type: dict[str, Any] = {}
    for index, item_events in sorted(per_item.items()):
        by_type.setdefault(types[index], stream_shape(item_events))
    return stream_shape(envelope), by_type


def _replay(name: str, server: EmbeddedServer, contract: ResponsesContract) -> int:
    entries = recorded_entries("responses", name)

    ids: dict[str, str] = {}
    with recording_client(server, contract.sync_hook, assistants=False) as http:
        for n, entry in enumerate(entries):
            method, path = entry["RequestMethod"], path_of(entry, ids)
            recorded = entry["ResponseBody"]
            where = f"{name} entry {n}: {method} {path}"
            response = send(
                http,
                entry,
                ids,
                upload=lambda entry: _upload(entry["RequestBody"]),
                prepare=_forced,
            )
            assert response.status_code == entry["StatusCode"], where
            if isinstance(recorded, list):
                actual_events, recorded_events = events(response.text), events(recorded)
                ours, theirs = _item_sequences(actual_events), _item_sequences(recorded_events)
                assert ours[0] == theirs[0], where
                assert ours[1], where
                for kind, sequence in ours[1].items():
                    assert sequence == theirs[1].get(kind), f"{where}: the events of a {kind} item"
                for (_, r), (_, a) in zip(recorded_events, actual_events, strict=False):
                    learn(r, a, ids, ID)
                continue
            actual = response.json()
            if is_listing(recorded):
                assert_listing(actual, recorded, ids, where, whole=False)
            else:
                assert _response_shape(actual) == _response_shape(recorded), where
                if (
                    isinstance(recorded, dict)
                    and recorded.get("object") == "response"
                    and name != "MaxTokens.json"
                ):
                    # MaxTokens: the simulator's answer to that input fits in 20 tokens, so it completes
                    # (test_responses.py covers `incomplete`).
                    assert actual["status"] == recorded["status"], where
            learn(recorded, actual, ids, ID)
    return len(entries)


@pytest.fixture
def replay_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    # Slow enough that a background response is still running when the recording cancels it.
    server = start_server(tmp_path / "replay.db", model_time=0.3)
    yield server
    server.stop()


@pytest.mark.parametrize(("name", "requests"), sorted(RECORDINGS.items()))
def test_recorded_responses_session_replays_with_the_same_shapes_and_event_order(
    name: str, requests: int, replay_server: EmbeddedServer
) -> None:
    contract = ResponsesContract()
    assert _replay(name, replay_server, contract) == requests
    contract.assert_clean()
    assert contract.checked >= requests


def test_every_recording_but_the_stored_prompt_one_is_replayed() -> None:
    folder = shared_path("recordings", "responses")
    names = {p.name for p in Path(folder).glob("*.json")}
    assert names - set(RECORDINGS) == {"MultipleResponseInstructions.json"}


def test_the_contracts_allowances_accept_every_recorded_response_object_and_event() -> None:
    contract, checked = ResponsesContract(), 0
    folder = shared_path("recordings", "responses")
    for path in sorted(Path(folder).glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["Entries"]:
            body, uri, method = entry["ResponseBody"], entry["RequestUri"], entry["RequestMethod"]
            if isinstance(body, list) and "/responses" in uri:
                seen: list[tuple[str, Any]] = []
                for name, data in events(body):
                    contract.event(seen, f"event: {name}\ndata: {json.dumps(data)}")
                checked += len(seen)
            elif isinstance(body, dict) and ("/responses" in uri or "/conversations" in uri):
                contract.check(
                    method,
                    uri.removeprefix("https://api.openai.com").split("?")[0],
                    entry["StatusCode"],
                    "application/json",
                    json.dumps(body).encode(),
                )
                checked += 1
    assert checked > 50
    contract.assert_clean()
