"""Files: uploaded bytes, content-addressed in the database. No request-supplied name touches the disk."""

from __future__ import annotations

import hashlib
from typing import Any

from runner.server.exceptions import FileNotFound, InvalidRequest, InvalidValue
from runner.server.models.common import Page, list_object, new_id, now
from runner.server.store import Store

# What clients may upload (the request schema says the same); the rest are made by the server itself,
# such as the `assistants_output` files of code_interpreter runs.
UPLOADABLE = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
PURPOSES = (*UPLOADABLE, "assistants_output", "batch_output", "fine-tune-results")
# Upload purposes the File object's schema has no value for, and the value they are served as: `evals` is
# "user_data" (the spec's "flexible file type for any purpose"), so that strict clients parse the answer.
SERVED_AS = {"evals": "user_data"}
# The real API keeps `assistants` files to itself: their content cannot be downloaded (400).
UNDOWNLOADABLE = frozenset({"assistants"})


class Files:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self, filename: str, content: bytes, purpose: str, expires_after: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if purpose not in PURPOSES:
            supported = ", ".join(f"'{p}'" for p in PURPOSES)
            raise InvalidValue(f"Invalid value: '{purpose}'. Supported values are: {supported}.", "purpose")
        purpose = SERVED_AS.get(purpose, purpose)
        created = now()
        expires_at = None
        if expires_after is not None:
            expires_at = created + int(expires_after["seconds"])
        file: dict[str, Any] = {
            "object": "file",
            "id": new_id("file"),
            "purpose": purpose,
            "filename": filename,
            "bytes": len(content),
            "created_at": created,
            "expires_at": expires_at,
            "status": "processed",
            "status_details": None,
        }
        with self.store.transaction():
            self.store.put_blob(file["id"], hashlib.sha256(content).hexdigest(), content)
            self.store.insert("files", file, purpose=purpose)
        return file

    def get(self, file_id: str) -> dict[str, Any]:
        file = self.store.get("files", file_id)
        if file is None:
            raise FileNotFound(file_id)
        return file

    def list_files(self, page: Page, purpose: str | None = None) -> dict[str, Any]:
        if purpose is not None:
            purpose = SERVED_AS.get(purpose, purpose)
        items, more = self.store.page(
            "files", {"purpose": purpose}, limit=page.limit, order=page.order, after=page.after, before=None
        )
        return list_object(items, more)

    def delete(self, file_id: str) -> dict[str, Any]:
        with self.store.transaction():
            if not self.store.delete("files", file_id):
                raise FileNotFound(file_id)
            self.store.drop_blob(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def content(self, file_id: str) -> bytes:
        return self._bytes(self.get(file_id), for_download=True)

    def text(self, file_id: str) -> str | None:
        """The file's text for indexing, or None when it is not UTF-8 text."""
        data = self._bytes(self.get(file_id), for_download=False)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def _bytes(self, file: dict[str, Any], for_download: bool) -> bytes:
        if for_download and file["purpose"] in UNDOWNLOADABLE:
            raise InvalidRequest(f"Not allowed to download files of purpose: {file['purpose']}")
        data = self.store.get_blob(file["id"])
        if data is None:  # pragma: no cover - only a hand-edited database gets here
            raise FileNotFound(file["id"])
        return data
