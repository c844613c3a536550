"""The embedded server as a process of its own: `python -m runner.server.child --db PATH [--model-time S]`.

Started by runner/api/local.py for one command's life (docs/local-server.md, "Embedded use"). The API key
comes in the environment (never argv, which `ps` shows, nor a file). It serves the same app as
`EmbeddedServer`, on a free loopback port, and says how it went in one JSON line on stdout: `{"port": N}`,
or `{"error": MESSAGE, "kind": CLASS}` when it could not start. Its stdin is its lifeline: when the parent
closes it, or dies and the kernel closes it, the server shuts down gracefully, so no orphan outlives a
killed command. SIGTERM does the same."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import IO

from runner.api.local import KEY_VAR
from runner.errors import RunnerError


def serve(db: Path, api_key: str, model_time: float, lifeline: IO[bytes], out: IO[str]) -> int:
    """Serve until `lifeline` ends; the first line on `out` says where (or why not)."""
    from runner.server.embedded import EmbeddedServer
    from runner.server.engine import RunSettings

    server = EmbeddedServer(db, api_key, runs=RunSettings(model_time=model_time))
    try:
        server.start()
    except RunnerError as exc:
        _say(out, {"error": str(exc), "kind": type(exc).__name__})
        return 2
    try:
        _say(out, {"port": server.port})
        while lifeline.read(4096):  # nothing is ever sent: only the end matters
            pass
    finally:
        server.stop()
    return 0


def _say(out: IO[str], message: dict[str, object]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through serve's finally: the server stops as on a closed lifeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runner.server.child")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--model-time", type=float, default=0.0)
    args = parser.parse_args(argv)
    api_key = os.environ.pop(KEY_VAR, "")
    if not api_key:
        _say(sys.stdout, {"error": f"{KEY_VAR} is not set", "kind": "RunnerError"})
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    return serve(args.db, api_key, args.model_time, sys.stdin.buffer, sys.stdout)


if __name__ == "__main__":  # pragma: no cover - run as a process; tests call main() and serve()
    code = main()
    # The server has stopped and closed its database: skip the interpreter's teardown of every module,
    # a tenth of a second that each command would wait for on its way out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
