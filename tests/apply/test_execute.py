"""Executing a plan while someone else writes: deletions spare what is in use now, and a write that
meets an object deleted meanwhile makes apply plan again instead of failing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from runner.api.session import Api
from runner.apply.desired import DesiredFile, desired_state
from runner.apply.execute import Executor
from runner.apply.plan import compute_plan
from runner.apply.remote import read_remote
from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions, run_plan
from runner.errors import ApiError
from runner.project.load import require_project
from runner.server.embedded import EmbeddedServer

from ..commands.conftest import TEST_KEY

YAML = (
    "name: Tutor\nmodel: gpt-4o\ninstructions: Help.\ntools:\n  - type: code_interpreter\n"
    "files:\n  code_interpreter:\n    - data/t.csv\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "assistants").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "assistants/tutor.yaml").write_text(YAML)
    (root / "data/t.csv").write_text("x,y\n1,2\n")
    return root


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Api, openai.OpenAI, ApiOptions]]:
    with EmbeddedServer(tmp_path / "server.db", TEST_KEY) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        yield Api(client, server.base_url), client, ApiOptions(server.base_url, TEST_KEY)
        client.close()


def stray_upload(client: openai.OpenAI, content: bytes) -> str:
    """An upload arun made and nothing uses (an apply cut off before attaching it)."""
    want = DesiredFile("data/old.csv", hashlib.sha256(content).hexdigest(), len(content))
    return client.files.create(file=(want.upload_name("tutor"), content), purpose="assistants").id


def test_a_deletion_planned_while_unused_spares_what_uses_it_now(
    project: Path, live: tuple[Api, openai.OpenAI, ApiOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    api, client, options = live
    assert run_apply(project, options, yes=True) == 0
    stray = stray_upload(client, b"old content\n")
    plan = compute_plan(desired_state(require_project(project)), read_remote(api))
    assert [(c.action, c.kind, c.id) for c in plan.changes] == [("delete", "file", stray)]
    # Between that plan and its execution, someone makes a hand-made assistant use the file.
    client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [stray]}},
    )
    executor = Executor(api, project)
    executor.run(plan)
    assert executor.spared == [f"delete file {stray} of tutor: skipped, it is in use now"]
    assert client.files.retrieve(stray).id == stray
    # And plans from now on leave it alone: what anything uses is never arun's to delete.
    capsys.readouterr()
    assert run_plan(project, options) == 0


def test_a_write_that_meets_a_deleted_object_plans_again(
    project: Path, live: tuple[Api, openai.OpenAI, ApiOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    _, client, options = live
    stray = stray_upload(client, (project / "data/t.csv").read_bytes())
    deleted: list[str] = []

    def hook(what: str) -> None:
        # The plan reuses the stray upload; another apply deletes it just before ours creates the assistant.
        if what == "create assistant tutor" and not deleted:
            client.files.delete(stray)
            deleted.append(stray)

    assert run_apply(project, options, yes=True, hook=hook) == 0
    out = capsys.readouterr().out
    assert "+ file data/t.csv (code_interpreter, reuse upload " + stray + ")" in out
    assert out.splitlines()[-1].startswith("Applied in 2 rounds (another writer was at work): 1 created")
    (assistant,) = client.beta.assistants.list()
    assert assistant.tool_resources and assistant.tool_resources.code_interpreter
    (file_id,) = assistant.tool_resources.code_interpreter.file_ids or []
    assert file_id != stray and client.files.retrieve(file_id).filename.endswith("~t.csv")
    assert run_plan(project, options) == 0


def test_an_apply_that_keeps_failing_the_same_way_says_so(
    project: Path, live: tuple[Api, openai.OpenAI, ApiOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No other writer, and executing the plan changes nothing: apply fails loudly, after one round."""
    _, _, options = live
    calls: list[str] = []
    monkeypatch.setattr(Executor, "_create_assistant", lambda self, change: calls.append(change.key))
    with pytest.raises(ApiError) as caught:
        run_apply(project, options, yes=True)
    assert "a fresh plan is not empty (and executing it again would change nothing)" in str(caught.value)
    assert "+ assistant tutor" in str(caught.value)
    assert calls == ["tutor"]  # not retried round after round
