from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from runner.server.embedded import EmbeddedServer

from ..conftest import REPO

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
