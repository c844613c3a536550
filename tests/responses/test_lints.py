"""Migration lints of `arun validate --api responses`: each at its file:line:col, with a pinned date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.responses.models import WARN_DAYS, retirement_of, retirements

ASSISTANT = """\
model: gpt-4.5-preview
tools:
  - type: file_search
    file_search:
      ranking_options: {ranker: default_2024_08_21, score_threshold: 0.2}
"""
SCENARIO = """\
assistant: old
run:
  additional_instructions: Be kind.
  max_prompt_tokens: 1000
turns:
  - user: Hi
    run:
      model: gpt-5.2-chat-latest
      truncation_strategy:
        type: last_messages
        last_messages: 3
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "assistants").mkdir()
    (tmp_path / "scenarios/s").mkdir(parents=True)
    (tmp_path / "assistants/old.yaml").write_text(ASSISTANT)
    (tmp_path / "scenarios/s/one.yaml").write_text(SCENARIO)
    return tmp_path


def validate(root: Path, *args: str, today: str = "2026-06-01") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["-C", str(root), "validate", *args], env={"ARUN_TODAY": today}, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_same_project_is_valid_on_assistants(project: Path) -> None:
    assert validate(project) == (0, "", "2 files valid.\n")


def test_every_lint_at_its_line_and_column(project: Path) -> None:
    code, out, err = validate(project, "--api", "responses")
    assert code == 1
    assert err == "4 errors, 3 warnings in 2 files.\n"
    found = [line.split(": ", 2)[:2] for line in out.splitlines()]
    assert found == [
        ["assistants/old.yaml:1:8", "model"],
        ["assistants/old.yaml:3:5", "tools[0]"],
        ["assistants/old.yaml:5:33", "tools[0].file_search.ranking_options.ranker"],
        ["scenarios/s/one.yaml:3:3", "run.additional_instructions"],
        ["scenarios/s/one.yaml:4:3", "run.max_prompt_tokens"],
        ["scenarios/s/one.yaml:8:14", "turns[0].run.model"],
        ["scenarios/s/one.yaml:10:15", "turns[0].run.truncation_strategy.type"],
    ]
    assert [": warning: " in line for line in out.splitlines()] == [
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    lines = out.splitlines()
    assert "model 'gpt-4.5-preview' was shut down on 2025-07-14: requests to it fail; use gpt-4.1" in lines[0]
    assert lines[1].startswith("assistants/old.yaml:3:5: tools[0]: warning: file_search has no files")
    assert "Use ranker: auto" in lines[2]
    assert lines[3].startswith(
        "scenarios/s/one.yaml:3:3: run.additional_instructions: warning: Responses has"
    )
    assert "appends this text to the instructions after a blank line" in lines[3]
    assert "no Responses equivalent" in lines[4] and "Remove it" in lines[4]
    assert lines[5].startswith(
        "scenarios/s/one.yaml:8:14: turns[0].run.model: warning: model 'gpt-5.2-chat-latest'"
    )
    assert "shuts down on 2026-08-10, in 70 days; use gpt-5.5 instead" in lines[5]
    assert "Use {type: auto}" in lines[6]


def test_arun_api_in_the_environment_selects_the_protocol(project: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["-C", str(project), "validate", "--json"],
        env={"ARUN_API": "responses", "ARUN_TODAY": "2026-06-01"},
        catch_exceptions=False,
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert (report["api"], report["valid"], len(report["errors"]), len(report["warnings"])) == (
        "responses",
        False,
        4,
        3,
    )
    assert report["warnings"][0] == {
        "path": "assistants/old.yaml",
        "line": 3,
        "column": 5,
        "where": "tools[0]",
        "message": report["warnings"][0]["message"],
    }


def test_lints_follow_the_paths_given(project: Path) -> None:
    code, out, _ = validate(project, "--api", "responses", "scenarios/s/one.yaml")
    assert code == 1
    assert {line.split(":")[0] for line in out.splitlines()} == {"scenarios/s/one.yaml"}


def test_a_bad_pinned_date_is_a_clear_error(project: Path) -> None:
    code, _, err = validate(project, "--api", "responses", today="June 1st")
    assert (code, err) == (1, "Error: ARUN_TODAY='June 1st' is not a date: write it as YYYY-MM-DD\n")


@pytest.mark.parametrize(
    ("today", "severity"),
    [
        ("2026-05-11", None),  # 91 days before the shutdown
        ("2026-05-12", "warning"),  # 90 days before
        ("2026-08-09", "warning"),  # the day before
        ("2026-08-10", "error"),  # the shutdown date itself: requests fail
        ("2027-01-01", "error"),
    ],
)
def test_retirement_severity_by_date(today: str, severity: str | None) -> None:
    found = retirement_of("gpt-5.3-chat-latest", dt.date.fromisoformat(today))
    assert (found[0] if found else None) == severity


def test_the_table_is_complete_and_sourced() -> None:
    table = retirements()
    assert len(table) >= 20 and WARN_DAYS == 90
    for row in table.values():
        assert row.source.startswith("OpenAI API deprecations page") and "https://" in row.source
    assert retirement_of("gpt-4o", dt.date(2026, 12, 1)) is None


def test_the_examples_have_no_errors_on_responses(example_project: Path) -> None:
    code, out, err = validate(example_project, "--api", "responses", today="2026-12-01")
    assert code == 0, out
    assert err.endswith("valid (3 warnings).\n")
    assert all(": warning: " in line and "additional_instructions" in line for line in out.splitlines())
