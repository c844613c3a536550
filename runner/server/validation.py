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
from jsonschema.exceptions import ValidationError, by_relevance

from runner.server.exceptions import (
    InvalidRequest,
    InvalidType,
    InvalidValue,
    MissingParameter,
    UnknownParameter,
)

_RELEVANCE = by_relevance()
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
    schemas = subset()["components"]["schemas"]
    # The references are resolved here, once: jsonschema resolves a `$ref` on every request otherwise,
    # which was half the time of checking a chat request. Recursive ones stay references.
    root = {**_inlined(schemas[schema_name], schemas, (schema_name,)), "components": subset()["components"]}
    return Draft202012Validator(root)


# Keywords beside a `$ref` that say nothing about validity, so the reference can take its place.
_ANNOTATIONS = frozenset({"description", "title", "default", "x-stainless-skip"})


def _inlined(schema: Any, schemas: dict[str, Any], within: tuple[str, ...]) -> Any:
    if isinstance(schema, list):
        return [_inlined(s, schemas, within) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in within and not set(schema) - _ANNOTATIONS - {"$ref"}:
            return _inlined(schemas[name], schemas, (*within, name))
    return {k: _inlined(v, schemas, within) for k, v in schema.items()}


def validate(schema_name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidType(
            f"Invalid type for request body: expected an object, but got {_kind(body)} instead."
        )
    error = _pick(_validator(schema_name).iter_errors(body))
    if error is not None:
        raise _explain(error)
    if _has_null(body):
        _drop_absent_nulls(subset()["components"]["schemas"][schema_name], body)
    return body


def _has_null(value: Any) -> bool:
    # Far cheaper than walking the schema beside the body, which only matters when a null was sent.
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def _drop_absent_nulls(schema: Any, value: Any, depth: int = 0) -> None:
    """Remove the nulls sent for optional properties the spec does not make nullable: the real API takes
    them as absent (the generator marks those properties `x-null-is-absent`)."""
    if depth > 32 or not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = subset()["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or ():
            _drop_absent_nulls(branch, value, depth + 1)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in [n for n, v in value.items() if v is None]:
            if (properties.get(name) or {}).get("x-null-is-absent"):
                del value[name]
        for name, sub in properties.items():
            if name in value:
                _drop_absent_nulls(sub, value[name], depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _drop_absent_nulls(schema["items"], item, depth + 1)


def _pick(errors: Iterable[ValidationError]) -> ValidationError | None:
    # Like jsonschema's best_match, but without descending into oneOf/anyOf: _explain does that itself,
    # so that a tagged union is judged by its tag and not by whichever branch looks closest.
    return max(errors, key=_RELEVANCE, default=None)


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
        enums = [e for e in (_type_enum(s) for s in options) if e is not None]
        if isinstance(instance, dict) and "type" in instance and enums:
            # A tagged union (tools, chunking strategies, content parts, response formats): blame the branch
            # the tag picks, or the tag itself when it picks none.
            for index, schema in enumerate(expected):
                if instance["type"] in (_type_enum(schema) or []):
                    chosen = _pick(_branches(error).get(index, []))
                    if chosen is not None:
                        return _explain(chosen)
            supported = [v for e in enums for v in e]
            return InvalidValue(
                f"Invalid value: '{instance['type']}'. Supported values are: {_quoted(supported)}.",
                param=param_name([*path, "type"]),
            )
        # Otherwise blame the first branch that accepts the value's type (string or array of parts, ...).
        kinds: list[str] = []
        for _, errors in sorted(_branches(error).items()):
            rejected = [e for e in errors if e.validator == "type" and not e.relative_path]
            if not rejected:
                chosen = _pick(errors)
                if chosen is not None:
                    return _explain(chosen)
            for e in rejected:
                wanted: Any = e.validator_value
                kinds += [str(w) for w in (wanted if isinstance(wanted, list) else [wanted]) if w != "null"]
        described = " or ".join(dict.fromkeys(_JSON_TYPES.get(k, k) for k in kinds)) or "another type"
        return InvalidType(
            f"Invalid type for '{param}': expected {described}, but got {_kind(instance)} instead.", param
        )
    if error.validator == "oneOf" and not error.context:
        # Valid under more than one branch: the branches are alternatives that were sent together.
        names = [n for s in expected if isinstance(s, dict) for n in s.get("required", [])]
        return InvalidRequest(
            f"Invalid '{param}': send only one of {_quoted(names)}.", param, "invalid_value"
        )
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
        described_type = " or ".join(_JSON_TYPES.get(str(w), str(w)) for w in wanted)
        return InvalidType(
            f"Invalid type for '{param}': expected {described_type}, but got {_kind(instance)} instead.",
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
