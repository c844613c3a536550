from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.transcript.io import (
    TranscriptInvalid,
    canonical,
    dump,
    read_transcript,
    transcript_files,
    write_atomic,
    write_transcript,
)

from .factory import transcript


def test_dump_is_readable_stable_yaml() -> None:
    text = dump(transcript())
    assert text == dump(transcript())
    assert "검산도 해 주세요." in text  # non-ASCII stays readable, not \uXXXX escapes
    assert "\r" not in text
    assert "  reply:\n  - text: |-\n      검산: 3 × 1 + 11 = 14.\n      맞습니다.\n" in text
    assert (
        text.index("transcript: 2")
        < text.index("scenario:")
        < text.index("api: assistants")
        < text.index("turns:")
        < text.index("usage:")
    )


def test_canonical_sorts_free_form_data() -> None:
    assert list(canonical({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 3}})) == ["a", "b"]
    assert canonical({"b": 1, "a": {"d": [{"z": 1, "y": 2}]}}) == {"a": {"d": [{"y": 2, "z": 1}]}, "b": 1}
    assert dump(canonical({"b": 1, "a": 2})) == "a: 2\nb: 1\n"


def test_round_trip_through_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "t" / "math-tutor" / "seed.yaml"
    write_transcript(path, transcript())
    assert read_transcript(path, "t/math-tutor/seed.yaml") == transcript()
    assert list(transcript_files(tmp_path / "t")) == [("math-tutor/seed", path)]


def test_invalid_transcripts_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    write_transcript(path, transcript(result="passd"))
    with pytest.raises(TranscriptInvalid) as caught:
        read_transcript(path, "golden/bad.yaml")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("result:"))
    assert str(caught.value) == (
        "golden/bad.yaml is not a valid transcript:\n"
        f'golden/bad.yaml:{line}:9: result: "passd" is not one of "passed", "failed", "error", "interrupted" '
        "(did you mean 'passed'?)"
    )
    path.write_text("- a list\n")
    with pytest.raises(TranscriptInvalid, match="expected a transcript mapping"):
        read_transcript(path, "bad.yaml")
    path.write_text("a: [\n")
    with pytest.raises(TranscriptInvalid, match="YAML syntax error"):
        read_transcript(path, "bad.yaml")


def test_atomic_write_leaves_the_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    write_atomic(path, "old\n")

    def fail(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.yaml"]


def test_hidden_temp_files_are_not_transcripts(tmp_path: Path) -> None:
    write_atomic(tmp_path / ".a.yaml.123.tmp", "x")
    write_atomic(tmp_path / ".hidden.yaml", "x")
    assert list(transcript_files(tmp_path)) == []


def test_a_transcript_of_the_older_format_says_to_record_it_again(tmp_path: Path) -> None:
    # Format 1 kept the Assistants API's citation markers in the reply text and had no `api`.
    path = tmp_path / "old.yaml"
    old = transcript(transcript=1)
    del old["api"]
    write_transcript(path, old)
    with pytest.raises(TranscriptInvalid) as caught:
        read_transcript(path, "transcripts/old.yaml")
    assert str(caught.value) == (
        "transcripts/old.yaml is a transcript of format 1, written by an older arun (this one writes format 2: "
        "reply text without citation markers). Record it again with `arun replay --update-golden`."
    )


def test_citations_need_a_file_and_a_place(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    data = transcript()
    data["turns"][0]["reply"][0]["citations"] = [{"file": "corpus/a.md", "index": -1}]
    write_transcript(path, data)
    with pytest.raises(TranscriptInvalid, match=r"citations\[0\]\.index"):
        read_transcript(path, "t.yaml")
    data["turns"][0]["reply"][0] = {"text": "x【0:0†a】", "annotations": []}
    write_transcript(path, data)
    with pytest.raises(TranscriptInvalid, match="annotations"):
        read_transcript(path, "t.yaml")
