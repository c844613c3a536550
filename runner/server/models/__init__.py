"""State and rules of the local server, without HTTP (moto's models.py, split by resource)."""

from __future__ import annotations

from pathlib import Path

from runner.server.models.assistants import Assistants
from runner.server.models.files import Files
from runner.server.models.vector_stores import VectorStores
from runner.server.store import Store


class Backend:
    def __init__(self, db_path: Path) -> None:
        self.store = Store(db_path)
        self.files = Files(self.store)
        self.vector_stores = VectorStores(self.store, self.files)
        self.assistants = Assistants(self.store, self.files, self.vector_stores)

    def close(self) -> None:
        self.store.close()
