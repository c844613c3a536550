"""The fast transcript read accepts only what the careful one accepts, and leaves every doubt to it."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.project.schema import load_schema
from runner.project.yamlpos import _FAST_DEPTH_BOUND, _nesting_bound, load_yaml
from runner.transcript.compare import Options, compare_sets
from runner.transcript.io import TranscriptInvalid, dump, dump_to_show, read_transcript
from runner.transcript.quickload import _shallow, is_valid, quick_load

from .factory import read_as_file, transcript

GOLDENS = Path(__file__).resolve().parents[2] / "transcripts"


def test_a_plain_transcript_takes_the_fast_path() -> None:
    data = transcript()
    assert quick_load(dump(data)) == data


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("duplicate key", "transcript: 2\ntranscript: 2\n"),
        ("alias", "a: &x [1]\nb: *x\n"),
        ("alias of a scalar", "a: &x 1\nb: *x\n"),
        ("ordered map", "a: !!omap [{x: 1}]\n"),
        ("tagged mapping", "a: !thing {x: 1}\n"),
        ("key that is null", "~: 1\n"),
        ("complex key", "? [a]\n: 1\n"),
        ("merge key", "a: {k: 1}\nb:\n  <<: {k: 2}\n"),
        ("key that is not text", "1: x\n"),
        ("not finite", "a: .nan\n"),
        ("custom tag", "a: !thing x\n"),
        ("binary tag", "a: !!binary aGk=\n"),
        ("set tag", "a: !!set {x: null}\n"),
        ("two documents", "a: 1\n---\nb: 2\n"),
        ("not a mapping", "- 1\n"),
        ("syntax", "a: [1\n"),
        ("too deep", "a: " + "[" * 70 + "]" * 70 + "\n"),
    ],
)
def test_doubts_are_left_to_the_careful_loader(label: str, text: str) -> None:
    assert quick_load(text) is None, label


def test_a_date_looking_value_stays_text_as_the_careful_loader_reads_it() -> None:
    data = transcript(description="2026-12-01")
    data["description"] = "2026-12-01"
    text = dump(data).replace("description: '2026-12-01'", "description: 2026-12-01")
    assert "description: 2026-12-01\n" in text
    assert quick_load(text) == data


def test_a_transcript_with_a_problem_is_still_reported_at_its_line(tmp_path: Path) -> None:
    text = dump(transcript()).replace("result: passed", "result: passed\nresult: failed")
    found = read_as_file(text, tmp_path)
    assert isinstance(found, TranscriptInvalid)
    assert "duplicate key 'result'" in str(found)


def _mutations(data: dict[str, Any], rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Small random damage to valid data: a value of another type, a key dropped or added, an enum broken."""
    paths: list[tuple[Any, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in value:
                paths.append((value, key))
                walk(value[key])
        elif isinstance(value, list):
            for index in range(len(value)):
                paths.append((value, index))
                walk(value[index])

    replacements: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, {"x": 1}, ["x"]]
    out = []
    for _ in range(count):
        copied = copy.deepcopy(data)
        paths.clear()
        walk(copied)
        parent, key = rng.choice(paths)
        action = rng.random()
        if action < 0.6:
            parent[key] = rng.choice(replacements)
        elif action < 0.8 and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, dict):
            parent[f"extra_{rng.randint(0, 9)}"] = "x"
        else:
            parent.append(rng.choice(replacements))
        out.append(copied)
    return out


def test_the_compiled_validator_agrees_with_jsonschema() -> None:
    # The compiled validator reads the schema as draft 7; it must decide every case as the 2020-12
    # validator does, or the fast path would accept what `arun validate`'s rules refuse.
    reference = Draft202012Validator(load_schema("transcript"))
    rng = random.Random(0)
    samples = [transcript(), transcript(reply="one\ntwo")]
    samples += [read_transcript(p, p.name) for p in sorted(GOLDENS.rglob("*.yaml"))]
    checked = invalid = 0
    for sample in samples:
        for case in [sample, *_mutations(sample, rng, 150)]:
            assert is_valid(case) == reference.is_valid(case), case
            checked += 1
            invalid += not reference.is_valid(case)
    assert checked > 500 and invalid > checked // 4  # the damage really breaks the schema


def test_byte_identical_files_compare_same_without_being_read(tmp_path: Path) -> None:
    golden, new = tmp_path / "golden", tmp_path / "new"
    for folder in (golden, new):
        folder.mkdir()
        (folder / "a.yaml").write_text(dump(transcript("a")), encoding="utf-8")
        # Not a transcript at all, but the same bytes on both sides: nothing can differ.
        (folder / "b.yaml").write_text("[not, a, transcript\n", encoding="utf-8")
    result = compare_sets(golden, new, Options())
    assert [(s.name, s.status) for s in result.scenarios] == [("a", "same"), ("b", "same")]
    (new / "b.yaml").write_text("[not, a, transcript]\n", encoding="utf-8")
    with pytest.raises(TranscriptInvalid, match=r"b\.yaml is not a valid transcript"):
        compare_sets(golden, new, Options())


def test_the_shown_dump_is_the_written_one_for_real_transcripts() -> None:
    samples = [transcript(), *(read_transcript(p, p.name) for p in sorted(GOLDENS.rglob("*.yaml")))]
    for sample in samples:
        assert dump_to_show(sample) == dump(sample)
    # Where libyaml would quote differently (or cannot write the text at all), the shown text falls back.
    assert dump_to_show({"a": "x\ud800\ny"}) == dump({"a": "x\ud800\ny"})


def test_the_fast_path_builds_what_the_careful_loader_builds(tmp_path: Path) -> None:
    """Free-form places (run settings, tool arguments) may hold any YAML 1.1 scalar a person writes."""
    scalars = (
        "{hex: 0x1F, under: 1_000, sexagesimal: 1:30, said_yes: yes, said_off: Off, tilde: ~, exp: 1e3, "
        "neg: -.5, date: 2026-12-01, tagged_int: !!int '12', tagged_str: !!str 12, quoted: '007', empty: '', "
        "unicode: 한국어, nested: [[1, [2, {a: null}]], {}]}"
    )
    data = transcript()
    data["turns"][0]["run"]["settings"] = {"instructions": "MARK"}
    samples = [dump(transcript()), *(p.read_text(encoding="utf-8") for p in sorted(GOLDENS.rglob("*.yaml")))]
    samples.append(dump(data).replace("instructions: MARK", f"instructions: {scalars}"))
    assert "0x1F" in samples[-1]
    for number, text in enumerate(samples):
        path = tmp_path / f"{number}.yaml"
        path.write_text(text, encoding="utf-8")
        careful = load_yaml(path, path.name).data
        fast = quick_load(text)
        assert fast is not None, number
        assert fast == careful and repr(fast) == repr(careful), number


def test_the_nesting_guard_decides_as_the_positional_loaders() -> None:
    rng = random.Random(3)
    texts = [dump(transcript()), "", "a", " " * 2500 + "x", "[" * 2500, "a:\n" + "  " * 999 + "- x\n"]
    for _ in range(300):
        size = rng.choice((10, 1500, 2500, 6000))
        texts.append("".join(rng.choice(" \n[{-?ab:") for _ in range(size)))
    decided = {_shallow(text) for text in texts}
    assert decided == {True, False}
    for text in texts:
        assert _shallow(text) == (_nesting_bound(text) < _FAST_DEPTH_BOUND), text[:80]
