"""The plan for `--api responses`: files and vector stores only.

The Responses API has no assistant object: each request carries the assistant inline
(runner/responses/compile.py). What must exist on the API beforehand is only what the request points at:
the vector store of each assistant with file_search files, and its code_interpreter uploads. They carry
the same ownership markers as on Assistants (docs/apply.md), so the two protocols share them: a project
applied on one is already applied, file-wise, on the other.

Which store and uploads belong to a key is decided the same way here and by the replay engine
(`managed_resources`): the one a managed assistant of that key uses, if any, else the oldest. Newer copies
(from concurrent applies) are duplicates and are deleted once nothing uses them.
"""

from __future__ import annotations

from runner.apply.desired import DesiredAssistant
from runner.apply.plan import Change, FileAction, Plan, _Planner
from runner.apply.remote import RemoteAssistant, RemoteFile, RemoteState, RemoteStore
from runner.responses.compile import Managed


def chosen_store(key: str, remote: RemoteState) -> RemoteStore | None:
    used = [i for a in remote.assistants.get(key, [])[:1] for i in a.vector_store_ids]
    candidates = sorted(
        (s for s in remote.stores.values() if s.key == key), key=lambda s: (s.created_at, s.id)
    )
    preferred = [s for s in candidates if s.id in used]
    found = preferred or candidates
    return found[0] if found else None


def chosen_upload(key: str, short: str, remote: RemoteState) -> RemoteFile | None:
    used = {i for a in remote.assistants.get(key, [])[:1] for i in a.code_file_ids}
    candidates = sorted(
        (f for f in remote.files.values() if f.key == key and f.short == short),
        key=lambda f: (f.created_at, f.id),
    )
    preferred = [f for f in candidates if f.id in used]
    found = preferred or candidates
    return found[0] if found else None


def managed_resources(desired: DesiredAssistant, remote: RemoteState) -> Managed | None:
    """The ids a Responses request for this assistant names, or None while the API lacks any of them
    (the YAML is not applied on this API)."""
    store = chosen_store(desired.key, remote) if desired.search_files else None
    if desired.search_files and store is None:
        return None
    code = [chosen_upload(desired.key, f.short, remote) for f in desired.code_files]
    if any(f is None for f in code):
        return None
    return Managed((store.id,) if store else (), tuple(f.id for f in code if f is not None))


class _FilesPlanner(_Planner):
    def _desired_key(self, key: str, want: DesiredAssistant, copies: list[RemoteAssistant]) -> None:
        for wanted in want.code_files:
            upload = chosen_upload(key, wanted.short, self.remote)
            if upload is not None:
                self.referenced.add(upload.id)
                self.reusable = {k: v for k, v in self.reusable.items() if v != upload.id}
                continue
            action = self._upload(key, "code_interpreter", wanted)
            self.changes.append(Change("create", "file", key, reason="new", files=(action,), desired=want))
        if not want.search_files:
            return
        store = chosen_store(key, self.remote)
        files = tuple(self._search_files(want, store))
        if store is None:
            self.changes.append(
                Change("create", "vector_store", key, reason="new", files=files, desired=want)
            )
            return
        self.kept_stores.add(store.id)
        if any(f.action != "keep" for f in files):
            self.changes.append(
                Change(
                    "update", "vector_store", key, store.id, "drift", files=files, desired=want, store=store
                )
            )

    def plan(self) -> Plan:
        # Whatever a managed assistant (from an apply on --api assistants) uses stays: not ours to break.
        for copies in self.remote.assistants.values():
            for assistant in copies:
                self.referenced.update(assistant.code_file_ids)
                self.kept_stores.update(assistant.vector_store_ids)
                for store_id in assistant.vector_store_ids:
                    if store_id in self.remote.stores:
                        self.referenced.update(f.file_id for f in self.remote.stores[store_id].files)
        for key in sorted(self.desired):
            self._desired_key(key, self.desired[key], [])
        gone = sorted(
            {s.key for s in self.remote.stores.values()} | {f.key for f in self.remote.files.values()}
        )
        for key in gone:
            if key in self.desired or self.prune:
                continue
            self.unpruned.append(key)
            for store in self.remote.stores.values():
                if store.key == key:
                    self.kept_stores.add(store.id)
                    self.referenced.update(f.file_id for f in store.files)
            self.referenced.update(f.id for f in self.remote.files.values() if f.key == key)
        for store in sorted(self.remote.stores.values(), key=lambda s: (s.key, s.id)):
            if store.id not in self.kept_stores:
                want = self.desired.get(store.key)
                reason = "duplicate" if want is not None and want.search_files else "unreferenced"
                self.changes.append(Change("delete", "vector_store", store.key, store.id, reason=reason))
        for item in sorted(self.remote.files.values(), key=lambda f: (f.key, f.id)):
            if item.id not in self.referenced and item.id not in self.removed:
                self.changes.append(
                    Change("delete", "file", item.key, item.id, reason=f"unreferenced ({item.filename})")
                )
        order = {"create": 0, "update": 1, "delete": 2}
        kinds = {"assistant": 0, "vector_store": 1, "file": 2}
        ordered = sorted(self.changes, key=lambda c: (order[c.action], kinds[c.kind], c.key, c.id or ""))
        return Plan(tuple(ordered), tuple(self.unpruned), self.remote, protocol="responses")


def compute_files_plan(
    desired: dict[str, DesiredAssistant], remote: RemoteState, *, prune: bool = False
) -> Plan:
    return _FilesPlanner(desired, remote, prune).plan()


__all__ = ["FileAction", "chosen_store", "chosen_upload", "compute_files_plan", "managed_resources"]
