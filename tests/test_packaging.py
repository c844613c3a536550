"""A plain (non-editable) build carries the schemas, and works from any directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy so the build never writes into the checkout.
    src = out / "src"
    shutil.copytree(
        REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", ".arun", "*.egg-info", "__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("arun_cli-*.whl")
    return built


def test_wheel_contains_the_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "runner/_schemas/assistant.schema.json" in names
    assert "runner/_schemas/scenario.schema.json" in names
    assert "runner/cli.py" in names


def test_installed_wheel_validates_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    project = tmp_path / "elsewhere"
    shutil.copytree(REPO / "assistants", project / "assistants")
    shutil.copytree(REPO / "corpus", project / "corpus")
    shutil.copytree(REPO / "prompts", project / "prompts")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import runner.project.schema as s; print(s.schema_dir());"
        "from runner.cli import main; main(['validate'])"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(site / "runner" / "_schemas")
    assert done.stderr == "3 files valid.\n"


def test_installed_wheel_inits_a_project_with_its_schemas(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); from runner.cli import main; main(['init', 'fresh'])"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(site)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in ("assistant", "scenario", "transcript"):
        shipped = site / "runner" / "_schemas" / f"{name}.schema.json"
        assert (tmp_path / "fresh" / "schemas" / f"{name}.schema.json").read_bytes() == shipped.read_bytes()
