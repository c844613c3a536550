from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import openai
import pytest
import uvicorn
from click.testing import CliRunner
from conftest import API_KEY, Contract, checked_client

from runner.cli import cli
from runner.commands.serve import ServeOptions, resolve_api_key, run_serve
from runner.errors import ConfigError
from runner.server.embedded import EmbeddedServer, bind


def test_api_key_comes_from_flag_then_environment_then_is_generated() -> None:
    assert resolve_api_key("sk-flag", {"OPENAI_API_KEY": "sk-env"}) == ("sk-flag", False)
    assert resolve_api_key(None, {"OPENAI_API_KEY": "sk-env"}) == ("sk-env", False)
    key, generated = resolve_api_key(None, {})
    assert generated and key.startswith("sk-local-") and len(key) > 30
    assert resolve_api_key(None, {})[0] != key


def test_state_survives_a_restart(tmp_path: Path, contract: Contract) -> None:
    db = tmp_path / "keep.db"
    with EmbeddedServer(db, API_KEY) as first:
        sdk = checked_client(first.base_url, API_KEY, contract)
        assistant = sdk.beta.assistants.create(model="gpt-4o", name="kept")
        file = sdk.files.create(file=("k.txt", b"kept words"), purpose="assistants")
        store = sdk.vector_stores.create(file_ids=[file.id])
    with EmbeddedServer(db, API_KEY) as second:
        assert second.port != 0
        sdk = checked_client(second.base_url, API_KEY, contract)
        assert sdk.beta.assistants.retrieve(assistant.id).name == "kept"
        assert [r.file_id for r in sdk.vector_stores.search(store.id, query="kept").data] == [file.id]
        later = sdk.beta.assistants.create(model="gpt-4o")
        assert [a.id for a in sdk.beta.assistants.list()] == [later.id, assistant.id]


def test_embedded_server_generates_a_key_and_stops_cleanly(tmp_path: Path, contract: Contract) -> None:
    server = EmbeddedServer(tmp_path / "e.db")
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.backend
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.api_key.startswith("sk-local-")
        sdk = checked_client(server.base_url, server.api_key, contract)
        assert sdk.beta.assistants.list().data == []
        port = server.port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_run_serve_wires_settings_access_log_and_latency(tmp_path: Path, contract: Contract) -> None:
    out = io.StringIO()
    log = tmp_path / "logs" / "access.jsonl"
    statuses: list[int] = []

    def runner(app: object, sock: socket.socket) -> None:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))  # type: ignore[arg-type]
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.01)
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        sdk = checked_client(base_url, "sk-env-key", contract)
        statuses.append(len(sdk.beta.assistants.list().data))
        with pytest.raises(openai.NotFoundError):
            sdk.beta.assistants.retrieve("asst_missing")
        server.should_exit = True
        thread.join()

    options = ServeOptions(port=0, db=Path("state.db"), latency=0.05, access_log=log)
    assert run_serve(options, tmp_path, out=out, environ={"OPENAI_API_KEY": "sk-env-key"}, runner=runner) == 0
    assert statuses == [0]
    (banner,) = out.getvalue().splitlines()
    assert banner.startswith("arun local server: http://127.0.0.1:") and banner.endswith(
        f"(state in {tmp_path / 'state.db'})"
    )
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in lines] == [
        ("GET", "/v1/assistants", 200),
        ("GET", "/v1/assistants/asst_missing", 404),
    ]
    assert all(set(entry) == {"method", "path", "status", "ms"} for entry in lines)
    # The added latency is a lower bound on every request's time.
    assert all(entry["ms"] >= 50 for entry in lines)


def test_run_serve_prints_a_generated_key_once(tmp_path: Path) -> None:
    out = io.StringIO()
    run_serve(
        ServeOptions(port=0, db=tmp_path / "g.db"),
        tmp_path,
        out=out,
        environ={},
        runner=lambda app, sock: None,
    )
    banner, key_line = out.getvalue().splitlines()
    assert banner.startswith("arun local server: ")
    assert key_line.startswith("API key for this session: sk-local-")


def test_run_serve_refuses_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--latency"):
        run_serve(ServeOptions(latency=-1), tmp_path, environ={}, runner=lambda app, sock: None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            bind("127.0.0.1", taken.getsockname()[1])


def test_serve_help_exists() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--api-key", "--latency", "--access-log"):
        assert option in result.output


def test_arun_serve_process_end_to_end(tmp_path: Path, contract: Contract) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "-C",
            str(tmp_path),
            "serve",
            "--port",
            "0",
            "--access-log",
            "a.jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell without job control starts background jobs with SIGINT ignored; Ctrl-C must reach arun.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        key = proc.stdout.readline().strip().removeprefix("API key for this session: ")
        base_url = banner.split()[3]
        sdk = checked_client(base_url, key, contract)
        assert sdk.beta.assistants.create(model="gpt-4o").object == "assistant"
        assert (tmp_path / ".arun" / "local.db").exists()
        entry = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
        assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v1/assistants", 200)
        # Ctrl-C: uvicorn shuts down, then arun exits 130 as every command does when interrupted.
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 130 and err.strip() == "Interrupted."
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_embedded_server_reports_a_port_it_cannot_take(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            EmbeddedServer(tmp_path / "busy.db", API_KEY, port=port).start()


def test_arun_serve_reports_an_unusable_database(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database, only text" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "runner", "-C", str(tmp_path), "serve", "--port", "0", "--db", "bad.db"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENAI_API_KEY": "sk-made-up"},
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {tmp_path / 'bad.db'} is not a usable arun database")


def test_serving_beyond_loopback_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ServeOptions(host="0.0.0.0", port=0, db=tmp_path / "w.db", api_key="sk-made-up")
    assert run_serve(options, tmp_path, environ={}, runner=lambda app, sock: None) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("arun local server: http://0.0.0.0:")
    assert captured.err.startswith("Warning: listening on 0.0.0.0, not only on this machine")
    options = ServeOptions(port=0, db=tmp_path / "w.db", api_key="sk-made-up")
    run_serve(options, tmp_path, environ={}, runner=lambda app, sock: None)
    assert capsys.readouterr().err == ""


def test_unsafe_code_execution_warns_where_there_is_no_boundary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.sim import boundary

    options = ServeOptions(port=0, db=tmp_path / "w.db", api_key="made-up", unsafe_code_execution=True)
    captured: list[object] = []
    run_serve(options, tmp_path, environ={}, runner=lambda app, sock: captured.append(app))
    engine = captured[0].app.state.backend.engine  # type: ignore[attr-defined]
    assert engine.sandbox.unsafe_code_execution is True
    assert engine.code_origin == "simulator"
    if boundary.probe().available:
        assert capsys.readouterr().err == ""
    monkeypatch.setattr(boundary, "probe", lambda: boundary.Probe(False, "bwrap was not found"))
    run_serve(options, tmp_path, environ={}, runner=lambda app, sock: None)
    assert capsys.readouterr().err == (
        "Warning: --unsafe-code-execution: the sandbox has no boundary here (bwrap was not found); code from a "
        "model runs as this user, able to read its files and use the network.\n"
    )
