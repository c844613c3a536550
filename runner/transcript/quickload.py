"""The fast way to read a transcript that is fine, which is nearly every transcript `diff` reads.

`read_transcript` (io.py) tries this first: libyaml parses and composes the nodes, one tight function turns
them into data (PyYAML's own constructors, generic and re-entrant, took twice as long: docs/performance.md,
"Diff"), and the validator generated ahead of time from the transcript schema (runner/project/checks; ~15x
jsonschema on it) checks it.
Anything this path is not sure of (a duplicate key, an alias, a merge key, a tag or a key that is not plain
text, a number that is not finite, nesting past the positional loader's bound, a schema error) makes it
answer None, and the caller reads the file again the careful way, which finds and reports the problem at its
line or, when there is none, returns the same data. So this path only ever accepts what the careful one
accepts, and never words an error itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.project.checks import conforms
from runner.project.yamlpos import _FAST_DEPTH_BOUND, MAX_DEPTH
from runner.transcript.yamlfast import FastResolve

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _TIMESTAMP = (_TAG + name for name in ("str", "map", "seq", "timestamp"))
_CLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
# The scalars that are not text, built by PyYAML's own constructors (YAML 1.1: 0x1F, 1_000, 1:30, yes...).
_CONSTRUCT: dict[str, Callable[[Any, ScalarNode], Any]] = {
    _TAG + name: getattr(yaml.SafeLoader, f"construct_yaml_{name}")
    for name in ("int", "float", "bool", "null")
}


_INDENT = re.compile(r"^ *", re.MULTILINE)


def _shallow(text: str) -> bool:
    """`_nesting_bound(text) < _FAST_DEPTH_BOUND` (runner/project/yamlpos.py: libyaml's C stack must not
    overflow), counted in C: line by line in Python it was a tenth of a quick read."""
    if len(text) < _FAST_DEPTH_BOUND:  # the bound counts spaces and brackets, so never exceeds the length
        return True
    brackets = sum(text.count(ch) for ch in "[{-?")
    return brackets + max(map(len, _INDENT.findall(text))) < _FAST_DEPTH_BOUND


class _NotSure(Exception):
    """Leave this file to the careful loader."""


if _CLoader is not None:

    class _Composer(FastResolve, _CLoader):  # type: ignore[valid-type,misc]
        pass


def _build(node: Node, loader: Any, seen: set[int] | None, depth: int) -> Any:
    """The data of `node`, as the careful loader would build it, or _NotSure. `seen` tracks the nodes met,
    to refuse aliases; None when the text has no `&`, so no anchor, so no alias."""
    if depth > MAX_DEPTH:
        raise _NotSure
    if seen is not None:
        if id(node) in seen:
            raise _NotSure  # an alias: the careful loader bounds their expansion
        seen.add(id(node))
    tag = node.tag
    if isinstance(node, ScalarNode):
        if tag in (_STR, _TIMESTAMP):
            return node.value  # as the careful loader does: a date-looking value is text to arun
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            raise _NotSure  # binary, set, a custom tag...
        value = construct(loader, node)
        if isinstance(value, float) and not math.isfinite(value):
            raise _NotSure
        return value
    if isinstance(node, MappingNode) and tag == _MAP:
        data: dict[str, Any] = {}
        for key, item in node.value:
            if type(key) is not ScalarNode or key.tag != _STR or key.value in data:
                raise _NotSure  # a key that is not text (merge keys among them), or a duplicate
            data[key.value] = _build(item, loader, seen, depth + 1)
        return data
    if isinstance(node, SequenceNode) and tag == _SEQ:
        return [_build(item, loader, seen, depth + 1) for item in node.value]
    raise _NotSure  # omap, pairs, a tagged collection


def is_valid(data: Any) -> bool:
    return conforms("transcript", data)


def quick_load(text: str) -> dict[str, Any] | None:
    """The transcript in `text`, or None when only the careful loader may decide."""
    if _CLoader is None or not _shallow(text):
        return None
    loader = _Composer(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _build(node, loader, set() if "&" in text else None, 0)
    except (_NotSure, yaml.YAMLError, RecursionError, ValueError):
        return None
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not is_valid(data):
        return None
    return data
