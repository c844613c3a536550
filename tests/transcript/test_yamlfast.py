"""The shortcuts around libyaml give exactly PyYAML's answers: the same tags, the same shown text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from runner.transcript import io as transcript_io
from runner.transcript.io import _STYLE, _represent_str, _show, read_transcript
from runner.transcript.yamlfast import SHORTCUT, FastResolve, writes_alike

from .factory import transcript

GOLDENS = Path(__file__).resolve().parents[2] / "transcripts"
pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeDumper"), reason="PyYAML without libyaml")


class _Reference(yaml.CSafeDumper):
    """The dumper diff used before: PyYAML's representer and resolver, arun's literal blocks."""


_Reference.add_representer(str, _represent_str)


class _Fast(FastResolve, Resolver):
    pass


def _reference(data: Any) -> str:
    try:
        return yaml.dump(data, Dumper=_Reference, **_STYLE)
    except (UnicodeError, yaml.YAMLError) as exc:
        return f"error: {type(exc).__name__}"


def _fast(data: Any) -> str:
    try:
        return _show(data)
    except (UnicodeError, yaml.YAMLError) as exc:
        return f"error: {type(exc).__name__}"


def test_the_shortcut_is_in_use() -> None:
    assert SHORTCUT
    assert transcript_io._ShowDumper.resolve is FastResolve.resolve


SCALARS = [
    *("", "a", "turn", "text", "true", "True", "yes", "No", "off", "on", "y", "n", "null", "Null", "~"),
    *("0", "12", "-3", "+4", "0x1F", "0o17", "017", "1_000", "1:30", "1.5", ".5", "-.inf", ".NaN", "1e3"),
    *("2026-12-01", "2026-12-01 10:00:00", "<<", "=", "é", "한국어", "-", "- x", "?", ".", "x" * 80),
    "9" * 80,
]


@pytest.mark.parametrize("value", SCALARS)
def test_tags_are_the_resolvers(value: str) -> None:
    fast, plain = _Fast(), Resolver()
    for implicit in ((True, False), (False, True), (True, True), (False, False)):
        for _ in range(2):  # the second time from the memory
            assert fast.resolve(ScalarNode, value, implicit) == plain.resolve(ScalarNode, value, implicit)
    for kind in (MappingNode, SequenceNode):
        assert fast.resolve(kind, None, True) == plain.resolve(kind, None, True)


def test_real_transcripts_show_as_before() -> None:
    samples = [transcript(), *(read_transcript(p, p.name) for p in sorted(GOLDENS.rglob("*.yaml")))]
    assert len(samples) > 3
    for sample in samples:
        for part in (sample, *sample["turns"], sample.get("usage")):
            assert _fast(part) == _reference(part)


def test_an_object_met_twice_is_left_to_pyyaml_which_writes_an_alias() -> None:
    shared = {"x": [1, 2]}
    data = {"a": shared, "b": shared}
    assert _fast(data) == _reference(data)
    assert "&id001" in _fast(data)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(SCALARS)
    | st.sampled_from(["line\nline", "trail \n", "\n", "a\n\nb\n", " lead\n", "\x85", "\u2028", "\t"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(SCALARS), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(json_like)
def test_any_json_like_data_shows_as_before(data: Any) -> None:
    assert _fast(data) == _reference(data)


# -- writing transcripts: libyaml where it writes exactly what PyYAML's pure-Python emitter writes ---------


def _python(data: Any) -> str:
    try:
        return transcript_io._dump(data, transcript_io._Dumper)
    except (UnicodeError, yaml.YAMLError) as exc:
        return f"error: {type(exc).__name__}"


def _written(data: Any) -> str:
    try:
        return transcript_io.dump(data)
    except (UnicodeError, yaml.YAMLError) as exc:
        return f"error: {type(exc).__name__}"


def test_real_transcripts_are_written_by_libyaml_as_they_are_on_disk() -> None:
    paths = sorted(GOLDENS.rglob("*.yaml"))
    assert len(paths) > 3
    for path in paths:
        data = read_transcript(path, path.name)
        assert writes_alike(data)
        assert transcript_io.dump(data) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("odd", ["\r", "\x85", "\ud800", "\udfff", "\U0001f600", "\U0010ffff"])
def test_text_libyaml_writes_otherwise_goes_to_pyyaml(odd: str) -> None:
    for data in ({"k": f"a{odd}b"}, {f"k{odd}": 1}, [[{"k": ["x", odd]}]]):
        assert not writes_alike(data)
        assert _written(data) == _python(data)


def test_only_plain_data_goes_to_libyaml() -> None:
    shared = {"x": [1, 2]}
    assert not writes_alike({"a": shared, "b": shared})  # PyYAML writes an anchor and an alias
    assert not writes_alike({"a": (1, 2)})
    assert not writes_alike({"a": 1j})
    assert not writes_alike(None)  # PyYAML ends a lone scalar with `...`
    assert writes_alike({"a": [1, 2.5, None, True, "é 한국어 “x”", {"b": "line\nline\n"}]})


# Any code point (surrogates included), and text rich in what YAML treats specially: whatever libyaml
# writes otherwise must be caught by `writes_alike`.
wide_text = st.text(st.characters(max_codepoint=0x10FFFF, exclude_categories=()), max_size=40) | st.text(
    st.sampled_from([*"ab \n\t\r\x85\u2028\ufeff'\"#:-?|>{}[],&*!%@`", "\U0001f600", "é"]), max_size=30
)
written_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | wide_text
    | st.sampled_from(SCALARS)
    | st.sampled_from(["line\nline", "trail \n", "\n", "a\n\nb\n", " lead\n", "  \n x", "x" * 200]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(wide_text | st.sampled_from(SCALARS), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None)
@given(written_like)
def test_any_json_like_data_is_written_as_pyyaml_writes_it(data: Any) -> None:
    assert _written(data) == _python(data)
