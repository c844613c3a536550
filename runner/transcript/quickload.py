"""The fast way to read a transcript that is fine, which is nearly every transcript `diff` reads.

`read_transcript` (io.py) tries this first: libyaml parses and builds the data, and the validator generated
ahead of time from the transcript schema (runner/project/checks; ~15x jsonschema on it) checks it.
Anything this path is not sure of (a duplicate key, an alias, a merge key, a tag or a key that is not plain
text, a number that is not finite, nesting past the positional loader's bound, a schema error) makes it
answer None, and the caller reads the file again the careful way, which finds and reports the problem at its
line or, when there is none, returns the same data. So this path only ever accepts what the careful one
accepts, and never words an error itself.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from runner.project.checks import conforms
from runner.project.yamlpos import _FAST_DEPTH_BOUND, MAX_DEPTH, _nesting_bound

_STR = "tag:yaml.org,2002:str"
_CLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


class _NotSure(Exception):
    """Leave this file to the careful loader."""


def _refuse(loader: Any, node: Node) -> Any:
    raise _NotSure


if _CLoader is not None:

    class _Loader(_CLoader):  # type: ignore[valid-type,misc]
        def construct_object(self, node: Node, deep: bool = False) -> Any:
            if node in self.constructed_objects:
                raise _NotSure  # an alias: the careful loader bounds their expansion
            return super().construct_object(node, deep)

        def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
            keys = [key for key, _ in node.value]
            if any(not isinstance(k, ScalarNode) or k.tag != _STR for k in keys):
                raise _NotSure  # merge keys, keys that are not text
            if len({k.value for k in keys}) != len(keys):
                raise _NotSure  # a duplicate key
            return super().construct_mapping(node, deep)

    def _timestamp(loader: Any, node: Node) -> Any:
        # As the careful loader does: a date-looking value is text to arun.
        return node.value

    _Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    for _tag in ("binary", "set", "omap", "pairs"):
        _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)


def _plain(value: Any, depth: int = 0) -> bool:
    """JSON-like data within the careful loader's depth bound, with finite numbers only."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_plain(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def is_valid(data: Any) -> bool:
    return conforms("transcript", data)


def quick_load(text: str) -> dict[str, Any] | None:
    """The transcript in `text`, or None when only the careful loader may decide."""
    if _CLoader is None or _nesting_bound(text) >= _FAST_DEPTH_BOUND:
        return None
    try:
        data = yaml.load(text, Loader=_Loader)
    except (_NotSure, yaml.YAMLError, RecursionError, ValueError):
        return None
    if not isinstance(data, dict) or not _plain(data) or not is_valid(data):
        return None
    return data
