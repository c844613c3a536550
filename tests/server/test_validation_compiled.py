"""The compiled request checks (runner/server/validation.py, `_accepts`) accept and refuse exactly what the
full validator does: on hand-made bodies of the requests that create something and on many random
mutations of them, with values chosen to sit at the schemas' edges (limits, booleans among numbers, 1.0
among integers, nulls)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from conftest import paths_in

from runner.server.validation import _accepts, _compile, _validator, subset, validate

TEXT = [{"type": "text", "text": "hello"}]
BODIES: dict[str, list[dict[str, Any]]] = {
    "CreateChatCompletionRequest": [
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": TEXT},
                {
                    "role": "user",
                    "content": [*TEXT, {"type": "image_url", "image_url": {"url": "https://x.test/a"}}],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "42"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.5,
            "top_p": 1,
            "n": 1,
            "max_completion_tokens": 100,
            "metadata": {"suite": "bench"},
            "stop": ["\n"],
        },
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi", "name": "ann"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}},
            "logit_bias": {"50256": -100},
            "seed": 7,
        },
    ],
    "CreateThreadAndRunRequest": [
        {
            "assistant_id": "asst_1",
            "thread": {
                "messages": [{"role": "user", "content": TEXT}, {"role": "assistant", "content": "ok"}],
                "metadata": {"k": "v"},
            },
            "tools": [
                {"type": "code_interpreter"},
                {"type": "file_search", "file_search": {"max_num_results": 5}},
                {"type": "function", "function": {"name": "f"}},
            ],
            "truncation_strategy": {"type": "last_messages", "last_messages": 3},
            "temperature": 1.0,
            "max_prompt_tokens": 500,
            "stream": True,
        }
    ],
    "CreateResponse": [
        {"model": "gpt-4o", "input": "hi", "instructions": "Be brief.", "stream": True},
        {
            "model": "gpt-4o",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
            ],
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
                {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
            ],
            "text": {"format": {"type": "json_object"}},
            "max_output_tokens": 64,
            "metadata": {"a": "b"},
        },
    ],
    "CreateAssistantRequest": [
        {
            "model": "gpt-4o",
            "name": "Captain",
            "instructions": "Address the user as Captain.",
            "tools": [{"type": "file_search"}],
            "tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}},
            "metadata": {"k": "v"},
            "temperature": 0.2,
            "response_format": {"type": "json_object"},
        }
    ],
    "CreateVectorStoreRequest": [
        {
            "name": "docs",
            "file_ids": ["file-1"],
            "expires_after": {"anchor": "last_active_at", "days": 7},
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
            },
        }
    ],
}
EDGES: list[Any] = [
    None,
    0,
    -1,
    1,
    1.0,
    2.5,
    3,
    100,
    2**40,
    -(2**40),
    True,
    False,
    "",
    "x" * 70,
    "x" * 600,
    "robot",
    "text",
    "user",
    "function",
    "auto",
    "static",
    [],
    [1],
    ["a"],
    {},
    {"type": "text"},
    {"k": 1},
]


def _mutated(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(body)
    for _ in range(rng.choice((1, 1, 2))):
        path = rng.choice(paths_in(out)[1:] or [("extra",)])
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        roll = rng.random()
        if isinstance(parent, dict) and roll < 0.2:
            del parent[path[-1]]
        elif isinstance(parent, dict) and roll < 0.3:
            parent[rng.choice(("unknown", "extra_field", "name", "type"))] = copy.deepcopy(rng.choice(EDGES))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(EDGES))
    return out


@pytest.mark.parametrize("schema", sorted(BODIES))
def test_the_compiled_checks_agree_with_the_full_validator(schema: str) -> None:
    rng = random.Random(f"compiled:{schema}")
    accepts, full = _accepts(schema), _validator(schema)
    verdicts = []
    for body in BODIES[schema]:
        assert full.is_valid(body), list(full.iter_errors(body))[:1]
        assert accepts(body)
        for _ in range(400):
            candidate = _mutated(body, rng)
            verdict = full.is_valid(candidate)
            assert accepts(candidate) == verdict, candidate
            verdicts.append(verdict)
    # The mutations reach both answers, so the comparison means something.
    assert 20 < verdicts.count(False) < len(verdicts) - 20


def test_every_schema_of_the_subset_compiles() -> None:
    """No request falls back to the slower validator unnoticed: every schema's keywords are known."""
    for schema in subset()["components"]["schemas"].values():
        _compile(schema, {})  # raises on a keyword the checks do not implement
    for name in BODIES:
        # The fallback is a validator's bound is_valid; the compiled checks are plain functions.
        assert getattr(_accepts(name), "__self__", None) is None, name


@pytest.mark.parametrize(
    ("value", "valid"),
    [(1, True), (1.0, True), (True, False), (0, False), (2.5, False), ("1", False), (None, True)],
)
def test_integers_and_booleans_are_told_apart_as_jsonschema_does(value: Any, valid: bool) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": value}
    schema = "CreateChatCompletionRequest"
    assert _validator(schema).is_valid(body) == valid
    assert _accepts(schema)(body) == valid


def test_a_refused_body_still_gets_the_full_validators_message() -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}
    with pytest.raises(Exception) as refused:
        validate("CreateChatCompletionRequest", body)
    assert refused.value.body()["error"]["param"] == "temperature"  # type: ignore[attr-defined]
