"""What `arun diff` compares by default and what it only shows as context (spec hash, protocol, usage)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from runner.cli import cli
from runner.transcript.compare import OPTIONAL, Options, compare_sets, compare_transcripts, normalise
from runner.transcript.io import write_transcript

from .factory import transcript

OLD_HASH = "sha256:36ac1247d1812b27f615ec261365d9b468610f1829b515b9f1f6ae6897d2db9a"
NEW_HASH = "sha256:5517a796a6b0f8af959c4092840c436c1813ce912c5cd93ddf8914d4c7569386"


def diff(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def two_sets(tmp_path: Path, **new_changes: object) -> tuple[Path, Path]:
    golden, new = tmp_path / "golden", tmp_path / "new"
    assistant = {"key": "math-tutor", "spec_hash": OLD_HASH, "model": "gpt-4o"}
    write_transcript(golden / "math-tutor" / "seed.yaml", transcript(assistant=assistant))
    write_transcript(new / "math-tutor" / "seed.yaml", transcript(**{"assistant": assistant, **new_changes}))
    return golden, new


def test_a_new_spec_hash_alone_does_not_fail_and_is_shown(tmp_path: Path) -> None:
    # An edited description or metadata changes the spec hash and nothing the model sees.
    golden, new = two_sets(
        tmp_path, assistant={"key": "math-tutor", "spec_hash": NEW_HASH, "model": "gpt-4o"}
    )
    assert diff(str(golden), str(new)) == (
        0,
        "= math-tutor/seed: same (not compared: spec_hash: sha256:36ac1247d181 -> sha256:5517a796a6b0)\n"
        "1 scenario: 1 same; no differences.\n",
    )
    code, out = diff(str(golden), str(new), "--include", "spec_hash")
    assert code == 1
    assert "-  spec_hash: " + OLD_HASH in out and "+  spec_hash: " + NEW_HASH in out


def test_the_protocol_is_context_unless_asked(tmp_path: Path) -> None:
    golden, new = two_sets(tmp_path, api="responses")
    code, out = diff(str(golden), str(new))
    assert (code, out.splitlines()[0]) == (
        0,
        "= math-tutor/seed: same (not compared: api: assistants -> responses)",
    )
    code, out = diff(str(golden), str(new), "--include", "api", "--include", "usage")
    assert code == 1
    assert "-api: assistants\n" in out and "+api: responses\n" in out


def test_context_is_listed_under_a_changed_scenario_and_in_every_format(tmp_path: Path) -> None:
    golden, new = two_sets(
        tmp_path,
        api="responses",
        result="failed",
        assistant={"key": "math-tutor", "spec_hash": NEW_HASH, "model": "gpt-4o"},
    )
    code, out = diff(str(golden), str(new))
    assert code == 1
    assert out.splitlines()[:3] == [
        "~ math-tutor/seed: changed",
        "  not compared: api: assistants -> responses; spec_hash: sha256:36ac1247d181 -> sha256:5517a796a6b0",
        "  scenario:",
    ]
    assert "spec_hash" not in out.split("scenario:", 1)[1]  # the header diff is the result only
    code, markdown = diff(str(golden), str(new), "--format", "markdown")
    assert "not compared: `api: assistants -> responses`; `spec_hash: sha256:36ac1247d181 -> " in markdown
    code, text = diff(str(golden), str(new), "--format", "json")
    assert json.loads(text)["scenarios"][0]["context"] == [
        "api: assistants -> responses",
        "spec_hash: sha256:36ac1247d181 -> sha256:5517a796a6b0",
    ]


def test_citation_places_move_with_tolerated_wording_but_files_compare_exactly(tmp_path: Path) -> None:
    golden, new = tmp_path / "golden", tmp_path / "new"
    was = transcript(reply="Hello Jane Doe! x = 1.")
    write_transcript(golden / "seed.yaml", was)
    reworded = transcript(reply="Hello, Jane Doe! x = 1.")
    reworded["turns"][0]["reply"][0]["citations"] = [{"file": "corpus/notes.md", "index": 6}]
    write_transcript(new / "seed.yaml", reworded)
    options = Options(text_similarity=0.8)
    assert compare_sets(golden, new, options).same
    assert not compare_sets(golden, new, Options()).same
    reworded["turns"][0]["reply"][0]["citations"] = [{"file": "corpus/other.md", "index": 6}]
    write_transcript(new / "seed.yaml", reworded)
    assert not compare_sets(golden, new, options).same


def test_comparing_leaves_both_transcripts_as_they_were() -> None:
    """normalise copies only what it rewrites (docs/performance.md, "Diff"): the callers' data, which
    reports read again for context, must come out untouched in every mode."""
    golden = transcript(reply="Hello Jane Doe! x = 1.")
    golden["turns"][0]["reply"][0]["citations"] = [{"file": "corpus/notes.md", "index": 5}]
    golden["turns"][0]["expectations"] = [{"check": "contains", "passed": False, "detail": "was: Hello"}]
    new = copy.deepcopy(golden)
    new["turns"][0]["reply"][0]["text"] = "Hello, Jane Doe! x = 1."
    new["turns"][0]["reply"][0]["citations"][0]["index"] = 6
    new["assistant"]["spec_hash"] = "sha256:other"
    new["api"] = "responses"
    frozen = copy.deepcopy((golden, new))
    for options in (Options(), Options(text_similarity=0.8), Options(include=frozenset(OPTIONAL))):
        old, cur = normalise(golden, new, options)
        assert (golden, new) == frozen
        sections = compare_transcripts(golden, new, options)
        assert (golden, new) == frozen
        if options.text_similarity:
            assert cur["turns"][0]["reply"][0] == old["turns"][0]["reply"][0]
            assert "detail" not in cur["turns"][0]["expectations"][0]
            assert [s.title for s in sections] == []
        else:
            assert sections
