from __future__ import annotations

from pathlib import Path

import pytest

from runner.project.yamlpos import MAX_FILE_BYTES, Position, YamlProblem, load_yaml


def load(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "doc.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_yaml(path, "doc.yaml")


def problems(tmp_path: Path, text: str | bytes) -> list[str]:
    with pytest.raises(YamlProblem) as caught:
        load(tmp_path, text)
    return [d.format() for d in caught.value.diagnostics]


def test_records_key_and_value_positions(tmp_path: Path) -> None:
    doc = load(tmp_path, "name: x\ntools:\n  - type: function\n    function: {name: f}\n")
    assert doc.data == {"name": "x", "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert doc.keys[("tools", 0, "type")] == Position(3, 5)
    assert doc.values[("tools", 0, "type")] == Position(3, 11)
    assert doc.values[("tools", 0, "function", "name")] == Position(4, 22)
    assert doc.value_pos(("tools", 0, "missing", "deeper")) == Position(3, 5)


def test_scalars_become_json_values_and_dates_stay_text(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: 1\nb: 1.5\nc: true\nd: null\ne: 2024-01-01\nf: !!str 7\n")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "2024-01-01", "f": "7"}


def test_merge_keys_keep_explicit_values_and_their_positions(tmp_path: Path) -> None:
    doc = load(tmp_path, "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  x: 3\n")
    assert doc.data["item"] == {"x": 3, "y": 2}
    assert doc.keys[("item", "x")] == Position(4, 3)
    assert doc.keys[("item", "y")] == Position(1, 17)


def test_merge_of_a_list_of_mappings(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n")
    assert doc.data["c"] == {"x": 1, "y": 2}


def test_merge_of_a_scalar_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "a: &a 1\nc:\n  <<: *a\n") == [
        "doc.yaml:3:3: c: '<<' (merge) needs a mapping or a list of mappings"
    ]


def test_duplicate_keys_point_at_the_second(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: a\nmodel: m\nname: b\n") == [
        "doc.yaml:3:1: (root): duplicate key 'name' (first at line 1): keep one"
    ]


def test_non_text_keys_are_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "1: a\n? [x]\n: b\nnull: c\n") == [
        "doc.yaml:1:1: (root): key 1 is not text: quote it ('1':)",
        "doc.yaml:2:3: (root): a key must be plain text, not a list or mapping",
        "doc.yaml:4:1: (root): key null is not text: quote it ('null':)",
    ]


def test_unsupported_tags(tmp_path: Path) -> None:
    assert problems(tmp_path, "a: !!binary aGVsbG8=\n") == [
        "doc.yaml:1:4: a: unsupported YAML tag 'tag:yaml.org,2002:binary': use plain YAML values"
    ]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    (found,) = problems(tmp_path, "\n".join(lines) + "\n")
    assert "YAML aliases expand to more than 100,000 values; refusing to load it" in found


def test_recursive_alias(tmp_path: Path) -> None:
    assert problems(tmp_path, "a: &a [1, *a]\n") == [
        "doc.yaml:1:4: a[1]: recursive YAML alias: a value contains itself"
    ]


def test_deep_nesting(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "a: " + "[" * 100 + "]" * 100 + "\n")
    assert "nested more than 64 levels deep" in found


def test_syntax_error_points_at_the_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: a\n  model: b\n") == [
        "doc.yaml:2:8: (yaml): a ':' here cannot start a mapping: check that this line is not indented "
        "further than the key above it, and quote a text value that holds ': ' (for example 'note: \"a: b\"')"
    ]
    assert problems(tmp_path, "name: [a, b\n") == [
        "doc.yaml:2:1: (yaml): YAML syntax error: expected ',' or ']', but got '<stream end>'"
    ]


def test_indentation_mistakes_are_said_in_words(tmp_path: Path) -> None:
    assert problems(tmp_path, "a:\n  - x: 1\n   y: 2\n") == [
        "doc.yaml:3:4: (yaml): indentation: line 3 starts at column 4, which lines up with nothing above it "
        "(the list from line 2 has its items at column 3): line it up with the keys, or the '-' items, it "
        "belongs with"
    ]
    assert problems(tmp_path, "a:\n\t- x\n") == [
        "doc.yaml:2:1: (yaml): a tab character: YAML indents with spaces only; replace the tabs with spaces"
    ]
    assert problems(tmp_path, "a: 1\nb\nc: 2\n") == [
        "doc.yaml:2:1: (yaml): a line inside a mapping has no ':' after its key: add 'key: value', or quote "
        "the text if it is meant to continue the line above"
    ]


def test_lone_surrogates_and_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, 'a: "x\\udc00"\nb: [1, -.inf]\n') == [
        "doc.yaml:1:4: a: text holds a lone surrogate (\\udc00), which is not a character and cannot be "
        "sent as JSON: write the character itself, or both halves of its pair",
        "doc.yaml:2:8: b[1]: -.inf is not a number JSON can carry (NaN and infinity have no JSON form): "
        "write a finite number, or quote it ('-.inf') to make it text",
    ]
    path = tmp_path / "pair.yaml"
    path.write_text('a: "\\ud83d\\ude00"\n', encoding="utf-8")
    assert load_yaml(path, "pair.yaml").data == {"a": "\U0001f600"}


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    expected = ["doc.yaml:1:1: (file): file is empty: expected a mapping of keys to values"]
    assert problems(tmp_path, "") == expected
    assert problems(tmp_path, "# only a comment\n") == expected


def test_two_documents(tmp_path: Path) -> None:
    assert problems(tmp_path, "a: 1\n---\nb: 2\n") == [
        "doc.yaml:3:1: (yaml): only one YAML document per file: remove the second '---'"
    ]


def test_binary_and_non_utf8(tmp_path: Path) -> None:
    assert problems(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00") == [
        "doc.yaml:1:1: (file): file is binary (it contains NUL bytes); expected UTF-8 YAML text"
    ]
    assert problems(tmp_path, b"name: caf\xe9\n") == [
        "doc.yaml:1:10: (file): file is not UTF-8 text (byte 0xe9); save it as UTF-8"
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    assert load(tmp_path, "\ufeffname: 수학\n").data == {"name": "수학"}


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(YamlProblem) as caught:
        load_yaml(path, "doc.yaml")
    assert (
        caught.value.diagnostics[0].message
        == "file is 10,485,761 bytes; the limit is 10,485,760 (10 MB): split it up"
    )


def test_very_deep_nesting_takes_the_safe_parser(tmp_path: Path) -> None:
    # libyaml would overflow the C stack here (a segfault); the pure-Python parser raises instead.
    assert problems(tmp_path, "a: " + "[" * 50_000 + "]" * 50_000 + "\n") == [
        "doc.yaml:1:1: (yaml): YAML is nested too deeply"
    ]


def test_fast_and_safe_parsers_agree_on_positions(tmp_path: Path) -> None:
    text = "a:\n  - b: 1\n    c: [x, {d: 2}]\n" + "# " + "-" * 3000 + "\n"
    fast = load(tmp_path, "a:\n  - b: 1\n    c: [x, {d: 2}]\n")
    slow = load(tmp_path, text)
    assert fast.values == slow.values and fast.keys == slow.keys
