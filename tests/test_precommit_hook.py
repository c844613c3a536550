"""The pre-commit hook runs `arun validate` on exactly the files pre-commit passes it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from runner.cli import cli

from .conftest import REPO, write


def test_hook_runs_validate_on_the_changed_files(example_project: Path) -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "arun-validate" and hook["language"] == "python" and hook["pass_filenames"]
    pattern = re.compile(hook["files"])
    write(example_project, "scenarios/bad.yaml", "assistant: nobody\nturns: [{user: hi}]\n")
    changed = [
        "scenarios/bad.yaml",
        "README.md",
        "assistants/math-tutor.yaml",
        "corpus/harbor-light/01-the-keeper.md",
    ]
    passed = [p for p in changed if pattern.search(p)]
    assert passed == ["scenarios/bad.yaml", "assistants/math-tutor.yaml"]
    argv = shlex.split(hook["entry"])[1:] + passed
    result = CliRunner().invoke(cli, ["-C", str(example_project), *argv], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stdout.startswith("scenarios/bad.yaml:1:12: assistant: no assistant 'nobody'")
