from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.transcript.compare import similarity
from runner.transcript.io import write_transcript

from ..transcript.factory import transcript


def diff(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sets(tmp_path: Path) -> tuple[Path, Path]:
    golden, new = tmp_path / "golden", tmp_path / "new"
    for folder in (golden, new):
        write_transcript(folder / "math-tutor" / "seed.yaml", transcript())
        write_transcript(folder / "other.yaml", transcript("other"))
    return golden, new


def rewrite(folder: Path, name: str, data: dict[str, Any]) -> None:
    write_transcript(folder / f"{name}.yaml", data)


def test_identical_sets(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    assert diff(str(golden), str(new)) == (0, "2 scenarios: 2 same; no differences.\n", "")


def test_changed_reply_names_scenario_and_turn(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    rewrite(new, "math-tutor/seed", transcript(reply="Hi there. The answer is x = 2."))
    code, out, _ = diff(str(golden), str(new))
    assert code == 1
    assert out == (
        "~ math-tutor/seed: changed\n"
        "  turn 1 (user: 'I need to solve the equation `3x + 11 = 14`. Can you help me?'):\n"
        "    --- golden\n"
        "    +++ new\n"
        "    @@ -26,7 +26,7 @@\n"
        "       status: completed\n"
        "       message: 1\n"
        "     reply:\n"
        "    -- text: Hello Jane Doe! x = 1.\n"
        "    +- text: Hi there. The answer is x = 2.\n"
        "       citations:\n"
        "       - file: corpus/notes.md\n"
        "         index: 5\n"
        "2 scenarios: 1 same, 1 changed; differences found.\n"
    )


def test_tool_arguments_compare_exactly_even_with_a_text_tolerance(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    changed = transcript()
    changed["turns"][0]["steps"][0]["calls"][0]["arguments"] = {"equation": "3x+11=15"}
    rewrite(new, "math-tutor/seed", changed)
    code, out, _ = diff(str(golden), str(new), "--text-similarity", "0.5")
    assert code == 1
    assert "-      equation: 3x+11=14\n" in out
    assert "+      equation: 3x+11=15\n" in out


def test_small_rewording_passes_with_a_tolerance(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    reworded = "Hello, Jane Doe! x = 1."
    assert 0.8 <= similarity("Hello Jane Doe! x = 1.", reworded) < 1
    rewrite(new, "math-tutor/seed", transcript(reply=reworded))
    assert diff(str(golden), str(new), "--text-similarity", "0.8")[0] == 0
    assert diff(str(golden), str(new))[0] == 1
    rewrite(new, "math-tutor/seed", transcript(reply="Something else entirely, about geometry."))
    assert diff(str(golden), str(new), "--text-similarity", "0.8")[0] == 1


def test_expectation_outcomes_compare_exactly(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    failed = transcript()
    failed["turns"][0]["expectations"][0] = {
        "check": "contains",
        "expected": "Jane Doe",
        "passed": False,
        "detail": "x",
    }
    rewrite(new, "math-tutor/seed", failed)
    code, out, _ = diff(str(golden), str(new), "--text-similarity", "0.1")
    assert code == 1
    assert "-  passed: true\n" in out and "+  passed: false\n" in out


def test_usage_is_ignored_unless_asked(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    more = transcript()
    more["usage"]["total"]["prompt_tokens"] = 99
    rewrite(new, "math-tutor/seed", more)
    assert diff(str(golden), str(new))[0] == 0
    code, out, _ = diff(str(golden), str(new), "--include", "usage")
    assert code == 1
    assert "  usage:\n" in out


def test_added_and_removed_scenarios(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    (new / "other.yaml").unlink()
    rewrite(new, "brand-new", transcript("brand-new"))
    code, out, _ = diff(str(golden), str(new))
    assert code == 1
    assert out == (
        "+ brand-new: added (new scenario without a golden transcript: record it with `arun replay --update-golden`)\n"
        "- other: removed (golden transcript without a scenario: delete it, or pass --allow-orphans)\n"
        "3 scenarios: 1 same, 1 added, 1 removed; differences found.\n"
    )
    (new / "brand-new.yaml").unlink()
    code, out, _ = diff(str(golden), str(new), "--allow-orphans")
    assert code == 0
    assert out.startswith("- other: removed (allowed) (golden transcript without a scenario")


def test_markdown_report(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    rewrite(new, "other", transcript("other", reply="Bonjour."))
    code, out, _ = diff(str(golden), str(new), "--format", "markdown")
    assert code == 1
    assert out.startswith(
        "### arun diff: 2 scenarios: 1 same, 1 changed; differences found.\n\n"
        "#### `other`: changed\n\n"
        "**turn 1 (user: 'I need to solve the equation `3x + 11 = 14`. Can you help me?')**\n\n"
        "```diff\n--- golden\n+++ new\n"
    )
    assert out.endswith("```\n")
    assert "+- text: Bonjour.\n" in out


def test_json_report_and_junit(sets: tuple[Path, Path], tmp_path: Path) -> None:
    golden, new = sets
    rewrite(new, "other", transcript("other", reply="Bonjour."))
    junit = tmp_path / "reports" / "diff.xml"
    code, out, _ = diff(str(golden), str(new), "--format", "json", "--junit", str(junit))
    assert code == 1
    report = json.loads(out)
    assert report["same"] is False
    assert report["counts"] == {"same": 1, "changed": 1, "added": 0, "removed": 0}
    changed = report["scenarios"][1]
    assert (changed["name"], changed["status"], changed["failing"]) == ("other", "changed", True)
    assert [s["turn"] for s in changed["sections"]] == [1]
    assert "+- text: Bonjour." in changed["sections"][0]["diff"]
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["other"].find("failure")
    assert failure is not None and failure.get("message") == "changed: turn 1"
    assert cases["math-tutor/seed"].find("failure") is None


def test_header_and_whole_turn_changes(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    shorter = transcript(result="failed")
    shorter["turns"] = shorter["turns"][:1]
    rewrite(new, "other", shorter | {"scenario": "other"})
    code, out, _ = diff(str(golden), str(new))
    assert code == 1
    assert "  scenario:\n" in out
    assert "-result: passed\n" in out
    assert "  turn 2 (user: '검산도 해 주세요.'):\n" in out


def test_bad_inputs_are_trouble_exit_2(sets: tuple[Path, Path], tmp_path: Path) -> None:
    golden, new = sets
    code, _, err = diff(str(golden), str(tmp_path / "missing"))
    assert code == 2
    assert err == f"Error: NEW {tmp_path / 'missing'} is not a folder of transcripts\n"
    (new / "other.yaml").write_text("transcript: 3\n")
    code, _, err = diff(str(golden), str(new))
    assert code == 2
    assert err.startswith(f"Error: {new / 'other.yaml'} is not a valid transcript:\n")
    assert "transcript: expected 2, got 3" in err


def test_text_similarity_must_be_a_fraction(sets: tuple[Path, Path]) -> None:
    golden, new = sets
    code, _, err = diff(str(golden), str(new), "--text-similarity", "1.5")
    assert code == 2
    assert "--text-similarity" in err
