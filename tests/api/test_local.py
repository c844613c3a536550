"""The embedded server in a process of its own (runner/api/local.py, runner/server/child.py): it serves the
real SDK over loopback, keeps its key out of its command line, leaves with its parent, and fails clearly."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai
import pytest

from runner.api import local
from runner.api.local import KEY_VAR, LocalServer
from runner.errors import ConfigError, RunnerError
from runner.server import child


def _gone(pid: int, within: float = 20.0) -> bool:
    """Whether process `pid` has exited (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def test_the_child_serves_the_sdk_keeps_its_key_off_argv_and_stops_with_its_lifeline(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    with LocalServer(db, api_key="sk-local-test-secret").start() as server:
        base_url = server.wait()
        pid = server.pid
        assert pid is not None
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert b"sk-local-test-secret" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert os.getsid(pid) == pid  # a session of its own: the terminal's Ctrl-C is not for it
        client = openai.OpenAI(base_url=base_url, api_key=server.api_key, max_retries=0)
        made = client.beta.assistants.create(model="gpt-4o", name="kept")
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).models.list()
        client.close()
        code = server.stop()
    assert code == 0 and _gone(pid, within=0)
    # State stays in the database, as with the server in-process.
    with LocalServer(db).start() as again:
        client = openai.OpenAI(base_url=again.wait(), api_key=again.api_key, max_retries=0)
        assert [a.name for a in client.beta.assistants.list()] == ["kept"]
        assert client.beta.assistants.retrieve(made.id).id == made.id
        client.close()


def test_a_killed_parent_leaves_no_server_behind(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from runner.api.local import LocalServer\n"
        f"server = LocalServer(Path({str(tmp_path / 'orphan.db')!r})).start()\n"
        "server.wait()\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert not _gone(pid, within=0)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    assert _gone(pid)  # its stdin ended with the parent


def test_a_server_that_cannot_open_its_database_says_so(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    db.write_text("not a database, and long enough to be read as a header by SQLite\n" * 20)
    server = LocalServer(db).start()
    with pytest.raises(ConfigError, match=r"the embedded local server could not start: .*local\.db"):
        server.wait()
    assert server.pid is None  # waited for


def test_a_server_that_dies_while_starting_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "child_command", lambda db, t: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RunnerError, match=r"stopped while starting \(exit code 3\)"):
        LocalServer(tmp_path / "x.db").start().wait()


def test_a_server_that_never_answers_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(local, "child_command", lambda db, t: sleeper)
    server = LocalServer(tmp_path / "x.db").start()
    pid = server.pid
    assert pid is not None
    started = time.monotonic()
    with pytest.raises(RunnerError, match=r"did not start within 0\.5 s"):
        server.wait(timeout=0.5)
    assert time.monotonic() - started < 10 and _gone(pid, within=0)


def test_child_serve_reports_its_port_and_stops_when_the_lifeline_ends(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    out = io.StringIO()
    with os.fdopen(read_end, "rb") as lifeline:
        worker = threading.Thread(
            target=lambda: out.write(str(child.serve(tmp_path / "c.db", "k", 0.0, lifeline, out)))
        )
        worker.start()
        deadline = time.monotonic() + 30
        while "port" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        port = int(out.getvalue().split(":")[1].split("}")[0])
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
        assert client.models.list().data
        client.close()
        os.close(write_end)
        worker.join(timeout=30)
    assert not worker.is_alive() and out.getvalue().endswith("}\n0")


def test_child_main_refuses_to_start_without_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    assert child.main(["--db", str(tmp_path / "c.db")]) == 2
    assert capsys.readouterr().out == f'{{"error": "{KEY_VAR} is not set", "kind": "RunnerError"}}\n'
    assert not (tmp_path / "c.db").exists()
