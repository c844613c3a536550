"""JSON Schemas written inside project files (function parameters, response formats, `json` expectations):
checked against the metaschema, for references that resolve, and for the API's rule on function parameters,
each problem at the offending value's own path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from runner.project.diagnostics import JsonPath, did_you_mean

SIMPLE_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
# Keywords whose values are data, not schemas: a "$ref" key in there is not a reference.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose values map names to schemas: the names are not keywords.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_MISSING = object()

Problem = tuple[JsonPath, str]


def schema_problems(schema: Any, *, function_parameters: bool = False) -> list[Problem]:
    """Problems of `schema`, each as (path inside the schema, message)."""
    meta = best_match(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema))
    if meta is not None:
        return [_metaschema_problem(meta)]
    found = [(path, message) for path, message in _reference_problems(schema)]
    if function_parameters:
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind != "object":
            got = "none" if kind is None else repr(kind)
            where: JsonPath = ("type",) if isinstance(schema, dict) and "type" in schema else ()
            found.append(
                (
                    where,
                    f"function parameters must be a JSON Schema of type 'object' (the API's rule), got {got}: "
                    "list the arguments under properties, or leave parameters out for a function without any",
                )
            )
    return found


def _metaschema_problem(error: ValidationError) -> Problem:
    path: JsonPath = tuple(error.absolute_path)
    value = error.instance
    in_type = bool(path) and (path[-1] == "type" or (len(path) > 1 and path[-2] == "type"))
    if in_type and not isinstance(value, list | dict) and value not in SIMPLE_TYPES:
        guess = did_you_mean(value, SIMPLE_TYPES) if isinstance(value, str) else ""
        return path, (
            f"{json.dumps(value, ensure_ascii=False)} is not a JSON Schema type: use one of "
            f"{', '.join(SIMPLE_TYPES)}{guess}"
        )
    return path, f"is not a valid JSON Schema: {error.message}"


def _references(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield (*path, key), value
            elif key in _DATA_KEYWORDS:
                continue
            elif key in _NAMED_SCHEMAS and isinstance(value, dict):
                for name, sub in value.items():
                    yield from _references(sub, (*path, key, name))
            else:
                yield from _references(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, (*path, index))


def _anchors(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$anchor"), str):
            yield node["$anchor"]
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _anchors(value)
    elif isinstance(node, list):
        for item in node:
            yield from _anchors(item)


def _pointer(root: Any, pointer: str) -> Any:
    node = root
    for raw in pointer.split("/")[1:]:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _reference_problems(schema: Any) -> Iterator[Problem]:
    for path, ref in _references(schema, ()):
        if not ref.startswith("#"):
            yield (
                path,
                (
                    f"$ref {ref!r} points outside this schema; arun and the API resolve only references inside it "
                    "(such as '#/$defs/name'): copy the definition under $defs"
                ),
            )
        elif ref.startswith("#/") or ref == "#":
            if _pointer(schema, ref[1:]) is _MISSING:
                defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
                names = [f"#/$defs/{name}" for name in defs] if isinstance(defs, dict) else []
                yield path, f"$ref {ref!r} points at nothing in this schema{did_you_mean(ref, names)}"
        elif ref[1:] not in set(_anchors(schema)):
            yield path, f"$ref {ref!r} names no $anchor in this schema"
