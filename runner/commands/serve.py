"""`arun serve`: the local Assistants API server in the foreground."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from runner.errors import ConfigError

if TYPE_CHECKING:
    from runner.sim.types import Model

DEFAULT_DB = Path(".arun") / "local.db"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class UpstreamOptions:
    """Where model steps go instead of the simulator (docs/upstream.md)."""

    base_url: str | None = None
    key_env: str = "UPSTREAM_API_KEY"
    model: str | None = None
    timeout: float = 60.0
    max_steps: int = 8
    record: Path | None = None
    replay: Path | None = None


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8787
    db: Path = DEFAULT_DB
    api_key: str | None = None
    api_key_file: Path | None = None
    latency: float = 0.0
    access_log: Path | None = None
    model_time: float = 0.5
    faults: tuple[str, ...] = ()
    seed: int = 0
    code_execution: bool = True
    unsafe_code_execution: bool = False
    upstream: UpstreamOptions = field(default_factory=UpstreamOptions)


def upstream_model(options: UpstreamOptions, root: Path, environ: dict[str, str]) -> Model | None:
    """The adapter `options` ask for, or None for the simulator. Errors name the flag to fix."""
    if options.base_url is None and options.replay is None:
        if options.record is not None:
            raise ConfigError("--record needs --upstream: there is nothing to record from the simulator.")
        if options.model is not None:
            raise ConfigError("--upstream-model needs --upstream or --replay.")
        return None
    from runner.upstream.client import UpstreamClient, UpstreamSettings
    from runner.upstream.model import ModelNames, UpstreamModel
    from runner.upstream.recording import Exchanges, Recorder, Replayer

    try:
        names = ModelNames.parse(options.model)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if options.replay is not None:
        if options.base_url is not None or options.record is not None:
            raise ConfigError(
                "--replay answers from recorded exchanges only: leave out --upstream and --record."
            )
        folder = options.replay if options.replay.is_absolute() else root / options.replay
        try:
            source: Exchanges = Replayer(folder)
        except FileNotFoundError as exc:
            raise ConfigError(f"--replay: {exc}.") from None
        return UpstreamModel(source, names, options.max_steps)
    assert options.base_url is not None
    if not options.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"--upstream {options.base_url!r}: expected an http:// or https:// base URL ending in /v1."
        )
    settings = UpstreamSettings(options.base_url, environ.get(options.key_env) or None, options.timeout)
    source = UpstreamClient(settings)
    if options.record is not None:
        source = Recorder(source, options.record if options.record.is_absolute() else root / options.record)
    return UpstreamModel(source, names, options.max_steps)


def resolve_api_key(flag: str | None, environ: dict[str, str]) -> tuple[str, bool]:
    """The key to require, and whether it was made up here (and so must be shown, once)."""
    from runner.server.embedded import generate_api_key

    if flag:
        return flag, False
    if environ.get("OPENAI_API_KEY"):
        return environ["OPENAI_API_KEY"], False
    return generate_api_key(), True


def read_api_key_file(path: Path) -> str:
    """The key in the first line of `path` (surrounding whitespace ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--api-key-file {path}: cannot read it ({exc}).") from None
    lines = text.strip().splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise ConfigError(f"--api-key-file {path}: the file is empty; put the key on its first line.")
    return key


def run_serve(
    options: ServeOptions,
    root: Path,
    out: IO[str] | None = None,
    environ: dict[str, str] | None = None,
    runner: Callable[[object, socket.socket], None] | None = None,
) -> int:
    import uvicorn

    out = out or sys.stdout
    from runner.server.app import Settings, create_app
    from runner.server.embedded import bind
    from runner.server.engine import RunSettings
    from runner.server.faults import Faults
    from runner.server.models import Backend

    if options.latency < 0:
        raise ConfigError("--latency must be zero or more seconds.")
    if options.model_time < 0:
        raise ConfigError("--model-time must be zero or more seconds.")
    run_settings = RunSettings(
        model_time=options.model_time,
        faults=Faults.parse(options.faults, options.seed),
        code_execution=options.code_execution,
        unsafe_code_execution=options.unsafe_code_execution,
    )
    if options.api_key_file is not None and options.api_key:
        raise ConfigError("--api-key and --api-key-file both give the key: use one (preferably the file).")
    flag = options.api_key
    if options.api_key_file is not None:
        key_path = options.api_key_file if options.api_key_file.is_absolute() else root / options.api_key_file
        flag = read_api_key_file(key_path)
    api_key, generated = resolve_api_key(flag, dict(os.environ if environ is None else environ))
    db_path = options.db if options.db.is_absolute() else root / options.db
    with ExitStack() as stack:
        # Opened in this order and closed in reverse, whichever step fails.
        model = upstream_model(options.upstream, root, dict(os.environ if environ is None else environ))
        backend = Backend(db_path, run_settings, model)
        stack.callback(backend.close)
        log_file = None
        if options.access_log is not None:
            log_path = options.access_log if options.access_log.is_absolute() else root / options.access_log
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = stack.enter_context(log_path.open("a", encoding="utf-8"))
        sock = stack.enter_context(bind(options.host, options.port))
        settings = Settings(db_path=db_path, api_key=api_key, latency=options.latency, access_log=log_file)
        app = create_app(settings, backend)
        port = sock.getsockname()[1]
        host = f"[{options.host}]" if ":" in options.host else options.host
        print(f"arun local server: http://{host}:{port}/v1 (state in {db_path})", file=out, flush=True)
        if options.host not in LOOPBACK:
            print(
                f"Warning: listening on {options.host}, not only on this machine: anyone who can reach the "
                "port and has the key can read and change every object. Traffic is plain HTTP.",
                file=sys.stderr,
                flush=True,
            )
        if options.unsafe_code_execution and options.code_execution:
            from runner.sim.boundary import probe

            found = probe()
            if not found.available:
                print(
                    f"Warning: --unsafe-code-execution: the sandbox has no boundary here ({found.reason}); "
                    "code from a model runs as this user, able to read its files and use the network.",
                    file=sys.stderr,
                    flush=True,
                )
        if generated:
            # Printed once, like Jupyter's token; it is never written anywhere else.
            print(f"API key for this session: {api_key}", file=out, flush=True)
        if runner is not None:
            runner(app, sock)
        else:  # pragma: no cover - exercised by the subprocess test, which coverage does not follow
            from runner.server.connections import header_timeout_protocol

            config = uvicorn.Config(
                app,
                log_level="warning",
                lifespan="on",
                access_log=False,
                http=header_timeout_protocol(settings.limits.header_timeout),
            )
            uvicorn.Server(config).run(sockets=[sock])
    return 0
