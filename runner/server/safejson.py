"""JSON the server can always send: what is stored and served is written with `dumps`, which cannot fail.

Anything unservable that got in anyway (rows written by an older server; requests are checked on the way in
by runner/server/parsing.py) comes out as null (non-finite numbers) or U+FFFD (lone surrogates), so that
one bad object never breaks a whole page.
"""

from __future__ import annotations

import json
import math
import re
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


def dumps(value: Any, compact: bool = False) -> str:
    """JSON text that can always be sent as UTF-8: cleaned first when it would not be."""
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)
    except ValueError:
        return json.dumps(clean(value), ensure_ascii=False, allow_nan=False, separators=separators)
    # With ensure_ascii=False a valid pair is one astral character, so any surrogate left is a lone one.
    if LONE_SURROGATE.search(text) is None:
        return text
    return json.dumps(clean(value), ensure_ascii=False, allow_nan=False, separators=separators)


class SafeJSONResponse(JSONResponse):
    """A JSON answer whose rendering cannot fail (starlette's refuses NaN and cannot encode surrogates)."""

    def render(self, content: Any) -> bytes:
        return dumps(content, compact=True).encode("utf-8")
