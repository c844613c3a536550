"""The embedded local server for commands: a child process (runner/server/child.py) that lives exactly as long
as the command, so that the server's event loop and replay's client threads do not share one interpreter
lock (docs/local-server.md, "Embedded use"; the figures in docs/performance.md, "Replay client").

`LocalServer(...).start()` returns at once; the port is read when it is first needed (`wait()`), so the
child's start-up overlaps the command's own work. The child is in a session of its own: a Ctrl-C on the
terminal reaches only the command, which may still cancel its runs through the API before it stops the
server. Nothing here imports the server or the SDK."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from runner.errors import ConfigError, RunnerError

KEY_VAR = "ARUN_LOCAL_SERVER_KEY"  # how the child gets its key: never argv (`ps` shows it), never a file
START_TIMEOUT = 60.0  # seconds for the child to say where it listens (it takes about half a second)
STOP_TIMEOUT = 30.0  # seconds for it to stop after its lifeline ends (its graceful shutdown takes <= 2 s)


def generate_api_key() -> str:
    return "sk-local-" + secrets.token_urlsafe(24)


def child_command(db: Path, model_time: float) -> list[str]:
    """The child's command line (bench/replay_scale.py wraps it to time the server's events)."""
    return [sys.executable, "-m", "runner.server.child", "--db", str(db), "--model-time", repr(model_time)]


class LocalServer:
    """`with LocalServer(db).start() as server:`, then `server.wait()` gives the base URL."""

    def __init__(self, db_path: Path, model_time: float = 0.0, api_key: str | None = None) -> None:
        self.db_path = db_path
        self.model_time = model_time
        self.api_key = api_key or generate_api_key()
        self._proc: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None

    def start(self) -> LocalServer:
        # The child imports this very tree of arun, however the command found it (an install, PYTHONPATH, a
        # checkout's sys.path).
        tree = str(Path(__file__).resolve().parent.parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, KEY_VAR: self.api_key, "PYTHONPATH": tree + (os.pathsep + path if path else "")}
        self._proc = subprocess.Popen(
            child_command(self.db_path, self.model_time),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # the terminal's Ctrl-C is for the command, not for its server
        )
        atexit.register(
            self.stop
        )  # a command that never reached its `with` still waits for it on the way out
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def wait(self, timeout: float = START_TIMEOUT) -> str:
        """The base URL, once the child listens; a clear RunnerError if it cannot, never a hang."""
        if self._base_url is not None:
            return self._base_url
        proc = self._proc
        if proc is None:
            raise RuntimeError("the local server is not started")
        assert proc.stdout is not None
        line = _read_line(proc.stdout.fileno(), time.monotonic() + timeout)
        if line is None:
            self.stop()
            raise RunnerError(
                f"the embedded local server did not start within {timeout:g} s; try again, or run "
                "`arun serve` and point --base-url at it"
            )
        try:
            message = json.loads(line) if line else {}
        except ValueError:
            message = {}
        if "port" not in message:
            code = self.stop()
            if "error" in message:
                kind = ConfigError if message.get("kind") == "ConfigError" else RunnerError
                raise kind(f"the embedded local server could not start: {message['error']}")
            raise RunnerError(
                f"the embedded local server stopped while starting (exit code {code}); its message is above"
            )
        self._base_url = f"http://127.0.0.1:{int(message['port'])}/v1"
        return self._base_url

    def stop(self) -> int | None:
        """End the lifeline and wait for the child to exit; its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        atexit.unregister(self.stop)
        assert proc.stdin is not None and proc.stdout is not None
        if self._base_url is None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # still starting: do not wait for it to finish
        with contextlib.suppress(OSError):  # it died first
            proc.stdin.close()
        try:
            code = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server stuck in its shutdown
            proc.kill()
            code = proc.wait()
        proc.stdout.close()
        return code

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _read_line(fd: int, deadline: float) -> str | None:
    """One line from `fd` ("" at end of file), or None when `deadline` passes first."""
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()
