"""Request bodies checked against the spec's request schemas (the committed subset in openapi_subset.json).

A failure becomes the 400 the real API sends: the offending `param` written the way the API writes it
(`tools[0].type`), a message in its style and its `code` (missing_required_parameter, invalid_type, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, _utils, validators
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
def _root(schema_name: str) -> dict[str, Any]:
    schemas = subset()["components"]["schemas"]
    # The references are resolved here, once: jsonschema resolves a `$ref` on every request otherwise,
    # which was half the time of checking a chat request. Recursive ones stay references.
    return {**_inlined(schemas[schema_name], schemas, (schema_name,)), "components": subset()["components"]}


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    """The validator whose errors become the API's messages."""
    return Draft202012Validator(_root(schema_name))


@cache
def _quick(schema_name: str) -> Draft202012Validator:
    """A validator that accepts and refuses exactly what `_validator` does, only sooner (see `_one_of`): a
    request it accepts is checked once; one it refuses is checked again by `_validator` for the message."""
    return _Quick(_root(schema_name))


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


# -- oneOf without trying every branch ------------------------------------------------------------------
# jsonschema tries every branch of a oneOf, to be sure that exactly one matches: for a chat request, each
# message against the six message schemas, each content against string and array. Most of the spec's
# oneOfs exclude each other by construction, so only one branch can match an instance and checking that one
# is the same answer: a tagged union (every branch an object that requires the same property, each with its
# own values: `role`, `type`) or branches of different JSON types (a string or an array of parts).
_ONE_OF = Draft202012Validator.VALIDATORS["oneOf"]
_Picker = Callable[[Draft202012Validator, Any], int | None]
_PICKERS: dict[int, tuple[list[Any], _Picker | None]] = {}


def _one_of(validator: Draft202012Validator, branches: Any, instance: Any, schema: Any) -> Iterator[Any]:
    found = _PICKERS.get(id(branches))
    if found is None or found[0] is not branches:
        found = _PICKERS[id(branches)] = (branches, _picker(branches))
    index = None if found[1] is None else found[1](validator, instance)
    if index is None:
        yield from _ONE_OF(validator, branches, instance, schema)
    else:
        yield from validator.descend(instance, branches[index], schema_path=index)


def _picker(branches: Any) -> _Picker | None:
    """How to find the one branch an instance can match, if the branches exclude each other (the index, or
    None when the instance says nothing: then every branch is tried)."""
    if not isinstance(branches, list) or not all(isinstance(b, dict) for b in branches) or len(branches) < 2:
        return None
    kinds = [b.get("type") for b in branches]
    if (
        all(isinstance(k, str) for k in kinds)
        and len(set(kinds)) == len(kinds)
        and not ({"integer", "number"} <= set(kinds))
    ):

        def by_type(validator: Draft202012Validator, instance: Any) -> int | None:
            return next((i for i, k in enumerate(kinds) if validator.is_type(instance, k)), None)

        return by_type
    if any(k != "object" for k in kinds):
        return None
    for tag in branches[0].get("required") or ():
        values: dict[str, int] = {}
        for index, branch in enumerate(branches):
            spec = (branch.get("properties") or {}).get(tag)
            allowed = spec.get("enum") if isinstance(spec, dict) else None
            if tag not in (branch.get("required") or ()) or not isinstance(allowed, list):
                break
            if not all(isinstance(v, str) and v not in values for v in allowed):
                break
            values.update(dict.fromkeys(allowed, index))
        else:

            def by_tag(
                validator: Draft202012Validator,
                instance: Any,
                tag: str = tag,
                values: dict[str, int] = values,
            ) -> int | None:
                value = instance.get(tag) if isinstance(instance, dict) else None
                return values.get(value) if isinstance(value, str) else None

            return by_tag
    return None


_Quick = validators.extend(Draft202012Validator, {"oneOf": _one_of})


