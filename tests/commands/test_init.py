"""`arun init`: a project that validates and replays green at once, written without overwriting anything."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from runner.cli import cli
from runner.project.schema import schema_dir

from ..conftest import REPO

WRITTEN = [
    ".github/workflows/arun.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "assistants/helpdesk.yaml",
    "scenarios/helpdesk/order-status.yaml",
    "schemas/assistant.schema.json",
    "schemas/scenario.schema.json",
    "schemas/transcript.schema.json",
]


def arun(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_new_project_validates_applies_and_replays_green(tmp_path: Path) -> None:
    target = tmp_path / "new"
    code, out, err = arun("init", str(target))
    assert (code, err) == (0, "")
    assert out == "".join(f"created  {rel}\n" for rel in WRITTEN) + (
        f"\nA new arun project in {target}. Next:\n"
        f"  cd {target}\n"
        "  arun replay                  # creates the assistant on the embedded local server, replays the scenario\n"
        "  arun replay --update-golden  # keeps its transcript as the golden in transcripts/\n"
        "  git add . && git commit      # the workflow in .github/ compares replays with the goldens\n"
    )
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == WRITTEN
    for name in ("assistant", "scenario", "transcript"):
        copied = (target / "schemas" / f"{name}.schema.json").read_bytes()
        assert copied == (schema_dir() / f"{name}.schema.json").read_bytes()
    assert ".arun/" in (target / ".gitignore").read_text().splitlines()
    assert arun("-C", str(target), "validate") == (0, "", "2 files valid.\n")
    code, out, _ = arun("-C", str(target), "replay")
    assert (code, out.splitlines()[0]) == (0, "PASS    helpdesk/order-status (2 turns)")
    code, _, _ = arun("-C", str(target), "replay", "--update-golden")
    assert code == 0 and (target / "transcripts/helpdesk/order-status.yaml").is_file()
    code, out, _ = arun("-C", str(target), "replay", "--compare", "transcripts/")
    assert code == 0, out


def test_the_yaml_language_server_lines_name_the_copied_schemas(tmp_path: Path) -> None:
    arun("init", str(tmp_path))
    for rel in ("assistants/helpdesk.yaml", "scenarios/helpdesk/order-status.yaml"):
        first = (tmp_path / rel).read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        schema = (tmp_path / rel).parent / first.split("$schema=", 1)[1]
        assert schema.resolve().is_file()


def test_running_it_again_changes_nothing_and_overwrites_nothing(tmp_path: Path) -> None:
    arun("init", str(tmp_path))
    edited = tmp_path / "assistants/helpdesk.yaml"
    edited.write_text("model: my-own\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, out, err = arun("init", str(tmp_path))
    assert (code, err) == (0, "")
    assert out == "".join(f"skipped  {rel}: already there; left as it is\n" for rel in WRITTEN) + (
        f"Nothing to do: {tmp_path} has every file arun init writes.\n"
    )
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_an_existing_project_gets_the_missing_files_but_no_example(tmp_path: Path) -> None:
    (tmp_path / "assistants").mkdir()
    (tmp_path / "assistants/mine.yaml").write_text("model: m\n")
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    code, out, _ = arun("init", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert "skipped  .gitignore: already there; left as it is" in lines
    assert "skipped  .gitignore: has no '.arun/' line: add it, so local state stays out of git" in lines
    assert (
        "skipped  assistants/helpdesk.yaml: not added: the project has assistants or scenarios of its own"
        in lines
    )
    assert "created  schemas/assistant.schema.json" in lines
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n"
    assert not (tmp_path / "assistants/helpdesk.yaml").exists()


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    code, _, err = arun("init", str(tmp_path / "taken"))
    assert (code, err) == (
        1,
        f"Error: {tmp_path / 'taken'} is a file, not a folder: give arun init a folder (new or existing)\n",
    )


def test_a_path_it_cannot_write_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "schemas").write_text("a file where the folder goes")
    code, _, err = arun("init", str(tmp_path))
    assert code == 1
    assert err.startswith(f"Error: cannot write {tmp_path / 'schemas' / 'assistant.schema.json'}: ")
    assert err.endswith(
        " (created so far: .github/workflows/arun.yml, .gitignore, .pre-commit-config.yaml, "
        "assistants/helpdesk.yaml, scenarios/helpdesk/order-status.yaml)\n"
    )


def test_the_default_is_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = arun("init")
    assert code == 0 and "A new arun project in this folder. Next:\n  arun replay " in out
    assert (tmp_path / "assistants/helpdesk.yaml").is_file()


def test_the_workflow_validates_plans_replays_in_shards_and_summarises_the_diff(tmp_path: Path) -> None:
    arun("init", str(tmp_path))
    workflow = yaml.safe_load((tmp_path / ".github/workflows/arun.yml").read_text())
    runs = {job: [step.get("run", "") for step in spec["steps"]] for job, spec in workflow["jobs"].items()}
    distribution = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    for job, commands in runs.items():
        assert any(c.startswith(f'pip install "{distribution}==') for c in commands), job
    assert "arun validate" in runs["validate"]
    assert any(c.startswith("arun plan") for c in runs["validate"])
    assert workflow["jobs"]["replay"]["strategy"]["matrix"]["shard"] == ["1/2", "2/2"]
    assert any("arun replay --shard ${{ matrix.shard }}" in c for c in runs["replay"])
    assert any('--format markdown >> "$GITHUB_STEP_SUMMARY"' in c for c in runs["diff"])
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert hooks[0]["entry"] == "arun validate" and hooks[0]["always_run"] and not hooks[0]["pass_filenames"]


def test_from_scratch_in_a_fresh_process(tmp_path: Path) -> None:
    """The documented first steps, as a person types them, in processes of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    run = [sys.executable, "-m", "runner"]
    subprocess.run([*run, "init", "demo"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)
    project = tmp_path / "demo"
    done = subprocess.run(
        [*run, "replay"], cwd=project / "scenarios", env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 scenario: 1 passed." in done.stdout


def test_docs_ci_shows_the_files_init_writes() -> None:
    from runner.project.starter import PRE_COMMIT, WORKFLOW

    text = (REPO / "docs/ci.md").read_text(encoding="utf-8")
    assert f"```yaml\n{WORKFLOW}```" in text
    assert f"```yaml\n{PRE_COMMIT}```" in text


def test_every_install_instruction_names_the_distribution() -> None:
    """`arun` on PyPI is someone else's project: no instruction may tell users to install it."""
    distribution = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    assert distribution == "arun-cli"
    from runner.project.starter import FILES

    texts = {
        p.name: p.read_text(encoding="utf-8") for p in [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    }
    texts |= FILES
    for name, text in texts.items():
        for line in text.splitlines():
            if "pip install" in line:
                assert any(ok in line for ok in (distribution, "./", "-e .", "pip install .")), (name, line)
