"""`--api` on validate, plan, apply and replay (and ARUN_API), and what each does on responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "replay"])
def test_every_command_that_reads_the_project_takes_api(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], catch_exceptions=False)
    assert "--api [assistants|responses]" in result.stdout
    assert "ARUN_API" in result.stdout


def test_an_unknown_protocol_is_a_usage_error(example_project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(example_project), "validate", "--api", "chat"])
    assert result.exit_code == 1
    assert "Invalid value for '--api'" in result.stderr


def test_plan_on_responses_shows_the_lints_first(tmp_path: Path) -> None:
    (tmp_path / "assistants").mkdir()
    (tmp_path / "assistants/old.yaml").write_text("model: gpt-4.5-preview\n")
    result = CliRunner().invoke(
        cli,
        ["-C", str(tmp_path), "plan", "--api", "responses", "--local"],
        env={"ARUN_TODAY": "2026-12-01"},
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the project has 1 problem(s) on --api responses:\n")
    assert (
        "assistants/old.yaml:1:8: model: model 'gpt-4.5-preview' was shut down on 2025-07-14" in result.stderr
    )


def test_replay_on_responses_runs_on_the_embedded_server(example_project: Path) -> None:
    """ARUN_API picks the protocol; the embedded server gets the managed files applied first."""
    result = CliRunner().invoke(
        cli, ["-C", str(example_project), "replay", "--local", "-k", "storm"], env={"ARUN_API": "responses"}
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "applying them (files and vector stores only) to the embedded local server first" in result.stderr
    assert "1 scenario: 1 passed." in result.stdout
