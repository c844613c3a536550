"""Function arguments from the parameter schema and the user's words, always valid against the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.sim.arguments import build_arguments

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": 'City name, for example "Lisbon".'},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}
BOOKING = {
    "type": "object",
    "properties": {
        "rooms": {"type": "integer", "minimum": 1},
        "nights": {"type": "integer", "maximum": 5},
        "guest_name": {"type": "string"},
        "city": {"type": "string"},
        "breakfast": {"type": "boolean"},
        "parking": {"type": "boolean"},
        "arrival": {"type": "string", "format": "date"},
        "views": {"type": "array", "items": {"type": "string", "enum": ["sea", "garden"]}},
        "budget": {"type": "number", "exclusiveMaximum": 500},
    },
    "required": ["rooms", "nights", "guest_name", "parking"],
    "additionalProperties": False,
}
NESTED = {
    "type": "object",
    "$defs": {"unit": {"type": "string", "enum": ["km", "mi"]}},
    "properties": {
        "route": {
            "type": "object",
            "properties": {
                "from": {"type": "string"},
                "to": {"type": "string"},
                "unit": {"$ref": "#/$defs/unit"},
            },
            "required": ["from", "unit"],
        },
        "note": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 5}]},
        "count": {"type": ["null", "integer"], "default": 2},
        "kind": {"const": "walk"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "level": {"enum": [1, 2, 3]},
        "mode": {"type": "string", "examples": ["fast"]},
        "anything": {},
        "deposit": {"type": "integer", "exclusiveMinimum": 0},
        "ratio": {"type": "number", "exclusiveMinimum": 0.5},
    },
    "required": [
        "route",
        "note",
        "count",
        "kind",
        "tags",
        "level",
        "mode",
        "anything",
        "deposit",
        "ratio",
    ],
}
CONTACT = {
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "website": {"type": "string", "format": "uri"},
        "query": {"type": "string"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{2}$"},
        "title": {"type": "string"},
        "day": {"type": "string"},
        "lonely": {"type": "null"},
    },
    "required": ["title", "lonely"],
}


def args(schema: dict[str, Any], text: str) -> dict[str, Any]:
    built = json.loads(build_arguments(schema, text))
    Draft202012Validator(schema).validate(built)
    return built


def test_a_capitalised_place_fills_a_city_and_a_mentioned_enum_value_is_used() -> None:
    assert args(WEATHER, "What is the weather like in Lisbon today?") == {"city": "Lisbon"}
    assert args(WEATHER, "Weather in New York in Fahrenheit, please") == {
        "city": "New York",
        "unit": "fahrenheit",
    }
    assert args(WEATHER, "Lisbon weather?") == {"city": "Lisbon"}


def test_required_properties_are_present_without_evidence() -> None:
    assert args(WEATHER, "오늘 날씨 어때요?") == {"city": ""}
    assert args(BOOKING, "book something") == {"rooms": 1, "nights": 0, "guest_name": "", "parking": False}


def test_numbers_go_to_the_property_named_next_to_them_and_respect_bounds() -> None:
    built = args(BOOKING, "Book 3 nights and 2 rooms for Maria Silva in Porto, budget 800, with parking.")
    assert built["nights"] == 3
    assert built["rooms"] == 2
    assert built["budget"] == 499.999999999
    assert (built["guest_name"], built["city"], built["parking"]) == ("Maria Silva", "Porto", True)
    assert args(BOOKING, "Book 9 nights and 0 rooms")["nights"] == 5
    assert args(BOOKING, "Book 9 nights and 0 rooms")["rooms"] == 1


def test_booleans_dates_and_enum_arrays_come_from_the_text() -> None:
    built = args(BOOKING, "Ana needs a room on 2026-12-01 with a sea view, no breakfast and no parking.")
    assert built["breakfast"] is False
    assert built["parking"] is False
    assert built["arrival"] == "2026-12-01"
    assert built["views"] == ["sea"]
    assert args(BOOKING, "Arriving tomorrow")["arrival"] == "tomorrow"


def test_references_branches_constants_defaults_and_examples() -> None:
    built = args(NESTED, "Walk from Porto, a 12 km trip, note: `scenic route`")
    assert built["route"] == {"from": "Porto", "to": "Porto", "unit": "km"}  # the only place named
    assert built["note"] == "sceni"  # the quoted text, cut to maxLength
    assert (built["count"], built["kind"], built["level"], built["mode"]) == (12, "walk", 1, "scenic route")
    assert built["tags"] == ["scenic route"]
    bare = args(NESTED, "nothing here")
    assert (bare["count"], bare["mode"], bare["tags"], bare["note"]) == (2, "fast", [""], "")
    assert (bare["deposit"], bare["ratio"]) == (1, 0.500000001)


def test_a_reference_cycle_ends_as_an_empty_string() -> None:
    cyclic = {"$defs": {"loop": {"$ref": "#/$defs/loop"}}, "properties": {"a": {"$ref": "#/$defs/loop"}}}
    assert build_arguments({**cyclic, "required": ["a"]}, "text") == '{"a":""}'


def test_emails_links_patterns_free_text_and_dates() -> None:
    text = "Write to ana@example.org about https://example.org/trip for booking ABC-12 on Friday"
    built = args(CONTACT, text)
    assert built["email"] == "ana@example.org"
    assert built["website"] == "https://example.org/trip"
    assert built["code"] == "ABC-12"
    assert built["query"] == text
    assert built["title"] == ""
    assert built["lonely"] is None
    assert "day" not in built


def test_no_parameters_means_empty_arguments() -> None:
    assert build_arguments(None, "anything") == "{}"
    assert build_arguments({}, "anything") == "{}"
    assert build_arguments({"type": "object", "properties": {}}, "anything") == "{}"


def test_arguments_are_compact_json_that_keeps_non_ascii_text() -> None:
    assert build_arguments(WEATHER, "Weather in São Paulo?") == '{"city":"São Paulo"}'


@pytest.mark.parametrize(
    "schema", [WEATHER, BOOKING, NESTED, CONTACT], ids=["weather", "booking", "nested", "contact"]
)
@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello",
        "What is 12 * 7?",
        "Book 2 rooms in Lisbon for Jane Doe, jane@x.io, no parking",
        "방정식을 풀어 주세요",
    ],
)
def test_arguments_are_valid_against_their_schema(schema: dict[str, Any], text: str) -> None:
    args(schema, text)
