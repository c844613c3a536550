"""JSON Schemas written inside project files (function parameters, response formats, `json` expectations):
checked against the metaschema, for references that resolve, and for the API's rule on function parameters,
each problem at the offending value's own path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from runner.project.diagnostics import JsonPath, did_you_mean

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

SIMPLE_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
# Keywords whose values are data, not schemas: a "$ref" key in there is not a reference.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose values map names to schemas: the names are not keywords.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_MISSING = object()

Problem = tuple[JsonPath, str]


def schema_problems(schema: Any, *, function_parameters: bool = False) -> list[Problem]:
    """Problems of `schema`, each as (path inside the schema, message)."""
    if not surely_meets_metaschema(schema):
        # Only here is jsonschema (~60 ms to import) needed: to find and explain the problem, if any.
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match

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


# The everyday keywords, each with a check of its value that is at least as strict as the 2020-12
# metaschema's rule for it (formats are not asserted there, so `pattern` and `$ref` need only be text).
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_type(value: Any) -> bool:
    if isinstance(value, str):
        return value in SIMPLE_TYPES
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v in SIMPLE_TYPES for v in value)
        and len(set(value)) == len(value)
    )


def _is_names(value: Any) -> bool:
    return (
        isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)
    )


_VALUE_RULES: dict[str, Any] = {
    "type": _is_type,
    "required": _is_names,
    "enum": lambda v: isinstance(v, list),
    "examples": lambda v: isinstance(v, list),
    "const": lambda v: True,
    "default": lambda v: True,
    "uniqueItems": lambda v: isinstance(v, bool),
    **dict.fromkeys(("description", "title", "$comment", "format", "pattern", "$ref", "$schema"), _is_text),
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"), _is_number),
    **dict.fromkeys(
        ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"), _is_count
    ),
}
_ONE_SCHEMA = frozenset({"items", "additionalProperties", "not", "propertyNames", "contains"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf"})
_SCHEMA_MAPS = frozenset({"properties", "$defs"})


def surely_meets_metaschema(schema: Any, depth: int = 0) -> bool:
    """True only when `schema` certainly meets the 2020-12 metaschema: made of everyday keywords, each with
    a value of the right shape. False means "not sure", and jsonschema decides."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or depth > 32:
        return False
    for key, value in schema.items():
        if key in _VALUE_RULES:
            if not _VALUE_RULES[key](value):
                return False
        elif key in _ONE_SCHEMA:
            if not surely_meets_metaschema(value, depth + 1):
                return False
        elif key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                return False
            if not all(surely_meets_metaschema(v, depth + 1) for v in value):
                return False
        elif key in _SCHEMA_MAPS:
            if not isinstance(value, dict):
                return False
            if not all(surely_meets_metaschema(v, depth + 1) for v in value.values()):
                return False
        else:
            return False
    return True


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
