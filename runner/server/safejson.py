"""JSON the server can always send: what is stored and served is written with `dumps`, which cannot fail.

Anything unservable that got in anyway (rows written by an older server; requests are checked on the way in
by runner/server/parsing.py) comes out as null (non-finite numbers) or U+FFFD (lone surrogates), so that
one bad object never breaks a whole page.

`dumps` calls the json module's C encoder made once per separator style, which is what `json.dumps` makes
anew on every call (with these options it cannot reuse its default encoder): the same text, without the
few microseconds of setting up an encoder for each of the forty events of a streamed run. `Template` is
the JSON text of one shape with holes, for the events a stream sends many times with one value changed
(a text delta): filling it is `dumps` of the whole object, byte for byte, at the cost of encoding the
values alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean(value: Any) -> Any:
    """`value` with non-finite numbers as null and lone surrogates as U+FFFD; anything else unchanged."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _encoder(separators: tuple[str, str]) -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)` as one function."""
    make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
    if make is None:  # pragma: no cover - CPython always has the C encoder
        return lambda value: json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)
    # As JSONEncoder.iterencode makes it, except without the markers dict of check_circular (a dict left
    # half-filled by an error would be wrong for the next call; nothing the server encodes is circular).
    # Given no markers, the C encoder keeps no state between calls.
    encode = make(
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring,
        None,
        separators[1],
        separators[0],
        False,
        False,
        False,
    )
    return lambda value: "".join(encode(value, 0))


_DUMPS = {True: _encoder((",", ":")), False: _encoder((", ", ": "))}


def dumps(value: Any, compact: bool = False) -> str:
    """JSON text that can always be sent as UTF-8: cleaned first when it would not be."""
    encode = _DUMPS[compact]
    try:
        text = encode(value)
    except ValueError:
        return encode(clean(value))
    # With ensure_ascii=False a valid pair is one astral character, so any surrogate left is a lone one.
    if LONE_SURROGATE.search(text) is None:
        return text
    return encode(clean(value))


class _Hole:
    def __repr__(self) -> str:
        return "HOLE"


# Where a Template's shape takes a value.
HOLE: Any = _Hole()


class Template:
    """The JSON text of `shape` with its HOLEs (values only, never keys) filled at each `fill`, in the
    order they come in the text: `Template(shape).fill(*values)` is `dumps` of the shape with the values in
    place, compact, byte for byte (a lone surrogate in a value is cleaned as `dumps` cleans it)."""

    def __init__(self, shape: Any) -> None:
        marks: list[str] = []

        def mark(node: Any) -> Any:
            if node is HOLE:
                marks.append(f"\x00hole {len(marks)}\x00")
                return marks[-1]
            if isinstance(node, dict):
                return {k: mark(v) for k, v in node.items()}
            if isinstance(node, list | tuple):
                return [mark(v) for v in node]
            return node

        text = dumps(mark(shape), compact=True)
        self._parts: list[str] = []
        for hole in marks:
            head, _, text = text.partition(dumps(hole))
            self._parts.append(head)
        self._heads = self._parts
        self._last = text

    def fill(self, *values: Any) -> str:
        if len(values) != len(self._heads):
            raise TypeError(f"this template has {len(self._heads)} holes, given {len(values)} values")
        pieces = []
        for head, value in zip(self._heads, values, strict=True):
            pieces.append(head)
            pieces.append(_value(value))
        pieces.append(self._last)
        return "".join(pieces)


def _value(value: Any) -> str:
    if type(value) is str:
        text: str = json.encoder.encode_basestring(value)
        return text if LONE_SURROGATE.search(text) is None else dumps(value)
    if type(value) is int:
        return int.__repr__(value)
    return dumps(value, compact=True)


class SafeJSONResponse(JSONResponse):
    """A JSON answer whose rendering cannot fail (starlette's refuses NaN and cannot encode surrogates)."""

    def render(self, content: Any) -> bytes:
        return dumps(content, compact=True).encode("utf-8")