# -- the schemas compiled into checks ----------------------------------------------------------------------
# jsonschema walks a schema as data on every request: each keyword is looked up, each subschema gets a
# validator object of its own (`evolve`), and `properties` tries every property the schema declares (some
# forty for a chat request) whatever the body holds. Here a schema becomes, once, a tree of small functions
# that only say yes or no: checking a chat request took 0.2-0.4 ms with `_quick` and takes about 15 us. A
# body they refuse is checked again by `_validator`, whose error becomes the API's message, so messages are
# unchanged; they give `_quick`'s answer for every body (tests/server/test_validation_compiled.py), and a
# schema holding a keyword they do not know is checked by `_quick` instead.

_Check = Callable[[Any], bool]
# Keywords that say nothing about validity (jsonschema asserts no `format` unless given a format checker;
# `discriminator` is OpenAPI's, which jsonschema ignores).
_SILENT = frozenset(
    {"description", "title", "default", "example", "examples", "deprecated", "format", "discriminator"}
)


class _Unknown(Exception):
    """A keyword the compiled checks do not implement."""


@cache
def _accepts(schema_name: str) -> _Check:
    """Whether a body is valid under `schema_name`, as `_quick(schema_name).is_valid` answers."""
    try:
        root = {k: v for k, v in _root(schema_name).items() if k != "components"}
        return _compile(root, {})
    except _Unknown:
        return _quick(schema_name).is_valid


def _compile(schema: Any, named: dict[str, _Check]) -> _Check:
    if schema is True or schema == {}:
        return _yes
    if schema is False:
        return _no
    if not isinstance(schema, dict):
        raise _Unknown(repr(schema))
    checks: list[_Check] = []
    for keyword, value in schema.items():
        if keyword in _SILENT or keyword.startswith("x-") or keyword in ("additionalProperties", "items"):
            continue  # the last two are compiled with `properties` and `type` below
        make = _KEYWORDS.get(keyword)
        if make is None:
            raise _Unknown(keyword)
        checks.append(make(value, schema, named))
    if "additionalProperties" in schema and "properties" not in schema:
        checks.append(_properties({}, schema, named))
    if "items" in schema:
        each = _compile(schema["items"], named)
        checks.append(lambda v: not isinstance(v, list) or all(each(i) for i in v))
    return _all(checks)


def _yes(_: Any) -> bool:
    return True


def _no(_: Any) -> bool:
    return False


def _all(checks: list[_Check]) -> _Check:
    if not checks:
        return _yes
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(c(v) for c in checks)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# As jsonschema's draft 2020-12 type checker: booleans are not numbers, and 1.0 is an integer.
_TYPES: dict[str, _Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or float(v).is_integer()),
}


