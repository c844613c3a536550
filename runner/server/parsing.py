"""Request bodies, parsed once for every handler: the JSON a client sends must be JSON the server can serve
back. A request is refused (400, naming the `param`) when it holds NaN or an infinity (also a float literal
too large for a double), an integer longer than `MAX_INT_DIGITS`, a lone UTF-16 surrogate in a string or a
key, or nesting deeper than `MAX_DEPTH`; invalid JSON gets the API's own parse error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from runner.server.exceptions import InvalidJson, InvalidRequest, InvalidValue
from runner.server.safejson import LONE_SURROGATE
from runner.server.validation import param_name

# Deep enough for any JSON Schema a function declares; far below where a recursive parser or validator fails.
MAX_DEPTH = 64
# A 64-bit integer has at most 19 digits; the API has no use for longer ones.
MAX_INT_DIGITS = 20


class _Unservable:
    """What the parser puts where a number cannot be served back; the walk names its place."""

    def __init__(self, shown: str) -> None:
        self.shown = shown


def _constant(name: str) -> _Unservable:
    return _Unservable(name)


def _float(text: str) -> float | _Unservable:
    value = float(text)
    return value if math.isfinite(value) else _Unservable(f"{text[:20]}..." if len(text) > 20 else text)


def _int(text: str) -> int | _Unservable:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Unservable(f"an integer of {digits} digits")
    return int(text)


def parse_request_json(raw: bytes) -> Any:
    """A request body's JSON, or the 400 the API answers. Empty bodies are `{}`."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidJson() from None
    except RecursionError:
        raise InvalidRequest(
            f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels of objects and arrays are accepted."
        ) from None
    check_servable(parsed)
    return parsed


def check_servable(value: Any, prefix: tuple[Any, ...] = ()) -> None:
    """Raise the 400 for the first part of `value` that could not be served back (see the module doc)."""
    todo: list[tuple[tuple[Any, ...], Any]] = [(prefix, value)]
    while todo:
        path, item = todo.pop()
        if len(path) - len(prefix) > MAX_DEPTH:
            raise InvalidValue(
                f"Invalid '{param_name(path[: len(prefix) + MAX_DEPTH])}': nested too deeply. Objects and "
                f"arrays may be nested at most {MAX_DEPTH} levels.",
                param_name(path[: len(prefix) + MAX_DEPTH]) or None,
            )
        if isinstance(item, _Unservable):
            param = param_name(path)
            raise InvalidValue(
                f"Invalid '{param or 'body'}': expected a finite number that fits in 64 bits, but got "
                f"{item.shown} instead.",
                param or None,
            )
        if isinstance(item, float) and not math.isfinite(item):
            param = param_name(path)
            raise InvalidValue(
                f"Invalid '{param or 'body'}': expected a finite number, but got {item} instead.",
                param or None,
            )
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            for key, sub in reversed(item.items()):
                _check_text(key, (*path, key))
                todo.append(((*path, key), sub))
        elif isinstance(item, list):
            todo.extend(((*path, i), sub) for i, sub in reversed(list(enumerate(item))))


def _check_text(text: str, path: tuple[Any, ...]) -> None:
    found = LONE_SURROGATE.search(text)
    if found is not None:
        param = param_name(path)
        raise InvalidValue(
            f"Invalid '{param or 'body'}': the string holds a lone surrogate (U+{ord(found.group()):04X}) at "
            f"character {found.start()}, which is not valid Unicode. Send UTF-8 text, or escape astral "
            "characters as a surrogate pair.",
            param or None,
        )
