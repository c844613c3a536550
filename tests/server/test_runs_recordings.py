"""Replay the requests of the five recorded run sessions against the server (extends part 1's harness).

Ids are mapped as in part 1; the tool the real model chose is forced through `tool_choice`, since the
simulator's own choice may differ. Compared: status codes, object types, top-level key sets, and for
streams the order of event names (runs of deltas collapsed: their number is not part of the contract)
with each event's top-level keys. Where the recording polls until a run settles, the replay polls until
its own run settles too and then expects the same status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recordings_support import (
    PREFIX,
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
from runs_support import RunContract, start_server

from runner.server.embedded import EmbeddedServer

# Part 1's id shapes plus tool call ids, which runs add.
ID = re.compile(r"^(asst_|thread_|msg_|run_|step_|call_|file-|vs_|vsfb_)[A-Za-z0-9]+$")
SETTLED = ("requires_action", "completed", "failed", "cancelled", "expired", "incomplete")


def _objects(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        body = entry["ResponseBody"]
        if isinstance(body, list):
            yield from (data for _, data in events(body) if isinstance(data, dict))
        elif isinstance(body, dict):
            yield body
            yield from (i for i in body.get("data") or [] if isinstance(i, dict))


def _chosen_tool(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The first tool the real model called in the session, as a tool_choice."""
    for obj in _objects(entries):
        action = obj.get("required_action")
        if obj.get("object") == "thread.run" and action:
            name = action["submit_tool_outputs"]["tool_calls"][0]["function"]["name"]
            return {"type": "function", "function": {"name": name}}
        details = obj.get("step_details") or {}
        if obj.get("object") == "thread.run.step" and details.get("tool_calls"):
            return {"type": details["tool_calls"][0]["type"]}
    raise AssertionError("the recording shows no tool call")


def _upload_text(entries: list[dict[str, Any]], recorded_file_id: str, filename: str) -> bytes:
    # The recorded search results hold the file's text; the upload bodies themselves were not recorded.
    for obj in _objects(entries):
        for call in (obj.get("step_details") or {}).get("tool_calls") or []:
            for result in (call.get("file_search") or {}).get("results") or []:
                if result["file_id"] == recorded_file_id and result.get("content"):
                    return str(result["content"][0]["text"]).encode()
    return f"x,y\n1,2\n2,4\n3,7\ncontent of {filename}\n".encode()


def _replay(name: str, server: EmbeddedServer, contract: RunContract) -> int:
    entries = recorded_entries(name)
    choice = _chosen_tool(entries)

    def upload(entry: dict[str, Any]) -> tuple[str, bytes]:
        recorded = entry["ResponseBody"]
        return recorded["filename"], _upload_text(entries, recorded["id"], recorded["filename"])

    def prepare(path: str, body: dict[str, Any], recorded: Any) -> None:
        if path.split("?")[0].endswith("/runs"):
            body["tool_choice"] = choice

    ids: dict[str, str] = {}
    with recording_client(server, contract.sync_hook) as http:
        for n, entry in enumerate(entries):
            method, path = entry["RequestMethod"], path_of(entry, ids)
            recorded = entry["ResponseBody"]
            where = f"{name} entry {n}: {method} {path}"
            response = send(http, entry, ids, upload=upload, prepare=prepare)
            settles = isinstance(recorded, dict) and recorded.get("object") == "thread.run"
            if entry["RequestBody"] is None and settles and recorded["status"] in SETTLED:
                for _ in range(100_000):  # bounded: a run that never settles fails the test
                    if response.json()["status"] in SETTLED:
                        break
                    response = http.request(method, path)
                assert response.json()["status"] == recorded["status"], where
            assert response.status_code == entry["StatusCode"], where
            if isinstance(recorded, list):
                actual_events = events(response.text)
                recorded_events = events(recorded)
                assert stream_shape(actual_events) == stream_shape(recorded_events), where
                for (_, r), (_, a) in zip(recorded_events, actual_events, strict=False):
                    learn(r, a, ids, ID)
                continue
            actual = response.json()
            if is_listing(recorded):
                # The recorded lists hold objects this replay never saw (other runs' steps, a longer
                # conversation): the list's own shape and its first item's are compared.
                assert_listing(actual, recorded, ids, where, whole=False)
            else:
                assert shape(actual) == shape(recorded), where
            learn(recorded, actual, ids, ID)
    return len(entries)


@pytest.fixture
def replay_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "replay.db", model_time=0.01)
    yield server
    server.stop()


RECORDINGS = [
    "StreamingToolCall().json",
    "FunctionToolsWork.json",
    "FileSearchStreamingWorks.json",
    "FileSearchWorks.json",
    "BasicRunStepFunctionalityWorks.json",
]


@pytest.mark.parametrize(
    ("name", "requests"),
    [
        ("StreamingToolCall().json", 3),
        ("FunctionToolsWork.json", 17),
        ("FileSearchStreamingWorks.json", 4),
        ("FileSearchWorks.json", 10),
        ("BasicRunStepFunctionalityWorks.json", 45),
    ],
)
def test_recorded_run_session_replays_with_the_same_shapes_and_event_order(
    name: str, requests: int, replay_server: EmbeddedServer
) -> None:
    contract = RunContract()
    assert _replay(name, replay_server, contract) == requests
    contract.assert_clean()
    assert contract.checked >= requests  # every answer (and every stream event) was checked


def test_the_contracts_allowances_accept_every_recorded_run_object_and_event() -> None:
    # The allowances in runs_support.py stand for the real API's ways: this proves that with them, the
    # schemas accept everything the real API sent (so the server is held to the same standard).
    contract, checked = RunContract(), 0
    for name in RECORDINGS:
        for entry in recorded_entries(name):
            body = entry["ResponseBody"]
            if isinstance(body, list):
                seen: list[tuple[str, Any]] = []
                for event, data in events(body):
                    contract.event(
                        seen, f"event: {event}\ndata: {json.dumps(data) if isinstance(data, dict) else data}"
                    )
                    checked += 1
            elif isinstance(body, dict):
                path = "/v1" + entry["RequestUri"].removeprefix(PREFIX).split("?")[0]
                contract.check(
                    entry["RequestMethod"],
                    path,
                    entry["StatusCode"],
                    "application/json",
                    json.dumps(body).encode(),
                )
                checked += 1
    contract.assert_clean()
    assert checked == contract.checked > 150
