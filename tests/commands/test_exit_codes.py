"""Each exit code of each command, exercised; the README's table lists exactly these."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner

from runner.cli import cli

from ..conftest import REPO, write
from .conftest import Server, arun

F = TypeVar("F", bound=Callable[..., Any])
EXERCISED: dict[tuple[str, int], list[str]] = {}
UNREACHABLE = ["--base-url", "http://127.0.0.1:9/v1", "--api-key", "x"]
SEED = "math-tutor/seed-jane-doe"


def exercises(*codes: tuple[str, int]) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        for code in codes:
            EXERCISED.setdefault(code, []).append(fn.__name__)
        return fn

    return mark


def run(root: Path, *args: str) -> int:
    return CliRunner().invoke(cli, ["-C", str(root), *args], catch_exceptions=False).exit_code


@exercises(("validate", 0), ("validate", 1))
def test_validate(examples: Path) -> None:
    assert run(examples, "validate") == 0
    write(examples, "scenarios/bad.yaml", "assistant: nobody\n")
    assert run(examples, "validate") == 1
    assert run(examples, "validate", "--no-such-option") == 1


@exercises(("plan", 0), ("plan", 1), ("plan", 2), ("apply", 0), ("apply", 1))
def test_plan_and_apply(examples: Path, live: Server) -> None:
    assert arun(examples, live, "plan")[0] == 2
    assert arun(examples, live, "apply")[0] == 1  # no terminal to confirm on, and no --yes
    assert arun(examples, live, "apply", "--yes")[0] == 0
    assert arun(examples, live, "plan")[0] == 0
    assert run(examples, "plan", *UNREACHABLE) == 1
    assert run(examples, "apply", "--yes", *UNREACHABLE) == 1
    assert run(examples, "plan", "--no-such-option") == 1


@exercises(("replay", 0), ("replay", 1), ("replay", 2), ("replay", 5))
def test_replay(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    assert arun(examples, live, "replay", SEED)[0] == 0
    write(
        examples,
        "scenarios/wrong.yaml",
        "assistant: math-tutor\nturns:\n  - user: Hello\n    expect: [{contains: never said}]\n",
    )
    assert arun(examples, live, "replay", "wrong")[0] == 1
    assert arun(examples, live, "replay", "-k", "nomatch")[0] == 5
    assert run(examples, "replay", SEED, *UNREACHABLE) == 2
    assert run(examples, "replay", "--no-such-option") == 2


@exercises(("diff", 0), ("diff", 1), ("diff", 2))
def test_diff(tmp_path: Path) -> None:
    golden = REPO / "transcripts"
    assert run(tmp_path, "diff", str(golden), str(golden)) == 0
    assert run(tmp_path, "diff", str(golden), str(tmp_path)) == 1  # every golden lost its transcript
    assert run(tmp_path, "diff", str(golden), str(tmp_path / "missing")) == 2


def test_the_readme_table_lists_exactly_the_exercised_codes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    listed = {(cmd, int(code)) for cmd, code in re.findall(r"^\| `(\w+)` \| (\d) \|", section, re.M)}
    assert listed == set(EXERCISED)
