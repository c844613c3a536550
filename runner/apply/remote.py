"""What the API has: every page of assistants, vector stores and files, sorted into what arun manages."""

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


def _managed(metadata: dict[str, Any] | None) -> str | None:
    metadata = metadata or {}
    return metadata.get(KEY_KEY) if metadata.get(KEY_MANAGED) == MANAGED_VALUE else None


def read_assistants(api: Api) -> tuple[dict[str, list[RemoteAssistant]], int]:
    """Managed assistants by key, oldest first, and how many others there are."""
    assistants: dict[str, list[RemoteAssistant]] = {}
    unmanaged = 0
    for item in api.list_all("listing assistants", api.client.beta.assistants.list):
        raw = item.model_dump(mode="json")
        key = _managed(raw.get("metadata"))
        if key is None:
            unmanaged += 1
            continue
        assistants.setdefault(key, []).append(RemoteAssistant(item.id, key, item.created_at, raw))
    for copies in assistants.values():
        copies.sort(key=lambda a: (a.created_at, a.id))
    return assistants, unmanaged


def read_remote(api: Api) -> RemoteState:
    client = api.client
    assistants, unmanaged = read_assistants(api)
    stores: dict[str, RemoteStore] = {}
    for item in api.list_all("listing vector stores", client.vector_stores.list):
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
                    vs_file.id, path if isinstance(path, str) else None, sha if isinstance(sha, str) else None
                )
            )
        stores[item.id] = store

    files: dict[str, RemoteFile] = {}
    # One page holds up to 10,000 files on the Files API; list_all still follows has_more.
    for item in api.list_all("listing files", client.files.list, purpose="assistants", limit=10_000):
        parsed = parse_upload_name(item.filename)
        if parsed is not None:
            files[item.id] = RemoteFile(item.id, item.filename, parsed.key, parsed.short, item.created_at)
    return RemoteState(assistants, stores, files, unmanaged)
