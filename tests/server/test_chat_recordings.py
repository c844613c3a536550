"""The requests of every recorded Chat Completions session (../shared/recordings/chat/) replayed against the
server: the same status codes, object types and key sets, tool call ids mapped to the ones this server
made, and the recorded tool forced where the real model chose one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import Contract
from recordings_support import PREFIX, learn, mapped, recorded_entries, recording_client

from runner.server.embedded import EmbeddedServer

ID = re.compile(r"^(call_|chatcmpl-)[A-Za-z0-9]+$")
RECORDINGS = [
    ("FunctionsWork.json", 2),
    ("HelloWorldChat.json", 1),
    ("NoParameterToolWorks.json", 2),
    ("ParametersWork.json", 2),
    ("StructuredOutputsWork.json", 1),
    ("TwoTurnChat.json", 2),
]


def _keys(body: dict[str, Any]) -> Any:
    choice = body["choices"][0]
    return (
        body["object"],
        sorted(body),
        sorted(choice),
        sorted(choice["message"]),
        choice["finish_reason"],
        sorted(body["usage"]),
        sorted(body["usage"]["prompt_tokens_details"]),
        sorted(body["usage"]["completion_tokens_details"]),
    )


def _forced(request: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """The request with the tool the recorded model chose forced, so the simulator makes the same choice."""
    message = recorded["choices"][0]["message"]
    if message.get("tool_calls"):
        return {
            **request,
            "tool_choice": {
                "type": "function",
                "function": {"name": message["tool_calls"][0]["function"]["name"]},
            },
        }
    if message.get("function_call"):
        return {**request, "function_call": {"name": message["function_call"]["name"]}}
    return request


@pytest.mark.parametrize(("name", "requests"), RECORDINGS)
def test_recorded_chat_session_replays_with_the_same_shapes(
    name: str, requests: int, server: EmbeddedServer, contract: Contract
) -> None:
    entries = recorded_entries("chat", name)
    ids: dict[str, str] = {}
    with recording_client(server, contract.sync_hook, assistants=False) as http:
        for n, entry in enumerate(entries):
            path = entry["RequestUri"].removeprefix(PREFIX)
            recorded = entry["ResponseBody"]
            body = _forced(json.loads(mapped(json.dumps(entry["RequestBody"]), ids)), recorded)
            response = http.post(path, json=body)
            where = f"{name} entry {n}: POST {path}"
            assert response.status_code == entry["StatusCode"], where
            assert response.headers["content-type"].startswith("application/json"), where
            actual = response.json()
            assert _keys(actual) == _keys(recorded), where
            calls = recorded["choices"][0]["message"].get("tool_calls") or []
            assert len(actual["choices"][0]["message"].get("tool_calls") or []) == len(calls), where
            learn(recorded, actual, ids, ID)
    assert len(entries) == requests
    contract.assert_clean()


def test_the_contract_accepts_every_recorded_chat_completion() -> None:
    contract = Contract()
    for name, _ in RECORDINGS:
        for entry in recorded_entries("chat", name):
            contract.check(
                "POST",
                "/v1/chat/completions",
                entry["StatusCode"],
                "application/json",
                json.dumps(entry["ResponseBody"]).encode(),
            )
    contract.assert_clean()
    assert contract.checked == sum(n for _, n in RECORDINGS)
