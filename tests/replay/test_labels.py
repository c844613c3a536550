"""Transcripts of real replays on the local server: project paths from apply's records, no citation
markers, and no churn from edits that change nothing the model sees."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from runner.apply.desired import DesiredAssistant, DesiredFile
from runner.apply.remote import RemoteAssistant, RemoteStoreFile
from runner.cli import cli
from runner.replay.labels import code_labels, search_labels
from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.transcript.io import read_transcript

from ..commands.conftest import TEST_KEY
from ..conftest import copy_examples

STORM = "corpus/harbor-light/02-the-storm.md"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(tmp_path / "server.db", TEST_KEY, runs=RunSettings(model_time=0.0)) as server:
        yield server.base_url


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def arun(root: Path, base_url: str, command: str, *args: str) -> tuple[int, str, str]:
    where = ["--base-url", base_url, "--api-key", TEST_KEY] if command in ("apply", "replay") else []
    result = CliRunner().invoke(cli, ["-C", str(root), command, *where, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def replayed(
    root: Path, base_url: str, out: str, *names: str, passes: bool | None = True
) -> dict[str, dict[str, Any]]:
    assert arun(root, base_url, "apply", "--yes")[0] == 0
    code, stdout, stderr = arun(root, base_url, "replay", "-o", out, *names)
    assert code in ((0, 1) if passes is None else (0,) if passes else (1,)), stdout + stderr
    return {name: read_transcript(root / out / f"{name}.yaml", name) for name in names}


def test_replies_carry_no_markers_and_citations_name_project_files(project: Path, base_url: str) -> None:
    names = ("novel-guide/storm-night", "novel-guide/korean-question")
    for name, data in replayed(project, base_url, "out", *names).items():
        assert data["api"] == "assistants"
        (reply,) = data["turns"][0]["reply"]
        assert "【" not in reply["text"] and "arun~" not in reply["text"], name
        (citation,) = reply["citations"]
        assert citation["file"].startswith("corpus/harbor-light/")
        # The citation sits right after the quoted words it cites.
        assert reply["text"][: citation["index"]].endswith("”")
        assert reply["text"][citation["index"] :] == "."
    text = (project / "out" / "novel-guide" / "storm-night.yaml").read_text(encoding="utf-8")
    assert "arun~" not in text and "file-" not in text


def test_editing_a_cited_file_away_from_the_cited_words_leaves_the_reply_alone(
    project: Path, base_url: str
) -> None:
    before = replayed(project, base_url, "before", "novel-guide/storm-night")["novel-guide/storm-night"]
    with (project / STORM).open("a", encoding="utf-8") as handle:
        handle.write("\nThe Marigold's skipper sent Odile a crate of oranges every winter after that.\n")
    after = replayed(project, base_url, "after", "novel-guide/storm-night")["novel-guide/storm-night"]
    assert after["turns"][0]["reply"] == before["turns"][0]["reply"]
    assert after["turns"][0]["reply"][0]["citations"] == [{"file": STORM, "index": 55}]


def test_a_description_or_metadata_edit_does_not_fail_the_diff(project: Path, base_url: str) -> None:
    replayed(project, base_url, "golden", "novel-guide/storm-night", "math-tutor/seed-jane-doe")
    spec = project / "assistants" / "novel-guide.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("citing its chapters.", "citing its chapters (v2).")
        + "metadata:\n  team: docs\n",
        encoding="utf-8",
    )
    replayed(project, base_url, "new", "novel-guide/storm-night", "math-tutor/seed-jane-doe")
    code, out, _ = arun(project, base_url, "diff", str(project / "golden"), str(project / "new"))
    assert code == 0, out
    assert out.startswith("= novel-guide/storm-night: same (not compared: spec_hash: sha256:")
    assert out.endswith("2 scenarios: 2 same; no differences.\n")
    code, out, _ = arun(
        project, base_url, "diff", str(project / "golden"), str(project / "new"), "--include", "spec_hash"
    )
    assert code == 1 and "~ novel-guide/storm-night: changed" in out and "math-tutor" not in out


def test_files_with_the_same_content_keep_their_own_paths(project: Path, base_url: str) -> None:
    # A name guess (owner key + content hash in the uploaded name) cannot tell these two apart.
    twin = "corpus/harbor-light/04-the-storm-again.md"
    shutil.copyfile(project / STORM, project / twin)
    # The twin may be the one cited (equal scores, ties fall by file id), so the citation check may fail.
    data = replayed(project, base_url, "out", "novel-guide/storm-night", passes=None)[
        "novel-guide/storm-night"
    ]
    (search,) = data["turns"][0]["steps"][0]["calls"]
    files = [result["file"] for result in search["results"]]
    assert sorted(files[:2]) == [STORM, twin]
    assert len(set(files)) == len(files)
    client = openai.OpenAI(base_url=base_url, api_key=TEST_KEY, max_retries=0)
    assert len([f for f in client.files.list(purpose="assistants") if f.filename.endswith(".md")]) == 4
    client.close()


def _desired(*files: DesiredFile) -> DesiredAssistant:
    return DesiredAssistant("k", {}, (), files, "sha256:x")


def test_code_files_are_labelled_by_their_recorded_place_and_hash() -> None:
    a, b, c = (DesiredFile(f"data/{n}.csv", n * 64, 1) for n in "abc")
    same_as_a = DesiredFile("data/a-copy.csv", "a" * 64, 1)
    remote = RemoteAssistant(
        "asst_1",
        "k",
        0,
        {
            "metadata": {"arun_files": ",".join(f.short for f in (a, same_as_a, c, b))},
            "tool_resources": {"code_interpreter": {"file_ids": ["f1", "f2", "f3", "f4"]}},
        },
    )
    # f1, f2: same content, told apart by place; f3 at its place; f4 moved: the only file with its content.
    assert code_labels(remote, _desired(a, same_as_a, c, b)) == {
        "f1": a.path,
        "f2": same_as_a.path,
        "f3": c.path,
        "f4": b.path,
    }
    assert code_labels(remote, _desired(c, b)) == {"f3": c.path, "f4": b.path}  # f1, f2: ambiguous
    files = [RemoteStoreFile("f9", "corpus/x.md", "sha"), RemoteStoreFile("f8", None, None)]
    assert search_labels(files) == {"f9": "corpus/x.md"}