def _type(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    kinds = value if isinstance(value, list) else [value]
    if not all(isinstance(k, str) and k in _TYPES for k in kinds):
        raise _Unknown(f"type {value!r}")
    if kinds == ["string"]:
        return lambda v: isinstance(v, str)
    if kinds == ["object"]:
        return lambda v: isinstance(v, dict)
    tests = [_TYPES[k] for k in kinds]
    return lambda v: any(t(v) for t in tests)


def _enum(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    if not isinstance(value, list):
        raise _Unknown("enum")
    if all(isinstance(e, str) for e in value):
        allowed = frozenset(value)
        return lambda v: isinstance(v, str) and v in allowed
    # jsonschema's own equality: True is not 1, 1 is 1.0, containers compared item by item.
    return lambda v: any(_utils.equal(e, v) for e in value)


def _properties(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    declared = {name: _compile(sub, named) for name, sub in value.items()}
    extra = schema.get("additionalProperties", True)
    other = None if extra is True or extra == {} else _compile(extra, named)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, item in v.items():
            sub = declared.get(key)
            if sub is None:
                if other is not None and not other(item):
                    return False
            elif not sub(item):
                return False
        return True

    return check


def _required(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    names = tuple(value)
    return lambda v: not isinstance(v, dict) or all(n in v for n in names)


def _any_of(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    branches = [_compile(b, named) for b in value]
    return lambda v: any(b(v) for b in branches)


def _all_of(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    return _all([_compile(b, named) for b in value])


def _one_of_compiled(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    branches = [_compile(b, named) for b in value]
    # The same choice of the one branch an instance can match as `_one_of` makes (its is_type is
    # jsonschema's, which _TYPES follows).
    pick = _picker(value)
    probe: Any = _Types()

    def check(v: Any) -> bool:
        index = None if pick is None else pick(probe, v)
        if index is not None:
            return branches[index](v)
        return sum(1 for b in branches if b(v)) == 1

    return check


class _Types:
    """What `_picker` asks of a validator, answered by `_TYPES` (jsonschema's is_type is a dozen calls)."""

    def is_type(self, instance: Any, kind: str) -> bool:
        return _TYPES[kind](instance)


def _bound(test: Callable[[Any], bool], size: Callable[[Any], int], op: Callable[[int, Any], bool]) -> Any:
    def make(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
        return lambda v: not test(v) or op(size(v), value)

    return make


def _pattern(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    found = re.compile(value).search  # as jsonschema: re.search, anywhere in the string
    return lambda v: not isinstance(v, str) or found(v) is not None


def _property_names(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    each = _compile(value, named)
    return lambda v: not isinstance(v, dict) or all(each(k) for k in v)


def _ref(value: Any, schema: dict[str, Any], named: dict[str, _Check]) -> _Check:
    prefix = "#/components/schemas/"
    if not isinstance(value, str) or not value.startswith(prefix) or "/" in value[len(prefix) :]:
        raise _Unknown(f"$ref {value!r}")
    name = value[len(prefix) :]
    if name not in named:
        # Recursive schemas refer to themselves: the name is taken before its schema is compiled.
        slot: list[_Check] = []
        named[name] = lambda v: slot[0](v)
        slot.append(_compile(subset()["components"]["schemas"][name], named))
    return named[name]


def _length(v: Any) -> int:
    return len(v)


def _itself(v: Any) -> Any:
    return v


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any], dict[str, _Check]], _Check]] = {
    "type": _type,
    "enum": _enum,
    "properties": _properties,
    "required": _required,
    "anyOf": _any_of,
    "allOf": _all_of,
    "oneOf": _one_of_compiled,
    "pattern": _pattern,
    "propertyNames": _property_names,
    "$ref": _ref,
    "minimum": _bound(_is_number, _itself, lambda n, limit: n >= limit),
    "maximum": _bound(_is_number, _itself, lambda n, limit: n <= limit),
    "minLength": _bound(lambda v: isinstance(v, str), _length, lambda n, limit: n >= limit),
    "maxLength": _bound(lambda v: isinstance(v, str), _length, lambda n, limit: n <= limit),
    "minItems": _bound(lambda v: isinstance(v, list), _length, lambda n, limit: n >= limit),
    "maxItems": _bound(lambda v: isinstance(v, list), _length, lambda n, limit: n <= limit),
    "maxProperties": _bound(lambda v: isinstance(v, dict), _length, lambda n, limit: n <= limit),
}


def validate(schema_name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidType(
            f"Invalid type for request body: expected an object, but got {_kind(body)} instead."
        )
    _check(schema_name, body)
    if _has_null(body):
        _drop_absent_nulls(subset()["components"]["schemas"][schema_name], body)
        # A null taken as absent must leave a body that is still whole: `{"file_ids": null}` names the
        # required property but, without it, sends none.
        _check(schema_name, body)
    return body


def _check(schema_name: str, body: dict[str, Any]) -> None:
    if not _accepts(schema_name)(body):
        error = _pick(_validator(schema_name).iter_errors(body))
        if error is not None:
            raise _explain(error)


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
