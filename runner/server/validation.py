"""Request bodies checked against the spec's request schemas (the committed subset in openapi_subset.json).

A failure becomes the 400 the real API sends: the offending `param` written the way the API writes it
(`tools[0].type`), a message in its style and its `code` (missing_required_parameter, invalid_type, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from runner.server.exceptions import (
    InvalidRequest,
    InvalidType,
    InvalidValue,
    MissingParameter,
    UnknownParameter,
)

_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


@cache
def subset() -> dict[str, Any]:
    text = resources.files("runner.server").joinpath("openapi_subset.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": subset()["components"]}
    return Draft202012Validator(root)


def validate(schema_name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidType(
            f"Invalid type for request body: expected an object, but got {_kind(body)} instead."
        )
    error = best_match(_validator(schema_name).iter_errors(body))
    if error is not None:
        raise _explain(error)
    return body


def param_name(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _quoted(values: Sequence[Any]) -> str:
    shown = [f"'{v}'" for v in values if v is not None]
    if len(shown) <= 2:
        return " and ".join(shown)
    return ", ".join(shown[:-1]) + f", and {shown[-1]}"


def _branches(error: ValidationError) -> dict[int, list[ValidationError]]:
    groups: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        groups.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return groups


def _type_enum(schema: Any) -> list[Any] | None:
    if isinstance(schema, dict) and "$ref" in schema:
        schema = subset()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if isinstance(schema, dict):
        kind = schema.get("properties", {}).get("type", {})
        if isinstance(kind, dict) and isinstance(kind.get("enum"), list):
            return list(kind["enum"])
    return None


def _explain(error: ValidationError) -> InvalidRequest:
    # jsonschema types these as "Any | Unset"; on a reported error they are always set.
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    path = list(error.absolute_path)
    param = param_name(path)
    if error.validator in ("oneOf", "anyOf") and error.context:
        options = [s for s in expected if s != {"type": "null"}]
        enums = [_type_enum(s) for s in options]
        if isinstance(instance, dict) and "type" in instance and all(e is not None for e in enums):
            # A tagged union (tools, chunking strategies, content parts): blame the branch the tag picks, or
            # the tag itself when it picks none.
            for index, schema in enumerate(expected):
                if instance["type"] in (_type_enum(schema) or []):
                    chosen = best_match(_branches(error).get(index, []))
                    if chosen is not None:
                        return _explain(chosen)
            supported = [v for e in enums for v in (e or [])]
            return InvalidValue(
                f"Invalid value: '{instance['type']}'. Supported values are: {_quoted(supported)}.",
                param=param_name([*path, "type"]),
            )
        if all(_is_type_only(s) for s in options) or instance is None:
            return InvalidType(
                f"Invalid type for '{param}': got {_kind(instance)}, which is not allowed here.", param
            )
        deeper = best_match(sub for sub in error.context if sub.validator_value != "null")
        if deeper is not None:
            return _explain(deeper)
    if error.validator == "required":
        missing = next(n for n in expected if n not in instance)
        return MissingParameter(param_name([*path, missing]))
    if error.validator == "additionalProperties":
        allowed = schema.get("properties", {}) if isinstance(schema, dict) else {}
        extra = sorted(k for k in instance if k not in allowed)[0]
        if not path:
            return InvalidRequest(
                f"Unrecognized request argument supplied: {extra}", code="unknown_parameter"
            )
        return UnknownParameter(param_name([*path, extra]))
    if error.validator == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        kinds = " or ".join(_JSON_TYPES.get(str(w), str(w)) for w in wanted)
        return InvalidType(
            f"Invalid type for '{param}': expected {kinds}, but got {_kind(error.instance)} instead.",
            param,
        )
    if error.validator == "enum":
        return InvalidValue(
            f"Invalid value: '{instance}'. Supported values are: {_quoted(list(expected))}.",
            param,
        )
    limits = {
        "maximum": "above maximum value. Expected a value <= {v}",
        "minimum": "below minimum value. Expected a value >= {v}",
        "maxLength": "string too long. Expected a string with maximum length {v}",
        "minLength": "string too short. Expected a string with minimum length {v}",
        "maxItems": "array too long. Expected an array with maximum length {v}",
        "minItems": "array too short. Expected an array with minimum length {v}",
        "maxProperties": "object too large. Expected an object with at most {v} properties",
    }
    if error.validator in limits:
        what = limits[str(error.validator)].format(v=expected)
        got = len(instance) if isinstance(instance, list | dict | str) else instance
        return InvalidValue(f"Invalid '{param}': {what}, but got {got} instead.", param)
    return InvalidValue(f"Invalid '{param or 'body'}': {error.message}.", param or None)


def _is_type_only(schema: Any) -> bool:
    return isinstance(schema, dict) and set(schema) <= {"type", "description", "title"}
