"""Safe YAML loading that remembers where every key and value came from.

PyYAML composes the file into nodes (which carry marks); we build plain JSON-like data from those nodes
ourselves so that we can record `file:line:col` for each key and each value, refuse duplicate keys and
non-JSON tags, and stop alias expansion ("billion laughs") before it eats memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.project.diagnostics import Diagnostic, JsonPath, render_path

MAX_FILE_BYTES = 10 * 1024 * 1024
# Values reached a second time through an alias. A hand-written config re-uses a few anchors; a bomb
# re-uses them exponentially.
MAX_ALIAS_EXPANSION = 100_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
# libyaml composes ~10x faster than the pure-Python parser but overflows the C stack on very deep nesting
# (a segfault, not an exception), so it only gets texts that cannot nest deeply.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_FAST_DEPTH_BOUND = 2_000
_SCALARS = SafeConstructor()


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class Document:
    """A loaded YAML file: its data plus where each value (and each mapping key) starts, 1-based."""

    rel: str
    data: Any
    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)

    def value_pos(self, path: JsonPath) -> Position:
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Position(1, 1))

    def key_pos(self, path: JsonPath) -> Position:
        return self.keys.get(path) or self.value_pos(path)

    def diag(
        self,
        path: JsonPath,
        message: str,
        *,
        at_key: bool = False,
        where: JsonPath | None = None,
        severity: str = "error",
    ) -> Diagnostic:
        pos = self.key_pos(path) if at_key else self.value_pos(path)
        shown = path if where is None else where
        return Diagnostic(self.rel, pos.line, pos.column, render_path(shown), message, severity)


class YamlProblem(Exception):
    """The file could not be turned into data; carries the diagnostics that say why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


