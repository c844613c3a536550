from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing a test does reads or writes the real home, the real API settings, or the checkout."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "ARUN_DEBUG",
        "CI",
        "GITHUB_STEP_SUMMARY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(home)
    yield


def copy_examples(tmp_path: Path, *extra: str) -> Path:
    """A copy of the repository's example project in tmp_path/project, safe to edit: its assistants,
    scenarios, corpus and prompts, and the `extra` folders (schemas, transcripts)."""
    root = tmp_path / "project"
    for name in ("assistants", "scenarios", "corpus", "prompts", *extra):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A copy of the repository's example project with its schemas."""
    return copy_examples(tmp_path, "schemas")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
