"""What libyaml calls back into Python for, done with less Python: diff reads and shows thousands of files.

libyaml parses and emits in C, but asks Python for the tag of every node it composes or writes
(`resolve`, twice per scalar when writing) and is fed nodes that PyYAML's generic representer builds. For
the data arun writes (dicts, lists, text, numbers, booleans, null) both are simple, so they are done here
directly, with exactly the answers PyYAML would give (tests/transcript/test_yamlfast.py compares them on
the goldens and on generated data): docs/performance.md, "Diff".
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

_TAG = "tag:yaml.org,2002:"
STR, MAP, SEQ = Resolver.DEFAULT_SCALAR_TAG, Resolver.DEFAULT_MAPPING_TAG, Resolver.DEFAULT_SEQUENCE_TAG
_INT, _BOOL, _NULL = _TAG + "int", _TAG + "bool", _TAG + "null"
# A plain scalar can only resolve to something other than text if its first character starts one of the
# implicit patterns (digits, signs and dots for numbers, y/n/t/f/o for booleans, ~ and n for null...).
_FIRST = frozenset(key for key in Resolver.yaml_implicit_resolvers if key)
# The shortcut holds for PyYAML's own table: no patterns for any first character, no path resolvers.
SHORTCUT = None not in Resolver.yaml_implicit_resolvers and not Resolver.yaml_path_resolvers
# Short scalars that could be something else have their tag remembered: keys and values such as `turn`,
# `true` or `2` repeat across transcripts; long text does not, and would only fill the memory.
_MEMO_LEN = 64
_TAGS: dict[tuple[str, Any], str] = {}


class FastResolve:
    """Mixed into a libyaml loader or dumper whose resolver is PyYAML's default one."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if SHORTCUT:
            if kind is ScalarNode:
                if not implicit[0] or (value and value[0] not in _FIRST):
                    return STR
                if len(value) <= _MEMO_LEN:
                    tag = _TAGS.get((value, implicit))
                    if tag is None:
                        tag = _TAGS[(value, implicit)] = super().resolve(kind, value, implicit)  # type: ignore[misc]
                    return tag
            elif kind is MappingNode:
                return MAP
            elif kind is SequenceNode:
                return SEQ
        return super().resolve(kind, value, implicit)  # type: ignore[misc]


class NotPlain(Exception):
    """The data holds something `show_node` does not build as PyYAML would: let PyYAML do it all."""


def show_node(value: Any, dumper: yaml.SafeDumper, seen: set[int]) -> Node:
    """The node PyYAML's SafeRepresenter (with arun's multi-line text as literal blocks, block style,
    keys unsorted) makes of `value`; NotPlain for anything else, including an object met twice, which
    PyYAML would write as an anchor and an alias."""
    kind = type(value)
    if kind is str:
        return ScalarNode(STR, value, style="|" if "\n" in value else None)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise NotPlain
        seen.add(id(value))
        if kind is dict:
            pairs = [(show_node(k, dumper, seen), show_node(v, dumper, seen)) for k, v in value.items()]
            return MappingNode(MAP, pairs, flow_style=False)
        return SequenceNode(SEQ, [show_node(item, dumper, seen) for item in value], flow_style=False)
    if kind is bool:
        return ScalarNode(_BOOL, "true" if value else "false")
    if kind is int:
        return ScalarNode(_INT, str(value))
    if value is None:
        return ScalarNode(_NULL, "null")
    if kind is float:
        node: Node = dumper.represent_float(value)
        return node
    raise NotPlain


# Characters libyaml's emitter writes otherwise than PyYAML's (quoted or escaped differently): found by
# writing every code point in several places of a document with both (docs/performance.md, "Replay client").
_NOT_ALIKE = re.compile("[\r\x85\ud800-\udfff\U00010000-\U0010ffff]")
# Text ending in two line breaks (or one alone) is a literal block that keeps them (`|+`): after one,
# libyaml ends the document with `...`, PyYAML only when it is the document's last scalar.
_KEEPS = re.compile("(?:\\A|[\n\u2028\u2029])[\n\u2028\u2029]\\Z")
_SCALARS = (int, float, bool, type(None))
# Keys: both write a short one as `key: value` and a long one as `? key`, but PyYAML counts characters and
# libyaml bytes, with another bound; an empty key is `? ''` to PyYAML only. Keys of 1-40 characters
# (at most 120 bytes) are short to both.
_KEY_CHARS = 40


def writes_alike(value: Any) -> bool:
    """Whether libyaml writes `value` byte for byte as PyYAML's pure-Python emitter does, under arun's
    style: a dict or a list (PyYAML ends a lone scalar with `...`, libyaml does not) of plain data (dicts,
    lists, text, numbers, booleans, null), keys that are text of 1 to `_KEY_CHARS` characters, no object
    met twice (PyYAML would write an anchor), and no text holding a character of `_NOT_ALIKE` or ending as
    `_KEEPS` says."""
    if type(value) is not dict and type(value) is not list:
        return False
    seen: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if _NOT_ALIKE.search(item) or _KEEPS.search(item):
                return False
        elif type(item) is dict or type(item) is list:
            if id(item) in seen:
                return False
            seen.add(id(item))
            if type(item) is dict:
                for key in item:
                    if type(key) is not str or not 0 < len(key) <= _KEY_CHARS:
                        return False
                stack.extend(item)
                stack.extend(item.values())
            else:
                stack.extend(item)
        elif type(item) not in _SCALARS:
            return False
    return True
