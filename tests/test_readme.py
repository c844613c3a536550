"""The README is the user-facing truth: its quick start and command list must match reality."""

from __future__ import annotations

import re

from click.testing import CliRunner

from runner.cli import cli

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_quick_start_is_exactly_two_commands() -> None:
    block = _section("Quick start").split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_every_listed_command_exists_and_has_help() -> None:
    table = _section("Commands").split("\n\n", 1)[0]
    listed = re.findall(r"^\| `arun ([a-z-]+)", table, re.M)
    assert listed, "the Commands table lists no command"
    for name in listed:
        assert name in cli.commands, f"README lists `arun {name}`, which does not exist"
        result = CliRunner().invoke(cli, [name, "--help"], catch_exceptions=False)
        assert result.exit_code == 0
        assert len(result.stdout.strip().splitlines()) > 3


def test_every_command_is_listed() -> None:
    table = _section("Commands").split("\n\n", 1)[0]
    for name, command in cli.commands.items():
        if not command.hidden:
            assert f"`arun {name}" in table, f"`arun {name}` is missing from the README's command table"


def test_user_docs_stand_alone() -> None:
    """Users have the README and docs/, not the design notes kept beside the development checkout."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text, f"{path.name} refers to DESIGN.md, which users do not have"
        assert "STYLE.md" not in text, f"{path.name} refers to STYLE.md, which users do not have"
