from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings

from ..conftest import REPO, copy_examples

TEST_KEY = "test-local-key-0000000000000000000"


@dataclass
class Server:
    base_url: str
    api_key: str
    log: Path
    client: openai.OpenAI

    def requests(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def mark(self) -> int:
        return len(self.requests())

    def since(self, mark: int) -> list[tuple[str, str]]:
        return [(str(r["method"]), str(r["path"])) for r in self.requests()[mark:]]

    def writes_since(self, mark: int) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.since(mark) if m != "GET"]

    def cli_args(self) -> list[str]:
        return ["--base-url", self.base_url, "--api-key", self.api_key]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    log = tmp_path / "access.jsonl"
    with (
        log.open("a", encoding="utf-8") as handle,
        EmbeddedServer(tmp_path / "server.db", TEST_KEY, access_log=handle) as running,
    ):
        client = openai.OpenAI(base_url=running.base_url, api_key=TEST_KEY, max_retries=0)
        yield Server(running.base_url, TEST_KEY, log, client)
        client.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in ("assistants", "corpus", "prompts"):
        shutil.copytree(REPO / name, root / name)
    return root


@contextmanager
def serving(tmp_path: Path, name: str = "server", **runs: object) -> Iterator[Server]:
    """The local server on a loopback port with tiny model time, an access log, and an SDK client."""
    log = tmp_path / f"{name}.jsonl"
    settings = RunSettings(**{"model_time": 0.01, **runs})  # type: ignore[arg-type]
    with (
        log.open("a", encoding="utf-8") as handle,
        EmbeddedServer(tmp_path / f"{name}.db", TEST_KEY, access_log=handle, runs=settings) as server,
    ):
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        yield Server(server.base_url, TEST_KEY, log, client)
        client.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path) as server:
        yield server


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def arun(root: Path, server: Server, *args: str) -> tuple[int, str, str]:
    command, *rest = args
    result = CliRunner().invoke(
        cli, ["-C", str(root), command, *server.cli_args(), *rest], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def active_runs(db: Path, client: openai.OpenAI | None = None) -> list[str]:
    """Runs the server holds that are not terminal. With a client, each is asked for over the API."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT thread_id, id, json_extract(data, '$.status') FROM runs").fetchall()
    if client is None:
        states = [status for _, _, status in rows]
    else:
        states = [client.beta.threads.runs.retrieve(run, thread_id=thread).status for thread, run, _ in rows]
    return [s for s in states if s not in ("completed", "failed", "cancelled", "expired", "incomplete")]


def interrupt_replay(
    root: Path, server: Server, db: Path, table: str, started: int, *args: str, settle: float = 0.0
) -> tuple[int, str, str]:
    """`arun replay ARGS` in a process of its own against `server`; Ctrl-C once `table` in the server's
    database `db` has `started` rows (streamed requests are logged only when they end, so ask the
    database), `settle` seconds later. Returns the exit code, stdout and stderr."""
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": TEST_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "-C", str(root), "replay", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            if conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= started:
                break
        time.sleep(0.05)
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    return proc.returncode, out, err
