"""The sandbox as a boundary: each escape that code run directly could make, tried for real behind bwrap.

Skipped, with the probe's reason, on a machine where the boundary cannot be had (no bwrap, namespaces
forbidden, root without a pids cgroup): there, code from a model is refused (tests/sim/test_sandbox.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from runner.sim import boundary
from runner.sim.sandbox import Sandbox

pytestmark = pytest.mark.skipif(not boundary.probe().available, reason=boundary.probe().reason)

BOUNDED = Sandbox(wall_seconds=20)


def model_run(code: str, sandbox: Sandbox = BOUNDED) -> str:
    result = sandbox.run(code, origin="model")
    assert result.status in ("ok", "error", "timeout"), result
    return result.output


def test_the_systems_files_and_the_servers_database_cannot_be_read(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (secret text)")
    paths = ["/etc/passwd", "/etc/shadow", "/etc/hostname", str(db), str(tmp_path)]
    code = f"""
import os
for path in {paths!r}:
    print(os.path.exists(path))
print(os.listdir('/etc'))
"""
    assert model_run(code).splitlines() == ["False"] * len(paths) + ["['ld.so.cache']"]


def test_the_servers_environment_cannot_be_read_through_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARUN_TEST_SECRET", "not-a-real-key-4711")
    code = f"""
import os
print(dict(os.environ))
seen = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            seen.append(open(f'/proc/{{pid}}/environ', 'rb').read())
        except OSError:
            pass
print(any(b'not-a-real-key-4711' in e for e in seen), os.path.exists('/proc/{os.getpid()}/cmdline'))
print(open(f'/proc/{{os.getppid()}}/environ', 'rb').read())
"""
    out = model_run(code)
    assert "not-a-real-key-4711" not in out
    assert out.splitlines()[:2] == ["{}", "False False"]


def test_nothing_can_be_written_outside_the_working_folder(tmp_path: Path) -> None:
    targets = ["/tmp/x", "/usr/x", "/x", "/proc/x", str(tmp_path / "x")]
    code = f"""
for path in {targets!r}:
    try:
        open(path, 'w').write('x')
        print('written')
    except OSError as exc:
        print(type(exc).__name__)
open('/mnt/data/inside.txt', 'w').write('fine')
print(open('inside.txt').read())
"""
    lines = model_run(code).splitlines()
    assert "written" not in lines[:-1]
    assert lines[-1] == "fine"
    assert list(tmp_path.iterdir()) == []


def test_the_network_is_out_of_reach_loopback_too() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = f"""
import socket
for addr in (('127.0.0.1', {port}), ('10.255.255.1', 80), ('1.1.1.1', 53)):
    try:
        socket.create_connection(addr, timeout=2)
        print('connected')
    except OSError as exc:
        print(type(exc).__name__)
"""
        lines = model_run(code).splitlines()
        assert len(lines) == 3 and "connected" not in lines
        with pytest.raises(TimeoutError):
            server.accept()


def _alive(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def _spawn_and(marker: str, then: str) -> str:
    # A grandchild that leaves the process group (setsid) and outlives its parent if nothing kills it.
    return f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])
    os._exit(0)
time.sleep(0.5)
print('spawned', flush=True)
{then}
"""


@pytest.mark.parametrize("then", ["time.sleep(60)", "pass"], ids=["after-the-wall-clock-kill", "after-exit"])
def test_no_process_the_code_started_is_left_running(then: str) -> None:
    marker = f"arun-test-marker-{os.getpid()}-{len(then)}"
    result = Sandbox(wall_seconds=3).run(_spawn_and(marker, then), origin="model")
    assert result.output.startswith("spawned\n")
    deadline = time.monotonic() + 3
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(marker) == []


def test_the_number_of_processes_is_limited() -> None:
    code = """
import os, time
children = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        children += 1
except OSError as exc:
    print(type(exc).__name__)
print(children)
"""
    lines = model_run(code, Sandbox(processes=10, wall_seconds=20)).split()
    assert lines[0] == "BlockingIOError"
    assert 0 < int(lines[1]) <= 10


def test_the_simulators_code_also_runs_behind_the_boundary() -> None:
    assert BOUNDED.mode("simulator") == "boundary"
    assert BOUNDED.run("import os\nprint(os.getcwd(), dict(os.environ))").output == "/mnt/data {}\n"
