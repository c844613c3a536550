"""The server in-process: uvicorn on a free loopback port in a background thread. Tests and benches use it
directly; commands run it in a process of their own (runner/server/child.py, started by runner/api/local.py)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import uvicorn

from runner.api.local import generate_api_key
from runner.errors import ConfigError
from runner.server.app import Limits, Settings, create_app
from runner.server.connections import header_timeout_protocol
from runner.server.engine import RunSettings
from runner.server.models import Backend
from runner.sim.types import Model


def bind(host: str, port: int) -> socket.socket:
    # Binding before uvicorn starts is what lets port 0 report the port it got, and puts a busy port's
    # error in the caller's thread as a message rather than in uvicorn's thread as a SystemExit.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}. Pick another port.") from None
    # As many pending connections as uvicorn would allow itself: a client that opens hundreds at once (replay
    # at -j 200) must not have its connection attempts dropped and retried a second later.
    sock.listen(2048)
    return sock


class EmbeddedServer:
    """`with EmbeddedServer(path) as server:`, then use `server.base_url` and `server.api_key`."""

    def __init__(
        self,
        db_path: Path,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        latency: float = 0.0,
        access_log: IO[str] | None = None,
        runs: RunSettings | None = None,
        model: Model | None = None,
    ) -> None:
        self.api_key = api_key or generate_api_key()
        self.db_path = db_path
        self._settings = Settings(
            db_path=db_path,
            api_key=self.api_key,
            limits=limits or Limits(),
            latency=latency,
            access_log=access_log,
        )
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._backend: Backend | None = None
        self._runs = runs
        self._model = model
        self.port = 0

    @property
    def backend(self) -> Backend:
        """The server's state, for in-process callers that need it without HTTP (and for tests)."""
        if self._backend is None:
            raise RuntimeError("the embedded server is not running")
        return self._backend

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    def start(self) -> EmbeddedServer:
        sock = bind(self._host, self._port)
        self.port = int(sock.getsockname()[1])
        self._backend = Backend(self.db_path, self._runs, self._model)
        app = create_app(self._settings, self._backend)
        # A short graceful shutdown: open streams get two seconds, then the loop cancels what is left
        # (runs in flight are recovered at the next start) before the store is closed under it.
        config = uvicorn.Config(
            app,
            host=self._host,
            port=self._port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
            http=header_timeout_protocol(self._settings.limits.header_timeout),
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="arun-local-server", daemon=True
        )
        self._thread.start()
        # The socket now belongs to uvicorn, which closes it when it stops.
        while not server.started:
            if not self._thread.is_alive():  # pragma: no cover - uvicorn failed after binding succeeded
                self.stop()
                raise RuntimeError("the local server stopped while starting; see the log above")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        if self._backend is not None:
            self._backend.close()
        self._server = self._thread = self._backend = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
