"""Validators generated ahead of time from schemas/ (scripts/gen_validators.py), cheap to import.

`conforms(name, data)` says whether `data` is valid against schemas/<name>.schema.json. It is only ever used
to accept a file quickly: a file it refuses is checked again by jsonschema, whose errors arun explains, so
the words of every error stay those of the careful path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any


class JsonSchemaValueException(ValueError):
    """Raised by the generated code at the first value that breaks the schema."""

    def __init__(
        self, message: str, value: Any = None, name: str | None = None, definition: Any = None, rule: Any = None
    ) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


class JsonSchemaValuesException(ValueError):
    """Raised by the generated code with several errors (fastjsonschema's detailed mode; unused here)."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


NAMES = ("assistant", "scenario", "transcript")


@cache
def _validate(name: str) -> Callable[[Any], Any]:
    module = importlib.import_module(f"runner.project.checks._{name}")
    validate: Callable[[Any], Any] = module.validate
    return validate


def conforms(name: str, data: Any) -> bool:
    if name not in NAMES:
        return False
    return _passes(_validate(name), data)


@cache
def _items(name: str) -> dict[str, Callable[[Any], Any]]:
    module = importlib.import_module(f"runner.project.checks._{name}")
    items: dict[str, Callable[[Any], Any]] = getattr(module, "ITEMS", {})
    return items


def item_check(name: str, prop: str) -> Callable[[Any], bool] | None:
    """For a top-level array property of schema `name` that is only "an array of one definition": whether
    one item conforms to that definition (scripts/gen_validators.py, `_checked_apart`). None otherwise."""
    validate = _items(name).get(prop) if name in NAMES else None
    if validate is None:
        return None
    return lambda item: _passes(validate, item)


def _passes(validate: Callable[[Any], Any], data: Any) -> bool:
    try:
        validate(data)
    except (JsonSchemaValueException, JsonSchemaValuesException):
        return False
    except (RecursionError, TypeError, ValueError):
        return False  # whatever the generated code did not foresee: jsonschema decides
    return True
