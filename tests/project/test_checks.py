"""The validators generated ahead of time (runner/project/checks) and the metaschema shortcut only ever
accept what jsonschema accepts: they let a file that is fine skip jsonschema's import, nothing more."""

from __future__ import annotations

import copy
import importlib.util
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from runner.project.checks import conforms
from runner.project.jsonschemas import schema_problems, surely_meets_metaschema
from runner.project.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    pytest.importorskip("fastjsonschema", reason="the generator needs the dev extras' fastjsonschema")
    spec = importlib.util.spec_from_file_location("gen_validators", ROOT / "scripts" / "gen_validators.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_validators"] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_validators_are_what_the_script_generates_from_the_schemas_now() -> None:
    generator = _generator()
    for name in generator.NAMES:
        committed = (ROOT / "runner" / "project" / "checks" / f"_{name}.py").read_text(encoding="utf-8")
        assert committed == generator.generate(name), f"run: python scripts/gen_validators.py ({name})"


def _samples(kind: str) -> list[Any]:
    found = []
    for folder in (ROOT / kind, ROOT / "tests" / "corpus"):
        for path in sorted(folder.rglob("*.yaml")):
            if kind not in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
                if re.search(r"(^|\s)&\w", text):
                    continue  # anchors: shared values that copying would blow up (an alias bomb case)
                data = yaml.safe_load(text)
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            found.append(data)
    return found


def _damaged(data: Any, rng: random.Random) -> Any:
    copied = copy.deepcopy(data)
    places: list[tuple[Any, Any]] = []

    def walk(value: Any) -> None:
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        )
        for key, sub in list(items):
            places.append((value, key))
            walk(sub)

    walk(copied)
    if not places:
        return copied
    parent, key = rng.choice(places)
    roll = rng.random()
    if roll < 0.6:
        parent[key] = rng.choice(
            [None, 0, 1, -1, 1.0, 1.5, True, False, "", "x", "a" * 70, [], {}, ["x"], {"x": 1}]
        )
    elif roll < 0.8 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "type", "name", "text", "min"])] = "x"
    else:
        parent.append(copy.deepcopy(rng.choice(parent)) if parent else "x")
    return copied


@pytest.mark.parametrize("name", ["assistant", "scenario"])
def test_the_generated_validator_decides_as_jsonschema_does(name: str) -> None:
    reference = Draft202012Validator(load_schema(name))
    rng = random.Random(7)
    samples = _samples(f"{name}s")
    assert len(samples) >= 10
    checked = refused = 0
    for sample in samples:
        cases = [sample]
        for _ in range(60):
            cases.append(_damaged(cases[-1] if rng.random() < 0.3 else sample, rng))
        for case in cases:
            assert conforms(name, case) == reference.is_valid(case), case
            checked += 1
            refused += not reference.is_valid(case)
    assert refused > checked // 4  # the damage really breaks the schema


def test_an_unknown_schema_name_is_never_accepted_quickly() -> None:
    assert not conforms("nothing", {})


_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)
_KEYS = [
    *("type", "properties", "required", "additionalProperties", "items", "enum", "const", "description"),
    *("minimum", "maxLength", "minItems", "pattern", "format", "anyOf", "oneOf", "allOf", "not", "$defs"),
    *(
        "$ref",
        "uniqueItems",
        "maxProperties",
        "default",
        "examples",
        "$id",
        "prefixItems",
        "dependentRequired",
    ),
]
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-2, 2)
    | st.sampled_from(["string", "object", "integer", "nope", "x", "#/$defs/a", "a#b"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from([*_KEYS, "a", "b"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _values, max_size=4))
def test_the_metaschema_shortcut_accepts_only_what_the_metaschema_accepts(schema: dict[str, Any]) -> None:
    if surely_meets_metaschema(schema):
        assert _META.is_valid(schema), schema


def test_everyday_schemas_take_the_shortcut_and_broken_ones_are_still_explained() -> None:
    everyday = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "A city"},
            "n": {"type": ["integer", "null"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    assert surely_meets_metaschema(everyday) and schema_problems(everyday, function_parameters=True) == []
    broken = {"type": "object", "properties": {"city": {"type": "strin"}}}
    assert not surely_meets_metaschema(broken)
    assert schema_problems(broken) == [
        (
            ("properties", "city", "type"),
            '"strin" is not a JSON Schema type: use one of array, boolean, integer, null, number, object, '
            "string (did you mean 'string'?)",
        )
    ]
