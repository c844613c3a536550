"""What the API has: every page of assistants, vector stores and files, sorted into what arun manages.

The listing order matters when another apply writes at the same time. Objects are made files first, then
vector stores, then assistants, so reading the other way round (assistants, stores, files) means that any
id an object refers to was made before that object was read: an id missing from a later listing was
deleted, never merely too new. A plan can therefore call a reference to a missing object drift without
false alarms. The other way round is not safe and is guarded in execute.py: an object made during the
listing can look unreferenced, so deletions look again first (`read_references`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.api.session import Api
from runner.apply.desired import KEY_FILES, KEY_HASH, KEY_KEY, KEY_MANAGED, MANAGED_VALUE, parse_upload_name
from runner.errors import ApiNotFound


@dataclass(frozen=True)
class RemoteFile:
    id: str
    filename: str
    key: str
    short: str
    created_at: int


@dataclass(frozen=True)
class RemoteStoreFile:
    file_id: str
    path: str | None
    sha256: str | None
    status: str = "completed"


@dataclass
class RemoteStore:
    id: str
    key: str
    created_at: int
    files: list[RemoteStoreFile] = field(default_factory=list)


@dataclass(frozen=True)
class RemoteAssistant:
    id: str
    key: str
    created_at: int
    raw: dict[str, Any]

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.raw.get("metadata") or {})

    @property
    def spec_hash(self) -> str | None:
        return self.metadata.get(KEY_HASH)

    @property
    def code_file_ids(self) -> list[str]:
        resources = self.raw.get("tool_resources") or {}
        return list((resources.get("code_interpreter") or {}).get("file_ids") or [])

    @property
    def code_file_hashes(self) -> list[str]:
        recorded = self.metadata.get(KEY_FILES, "")
        return recorded.split(",") if recorded else []

    @property
    def vector_store_ids(self) -> list[str]:
        resources = self.raw.get("tool_resources") or {}
        return list((resources.get("file_search") or {}).get("vector_store_ids") or [])


@dataclass
class RemoteState:
    assistants: dict[str, list[RemoteAssistant]]  # managed, by key, oldest first
    stores: dict[str, RemoteStore]  # managed vector stores by id
    files: dict[str, RemoteFile]  # files arun uploaded, by id
    unmanaged_assistants: int = 0
    # Every vector store and file listed, arun's or not: a reference to an id outside these is dangling.
    store_ids: frozenset[str] = frozenset()
    file_ids: frozenset[str] = frozenset()
    # Files and stores that assistants arun does not manage use: never deleted, whoever made them.
    foreign: frozenset[str] = frozenset()


def _managed(metadata: dict[str, Any] | None) -> str | None:
    metadata = metadata or {}
    return metadata.get(KEY_KEY) if metadata.get(KEY_MANAGED) == MANAGED_VALUE else None


def read_assistants(api: Api) -> tuple[dict[str, list[RemoteAssistant]], list[RemoteAssistant]]:
    """Managed assistants by key, oldest first, and the others (whose references arun must respect)."""
    assistants: dict[str, list[RemoteAssistant]] = {}
    others: list[RemoteAssistant] = []
    for item in api.list_all("listing assistants", api.client.beta.assistants.list):
        raw = item.model_dump(mode="json")
        key = _managed(raw.get("metadata"))
        if key is None:
            others.append(RemoteAssistant(item.id, "", item.created_at, raw))
            continue
        assistants.setdefault(key, []).append(RemoteAssistant(item.id, key, item.created_at, raw))
    for copies in assistants.values():
        copies.sort(key=lambda a: (a.created_at, a.id))
    return assistants, others


def read_remote(api: Api) -> RemoteState:
    client = api.client
    assistants, others = read_assistants(api)
    stores: dict[str, RemoteStore] = {}
    store_ids: set[str] = set()
    for item in api.list_all("listing vector stores", client.vector_stores.list):
        store_ids.add(item.id)
        key = _managed(item.metadata)
        if key is None:
            continue
        store = RemoteStore(item.id, key, item.created_at)
        try:
            listed = api.list_all("listing vector store files", client.vector_stores.files.list, item.id)
        except ApiNotFound:
            continue  # deleted since the listing (by a concurrent apply): it is not there
        for vs_file in listed:
            attributes = vs_file.attributes or {}
            path, sha = attributes.get("arun_path"), attributes.get("arun_sha256")
            store.files.append(
                RemoteStoreFile(
                    vs_file.id,
                    path if isinstance(path, str) else None,
                    sha if isinstance(sha, str) else None,
                    str(vs_file.status),
                )
            )
        stores[item.id] = store

    files: dict[str, RemoteFile] = {}
    file_ids: set[str] = set()
    # One page holds up to 10,000 files on the Files API; list_all still follows has_more.
    for item in api.list_all("listing files", client.files.list, purpose="assistants", limit=10_000):
        file_ids.add(item.id)
        parsed = parse_upload_name(item.filename)
        if parsed is not None:
            files[item.id] = RemoteFile(item.id, item.filename, parsed.key, parsed.short, item.created_at)
    foreign = {i for a in others for i in a.code_file_ids + a.vector_store_ids}
    return RemoteState(
        assistants, stores, files, len(others), frozenset(store_ids), frozenset(file_ids), frozenset(foreign)
    )


@dataclass
class References:
    """What uses what on the API right now: what a deletion must spare."""

    code_files: set[str] = field(default_factory=set)  # on any assistant's code_interpreter
    stores: set[str] = field(default_factory=set)  # on any assistant's file_search
    store_files: dict[str, set[str]] = field(default_factory=dict)  # managed store id -> its file ids

    def file_in_use(self, file_id: str) -> bool:
        return file_id in self.code_files or any(file_id in ids for ids in self.store_files.values())

    def forget_store(self, store_id: str) -> None:
        """The store was just deleted: its files no longer count as used by it."""
        self.store_files.pop(store_id, None)


def read_references(api: Api) -> References:
    """What every assistant (managed or not) and every managed vector store refers to, read afresh."""
    client = api.client
    refs = References()
    for item in api.list_all("listing assistants", client.beta.assistants.list):
        resources = item.tool_resources
        if resources is None:
            continue
        if resources.code_interpreter is not None:
            refs.code_files.update(resources.code_interpreter.file_ids or [])
        if resources.file_search is not None:
            refs.stores.update(resources.file_search.vector_store_ids or [])
    for store in api.list_all("listing vector stores", client.vector_stores.list):
        if _managed(store.metadata) is None and store.id not in refs.stores:
            continue
        try:
            listed = api.list_all("listing vector store files", client.vector_stores.files.list, store.id)
        except ApiNotFound:
            continue
        refs.store_files[store.id] = {vs_file.id for vs_file in listed}
    return refs
