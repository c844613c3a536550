"""The YAML-to-Responses compiler, one row per YAML field and per run setting (docs/responses.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.project.load import load_project
from runner.project.models import Assistant
from runner.responses.compile import Managed, NotOnResponses, compile_request

from ..shared import shared_path

BASE = "model: gpt-4o\n"
MANAGED = Managed(vector_store_ids=("vs_1",), code_file_ids=("file-a", "file-b"))
WEATHER = """tools:
  - type: function
    function:
      name: get_weather
      description: Weather for a city.
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
"""


def load(tmp_path: Path, yaml: str, files: dict[str, str] | None = None) -> Assistant:
    (tmp_path / "assistants").mkdir(exist_ok=True)
    (tmp_path / "assistants/helper.yaml").write_text(yaml)
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    result = load_project(tmp_path)
    assert result.ok, [d.format() for d in result.diagnostics]
    return result.project.assistants["helper"]


# (row id, assistant YAML after `model:`, run settings, the request fields that row is about)
FIELDS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("model", "", {}, {"model": "gpt-4o"}),
    ("instructions", "instructions: Be brief.\n", {}, {"instructions": "Be brief."}),
    ("no instructions", "", {}, {"instructions": None}),
    (
        "function tool: flat, strict false by default (the Assistants default)",
        WEATHER,
        {},
        {
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Weather for a city.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                    "strict": False,
                }
            ]
        },
    ),
    (
        "function tool: strict kept",
        "tools:\n  - type: function\n    function:\n      name: ping\n      strict: true\n"
        "      parameters: {type: object, properties: {}, additionalProperties: false}\n",
        {},
        {
            "tools": [
                {
                    "type": "function",
                    "name": "ping",
                    "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
                    "strict": True,
                }
            ]
        },
    ),
    (
        "file_search: the managed vector store on the tool",
        "tools:\n  - type: file_search\n",
        {},
        {"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},
    ),
    (
        "file_search: options",
        "tools:\n  - type: file_search\n    file_search:\n      max_num_results: 5\n"
        "      ranking_options: {ranker: auto, score_threshold: 0.5}\n",
        {},
        {
            "tools": [
                {
                    "type": "file_search",
                    "vector_store_ids": ["vs_1"],
                    "max_num_results": 5,
                    "ranking_options": {"ranker": "auto", "score_threshold": 0.5},
                }
            ]
        },
    ),
    (
        "code_interpreter: an auto container with the managed files",
        "tools:\n  - type: code_interpreter\n",
        {},
        {
            "tools": [
                {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-a", "file-b"]}}
            ]
        },
    ),
    ("temperature", "temperature: 0.2\n", {}, {"temperature": 0.2}),
    ("top_p", "top_p: 0.9\n", {}, {"top_p": 0.9}),
    ("response_format auto: no text field", "response_format: auto\n", {}, {"text": None}),
    ("response_format text", "response_format: {type: text}\n", {}, {"text": {"format": {"type": "text"}}}),
    (
        "response_format json_object",
        "response_format: {type: json_object}\n",
        {},
        {"text": {"format": {"type": "json_object"}}},
    ),
    (
        "response_format json_schema: its fields one level up",
        "response_format:\n  type: json_schema\n  json_schema:\n    name: answer\n    description: One number.\n"
        "    schema: {type: object, properties: {n: {type: number}}}\n    strict: true\n",
        {},
        {
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "answer",
                    "description": "One number.",
                    "schema": {"type": "object", "properties": {"n": {"type": "number"}}},
                    "strict": True,
                }
            }
        },
    ),
    ("reasoning_effort", "reasoning_effort: low\n", {}, {"reasoning": {"effort": "low"}}),
    ("metadata", "metadata: {team: docs}\n", {}, {"metadata": {"team": "docs"}}),
    ("no metadata", "", {}, {"metadata": None}),
    # Run settings (a scenario's `run:` merged with a turn's)
    (
        "run instructions replace",
        "instructions: Be brief.\n",
        {"instructions": "Be long."},
        {"instructions": "Be long."},
    ),
    (
        "run additional_instructions are appended after a blank line",
        "instructions: Be brief.\n",
        {"additional_instructions": "Answer in Korean."},
        {"instructions": "Be brief.\n\nAnswer in Korean."},
    ),
    (
        "run instructions and additional_instructions together",
        "instructions: Be brief.\n",
        {"instructions": "Be long.", "additional_instructions": "Answer in Korean."},
        {"instructions": "Be long.\n\nAnswer in Korean."},
    ),
    (
        "additional_instructions without any instructions",
        "",
        {"additional_instructions": "Answer in Korean."},
        {"instructions": "Answer in Korean."},
    ),
    ("run model", "", {"model": "gpt-4.1"}, {"model": "gpt-4.1"}),
    ("run temperature overrides", "temperature: 0.2\n", {"temperature": 1.5}, {"temperature": 1.5}),
    ("run top_p overrides", "", {"top_p": 0.5}, {"top_p": 0.5}),
    ("truncation: auto when unset (the Assistants default)", "", {}, {"truncation": "auto"}),
    ("truncation_strategy auto", "", {"truncation_strategy": {"type": "auto"}}, {"truncation": "auto"}),
    ("max_completion_tokens", "", {"max_completion_tokens": 300}, {"max_output_tokens": 300}),
    ("no max_completion_tokens", "", {}, {"max_output_tokens": None}),
    ("tool_choice auto", "", {"tool_choice": "auto"}, {"tool_choice": "auto"}),
    ("tool_choice none", "", {"tool_choice": "none"}, {"tool_choice": "none"}),
    ("tool_choice required", "", {"tool_choice": "required"}, {"tool_choice": "required"}),
    (
        "tool_choice function: flat",
        WEATHER,
        {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        {"tool_choice": {"type": "function", "name": "get_weather"}},
    ),
    (
        "tool_choice file_search",
        "tools:\n  - type: file_search\n",
        {"tool_choice": {"type": "file_search"}},
        {"tool_choice": {"type": "file_search"}},
    ),
    (
        "tool_choice code_interpreter",
        "tools:\n  - type: code_interpreter\n",
        {"tool_choice": {"type": "code_interpreter"}},
        {"tool_choice": {"type": "code_interpreter"}},
    ),
    ("no tool_choice", "", {}, {"tool_choice": None}),
]


@pytest.mark.parametrize(
    ("yaml", "settings", "expected"), [r[1:] for r in FIELDS], ids=[r[0] for r in FIELDS]
)
def test_each_field_and_run_setting(
    tmp_path: Path, yaml: str, settings: dict[str, Any], expected: dict[str, Any]
) -> None:
    body = compile_request(load(tmp_path, BASE + yaml), settings, MANAGED)
    for name, value in expected.items():
        if value is None:
            assert name not in body
        else:
            assert body[name] == value


def test_instructions_file_is_read(tmp_path: Path) -> None:
    assistant = load(tmp_path, BASE + "instructions_file: prompts/p.md\n", {"prompts/p.md": "From a file.\n"})
    assert compile_request(assistant)["instructions"] == "From a file.\n"


def test_a_whole_request_has_only_responses_fields(tmp_path: Path) -> None:
    assistant = load(tmp_path, BASE + "instructions: Hi.\ntools:\n  - type: file_search\ntemperature: 0.3\n")
    assert compile_request(assistant, {"max_completion_tokens": 500}, MANAGED) == {
        "model": "gpt-4o",
        "instructions": "Hi.",
        "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}],
        "temperature": 0.3,
        "truncation": "auto",
        "max_output_tokens": 500,
    }


def test_the_compiler_is_pure(tmp_path: Path) -> None:
    assistant = load(tmp_path, BASE + WEATHER + "metadata: {team: docs}\n")
    settings = {"additional_instructions": "More.", "tool_choice": "auto"}
    first = compile_request(assistant, settings, MANAGED)
    first["metadata"]["team"] = "changed"
    first["tools"][0]["parameters"]["type"] = "changed"
    assert compile_request(assistant, settings, MANAGED) != first
    assert settings == {"additional_instructions": "More.", "tool_choice": "auto"}


@pytest.mark.parametrize(
    ("yaml", "settings", "setting", "advice"),
    [
        ("", {"max_prompt_tokens": 1000}, "max_prompt_tokens", "Remove it"),
        (
            "",
            {"truncation_strategy": {"type": "last_messages", "last_messages": 4}},
            "truncation_strategy",
            "Use {type: auto}",
        ),
        (
            "tools:\n  - type: file_search\n    file_search:\n"
            "      ranking_options: {ranker: default_2024_08_21, score_threshold: 0.1}\n",
            {},
            "tools[].file_search.ranking_options.ranker",
            "Use ranker: auto",
        ),
    ],
    ids=["max_prompt_tokens", "truncation last_messages", "ranker default_2024_08_21"],
)
def test_settings_with_no_responses_equivalent_are_refused(
    tmp_path: Path, yaml: str, settings: dict[str, Any], setting: str, advice: str
) -> None:
    with pytest.raises(NotOnResponses) as caught:
        compile_request(load(tmp_path, BASE + yaml), settings, MANAGED)
    assert caught.value.setting == setting
    assert advice in str(caught.value)


def test_every_compiled_row_is_a_valid_create_response_body(tmp_path: Path) -> None:
    """The field names and shapes are checked against OpenAI's own CreateResponse schema."""
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = yaml.safe_load(shared_path("openapi", "openai-openapi.yaml").read_text())
    registry = Registry().with_resource("urn:openai", Resource.from_contents(spec, DRAFT202012))
    validator = Draft202012Validator(
        {"$ref": "urn:openai#/components/schemas/CreateResponse"}, registry=registry
    )
    schemas = spec["components"]["schemas"]

    def names(schema: dict[str, Any]) -> set[str]:
        found = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            found |= names(schemas[part["$ref"].rsplit("/", 1)[1]] if "$ref" in part else part)
        return found

    known = names(schemas["CreateResponse"])  # its parts allow unknown keys: check the names too
    for index, (row, yaml_text, settings, _) in enumerate(FIELDS):
        root = tmp_path / str(index)
        root.mkdir()
        body = compile_request(load(root, BASE + yaml_text), settings, MANAGED)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], row
        assert set(body) <= known, row