def _pos(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _problem(rel: str, line: int, column: int, where: str, message: str) -> YamlProblem:
    return YamlProblem([Diagnostic(rel, line, column, where, message)])


def read_text(path: Path, rel: str) -> str:
    """Read a UTF-8 text file, refusing huge, binary and non-UTF-8 files with a pointed message."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _problem(
            rel,
            1,
            1,
            "(file)",
            f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} (10 MB): split it up",
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise _problem(
            rel, 1, 1, "(file)", "file is binary (it contains NUL bytes); expected UTF-8 YAML text"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _problem(
            rel,
            line,
            column,
            "(file)",
            f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def _nesting_bound(text: str) -> int:
    """An upper bound of how deep `text` can nest: every level needs a bracket, a dash, a '?' or indentation."""
    indent = max((len(line) - len(line.lstrip(" ")) for line in text.split("\n")), default=0)
    return indent + sum(text.count(ch) for ch in "[{-?")


def _compose(text: str) -> list[Node]:
    if _FAST_LOADER is not None and _nesting_bound(text) < _FAST_DEPTH_BOUND:
        try:
            return list(yaml.compose_all(text, Loader=_FAST_LOADER))
        except yaml.YAMLError:
            pass  # parse again below: the pure-Python parser's messages are the documented ones
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


_BLOCKS = {"while parsing a block collection": "list", "while parsing a block mapping": "mapping"}


def syntax_message(exc: yaml.MarkedYAMLError, line: int, column: int) -> str:
    """PyYAML's parser messages, said the way a person would, with what to check."""
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context_mark
    if problem.startswith("expected <block end>") and exc.context in _BLOCKS and context is not None:
        block, first, indent = _BLOCKS[exc.context], context.line + 1, context.column + 1
        if block == "list" and column == indent:
            return (
                f"indentation: line {line} starts at column {column}, where the items of the list from line "
                f"{first} start, but it is not an item: indent it as far as the keys of the item above to make "
                "it one of them, or begin it with '- ' to make it a new item"
            )
        return (
            f"indentation: line {line} starts at column {column}, which lines up with nothing above it (the "
            f"{block} from line {first} has its {'items' if block == 'list' else 'keys'} at column {indent}): "
            "line it up with the keys, or the '-' items, it belongs with"
        )
    if problem == "mapping values are not allowed here":
        return (
            "a ':' here cannot start a mapping: check that this line is not indented further than the key "
            "above it, and quote a text value that holds ': ' (for example 'note: \"a: b\"')"
        )
    if "'\\t'" in problem:
        return "a tab character: YAML indents with spaces only; replace the tabs with spaces"
    if problem == "could not find expected ':'":
        return (
            "a line inside a mapping has no ':' after its key: add 'key: value', or quote the text if it is "
            "meant to continue the line above"
        )
    return f"YAML syntax error: {problem}"


def load_yaml(path: Path, rel: str) -> Document:
    text = read_text(path, rel)
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.problem == "could not find expected ':'" and exc.context_mark is not None:
            mark = exc.context_mark  # where the key without its ':' starts, not where the scanner gave up
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _problem(rel, line, column, "(yaml)", syntax_message(exc, line, column)) from None
    except RecursionError:
        raise _problem(rel, 1, 1, "(yaml)", "YAML is nested too deeply") from None
    if len(nodes) > 1:
        second = _pos(nodes[1])
        raise _problem(
            rel,
            second.line,
            second.column,
            "(yaml)",
            "only one YAML document per file: remove the second '---'",
        )
    if not nodes or nodes[0] is None:
        raise _problem(rel, 1, 1, "(file)", "file is empty: expected a mapping of keys to values")
    doc = Document(rel=rel, data=None)
    builder = _Builder(doc)
    doc.values[()] = _pos(nodes[0])
    doc.data = builder.build(nodes[0], ())
    if builder.problems:
        raise YamlProblem(builder.problems)
    return doc


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expanded = 0
        self.problems: list[Diagnostic] = []

    def _fatal(self, node: Node, path: JsonPath, message: str) -> YamlProblem:
        pos = _pos(node)
        return _problem(self.doc.rel, pos.line, pos.column, render_path(path), message)

    def build(self, node: Node, path: JsonPath) -> Any:
        if id(node) in self.seen:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise self._fatal(
                    node,
                    path,
                    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} values; "
                    "refusing to load it (write the values out, or use fewer nested aliases)",
                )
        self.seen.add(id(node))
        if len(path) > MAX_DEPTH:
            raise self._fatal(node, path, f"YAML is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            raise self._fatal(node, path, "recursive YAML alias: a value contains itself")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            assert isinstance(node, MappingNode)
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        tag = node.tag.removeprefix(_TAG)
        if tag == "str":
            return self._text(node, path)
        if tag == "null":
            return None
        if tag == "bool":
            return _SCALARS.construct_yaml_bool(node)
        if tag == "int":
            return _SCALARS.construct_yaml_int(node)
        if tag == "float":
            number = _SCALARS.construct_yaml_float(node)
            if not math.isfinite(number):
                self._refuse(
                    node,
                    path,
                    f"{node.value} is not a number JSON can carry (NaN and infinity have no JSON form): "
                    f"write a finite number, or quote it ('{node.value}') to make it text",
                )
            return number
        if tag == "timestamp":
            # A date-looking value is text to us (a description, a model snapshot name), not a datetime.
            return node.value
        self.problems.append(self.doc.diag(path, f"unsupported YAML tag {node.tag!r}: use plain YAML values"))
        return node.value

    def _refuse(self, node: Node, path: JsonPath, message: str) -> None:
        pos = _pos(node)
        self.problems.append(Diagnostic(self.doc.rel, pos.line, pos.column, render_path(path), message))

    def _text(self, node: ScalarNode, path: JsonPath) -> str:
        value: str = node.value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # "\ud83d\ude00" (an escaped pair, as JSON writes it) means the one character it encodes; a lone
            # half of a pair is no character at all, and no API can store or send it.
            try:
                return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                lone = next(c for c in value if 0xD800 <= ord(c) <= 0xDFFF)
                self._refuse(
                    node,
                    path,
                    f"text holds a lone surrogate (\\u{ord(lone):04x}), which is not a character and cannot be "
                    "sent as JSON: write the character itself, or both halves of its pair",
                )
        return value

    def _sequence(self, node: SequenceNode, path: JsonPath) -> list[Any]:
        items = []
        for index, child in enumerate(node.value):
            self.doc.values[(*path, index)] = _pos(child)
            items.append(self.build(child, (*path, index)))
        return items

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in result:
                first = self.doc.keys[child]
                pos = _pos(key_node)
                self.problems.append(
                    Diagnostic(
                        self.doc.rel,
                        pos.line,
                        pos.column,
                        render_path(path),
                        f"duplicate key {key!r} (first at line {first.line}): keep one",
                    )
                )
                continue
            self.doc.keys[child] = _pos(key_node)
            self.doc.values[child] = _pos(value_node)
            result[key] = self.build(value_node, child)
        for merged in merges:
            if not isinstance(merged, MappingNode):
                self.problems.append(
                    self.doc.diag(path, "'<<' (merge) needs a mapping or a list of mappings")
                )
                continue
            self._merge(merged, path, result)
        return result

    def _merge(self, merged: MappingNode, path: JsonPath, result: dict[str, Any]) -> None:
        # Explicit keys win over merged ones, and so do their recorded positions.
        kept_keys, kept_values = self.doc.keys, self.doc.values
        self.doc.keys, self.doc.values = {}, {}
        try:
            data = self._mapping(merged, path)
        finally:
            new_keys, new_values = self.doc.keys, self.doc.values
            self.doc.keys, self.doc.values = kept_keys, kept_values
        fresh = {key for key in data if key not in result}
        for positions, target in ((new_keys, kept_keys), (new_values, kept_values)):
            for where, pos in positions.items():
                if len(where) > len(path) and where[len(path)] in fresh:
                    target.setdefault(where, pos)
        for key in fresh:
            result[key] = data[key]

    def _key(self, key_node: Node, path: JsonPath) -> str | None:
        if isinstance(key_node, ScalarNode):
            value = self._scalar(key_node, path)
            if isinstance(value, str):
                return value
            shown = (
                "null" if value is None else repr(value).lower() if isinstance(value, bool) else repr(value)
            )
            message = f"key {shown} is not text: quote it ('{key_node.value}':)"
        else:
            message = "a key must be plain text, not a list or mapping"
        pos = _pos(key_node)
        self.problems.append(Diagnostic(self.doc.rel, pos.line, pos.column, render_path(path), message))
        return None
