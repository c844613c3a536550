"""Every bad file under tests/corpus/cases gives exactly the messages in its .expected file, and exit 1
(exit 0 when it only has warnings). A case may bring companion files in `<case>.files/`, laid over the
project root (a handler module, a second file of the same name); companion YAML is validated too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(
    p for p in (CORPUS / "cases").rglob("*.yaml") if not any(d.suffix == ".files" for d in p.parents)
)


def placed(case: Path) -> str:
    """Where the case goes in the base project: assistants/<name>.yaml or scenarios/bad/<name>.yaml."""
    kind = case.parent.name
    return f"assistants/{case.name}" if kind == "assistants" else f"scenarios/bad/{case.name}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_base_project_is_valid(tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(CORPUS / "base", root)
    result = CliRunner().invoke(cli, ["-C", str(root), "validate"], catch_exceptions=False)
    assert (result.exit_code, result.stdout) == (0, "")


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_bad_file(case: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(CORPUS / "base", root)
    target = root / placed(case)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case, target)
    companions = case.with_suffix(".files")
    extra = []
    if companions.is_dir():
        shutil.copytree(companions, root, dirs_exist_ok=True)
        extra = sorted(
            p.relative_to(companions).as_posix()
            for p in companions.rglob("*.y*ml")
            if p.relative_to(companions).parts[0] in ("assistants", "scenarios")
        )
    args = ["-C", str(root), "validate", placed(case), *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert result.stdout == expected
    only_warnings = all(": warning: " in line for line in expected.splitlines())
    assert result.exit_code == (0 if only_warnings else 1)
    assert "Traceback" not in result.output
