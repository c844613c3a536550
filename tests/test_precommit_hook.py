"""The pre-commit hook validates the whole project on every commit, so that a change to a file the YAML
refers to (a deleted prompt) fails the commit even when no YAML file changed."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from runner.cli import cli

from .conftest import REPO


def run_hook(project: Path) -> tuple[int, str]:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "arun-validate" and hook["language"] == "python"
    # pre-commit runs an always_run hook whatever the commit touched, and with pass_filenames false it
    # adds no file names: the entry is the whole command line, run at the repository's root.
    assert hook["always_run"] is True and hook["pass_filenames"] is False and "files" not in hook
    argv = shlex.split(hook["entry"])
    assert argv[0] == "arun"
    result = CliRunner().invoke(cli, ["-C", str(project), *argv[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_a_deleted_prompt_fails_the_hook(example_project: Path) -> None:
    assert run_hook(example_project) == (0, "")
    (example_project / "prompts/novel-guide.md").unlink()
    code, out = run_hook(example_project)
    assert code == 1
    assert out.startswith("assistants/novel-guide.yaml:")
    assert "instructions_file: file not found: 'prompts/novel-guide.md'" in out


def test_a_deleted_corpus_file_fails_the_hook(example_project: Path) -> None:
    for path in (example_project / "corpus").rglob("*.md"):
        path.unlink()
    code, out = run_hook(example_project)
    assert code == 1
    assert "assistants/novel-guide.yaml:" in out and "no file matches" in out
