"""The example project and the schemas themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.project.load import load_project
from runner.project.schema import load_schema, schema_dir

from .conftest import REPO

EXAMPLES = sorted((REPO / "assistants").glob("*.yaml")) + sorted((REPO / "scenarios").rglob("*.yaml"))
SCHEMAS = ("assistant", "scenario")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_example_is_valid(path: Path) -> None:
    result = load_project(REPO, [path])
    assert result.diagnostics == ()
    assert result.files_checked == 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_example_names_its_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    kind = "assistant" if path.is_relative_to(REPO / "assistants") else "scenario"
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("=", 1)[1]).resolve()
    assert target == REPO / "schemas" / f"{kind}.schema.json"


def test_examples_cover_what_the_project_promises() -> None:
    project = load_project(REPO).project
    assert set(project.assistants) == {"math-tutor", "novel-guide", "travel-helper"}
    tutor = project.assistants["math-tutor"]
    assert tutor.instructions == "You are a personal math tutor. Write and run code to answer math questions."
    assert tutor.tool_types == ("code_interpreter",)
    seed = project.scenarios["math-tutor/seed-jane-doe"]
    assert seed.run["instructions"] == "Please address the user as Jane Doe. The user has a premium account."
    assert seed.turns[0].user.text == "I need to solve the equation `3x + 11 = 14`. Can you help me?"
    assert any(len(s.turns) > 1 for s in project.scenarios.values())
    assert any(t.tool_outputs for s in project.scenarios.values() for t in s.turns)
    assert project.assistants["novel-guide"].file_search_files == (
        "corpus/harbor-light/01-the-keeper.md",
        "corpus/harbor-light/02-the-storm.md",
        "corpus/harbor-light/03-the-letter.md",
    )
    korean = [
        s
        for s in project.scenarios.values()
        if any("\uac00" <= ch <= "\ud7a3" for t in s.turns for ch in t.user.text)
    ]
    assert korean


def _properties_without_description(schema: Any, where: str = "#") -> list[str]:
    missing: list[str] = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if not (isinstance(sub, dict) and "description" in sub):
                missing.append(f"{where}/properties/{name}")
        for key, sub in schema.items():
            missing.extend(_properties_without_description(sub, f"{where}/{key}"))
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            missing.extend(_properties_without_description(sub, f"{where}/{index}"))
    return missing


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_2020_12_and_every_property_is_described(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _properties_without_description(schema) == []


def test_schemas_are_read_from_the_checkout_in_development() -> None:
    assert schema_dir() == REPO / "schemas"
