"""Which project file each uploaded file id is, from what apply recorded when it uploaded it.

Transcripts show project paths, never uploaded names or ids (docs/transcripts.md). The mapping comes from
apply's own ownership records, not from the filename: the `arun_path` attribute of each file in the
assistant's vector store (file_search), and the assistant's `arun_files` metadata, the content hashes of its
code_interpreter files in the order of `tool_resources.code_interpreter.file_ids`. Two project files with
the same content therefore keep their own paths.
"""

from __future__ import annotations

from collections.abc import Iterable

from runner.api.session import Api
from runner.apply.desired import DesiredAssistant
from runner.apply.remote import RemoteAssistant, RemoteStoreFile
from runner.errors import ApiNotFound


def search_labels(files: Iterable[RemoteStoreFile]) -> dict[str, str]:
    """file id -> project path, for the vector-store files apply attached (they carry `arun_path`)."""
    return {f.file_id: f.path for f in files if f.path}


def code_labels(remote: RemoteAssistant, desired: DesiredAssistant) -> dict[str, str]:
    """file id -> project path for the code_interpreter files: the recorded hash at the same place as the
    file id names the desired file with that content at that place (or the only one with that content)."""
    labels: dict[str, str] = {}
    for index, (file_id, short) in enumerate(
        zip(remote.code_file_ids, remote.code_file_hashes, strict=False)
    ):
        here = desired.code_files[index] if index < len(desired.code_files) else None
        if here is not None and here.short == short:
            labels[file_id] = here.path
            continue
        alike = [f.path for f in desired.code_files if f.short == short]
        if len(alike) == 1:
            labels[file_id] = alike[0]
    return labels


def file_labels(api: Api, remote: RemoteAssistant, desired: DesiredAssistant) -> dict[str, str]:
    """Every file of the assistant that apply manages: id -> project path."""
    labels = code_labels(remote, desired)
    for store_id in remote.vector_store_ids:
        try:
            listed = api.list_all("listing vector store files", api.client.vector_stores.files.list, store_id)
        except ApiNotFound:
            continue  # gone since the assistant was read: nothing of it can be cited
        entries = []
        for item in listed:
            path = (item.attributes or {}).get("arun_path")
            entries.append(RemoteStoreFile(item.id, path if isinstance(path, str) else None, None))
        labels.update(search_labels(entries))
    return labels
