"""Structured answers: a JSON response_format makes the final message JSON that validates, in every shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.sim import Message, ModelInput, Simulator
from runner.sim.structured import json_schema_of, repaired, simplest, structured_text

MATH = {
    "type": "object",
    "properties": {
        "answer": {"type": "integer"},
        "explanation": {"type": "string"},
        "is_prime": {"type": "boolean"},
    },
    "required": ["answer", "explanation", "is_prime"],
    "additionalProperties": False,
}


def answer(question: str, response_format: Any) -> str:
    step = Simulator().step(
        ModelInput(messages=(Message("user", question),), response_format=response_format)
    )
    assert hasattr(step, "text")
    return str(step.text)


def test_the_assistants_shape_answers_json_valid_against_the_schema() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "math", "strict": True, "schema": MATH}}
    data = json.loads(answer("What is 17 * 23?", fmt))
    assert data == {"answer": 391, "explanation": "17 * 23 = 391.", "is_prime": False}


def test_the_responses_shape_and_a_yes_no_answer() -> None:
    fmt = {"type": "json_schema", "name": "math", "schema": MATH}
    data = json.loads(answer("Is 97 prime?", fmt))
    assert data["is_prime"] is True
    assert data["explanation"].startswith("97 is a prime number")


def test_json_object_wraps_the_reply() -> None:
    assert json.loads(answer("Hello", {"type": "json_object"})) == {"answer": "Hello! How can I help?"}


@pytest.mark.parametrize("fmt", [None, "auto", {"type": "text"}])
def test_text_formats_answer_in_text(fmt: Any) -> None:
    assert answer("Hello", fmt) == "Hello! How can I help?"


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json_object"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string"}}}, "json_schema"),
        ({"type": "json_schema", "name": "x", "schema": {"type": "string"}}, "json_schema"),
        ({"type": "other"}, "text"),
    ],
)
def test_json_schema_of_reads_every_shape(fmt: Any, kind: str) -> None:
    assert json_schema_of(fmt)[0] == kind


HARD = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string", "minLength": 2}, "minItems": 2},
        "level": {"type": "integer", "minimum": 3, "maximum": 9, "multipleOf": 2},
        "kind": {"enum": ["a", "b"]},
        "nested": {"$ref": "#/$defs/inner"},
        "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 5}]},
        "fixed": {"const": "v1"},
    },
    "required": ["tags", "level", "kind", "nested", "maybe", "fixed"],
    "additionalProperties": False,
    "$defs": {
        "inner": {
            "type": "object",
            "properties": {"code": {"type": "string", "minLength": 4}, "ok": {"type": "boolean"}},
            "required": ["code", "ok"],
            "additionalProperties": False,
        }
    },
}


@pytest.mark.parametrize("question", ["Hello", "What is 2 + 2?", "Tag it a and b at level 5", ""])
def test_hard_schemas_still_validate(question: str) -> None:
    text = structured_text({"type": "json_schema", "json_schema": {"schema": HARD}}, "Noted.", question)
    assert text is not None
    assert list(Draft202012Validator(HARD).iter_errors(json.loads(text))) == []


def test_repair_adds_missing_and_drops_extra_properties() -> None:
    fixed = repaired({"extra": 1, "tags": []}, HARD)
    assert "extra" not in fixed
    assert list(Draft202012Validator(HARD).iter_errors(fixed)) == []


def test_simplest_values_follow_the_keywords() -> None:
    assert simplest({"type": "integer", "minimum": 3, "multipleOf": 2}, {}) == 4
    assert simplest({"type": "string", "minLength": 3}, {}) == "xxx"
    assert simplest({"type": ["null", "boolean"]}, {}) is False
    assert simplest({"type": "array", "items": {"const": 1}, "minItems": 2}, {}) == [1, 1]
