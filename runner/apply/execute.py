"""Executing a plan. Every write is ordered so that a crash at any point leaves only what the next plan
recognises and cleans up: files are uploaded before anything points at them, old files are deleted only
after nothing points at them any more, and newer duplicates from concurrent applies are removed.

Another apply may be writing at the same time (there is no lock to share). Two rules keep it from doing
harm: a vector store or file is deleted only if a fresh look, taken after the plan's other writes, finds
nothing that uses it (`read_references`); and a write that fails because something it refers to has just
gone stops this round quietly (`conflict`), so that `converge` plans again from what is there now."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from runner.api.session import Api
from runner.apply.desired import KEY_KEY, KEY_MANAGED, MANAGED_VALUE, DesiredAssistant
from runner.apply.plan import DEFAULTS, Change, FileAction, Plan
from runner.apply.remote import References, read_assistants, read_references
from runner.errors import ApiError, ApiNotFound

BATCH_DEADLINE_S = 300.0


class ApplyFailed(ApiError):
    """Part of a plan was applied; the message says what was done and what was not."""


class _Conflict(Exception):
    """A write referred to an object that was deleted meanwhile: another apply is at work."""


def _is_conflict(exc: ApiError) -> bool:
    # 404 for the object itself or a file it names; the Assistants API answers 400 "... not found" for a
    # vector store named in tool_resources.
    return isinstance(exc, ApiNotFound) or "not found" in str(exc).lower()


def api_body(want: DesiredAssistant) -> dict[str, Any]:
    fields = want.fields
    body = {
        name: fields.get(name, default) if fields.get(name) is not None else default
        for name, default in DEFAULTS.items()
    }
    body["model"] = fields["model"]
    body["tools"] = fields.get("tools", [])
    if "reasoning_effort" in fields:
        body["reasoning_effort"] = fields["reasoning_effort"]
    body["metadata"] = want.metadata()
    return body


class Executor:
    def __init__(self, api: Api, root: Path, hook: Callable[[str], None] | None = None) -> None:
        self.api = api
        self.root = root
        # Called before every write with its description; tests use it to cut an apply off at each step.
        self.hook = hook
        self.done: list[str] = []
        self.created: dict[str, str] = {}  # key -> assistant id this apply created
        self.deduplicated: list[str] = []
        self.spared: list[str] = []  # deletions skipped because something uses the object now
        self.conflict: str | None = None  # set when a round stopped because another apply got in the way
        self._replaced: list[tuple[str, str]] = []  # (key, file id) to delete once updates are done
        self._references: References | None = None

    @property
    def disturbed(self) -> bool:
        """Whether this round saw signs of another writer."""
        return bool(self.conflict or self.spared or self.deduplicated)

    def write(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.hook is not None:
            self.hook(what)
        try:
            result = self.api.call(what, fn, *args, write=True, **kwargs)
        except ApiError as exc:
            if _is_conflict(exc):
                raise _Conflict(str(exc)) from None
            raise
        self.done.append(what)
        return result

    def run(self, plan: Plan) -> list[str]:
        total = len(plan.changes)
        try:
            try:
                for change in plan.changes:
                    handler = getattr(self, f"_{change.action}_{change.kind}")
                    handler(change)
                for key, file_id in self._replaced:
                    self._delete_unused(
                        "file",
                        file_id,
                        f"delete replaced file {file_id} of {key}",
                        self.api.client.files.delete,
                    )
            except _Conflict as exc:
                self.conflict = str(exc)
            if self.created:
                self._remove_newer_duplicates()
        except ApiError as exc:
            raise ApplyFailed(self._report(str(exc), total)) from None
        except KeyboardInterrupt:
            click.echo(self._report("interrupted", total), err=True)
            raise
        return self.done

    def _report(self, problem: str, total: int) -> str:
        done = "\n".join(f"  done: {step}" for step in self.done) or "  done: nothing"
        return (
            f"apply stopped: {problem}\n{done}\n"
            f"The rest of the {total} planned change(s) was not applied. Run `arun apply` again: it picks up "
            "from what is there now and removes anything left half made."
        )

    # Files and vector stores

    def _file_id(self, key: str, action: FileAction) -> str:
        if action.action in ("keep", "reuse"):
            assert action.file_id is not None
            return action.file_id
        assert action.file is not None
        want = action.file
        data = (self.root / want.path).read_bytes()
        uploaded = self.write(
            f"upload {want.path} for {key}",
            self.api.client.files.create,
            file=(want.upload_name(key), data),
            purpose="assistants",
        )
        return str(uploaded.id)

    def _attach(self, key: str, store_id: str, actions: list[FileAction]) -> None:
        files = []
        for action in actions:
            assert action.file is not None
            attributes = {"arun_path": action.file.path, "arun_sha256": action.file.sha256}
            files.append({"file_id": self._file_id(key, action), "attributes": attributes})
        if not files:
            return
        client = self.api.client
        batch = self.write(
            f"add {len(files)} file(s) to the vector store of {key}",
            client.vector_stores.file_batches.create,
            store_id,
            files=files,
        )
        deadline = time.monotonic() + BATCH_DEADLINE_S
        while batch.status == "in_progress":
            if time.monotonic() > deadline:
                raise ApiError(f"the vector store of {key} was still indexing after {BATCH_DEADLINE_S:.0f} s")
            time.sleep(0.5)
            try:
                batch = self.api.call(
                    "wait for indexing",
                    client.vector_stores.file_batches.retrieve,
                    batch.id,
                    vector_store_id=store_id,
                )
            except ApiNotFound as exc:  # the store was deleted while it indexed
                raise _Conflict(str(exc)) from None
        if batch.status != "completed" or batch.file_counts.failed:
            raise ApiError(
                f"indexing the files of {key} ended {batch.status} ({batch.file_counts.failed} failed)"
            )

    def _new_store(self, want: DesiredAssistant, actions: list[FileAction]) -> str:
        metadata = {KEY_MANAGED: MANAGED_VALUE, KEY_KEY: want.key}
        store = self.write(
            f"create the vector store of {want.key}",
            self.api.client.vector_stores.create,
            name=f"arun: {want.key}",
            metadata=metadata,
        )
        self._attach(want.key, store.id, actions)
        return str(store.id)

    def _delete(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # Already gone (a concurrent apply, or a retry after a lost answer) is what we wanted.
        with contextlib.suppress(_Conflict):
            self.write(what, fn, *args, **kwargs)

    def _delete_unused(self, kind: str, object_id: str, what: str, fn: Callable[..., Any]) -> None:
        """Delete a vector store or file unless something uses it now. The plan saw it unused, but the
        plan is a moment old, and an object made while it was being read can look unused."""
        if self._references is None:
            # One fresh look per round, after its assistants were written and before its first deletion.
            self._references = read_references(self.api)
        refs = self._references
        used = object_id in refs.stores if kind == "vector_store" else refs.file_in_use(object_id)
        if used:
            self.spared.append(f"{what}: skipped, it is in use now")
            return
        self._delete(what, fn, object_id)
        if kind == "vector_store":
            refs.forget_store(object_id)

    # Assistants

    def _resources(self, want: DesiredAssistant, change: Change) -> dict[str, Any]:
        code = [
            self._file_id(want.key, a)
            for a in change.files
            if a.tool == "code_interpreter" and a.action != "remove"
        ]
        search = [a for a in change.files if a.tool == "file_search" and a.action != "remove"]
        resources: dict[str, Any] = {
            "code_interpreter": {"file_ids": code},
            "file_search": {"vector_store_ids": []},
        }
        if want.search_files:
            if change.store is None:
                store_id = self._new_store(want, search)
            else:
                store_id = change.store.id
                self._attach(want.key, store_id, [a for a in search if a.action != "keep"])
                for gone in (a for a in change.files if a.tool == "file_search" and a.action == "remove"):
                    self._delete(
                        f"detach {gone.path or gone.file_id} from {want.key}",
                        self.api.client.vector_stores.files.delete,
                        gone.file_id,
                        vector_store_id=store_id,
                    )
            resources["file_search"]["vector_store_ids"] = [store_id]
        return resources

    def _create_assistant(self, change: Change) -> None:
        want = change.desired
        assert want is not None
        body = api_body(want)
        body["tool_resources"] = self._resources(want, change)
        created = self.write(f"create assistant {want.key}", self.api.client.beta.assistants.create, **body)
        self.created[want.key] = str(created.id)

    def _update_assistant(self, change: Change) -> None:
        want = change.desired
        assert want is not None and change.id is not None
        body = api_body(want)
        body["tool_resources"] = self._resources(want, change)
        self.write(f"update assistant {want.key}", self.api.client.beta.assistants.update, change.id, **body)
        self._replaced += [
            (want.key, f.file_id) for f in change.files if f.action == "remove" and f.delete and f.file_id
        ]

    # Files and vector stores alone (--api responses: there is no assistant to point at them)

    def _create_file(self, change: Change) -> None:
        for action in change.files:
            self._file_id(change.key, action)

    def _create_vector_store(self, change: Change) -> None:
        assert change.desired is not None
        self._new_store(change.desired, [a for a in change.files if a.action != "remove"])

    def _update_vector_store(self, change: Change) -> None:
        assert change.id is not None
        self._attach(change.key, change.id, [a for a in change.files if a.action in ("upload", "reuse")])
        for gone in (a for a in change.files if a.action == "remove"):
            self._delete(
                f"detach {gone.path or gone.file_id} from the vector store of {change.key}",
                self.api.client.vector_stores.files.delete,
                gone.file_id,
                vector_store_id=change.id,
            )
            if gone.delete and gone.file_id:
                self._replaced.append((change.key, gone.file_id))

    def _delete_assistant(self, change: Change) -> None:
        self._delete(
            f"delete assistant {change.key} ({change.id}, {change.reason})",
            self.api.client.beta.assistants.delete,
            change.id,
        )

    def _delete_vector_store(self, change: Change) -> None:
        assert change.id is not None
        what = f"delete vector store {change.id} of {change.key}"
        self._delete_unused("vector_store", change.id, what, self.api.client.vector_stores.delete)

    def _delete_file(self, change: Change) -> None:
        assert change.id is not None
        what = f"delete file {change.id} of {change.key}"
        self._delete_unused("file", change.id, what, self.api.client.files.delete)

    def _remove_newer_duplicates(self) -> None:
        # There is no lock to share between machines: after creating, look again, and if another apply
        # created the same key first, remove ours. The next plan brings the survivor up to date.
        assistants, _ = read_assistants(self.api)
        for key, mine in self.created.items():
            copies = assistants.get(key, [])
            if copies and copies[0].id != mine and any(c.id == mine for c in copies):
                self.deduplicated.append(key)
                self._delete(
                    f"delete assistant {key} ({mine}): another apply created it first",
                    self.api.client.beta.assistants.delete,
                    mine,
                )
