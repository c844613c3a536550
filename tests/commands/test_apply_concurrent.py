"""Two applies at once (issue 11): whatever the interleaving, they converge with no dangling reference.

Each trial runs two real applies in two threads against one local server on loopback, and makes the
second plan at a different point of the first one's writes: both before any write, then after 2, 4, ...
writes, while the first waits until the second has planned. That is where a plan is made from a
half-written state and the other apply then deletes what it thought unused.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions, run_plan
from runner.server.embedded import EmbeddedServer

from ..applying import race
from .conftest import TEST_KEY

KEYS = [f"helper-{n}" for n in range(4)]
WRITES_OF_ONE_APPLY = 6 * len(KEYS)  # per key: 3 uploads, a store, its file batch, the assistant


def make_project(root: Path) -> Path:
    (root / "assistants").mkdir(parents=True)
    (root / "docs").mkdir()
    for key in KEYS:
        (root / "docs" / f"{key}-1.md").write_text(f"First notes of {key}.\n")
        (root / "docs" / f"{key}-2.md").write_text(f"Second notes of {key}.\n")
        (root / "docs" / f"{key}.csv").write_text(f"x,y\n{len(key)},1\n")
        (root / "assistants" / f"{key}.yaml").write_text(
            f"name: {key}\nmodel: gpt-4o\ninstructions: Help.\n"
            "tools:\n  - type: file_search\n  - type: code_interpreter\n"
            f"files:\n  file_search:\n    - docs/{key}-*.md\n  code_interpreter:\n    - docs/{key}.csv\n"
        )
    return root


def dangling_and_duplicates(client: openai.OpenAI) -> list[str]:
    """Everything wrong with the server's state, as readable lines (empty when it is right)."""
    problems: list[str] = []
    assistants = list(client.beta.assistants.list(limit=100))
    files = {f.id: f.filename for f in client.files.list(limit=10_000)}
    stores = list(client.vector_stores.list(limit=100))
    store_ids = {s.id for s in stores}
    by_key: dict[str, list[str]] = {}
    used_stores: set[str] = set()
    used_files: set[str] = set()
    for assistant in assistants:
        key = assistant.metadata["arun_key"]
        by_key.setdefault(key, []).append(assistant.id)
        resources = assistant.tool_resources
        assert resources is not None and resources.code_interpreter and resources.file_search
        for file_id in resources.code_interpreter.file_ids or []:
            used_files.add(file_id)
            if file_id not in files:
                problems.append(f"assistant {key} uses deleted file {file_id}")
        for store_id in resources.file_search.vector_store_ids or []:
            used_stores.add(store_id)
            if store_id not in store_ids:
                problems.append(f"assistant {key} uses deleted vector store {store_id}")
    stores_by_key: dict[str, list[str]] = {}
    for store in stores:
        key = store.metadata["arun_key"]
        stores_by_key.setdefault(key, []).append(store.id)
        if store.id not in used_stores:
            problems.append(f"vector store {store.id} of {key} is used by no assistant")
        for entry in client.vector_stores.files.list(store.id, limit=100):
            used_files.add(entry.id)
            if entry.id not in files:
                problems.append(f"vector store of {key} holds deleted file {entry.id}")
    problems += [f"file {name} is used by nothing" for i, name in files.items() if i not in used_files]
    for kind, groups in (("assistants", by_key), ("vector stores", stores_by_key)):
        if sorted(groups) != KEYS:
            problems.append(f"{kind} for {sorted(groups)}, not one for each of {KEYS}")
        problems += [f"{len(ids)} {kind} for {key}" for key, ids in groups.items() if len(ids) != 1]
    if len(files) != 3 * len(KEYS):
        problems.append(f"{len(files)} files, not {3 * len(KEYS)}")
    return problems


# Ten trials: the second apply plans before the first one's first write, and after 2, 5, 7, ... of its 24.
GATES = [round(trial * WRITES_OF_ONE_APPLY / 10) for trial in range(10)]


@pytest.mark.parametrize("gate", GATES)
def test_two_applies_at_once_converge_without_dangling_references(
    gate: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(GATES) == 10
    project = make_project(tmp_path / "project")
    with EmbeddedServer(tmp_path / "race.db", TEST_KEY) as server:
        options = ApiOptions(server.base_url, TEST_KEY)
        assert race(project, options, gate) == []
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert dangling_and_duplicates(client) == []
        capsys.readouterr()
        assert run_plan(project, options) == 0
        assert capsys.readouterr().out.startswith("No changes.")
        client.close()


def test_damage_the_race_used_to_leave_is_seen_by_plan_and_repaired_by_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of damage from the issue, made by hand: the check above names it (so it is not
    vacuous), plan reports it instead of "No changes", and apply repairs it."""
    project = make_project(tmp_path / "project")
    with EmbeddedServer(tmp_path / "check.db", TEST_KEY) as server:
        options = ApiOptions(server.base_url, TEST_KEY)
        assert run_apply(project, options, yes=True) == 0
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert dangling_and_duplicates(client) == []
        by_key = {a.metadata["arun_key"]: a.tool_resources for a in client.beta.assistants.list()}
        first, second = by_key[KEYS[0]], by_key[KEYS[1]]
        assert first and first.code_interpreter and first.file_search and second and second.file_search
        (code_file,) = first.code_interpreter.file_ids or []
        (first_store,) = first.file_search.vector_store_ids or []
        (second_store,) = second.file_search.vector_store_ids or []
        search_file = next(iter(client.vector_stores.files.list(first_store))).id
        client.files.delete(code_file)
        client.files.delete(search_file)
        client.vector_stores.delete(second_store)
        stray = client.vector_stores.create(
            name="stray", metadata={"arun_managed": "true", "arun_key": KEYS[2]}
        ).id
        found = dangling_and_duplicates(client)
        for problem in (
            f"assistant {KEYS[0]} uses deleted file {code_file}",
            f"vector store of {KEYS[0]} holds deleted file {search_file}",
            f"assistant {KEYS[1]} uses deleted vector store {second_store}",
            f"vector store {stray} of {KEYS[2]} is used by no assistant",
            f"2 vector stores for {KEYS[2]}",
        ):
            assert problem in found
        capsys.readouterr()
        assert run_plan(project, options) == 2
        out = capsys.readouterr().out
        assert f"~ assistant {KEYS[0]} " in out and f"~ assistant {KEYS[1]} " in out
        assert f"detach {search_file}: the file is gone" in out
        assert f"! vector store {second_store} is gone: a new one is made" in out
        assert f"- vector store {KEYS[2]} ({stray}): unreferenced" in out
        assert run_apply(project, options, yes=True) == 0
        assert dangling_and_duplicates(client) == []
        capsys.readouterr()
        assert run_plan(project, options) == 0
        client.close()
