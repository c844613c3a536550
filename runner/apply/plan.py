"""A plan is data: desired vs remote as a sorted list of changes. Computing it never writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from runner.apply.desired import DesiredAssistant, DesiredFile
from runner.apply.remote import RemoteAssistant, RemoteState, RemoteStore, RemoteStoreFile

Action = Literal["create", "update", "delete"]
# Sent when the YAML leaves a field out, so that removing it from the YAML resets it on the API.
DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": None,
    "instructions": None,
    "temperature": 1.0,
    "top_p": 1.0,
    "response_format": "auto",
}
COMPARED = (
    "model",
    "name",
    "description",
    "instructions",
    "tools",
    "temperature",
    "top_p",
    "response_format",
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class FileAction:
    """`upload` a file (or `reuse` an earlier upload of the same content), `keep` it, or `remove` it."""

    action: Literal["upload", "reuse", "keep", "remove"]
    tool: Literal["file_search", "code_interpreter"]
    path: str | None
    file_id: str | None = None
    file: DesiredFile | None = None
    delete: bool = False  # for `remove`: also delete the file (only files arun uploaded)
    gone: bool = False  # for `remove`: the reference points at a file that no longer exists


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Literal["assistant", "vector_store", "file"]
    key: str
    id: str | None = None
    reason: str = ""
    fields: tuple[FieldChange, ...] = ()
    files: tuple[FileAction, ...] = ()
    desired: DesiredAssistant | None = field(default=None, compare=False, repr=False)
    store: RemoteStore | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()  # why an update is needed where fields and files do not say it

    @property
    def file_changes(self) -> tuple[FileAction, ...]:
        return tuple(f for f in self.files if f.action != "keep")


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unpruned: tuple[str, ...] = ()  # keys whose YAML is gone; only --prune deletes them
    remote: RemoteState | None = field(default=None, compare=False, repr=False)
    protocol: str = "assistants"  # "responses": files and vector stores only (runner/apply/files_only.py)

    @property
    def empty(self) -> bool:
        return not self.changes

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)


def _subset(desired: Any, remote: Any) -> bool:
    """Every value the YAML sets is on the remote; what it leaves out is the API's default."""
    if isinstance(desired, dict):
        return isinstance(remote, dict) and all(_subset(v, remote.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(remote, list) and len(desired) == len(remote) and all(map(_subset, desired, remote))
    return bool(desired == remote)


def _wanted(fields: dict[str, Any], name: str) -> Any:
    value = fields.get(name)
    return DEFAULTS.get(name) if value is None else value


def field_changes(want: DesiredAssistant, have: RemoteAssistant) -> list[FieldChange]:
    changes = []
    for name in COMPARED:
        after = _wanted(want.fields, name)
        before = have.raw.get(name)
        if name == "tools":
            same = _subset(after, before)
        elif name in ("temperature", "top_p"):
            same = before is not None and abs(float(after) - float(before)) < 1e-9
        elif name == "response_format":
            same = _subset(after, before if before is not None else "auto")
        else:
            same = after == before
        if not same:
            changes.append(FieldChange(name, before, after))
    if "reasoning_effort" in want.fields and want.fields["reasoning_effort"] != have.raw.get(
        "reasoning_effort"
    ):
        changes.append(
            FieldChange("reasoning_effort", have.raw.get("reasoning_effort"), want.fields["reasoning_effort"])
        )
    own = {k: v for k, v in have.metadata.items() if not k.startswith("arun_")}
    if own != want.fields.get("metadata", {}):
        changes.append(FieldChange("metadata", own, want.fields.get("metadata", {})))
    return changes


class _Planner:
    def __init__(self, desired: dict[str, DesiredAssistant], remote: RemoteState, prune: bool) -> None:
        self.desired = desired
        self.remote = remote
        self.prune = prune
        self.referenced: set[str] = set(remote.foreign)  # file ids a kept object uses
        self.removed: set[str] = set()  # file ids an update already detaches and deletes
        self.kept_stores: set[str] = set(remote.foreign)
        in_use = {i for copies in remote.assistants.values() for a in copies for i in a.code_file_ids}
        in_use |= remote.foreign
        in_use |= {f.file_id for s in remote.stores.values() for f in s.files}
        # Uploads nothing uses (an apply interrupted before attaching them) are reused, not uploaded again.
        orphans = sorted(
            (f for f in remote.files.values() if f.id not in in_use), key=lambda f: (f.created_at, f.id)
        )
        self.reusable = {(f.key, f.short): f.id for f in reversed(orphans)}
        self.changes: list[Change] = []
        self.unpruned: list[str] = []

    def _upload(self, key: str, tool: Any, want: DesiredFile) -> FileAction:
        reused = self.reusable.pop((key, want.short), None)
        if reused is not None:
            self.referenced.add(reused)
            return FileAction("reuse", tool, want.path, reused, want)
        return FileAction("upload", tool, want.path, None, want)

    def _remove(self, tool: Any, path: str | None, file_id: str) -> FileAction:
        delete = file_id in self.remote.files and file_id not in self.remote.foreign
        if delete:
            self.removed.add(file_id)
        gone = file_id not in self.remote.file_ids
        return FileAction("remove", tool, path, file_id, delete=delete, gone=gone)

    def _usable(self, entry: RemoteStoreFile) -> bool:
        # A store entry whose File was deleted (a concurrent apply, a hand) retrieves nothing useful on
        # the real API, which drops the entry, and dangles on servers that keep it: either way, drift.
        return entry.file_id in self.remote.files and entry.status not in ("failed", "cancelled")

    def _code_files(self, want: DesiredAssistant, have: RemoteAssistant | None) -> list[FileAction]:
        ids = have.code_file_ids if have else []
        hashes = have.code_file_hashes if have else []
        actions: list[FileAction] = []
        kept: set[str] = set()
        for index, wanted in enumerate(want.code_files):
            if (
                index < len(ids)
                and index < len(hashes)
                and hashes[index] == wanted.short
                and ids[index] in self.remote.files
            ):
                kept.add(ids[index])
                actions.append(FileAction("keep", "code_interpreter", wanted.path, ids[index], wanted))
            else:
                actions.append(self._upload(want.key, "code_interpreter", wanted))
        self.referenced |= kept
        actions += [self._remove("code_interpreter", None, i) for i in ids if i not in kept]
        return actions

    def _store_of(self, key: str, have: RemoteAssistant | None) -> RemoteStore | None:
        for store_id in have.vector_store_ids if have else []:
            store = self.remote.stores.get(store_id)
            if store is not None and store.key == key:
                return store
        return None

    def _search_files(self, want: DesiredAssistant, store: RemoteStore | None) -> list[FileAction]:
        # A path can be in the store twice (an apply cut off between adding a new version and removing the
        # old one): keep one entry whose content matches, remove the rest.
        by_path: dict[str | None, list[RemoteStoreFile]] = {}
        for entry in store.files if store else []:
            by_path.setdefault(entry.path, []).append(entry)
        actions: list[FileAction] = []
        for wanted in want.search_files:
            entries = by_path.pop(wanted.path, [])
            match = next((e for e in entries if e.sha256 == wanted.sha256 and self._usable(e)), None)
            if match is not None:
                self.referenced.add(match.file_id)
                actions.append(FileAction("keep", "file_search", wanted.path, match.file_id, wanted))
            actions += [self._remove("file_search", e.path, e.file_id) for e in entries if e is not match]
            if match is None:
                actions.append(self._upload(want.key, "file_search", wanted))
        actions += [self._remove("file_search", e.path, e.file_id) for rest in by_path.values() for e in rest]
        return actions

    def _adoptable(self, key: str) -> RemoteStore | None:
        """A managed store of this key that no assistant uses: made by `apply --api responses`, or left
        by an apply cut off before its assistant. Using it again saves uploading and indexing."""
        used = {i for copies in self.remote.assistants.values() for a in copies for i in a.vector_store_ids}
        free = [
            s for s in self.remote.stores.values() if s.key == key and s.id not in used | self.kept_stores
        ]
        return min(free, key=lambda s: (s.created_at, s.id)) if free else None

    def _desired_key(self, key: str, want: DesiredAssistant, copies: list[RemoteAssistant]) -> None:
        have = copies[0] if copies else None
        store = self._store_of(key, have)
        if store is None and want.search_files:
            store = self._adoptable(key)
        files = self._code_files(want, have) + self._search_files(want, store)
        if store is not None and want.search_files:
            self.kept_stores.add(store.id)
        if have is None:
            self.changes.append(
                Change(
                    "create", "assistant", key, reason="new", files=tuple(files), desired=want, store=store
                )
            )
            return
        fields = field_changes(want, have)
        store_change = bool(want.search_files) != (store is not None) or (
            store is not None and have.vector_store_ids != [store.id]
        )
        notes = tuple(
            f"vector store {i} is gone: {'a new one is made' if want.search_files else 'the reference is dropped'}"
            for i in have.vector_store_ids
            if i not in self.remote.store_ids
        )
        moved = any(f.action != "keep" for f in files) or store_change
        if fields or moved or have.spec_hash != want.spec_hash:
            reason = "drift" if have.spec_hash == want.spec_hash else "changed"
            change = Change(
                "update", "assistant", key, have.id, reason, tuple(fields), tuple(files), want, store, notes
            )
            self.changes.append(change)

    def _undesired_key(self, key: str, have: RemoteAssistant) -> None:
        if self.prune:
            self.changes.append(Change("delete", "assistant", key, have.id, reason="YAML removed"))
            return
        self.unpruned.append(key)
        self.referenced.update(have.code_file_ids)
        store = self._store_of(key, have)
        if store is not None:
            self.kept_stores.add(store.id)
            self.referenced.update(f.file_id for f in store.files)

    def plan(self) -> Plan:
        keys = sorted(set(self.desired) | set(self.remote.assistants))
        for key in keys:
            copies = self.remote.assistants.get(key, [])
            for newer in copies[1:]:
                self.changes.append(Change("delete", "assistant", key, newer.id, reason="duplicate"))
            if key in self.desired:
                self._desired_key(key, self.desired[key], copies)
            elif copies:
                self._undesired_key(key, copies[0])
        for store in sorted(self.remote.stores.values(), key=lambda s: (s.key, s.id)):
            if store.id not in self.kept_stores:
                self.changes.append(
                    Change("delete", "vector_store", store.key, store.id, reason="unreferenced")
                )
        for item in sorted(self.remote.files.values(), key=lambda f: (f.key, f.id)):
            if item.id not in self.referenced and item.id not in self.removed:
                self.changes.append(
                    Change("delete", "file", item.key, item.id, reason=f"unreferenced ({item.filename})")
                )
        order = {"create": 0, "update": 1, "delete": 2}
        kinds = {"assistant": 0, "vector_store": 1, "file": 2}
        ordered = sorted(self.changes, key=lambda c: (order[c.action], kinds[c.kind], c.key, c.id or ""))
        return Plan(tuple(ordered), tuple(self.unpruned), self.remote)


def compute_plan(desired: dict[str, DesiredAssistant], remote: RemoteState, *, prune: bool = False) -> Plan:
    return _Planner(desired, remote, prune).plan()
