"""Replay as a process: Ctrl-C (one cancel per run, transcripts only for what started) and the live
counter on a real terminal (a pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

from runner.replay.outdir import MARKER
from runner.transcript.io import read_transcript

from .conftest import active_runs, arun, interrupt_replay, serving


def test_ctrl_c_cancels_each_run_once_and_writes_only_the_scenarios_that_started(
    examples: Path, tmp_path: Path
) -> None:
    with serving(tmp_path, "ctrlc", model_time=5.0) as live:
        arun(examples, live, "apply", "--yes")
        db = tmp_path / "ctrlc.db"
        # 0.3 s after the second run starts: its id has reached the client
        code, _out, err = interrupt_replay(examples, live, db, "runs", 2, "-j", "2", settle=0.3)
        assert code == 130, err
        assert "could not cancel" not in err
        assert active_runs(db, live.client) == []
        with sqlite3.connect(db) as conn:
            runs = [row[0] for row in conn.execute("SELECT id FROM runs")]
        assert len(runs) == 2  # the other four scenarios never started
        cancels = [str(r["path"]) for r in live.requests() if str(r["path"]).endswith("/cancel")]
        assert sorted(p.split("/")[5] for p in cancels) == sorted(runs)  # each run cancelled once
    folder = examples / ".arun/transcripts"
    written = sorted(p for p in folder.rglob("*.yaml"))
    assert len(written) == 2 and (folder / MARKER).is_file()
    assert all(read_transcript(p, p.name)["result"] == "interrupted" for p in written)


def _count_runs(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # after setsid (start_new_session): the pty is this session's


def test_ctrl_c_on_a_terminal_reaches_replay_not_its_embedded_server_which_cancels_the_runs(
    examples: Path,
) -> None:
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "-C",
            str(examples),
            "replay",
            "--local",
            "-j",
            "2",
            "--model-time",
            "5",
        ],
        env=env,
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(child)
    db = examples / ".arun" / "local.db"
    try:
        deadline = time.monotonic() + 60
        while _count_runs(db) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        os.write(main, b"\x03")  # the terminal's Ctrl-C: SIGINT to its foreground process group
        text = _read_all(main, proc).decode("utf-8", "replace")
    finally:
        os.close(main)
    assert proc.wait(timeout=60) == 130, text
    assert "could not cancel" not in text
    assert _count_runs(db) == 2 and active_runs(db) == []  # cancelled by the server that stayed up


def _read_all(fd: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> bytes:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


def test_a_terminal_gets_a_live_counter_and_no_line_per_passing_scenario(examples: Path) -> None:
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "-C", str(examples), "replay", "--local", "-j", "2"],
        env=env,
        stdout=child,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    os.close(child)
    try:
        text = _read_all(main, proc).decode("utf-8")
    finally:
        os.close(main)
    assert proc.wait(timeout=60) == 0
    assert "PASS " not in text
    frames = [f.split(" ", 3)[:3] for f in text.split("\r\x1b[K") if f.startswith("[")]
    assert frames[-1] == ["[6/6]", "6", "passed"]
    done = [int(f[0][1:].split("/")[0]) for f in frames]
    assert done == sorted(done) and set(range(1, 7)) <= set(done)  # one line, counting up
    assert text.split("\r\x1b[K")[-1].startswith("6 scenarios: 6 passed.")  # the counter cleared
