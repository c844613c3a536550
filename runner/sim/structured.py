"""Structured answers: with a JSON `response_format`, the final message is JSON (valid against the schema).

One function for every protocol: `structured_text(response_format, reply, user_text)`. It takes the format
in any of the API's shapes:
- Assistants and Chat Completions: `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`;
- Responses (`text.format`): `{"type": "json_schema", "name", "schema", "strict"}`;
- `{"type": "json_object"}` (either API), and `"auto"`, `{"type": "text"}` or None for plain text.

The values come from the same evidence as function arguments (runner/sim/arguments.py), plus the reply the
model would have written in text: answer-like properties (`answer`, `result`, `summary`, ...) get that
reply, its last number or its yes/no. Whatever the evidence leaves invalid (a `minLength`, a missing item)
is then repaired from the schema, so the answer validates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runner.sim.arguments import Evidence, resolve, value_for

_MARKER = re.compile(r"【[^】]*】")
_REPAIRS = 32  # a schema that still fails after this many repairs is answered as it stands


def json_schema_of(response_format: Any) -> tuple[str, Mapping[str, Any] | None]:
    """("text", None), ("json_object", None) or ("json_schema", schema) for a format in any API shape."""
    if not isinstance(response_format, Mapping):
        return "text", None
    kind = response_format.get("type")
    if kind == "json_object":
        return "json_object", None
    if kind != "json_schema":
        return "text", None
    holder = response_format.get("json_schema", response_format)
    schema = holder.get("schema") if isinstance(holder, Mapping) else None
    if not isinstance(schema, Mapping):
        return "json_object", None  # a json_schema format without a schema: any JSON object
    return "json_schema", schema


def structured_text(
    response_format: Any, reply: str, user_text: str = "", truth: bool | None = None
) -> str | None:
    """The message text under `response_format`, or None when the format is plain text. `reply` is what
    the model would have said in text; `truth` its yes/no, when it has one."""
    kind, schema = json_schema_of(response_format)
    if kind == "text":
        return None
    said = " ".join(_MARKER.sub("", reply).split())
    if schema is None:
        return _dump({"answer": said})
    ev = Evidence.of(user_text, reply=said, truth=truth)
    value = value_for("", schema, ev, True, schema)
    return _dump(repaired(value, schema))


def repaired(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value` changed where it breaks `schema`: missing properties added, extra ones removed, and any other
    failing part replaced by the simplest value its subschema accepts."""
    try:
        validator = Draft202012Validator(schema)
    except SchemaError:  # pragma: no cover - an invalid schema is refused before a run starts
        return value
    for _ in range(_REPAIRS):
        error = next(iter(validator.iter_errors(value)), None)
        if error is None:
            break
        sub: Any = error.schema
        where = list(error.absolute_path)
        here = _at(value, where)
        if error.validator == "required" and isinstance(here, dict):
            for name in error.validator_value:
                if name not in here:
                    prop = (sub.get("properties") or {}).get(name, {})
                    here[name] = simplest(prop, schema)
            continue
        if error.validator == "additionalProperties" and isinstance(here, dict):
            allowed = sub.get("properties") or {}
            for name in [n for n in here if n not in allowed]:
                del here[name]
            continue
        value = _put(value, where, simplest(sub, schema))
    return value


def simplest(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """The simplest value `schema` accepts, as far as its keywords say (patterns and formats aside)."""
    if not isinstance(schema, Mapping) or depth > 16:
        return None
    schema = resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: simplest(properties.get(name, {}), root, depth + 1) for name in schema.get("required") or ()
        }
    if kind == "array":
        count = int(schema.get("minItems", 0) or 0)
        return [simplest(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _simplest_number(schema, kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * int(schema.get("minLength", 0) or 0)


def _simplest_number(schema: Mapping[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum")
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + 1
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - 1
    value: float = 0
    if isinstance(low, int | float):
        value = max(value, low)
    if isinstance(high, int | float):
        value = min(value, high)
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        value = -(-value // step) * step
    return int(value) if integer or float(value).is_integer() else value


def _at(value: Any, path: list[Any]) -> Any:
    for part in path:
        value = value[part]
    return value


def _put(value: Any, path: list[Any], new: Any) -> Any:
    if not path:
        return new
    _at(value, path[:-1])[path[-1]] = new
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
