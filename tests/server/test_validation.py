"""The quick request validator (a oneOf checks only the branch an instance can match) accepts and refuses
exactly what the full one does: on hand-made bodies of each protocol and on many random mutations of them."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from conftest import paths_in

from runner.server.exceptions import InvalidRequest
from runner.server.validation import _quick, _validator, validate

TEXT = [{"type": "text", "text": "hello"}]
CHAT_MESSAGES: list[dict[str, Any]] = [
    {"role": "developer", "content": "Be brief."},
    {"role": "system", "content": TEXT},
    {"role": "user", "content": [*TEXT, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    {"role": "function", "name": "f", "content": "42"},
]
BODIES: dict[str, list[dict[str, Any]]] = {
    "CreateChatCompletionRequest": [
        {"model": "gpt-4o", "messages": CHAT_MESSAGES, "stream": True},
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}},
        },
    ],
    "CreateThreadAndRunRequest": [
        {
            "assistant_id": "asst_1",
            "thread": {
                "messages": [{"role": "user", "content": TEXT}, {"role": "assistant", "content": "ok"}]
            },
            "tools": [
                {"type": "code_interpreter"},
                {"type": "file_search"},
                {"type": "function", "function": {"name": "f"}},
            ],
            "truncation_strategy": {"type": "last_messages", "last_messages": 3},
            "stream": True,
        }
    ],
    "CreateResponse": [
        {"model": "gpt-4o", "input": "hi", "stream": True},
        {
            "model": "gpt-4o",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
            ],
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object"}},
                {"type": "file_search", "vector_store_ids": ["vs_1"]},
            ],
            "text": {"format": {"type": "json_object"}},
        },
    ],
}
ODD_VALUES: list[Any] = [None, 0, 1.5, True, "", "robot", "text", "user", [], {}, [1], {"type": "text"}]


def _mutated(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(body)
    path = rng.choice(paths_in(out)[1:])
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return out


@pytest.mark.parametrize("schema", sorted(BODIES))
def test_the_quick_validator_agrees_with_the_full_one(schema: str) -> None:
    rng = random.Random(f"quick:{schema}")
    quick, full = _quick(schema), _validator(schema)
    verdicts = []
    for body in BODIES[schema]:
        assert full.is_valid(body), list(full.iter_errors(body))[:1]
        for _ in range(150):
            candidate = _mutated(body, rng)
            verdict = full.is_valid(candidate)
            assert quick.is_valid(candidate) == verdict, candidate
            verdicts.append(verdict)
    # The mutations reach both answers, so the comparison means something.
    assert 10 < verdicts.count(False) < len(verdicts) - 10


def test_a_refused_request_still_gets_the_full_validators_message() -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]}
    with pytest.raises(InvalidRequest) as refused:
        validate("CreateChatCompletionRequest", body)
    assert refused.value.body()["error"]["param"] == "messages[0].role"
    assert "'robot'" in refused.value.body()["error"]["message"]


def test_a_null_taken_as_absent_cannot_stand_for_a_required_property() -> None:
    """`{"file_ids": null}` names the property the request needs, but a null there means absent: refused
    as missing (it reached the model without it and answered 500, found by the property test)."""
    with pytest.raises(InvalidRequest) as refused:
        validate("CreateVectorStoreFileBatchRequest", {"file_ids": None})
    assert refused.value.message == "Missing required parameter: 'file_ids'."
    assert validate("CreateVectorStoreFileBatchRequest", {"file_ids": ["file-1"], "attributes": None}) == {
        "file_ids": ["file-1"]
    }
