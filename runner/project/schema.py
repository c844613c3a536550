"""The JSON Schemas in schemas/ as data, and their errors as diagnostics at the offending key or value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from runner.project.checks import conforms
from runner.project.diagnostics import Diagnostic, JsonPath, did_you_mean
from runner.project.yamlpos import Document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_PACKAGE = Path(__file__).resolve().parent.parent


def schema_dir() -> Path:
    # A built wheel carries the schemas inside the package; a source checkout has them at the top level.
    shipped = _PACKAGE / "_schemas"
    return shipped if shipped.is_dir() else _PACKAGE.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = schema_dir() / f"{name}.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def schema_diagnostics(doc: Document, name: str) -> list[Diagnostic]:
    # A file that is fine passes the validator generated from the schema (runner/project/checks), which
    # costs nothing to load; jsonschema (~60 ms to import) is loaded only to explain a file that is not.
    if conforms(name, doc.data):
        return []
    converter = _Converter(doc, load_schema(name))
    found: list[Diagnostic] = []
    for error in _validator(name).iter_errors(doc.data):
        found.extend(converter.convert(error))
    return sorted(set(found))


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


_NAME_RULE = "is not a valid name: letters, digits, '_' and '-', at most 64 characters"
_PATTERN_HINTS = {"^[A-Za-z0-9_-]{1,64}$": _NAME_RULE}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_matches(expected: str, actual: str) -> bool:
    return expected == actual or (expected == "number" and actual == "integer")


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Converter:
    def __init__(self, doc: Document, root: dict[str, Any]) -> None:
        self.doc = doc
        self.root = root

    def _resolve(self, schema: Any) -> Any:
        while (
            isinstance(schema, dict)
            and isinstance(schema.get("$ref"), str)
            and schema["$ref"].startswith("#/")
        ):
            node: Any = self.root
            for part in schema["$ref"][2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def _branch_types(self, branch: dict[str, Any]) -> set[str]:
        if "type" in branch:
            declared = branch["type"]
            return set(declared) if isinstance(declared, list) else {declared}
        values = [branch["const"]] if "const" in branch else branch.get("enum", [])
        return {_json_type(v) for v in values}

    def convert(self, error: ValidationError) -> Iterator[Diagnostic]:
        path: JsonPath = tuple(error.absolute_path)
        kind = error.validator
        if "propertyNames" in error.schema_path:
            yield self._property_name(error, path)
        elif kind in ("oneOf", "anyOf"):
            yield from self._alternatives(error, path)
        elif kind == "additionalProperties" and isinstance(error.instance, dict):
            yield from self._unknown_keys(error, path)
        elif kind == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            yield self.doc.diag(path, f"missing required key {missing!r}")
        else:
            yield self.doc.diag(path, self._message(error))

    def _message(self, error: ValidationError) -> str:
        kind, limit, value = error.validator, cast(Any, error.validator_value), cast(Any, error.instance)
        if kind == "type":
            wanted = [limit] if isinstance(limit, str) else list(limit)
            names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
            hint = "; quote it" if wanted == ["string"] and not isinstance(value, dict | list) else ""
            return f"expected {names}, got {describe(value)}{hint}"
        if kind == "enum":
            options = ", ".join(_shown(o) for o in limit)
            guess = did_you_mean(value, [str(o) for o in limit]) if isinstance(value, str) else ""
            return f"{_shown(value)} is not one of {options}{guess}"
        if kind == "const":
            return f"expected {_shown(limit)}, got {_shown(value)}"
        if kind == "maxLength":
            return f"is {len(value):,} characters long; the limit is {limit:,}"
        if kind == "minLength":
            return "must not be empty"
        if kind == "maxItems":
            return f"has {len(value)} items; the limit is {limit}"
        if kind == "minItems":
            return f"needs at least {limit} item{'s' if limit != 1 else ''}"
        if kind == "maxProperties":
            return f"has {len(value)} keys; the limit is {limit}"
        if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            word = "at least" if kind == "minimum" else "at most" if kind == "maximum" else "beyond"
            return f"{_shown(value)} is out of range: must be {word} {limit}"
        if kind == "pattern":
            return f"{_shown(value)} {_PATTERN_HINTS.get(limit, f'does not match {limit}')}"
        if kind == "uniqueItems":
            return "has duplicate items"
        return error.message

    def _property_name(self, error: ValidationError, path: JsonPath) -> Diagnostic:
        name = str(error.instance)
        if error.validator == "maxLength":
            message = f"key {name!r} is {len(name)} characters long; the limit is {error.validator_value}"
        else:
            message = f"key {name!r} {_NAME_RULE}"
        return self.doc.diag((*path, name), message, at_key=True, where=path)

    def _unknown_keys(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        schema = self._resolve(error.schema)
        known = set(schema.get("properties", {}))
        in_expectation = len(path) >= 2 and path[-2] == "expect" and isinstance(path[-1], int)
        for key in cast(dict[str, Any], error.instance):
            if key in known:
                continue
            if in_expectation:
                message = f"{key!r} is not a known expectation{did_you_mean(key, known - {'ignore_case'})}"
            else:
                message = f"unknown key {key!r}{did_you_mean(key, known)}"
            yield self.doc.diag((*path, key), message, at_key=True, where=path)

    def _alternatives(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        branches = [self._resolve(b) for b in cast(list[Any], error.validator_value)]
        value: Any = error.instance
        by_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context or []:
            by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        chosen = self._discriminate(branches, value, path)
        if isinstance(chosen, Diagnostic):
            yield chosen
            return
        if chosen is None:
            actual = _json_type(value)
            fitting = [
                i
                for i, b in enumerate(branches)
                if any(_type_matches(t, actual) for t in self._branch_types(b))
            ]
            if len(fitting) == 1:
                chosen = fitting[0]
            elif not fitting:
                wanted: list[str] = []
                for branch in branches:
                    wanted.extend(
                        _TYPE_NAMES[t]
                        for t in sorted(self._branch_types(branch))
                        if _TYPE_NAMES[t] not in wanted
                    )
                yield self.doc.diag(path, f"expected {' or '.join(wanted)}, got {describe(value)}")
                return
        if chosen is not None and by_branch.get(chosen):
            for sub in by_branch[chosen]:
                yield from self.convert(sub)
            return
        from jsonschema.exceptions import best_match

        best = best_match(error.context or [])
        if best is None:  # oneOf matched more than one branch: a schema bug rather than a user mistake
            yield self.doc.diag(path, error.message)
        else:
            yield from self.convert(best)

    def _discriminate(self, branches: list[Any], value: Any, path: JsonPath) -> int | Diagnostic | None:
        """For mappings told apart by their `type` key, pick the branch that `type` names."""
        if not isinstance(value, dict):
            return None
        names: dict[str, int] = {}
        for index, branch in enumerate(branches):
            declared = branch.get("properties", {}).get("type", {}) if isinstance(branch, dict) else {}
            for option in [declared["const"]] if "const" in declared else declared.get("enum", []):
                names[option] = index
        if not names:
            return None
        if "type" not in value:
            return self.doc.diag(path, f"missing required key 'type' (one of {', '.join(map(repr, names))})")
        kind = value["type"]
        if kind in names:
            return names[kind]
        guess = did_you_mean(kind, names) if isinstance(kind, str) else ""
        return self.doc.diag(
            (*path, "type"), f"{_shown(kind)} is not one of {', '.join(map(_shown, names))}{guess}"
        )
