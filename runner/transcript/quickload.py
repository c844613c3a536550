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

from runner.project.checks import conforms, item_check
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


def _data(text: str) -> dict[str, Any] | None:
    """The data of `text` if this path is sure of it, not yet checked against the schema."""
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
    return data if isinstance(data, dict) else None


def quick_load(text: str) -> dict[str, Any] | None:
    """The transcript in `text`, or None when only the careful loader may decide."""
    data = _data(text)
    if data is None or not is_valid(data):
        return None
    return data


# A file as arun writes it is a mapping whose keys start at column 0, and the items of its turns (an
# indentless sequence) start there too; every other line is indented or empty.
_COLUMN0 = re.compile(r"^[^ \n].*", re.MULTILINE)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: |$)")


class _Entry:
    """A top-level key: its text from its line to the next line at column 0, and, for a bare `key:`
    followed by items at column 0, the text of each item."""

    __slots__ = ("chunk", "items", "key")

    def __init__(self, key: str, chunk: str) -> None:
        self.key, self.chunk, self.items = key, chunk, list[str]()


def _entries(text: str) -> list[_Entry] | None:
    """The top-level entries of `text`, cut at its lines at column 0; None for any line there that is
    neither `key:` nor `- ` (a comment, a document marker, a directive, a tab, a quoted key...)."""
    entries: list[_Entry] = []
    lines = list(_COLUMN0.finditer(text))
    if not lines or lines[0].start() != 0:
        return None
    for index, line in enumerate(lines):
        end = lines[index + 1].start() if index + 1 < len(lines) else len(text)
        chunk, first = text[line.start() : end], line.group()
        if first.startswith("- ") or first == "-":
            if not entries or entries[-1].chunk != entries[-1].key + ":\n":
                return None
            entries[-1].items.append(chunk)
        elif (key := _KEY.match(first)) is not None:
            entries.append(_Entry(key.group(1), chunk))
        else:
            return None
    return entries


def _matches(entries: list[_Entry], data: dict[str, Any]) -> bool:
    """Whether `data` (what `text` is, read whole) has exactly the entries cut from it: then no line at
    column 0 was inside a quoted scalar or a flow collection, and each entry's text means its value."""
    if [entry.key for entry in entries] != list(data):
        return False
    for entry in entries:
        if entry.items and not (
            isinstance(data[entry.key], list) and len(data[entry.key]) == len(entry.items)
        ):
            return False
    return True


def quick_load_beside(text: str, golden_text: str, golden: dict[str, Any]) -> dict[str, Any] | None:
    """`quick_load(text)` for a file that differs from a golden in a few entries (top-level keys or turns),
    `golden` being the data of `golden_text`: the entries whose text is the golden's, byte for byte, are
    the golden's data (the same objects, which nothing writes to); only the others are parsed, together, as
    one small document. Then the whole is checked against the schema, as `quick_load` does. None when only
    the careful loader may decide (docs/performance.md, "Diff").

    Why an entry's text means the same value in both files: the golden's entries are those of its data
    (`_matches`), so no quoted scalar or flow collection runs on past the end of any of its entries; and the
    new entries parsed on their own must match the small document's data, so none of theirs does either.
    Where they stand (a key of the top mapping, an item of its sequence) is the same in all three texts."""
    mine, theirs = _entries(text), _entries(golden_text)
    if mine is None or theirs is None or not _matches(theirs, golden):
        return None
    known: dict[str, Any] = {}
    for entry in theirs:
        if entry.items:
            known.update(zip(entry.items, golden[entry.key], strict=True))
        else:
            known[entry.chunk] = golden[entry.key]
    texts = [chunk for entry in mine for chunk in (entry.chunk, *entry.items)]
    if len(set(texts)) != len(texts) or len({entry.key for entry in mine}) != len(mine):
        return None  # a duplicate key; or the same text twice, which would be one object twice
    parts: list[str] = []
    fresh: list[_Entry] = []
    for entry in mine:
        if entry.items:
            new_items = [item for item in entry.items if item not in known]
            if new_items:
                part = _Entry(entry.key, entry.chunk)
                part.items = new_items
                fresh.append(part)
                parts += [entry.chunk, *new_items]
        elif entry.chunk not in known:
            fresh.append(entry)
            parts.append(entry.chunk)
    parsed: dict[str, Any] = {}
    if parts:
        small = "".join(parts)
        read = _data(small)
        if read is None or not _matches(fresh, read):
            return None
        parsed = read
    data: dict[str, Any] = {}
    for entry in mine:
        if entry.items:
            values = iter(parsed[entry.key]) if entry.key in parsed else iter(())
            data[entry.key] = [known[item] if item in known else next(values) for item in entry.items]
        else:
            data[entry.key] = known[entry.chunk] if entry.chunk in known else parsed[entry.key]
    return data if _valid_beside(data, golden) else None


def _valid_beside(data: dict[str, Any], golden: dict[str, Any]) -> bool:
    """`is_valid(data)`, where the turns that are the golden's own objects, checked with it, are not checked
    again (the schema checks each turn on its own: runner/project/checks, `item_check`)."""
    check, turns = item_check("transcript", "turns"), data.get("turns")
    if check is None or not isinstance(turns, list):
        return is_valid(data)
    checked = {id(turn) for turn in golden.get("turns", ())}
    return is_valid({**data, "turns": []}) and all(id(turn) in checked or check(turn) for turn in turns)
