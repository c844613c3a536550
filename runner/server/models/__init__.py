"""State and rules of the local server, without HTTP (moto's models.py, split by resource)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner.server.models.assistants import Assistants
from runner.server.models.conversations import Conversations
from runner.server.models.files import Files
from runner.server.models.responses import Responses
from runner.server.models.runs import Runs
from runner.server.models.vector_stores import VectorStores
from runner.server.store import Store

if TYPE_CHECKING:
    from runner.server.engine import RunSettings
    from runner.sim.types import Model


class Backend:
    def __init__(
        self, db_path: Path, run_settings: RunSettings | None = None, model: Model | None = None
    ) -> None:
        # Imported here: the engine imports these models, so the package must be loaded first.
        from runner.server.engine import Engine, RunSettings
        from runner.server.responses_engine import ResponseEngine

        settings = run_settings or RunSettings()
        self.store = Store(db_path)
        self.files = Files(self.store)
        self.vector_stores = VectorStores(self.store, self.files)
        self.assistants = Assistants(self.store, self.files, self.vector_stores)
        # Creating Runs ends the runs a previous server left unfinished (see Runs.recover).
        self.runs = Runs(self.store, self.assistants, settings.run_ttl)
        # The simulator unless another model is given (the upstream adapter, docs/upstream.md).
        self.engine = Engine(self.runs, self.assistants, self.vector_stores, settings, model)
        self.conversations = Conversations(self.store)
        # Creating Responses ends the responses a previous server left in progress (Responses.recover).
        self.responses = Responses(self.store, self.files, self.vector_stores, self.conversations)
        # One model, sandbox and event bus for every protocol.
        self.response_engine = ResponseEngine(
            self.responses,
            self.conversations,
            self.vector_stores,
            settings,
            self.engine.model,
            self.engine.sandbox,
            self.engine.bus,
        )

    async def aclose_model(self) -> None:
        """Closes what the model holds open (the upstream adapter's HTTP client), as the server stops."""
        close = getattr(self.engine.model, "aclose", None)
        if close is not None:
            await close()

    def close(self) -> None:
        self.store.close()
