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
from runner.apply.listing import Lister, store_files_path


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
    with Lister(api) as lister:
        return _assistants(lister)


def _assistants(lister: Lister) -> tuple[dict[str, list[RemoteAssistant]], list[RemoteAssistant]]:
    assistants: dict[str, list[RemoteAssistant]] = {}
    others: list[RemoteAssistant] = []
    for raw in lister.list_all("listing assistants", "assistants"):
        key = _managed(raw.get("metadata"))
        if key is None:
            others.append(RemoteAssistant(raw["id"], "", raw["created_at"], raw))
            continue
        assistants.setdefault(key, []).append(RemoteAssistant(raw["id"], key, raw["created_at"], raw))
    for copies in assistants.values():
        copies.sort(key=lambda a: (a.created_at, a.id))
    return assistants, others


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_remote(api: Api) -> RemoteState:
    with Lister(api) as lister:
        assistants, others = _assistants(lister)
        managed: list[RemoteStore] = []
        store_ids: set[str] = set()
        for item in lister.list_all("listing vector stores", "vector_stores"):
            store_ids.add(item["id"])
            key = _managed(item.get("metadata"))
            if key is not None:
                managed.append(RemoteStore(item["id"], key, item["created_at"]))
        # The file checks: one listing per managed store, a few at a time (listing.py).
        paths = [store_files_path(store.id) for store in managed]
        stores: dict[str, RemoteStore] = {}
        for store, listed in zip(managed, lister.list_each("listing vector store files", paths), strict=True):
            if listed is None:
                continue  # deleted since the listing (by a concurrent apply): it is not there
            for vs_file in listed:
                attributes = vs_file.get("attributes") or {}
                store.files.append(
                    RemoteStoreFile(
                        vs_file["id"],
                        _text(attributes.get("arun_path")),
                        _text(attributes.get("arun_sha256")),
                        str(vs_file.get("status")),
                    )
                )
            stores[store.id] = store

        files: dict[str, RemoteFile] = {}
        file_ids: set[str] = set()
        # One page holds up to 10,000 files on the Files API; list_all still follows has_more.
        for item in lister.list_all("listing files", "files", beta=False, purpose="assistants", limit=10_000):
            file_ids.add(item["id"])
            filename = str(item.get("filename") or "")
            parsed = parse_upload_name(filename)
            if parsed is not None:
                files[item["id"]] = RemoteFile(
                    item["id"], filename, parsed.key, parsed.short, item["created_at"]
                )
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
    refs = References()
    with Lister(api) as lister:
        for item in lister.list_all("listing assistants", "assistants"):
            resources = item.get("tool_resources") or {}
            refs.code_files.update((resources.get("code_interpreter") or {}).get("file_ids") or [])
            refs.stores.update((resources.get("file_search") or {}).get("vector_store_ids") or [])
        wanted = [
            store["id"]
            for store in lister.list_all("listing vector stores", "vector_stores")
            if _managed(store.get("metadata")) is not None or store["id"] in refs.stores
        ]
        listings = lister.list_each("listing vector store files", [store_files_path(i) for i in wanted])
        for store_id, listed in zip(wanted, listings, strict=True):
            if listed is not None:
                refs.store_files[store_id] = {vs_file["id"] for vs_file in listed}
    return refs
