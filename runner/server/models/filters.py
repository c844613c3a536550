"""Attribute filters of vector store search: comparison filters combined with `and` / `or`."""

from __future__ import annotations

from typing import Any


def matches(flt: dict[str, Any], attributes: dict[str, Any]) -> bool:
    kind = flt["type"]
    if kind == "and":
        return all(matches(f, attributes) for f in flt["filters"])
    if kind == "or":
        return any(matches(f, attributes) for f in flt["filters"])
    value = flt["value"]
    if flt["key"] not in attributes:
        # A file without the attribute matches only the negative comparisons.
        return kind in ("ne", "nin")
    have = attributes[flt["key"]]
    if kind == "eq":
        return bool(have == value)
    if kind == "ne":
        return bool(have != value)
    if kind == "in":
        return have in value if isinstance(value, list) else False
    if kind == "nin":
        return have not in value if isinstance(value, list) else True
    try:
        if kind == "gt":
            return bool(have > value)
        if kind == "gte":
            return bool(have >= value)
        if kind == "lt":
            return bool(have < value)
        return bool(have <= value)
    except TypeError:
        # Comparing a number with a string: neither is greater, so the file does not match.
        return False
