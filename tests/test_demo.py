"""`make demo` on a fresh clone: green even with OPENAI_API_KEY in the environment (it runs on the embedded
server explicitly), and the embedded server's model time changes no transcript."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.config import resolve_settings
from runner.errors import ConfigError

from .conftest import REPO


def clone(tmp_path: Path) -> Path:
    """The tracked files only, as a fresh clone has them (no .arun/, no ../shared beside it)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, text=True
    ).stdout
    root = tmp_path / "clone"
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    return root


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_is_green_with_an_api_key_in_the_environment(tmp_path: Path) -> None:
    root = clone(tmp_path)
    venv = Path(sys.executable).parent.parent  # this interpreter's venv, already installed
    env = {**os.environ, "OPENAI_API_KEY": "made-up-key-without-a-base-url"}
    for name in ("OPENAI_BASE_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):  # not the outer make's (make test)
        env.pop(name, None)
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", f"{venv}/.installed-run", "demo", f"VENV={venv}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "6 scenarios: 6 same; no differences."
    assert "made-up-key" not in done.stdout + done.stderr


def test_model_time_is_0_by_default_and_set_by_flag_or_environment(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, environ={}).model_time == 0.0
    assert resolve_settings(tmp_path, environ={"ARUN_MODEL_TIME": "0.5"}).model_time == 0.5
    assert resolve_settings(tmp_path, model_time=0.1, environ={"ARUN_MODEL_TIME": "0.5"}).model_time == 0.1
    with pytest.raises(ConfigError, match="ARUN_MODEL_TIME='slow' is not a number of seconds"):
        resolve_settings(tmp_path, environ={"ARUN_MODEL_TIME": "slow"})


def test_the_embedded_server_runs_at_the_model_time_asked_and_goldens_do_not_change(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.api import local

    seen: list[float] = []
    real_command = local.child_command

    def spy(db: Path, model_time: float) -> list[str]:  # what the server's process is told
        seen.append(model_time)
        return real_command(db, model_time)

    monkeypatch.setattr(local, "child_command", spy)
    golden = str(REPO / "transcripts")
    for args, env in (([], {}), (["--model-time", "0.02"], {}), ([], {"ARUN_MODEL_TIME": "0.01"})):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        done = CliRunner().invoke(
            cli,
            ["-C", str(example_project), "replay", "--local", "--compare", golden, *args],
            catch_exceptions=False,
        )
        assert done.exit_code == 0, done.output
        assert done.stdout.splitlines()[-1] == "6 scenarios: 6 same; no differences."
    assert seen == [0.0, 0.02, 0.01]
