"""apply on --api responses: files and vector stores only, with the same markers, drift, prune,
convergence and crash safety as on Assistants, and never an assistant object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from runner.api.session import Api
from runner.apply.desired import desired_state
from runner.apply.files_only import managed_resources
from runner.apply.remote import read_remote
from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions, run_plan
from runner.project.load import require_project
from runner.server.embedded import EmbeddedServer

from ..applying import cut_at_every_write, race
from ..commands.conftest import TEST_KEY

YAML = """name: Helper
model: gpt-4o
instructions: Help.
tools:
  - type: file_search
  - type: code_interpreter
files:
  file_search:
    - docs/*.md
  code_interpreter:
    - data/t.csv
"""


@dataclass
class Live:
    client: openai.OpenAI
    options: ApiOptions
    log: Path
    api: Api

    def calls(self) -> list[tuple[str, str]]:
        rows = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [(str(r["method"]), str(r["path"])) for r in rows]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for folder in ("assistants", "docs", "data"):
        (root / folder).mkdir(parents=True)
    (root / "assistants/helper.yaml").write_text(YAML)
    (root / "docs/a.md").write_text("Alpha notes.\n")
    (root / "docs/b.md").write_text("Beta notes.\n")
    (root / "data/t.csv").write_text("x,y\n1,2\n")
    return root


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    log = tmp_path / "access.jsonl"
    with (
        log.open("a", encoding="utf-8") as handle,
        EmbeddedServer(tmp_path / "server.db", TEST_KEY, access_log=handle) as server,
    ):
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        yield Live(
            client, ApiOptions(server.base_url, TEST_KEY, api="responses"), log, Api(client, server.base_url)
        )
        client.close()


def state(client: openai.OpenAI) -> dict[str, list[str]]:
    """What is on the server, checked for dangling references and orphans on the way."""
    files = {f.id: f.filename.split("~")[3] for f in client.files.list()}
    stores = list(client.vector_stores.list())
    store_files = []
    for store in stores:
        for entry in client.vector_stores.files.list(store.id):
            assert entry.id in files, "a store entry whose file is gone"
            store_files.append(files[entry.id])
    return {
        "assistants": [a.id for a in client.beta.assistants.list()],
        "stores": sorted(s.metadata["arun_key"] for s in stores),
        "files": sorted(files.values()),
        "store_files": sorted(store_files),
    }


CONVERGED = {
    "assistants": [],
    "stores": ["helper"],
    "files": ["a.md", "b.md", "t.csv"],
    "store_files": ["a.md", "b.md"],
}


def test_apply_makes_the_files_and_the_store_and_no_assistant(
    project: Path, live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_plan(project, live.options) == 2
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "--api responses: arun manages files and vector stores only; there are no assistant objects "
        "(each request carries its assistant inline).",
        "+ vector store helper",
    ]
    assert "+ file helper\n    + file data/t.csv (code_interpreter, upload)" in out
    assert run_apply(project, live.options, yes=True) == 0
    assert state(live.client) == CONVERGED
    assert not [c for c in live.calls() if c[1].startswith("/v1/assistants") and c[0] != "GET"]
    capsys.readouterr()
    assert run_plan(project, live.options) == 0
    assert capsys.readouterr().out.endswith(
        "No changes. 0 to create, 0 to update, 0 to delete. 4 API requests.\n"
    )
    # What a Responses request for it would name: the store and the upload just made.
    remote = read_remote(live.api)
    managed = managed_resources(desired_state(require_project(project))["helper"], remote)
    assert managed is not None
    (store_id,) = managed.vector_store_ids
    assert remote.stores[store_id].key == "helper"
    assert [remote.files[i].filename.endswith("~t.csv") for i in managed.code_file_ids] == [True]


def test_a_no_op_apply_writes_nothing(project: Path, live: Live) -> None:
    run_apply(project, live.options, yes=True)
    before = len(live.calls())
    assert run_apply(project, live.options, yes=True) == 0
    assert [c for c in live.calls()[before:] if c[0] != "GET"] == []


def test_deleted_objects_are_drift_and_apply_repairs_them(
    project: Path, live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    run_apply(project, live.options, yes=True)
    by_name = {f.filename.split("~")[3]: f.id for f in live.client.files.list()}
    live.client.files.delete(by_name["t.csv"])
    live.client.files.delete(by_name["a.md"])
    capsys.readouterr()
    assert run_plan(project, live.options) == 2
    out = capsys.readouterr().out
    assert "+ file helper\n    + file data/t.csv (code_interpreter, upload)" in out
    assert f"- file docs/a.md (file_search, detach {by_name['a.md']}: the file is gone)" in out
    assert run_apply(project, live.options, yes=True) == 0
    assert state(live.client) == CONVERGED
    (store,) = live.client.vector_stores.list()
    live.client.vector_stores.delete(store.id)
    assert run_apply(project, live.options, yes=True) == 0
    assert state(live.client) == CONVERGED


def test_changed_content_replaces_the_file_and_leaves_no_orphan(project: Path, live: Live) -> None:
    run_apply(project, live.options, yes=True)
    (project / "docs/a.md").write_text("Alpha notes, revised.\n")
    (project / "data/t.csv").write_text("x,y\n3,4\n")
    assert run_apply(project, live.options, yes=True) == 0
    assert state(live.client) == CONVERGED


def test_prune_only_with_the_flag(project: Path, live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    run_apply(project, live.options, yes=True)
    (project / "assistants/helper.yaml").unlink()
    (project / "assistants/other.yaml").write_text("model: gpt-4o\n")
    capsys.readouterr()
    assert run_plan(project, live.options) == 0
    assert "! helper: its YAML is gone; `arun apply --prune` deletes its files and vector store" in (
        capsys.readouterr().out
    )
    assert run_apply(project, live.options, prune=True, yes=True) == 0
    assert state(live.client) == {"assistants": [], "stores": [], "files": [], "store_files": []}


def test_cut_off_at_every_write_then_converges(project: Path, tmp_path: Path) -> None:
    def converged(server: EmbeddedServer, cuts: int) -> None:
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert state(client) == CONVERGED, f"after a cut before write {cuts + 1}"
        client.close()

    # three uploads, the store, its file batch
    assert cut_at_every_write(project, tmp_path, TEST_KEY, converged, api="responses") == 5


@pytest.mark.parametrize("gate", [0, 2, 4])
def test_two_applies_at_once_converge(project: Path, tmp_path: Path, gate: int) -> None:
    with EmbeddedServer(tmp_path / "race.db", TEST_KEY) as server:
        options = ApiOptions(server.base_url, TEST_KEY, api="responses")
        assert race(project, options, gate) == []
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert state(client) == CONVERGED
        assert run_plan(project, options) == 0
        client.close()


def test_the_two_protocols_share_the_files_and_the_store(project: Path, live: Live) -> None:
    assert run_apply(project, live.options, yes=True) == 0
    (store,) = live.client.vector_stores.list()
    before = len(live.calls())
    assistants = ApiOptions(live.options.base_url, TEST_KEY)
    assert run_apply(project, assistants, yes=True) == 0
    writes = [c for c in live.calls()[before:] if c[0] != "GET"]
    assert writes == [("POST", "/v1/assistants")]  # nothing uploaded or indexed again
    (assistant,) = live.client.beta.assistants.list()
    assert assistant.tool_resources and assistant.tool_resources.file_search
    assert assistant.tool_resources.file_search.vector_store_ids == [store.id]
    assert run_plan(project, live.options) == 0
    assert run_plan(project, assistants) == 0
