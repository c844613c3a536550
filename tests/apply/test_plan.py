"""Drift detection, as pure planning: a reference to an object that no longer exists is drift."""

from __future__ import annotations

from typing import Any

from runner.apply.desired import DesiredAssistant, DesiredFile, spec_hash
from runner.apply.plan import Change, FileAction, compute_plan
from runner.apply.remote import RemoteAssistant, RemoteFile, RemoteState, RemoteStore, RemoteStoreFile
from runner.apply.render import plan_json, render_plan

FIELDS: dict[str, Any] = {
    "model": "gpt-4o",
    "name": "Guide",
    "instructions": "Answer from the files.",
    "tools": [{"type": "file_search"}, {"type": "code_interpreter"}],
}
DOC = DesiredFile("docs/a.md", "a" * 64, 10)
CSV = DesiredFile("data/t.csv", "c" * 64, 20)


def desired() -> dict[str, DesiredAssistant]:
    want = DesiredAssistant("guide", FIELDS, (DOC,), (CSV,), spec_hash(FIELDS, (DOC,), (CSV,)))
    return {"guide": want}


def remote(
    *,
    files: tuple[str, ...] = ("file-doc", "file-csv"),
    stores: tuple[str, ...] = ("vs_1",),
    store_files: list[RemoteStoreFile] | None = None,
) -> RemoteState:
    """What a converged apply of `desired()` leaves, minus whatever the test says has gone."""
    want = desired()["guide"]
    raw = {
        **FIELDS,
        "description": None,
        "temperature": 1.0,
        "top_p": 1.0,
        "response_format": "auto",
        "metadata": want.metadata(),
        "tool_resources": {
            "code_interpreter": {"file_ids": ["file-csv"]},
            "file_search": {"vector_store_ids": ["vs_1"]},
        },
    }
    assistant = RemoteAssistant("asst_1", "guide", 100, raw)
    known = {
        "file-doc": RemoteFile("file-doc", DOC.upload_name("guide"), "guide", DOC.short, 90),
        "file-csv": RemoteFile("file-csv", CSV.upload_name("guide"), "guide", CSV.short, 90),
    }
    entries = store_files if store_files is not None else [RemoteStoreFile("file-doc", DOC.path, DOC.sha256)]
    all_stores = {"vs_1": RemoteStore("vs_1", "guide", 95, entries)}
    return RemoteState(
        {"guide": [assistant]},
        {i: s for i, s in all_stores.items() if i in stores},
        {i: f for i, f in known.items() if i in files},
        store_ids=frozenset(stores),
        file_ids=frozenset(files),
    )


def only_change(state: RemoteState) -> Change:
    plan = compute_plan(desired(), state)
    assert len(plan.changes) == 1, plan.changes
    return plan.changes[0]


def test_a_converged_remote_plans_nothing() -> None:
    assert compute_plan(desired(), remote()).empty


def test_a_vector_store_file_whose_file_was_deleted_is_drift() -> None:
    change = only_change(remote(files=("file-csv",)))
    assert (change.action, change.kind, change.reason) == ("update", "assistant", "drift")
    assert change.file_changes == (
        FileAction("remove", "file_search", "docs/a.md", "file-doc", delete=False, gone=True),
        FileAction("upload", "file_search", "docs/a.md", None, DOC),
    )


def test_a_code_interpreter_file_that_was_deleted_is_drift() -> None:
    change = only_change(remote(files=("file-doc",)))
    assert change.reason == "drift"
    assert change.file_changes == (
        FileAction("upload", "code_interpreter", "data/t.csv", None, CSV),
        FileAction("remove", "code_interpreter", None, "file-csv", delete=False, gone=True),
    )


def test_a_vector_store_that_was_deleted_is_drift_and_a_new_one_is_made() -> None:
    change = only_change(remote(stores=()))
    assert change.reason == "drift"
    assert change.store is None  # so apply makes a store, uploads the file and points the assistant at it
    assert change.notes == ("vector store vs_1 is gone: a new one is made",)
    assert change.file_changes == (
        FileAction("reuse", "file_search", "docs/a.md", "file-doc", DOC),  # the upload itself survived
    )


def test_a_failed_vector_store_file_is_drift() -> None:
    failed = [RemoteStoreFile("file-doc", DOC.path, DOC.sha256, "failed")]
    change = only_change(remote(store_files=failed))
    assert [(f.action, f.file_id) for f in change.file_changes] == [("remove", "file-doc"), ("upload", None)]


def test_an_unreferenced_duplicate_store_is_deleted_and_the_used_one_kept() -> None:
    state = remote()
    state.stores["vs_2"] = RemoteStore(
        "vs_2", "guide", 99, [RemoteStoreFile("file-doc", DOC.path, DOC.sha256)]
    )
    plan = compute_plan(desired(), state)
    assert [(c.action, c.kind, c.id, c.reason) for c in plan.changes] == [
        ("delete", "vector_store", "vs_2", "unreferenced")
    ]


def test_dangling_references_are_said_in_the_text_and_json_plans() -> None:
    plan = compute_plan(desired(), remote(stores=(), files=("file-doc",)))
    assert render_plan(plan, 4) == (
        "~ assistant guide (asst_1): drift\n"
        "    ! vector store vs_1 is gone: a new one is made\n"
        "    + file data/t.csv (code_interpreter, upload)\n"
        "    - file file-csv (code_interpreter, detach file-csv: the file is gone)\n"
        "    + file docs/a.md (file_search, reuse upload file-doc)\n"
        "Plan: 0 to create, 1 to update, 0 to delete. 4 API requests.\n"
    )
    (change,) = plan_json(plan, 4)["changes"]
    assert change["notes"] == ["vector store vs_1 is gone: a new one is made"]
    assert [f["gone"] for f in change["files"]] == [False, True, False]
