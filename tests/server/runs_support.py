"""What the run tests share: a fast server (tiny model time), SDK clients whose every answer is checked
against the spec, including each server-sent event of a stream (`AssistantStreamEvent`), and a check that
streamed text deltas add up to the final message.

Allowances beyond part 1's (all from the recordings, see docs/local-server.md): run steps carry
`expires_at` and neither `expired_at` nor `metadata`; a run's `instructions` may be null.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
from conftest import API_KEY, Contract

from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.server.faults import Faults

MODEL_TIME = 0.02

RUN_ROUTES: list[tuple[str, str, str]] = [
    ("POST", r"/threads/runs", "RunObject"),
    ("GET", r"/threads/[^/]+/runs", "ListRunsResponse"),
    ("POST", r"/threads/[^/]+/runs", "RunObject"),
    ("GET|POST", r"/threads/[^/]+/runs/[^/]+", "RunObject"),
    ("POST", r"/threads/[^/]+/runs/[^/]+/(cancel|submit_tool_outputs)", "RunObject"),
    ("GET", r"/threads/[^/]+/runs/[^/]+/steps", "ListRunStepsResponse"),
    ("GET", r"/threads/[^/]+/runs/[^/]+/steps/[^/]+", "RunStepObject"),
]


def run_allowances(schemas: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(schemas)
    step = s["RunStepObject"]
    step["required"] = [r for r in step["required"] if r not in ("expired_at", "metadata")]
    run = s["RunObject"]["properties"]
    run["instructions"] = {"anyOf": [run["instructions"], {"type": "null"}]}
    return s


class RunContract(Contract):
    def __init__(self) -> None:
        super().__init__()
        self.schemas = run_allowances(self.schemas)
        self.streams: list[list[tuple[str, Any]]] = []

    def schema_for(self, method: str, path: str, status: int) -> str | None:
        route = path.split("/v1", 1)[1]
        if status < 400:
            import re

            for methods, pattern, schema in RUN_ROUTES:
                if method in methods.split("|") and re.fullmatch(pattern, route):
                    return schema
        return super().schema_for(method, path, status)

    # -- streams --------------------------------------------------------------------------------------

    def event(self, events: list[tuple[str, Any]], raw: str) -> None:
        fields = dict(line.split(": ", 1) for line in raw.split("\n") if line)
        name, data = fields["event"], fields["data"]
        parsed = data if data == "[DONE]" else json.loads(data)
        events.append((name, parsed))
        self.checked += 1
        for error in self.validator("AssistantStreamEvent").iter_errors({"event": name, "data": parsed}):
            self.problems.append(f"stream event {name}: {error.message[:300]}")

    def finished(self, events: list[tuple[str, Any]]) -> None:
        deltas: dict[str, str] = {}
        for name, data in events:
            if name == "thread.message.delta":
                for part in data["delta"]["content"]:
                    deltas[data["id"]] = deltas.get(data["id"], "") + part["text"]["value"]
            if name in ("thread.message.completed", "thread.message.incomplete"):
                final = "".join(p["text"]["value"] for p in data["content"])
                if deltas.get(data["id"], "") != final:
                    self.problems.append(f"deltas of {data['id']} do not add up to its final text")
        self.streams.append(events)

    def sync_hook(self, response: Any) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = _SyncTee(response.stream, self)
            return
        super().sync_hook(response)

    async def async_hook(self, response: Any) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = _AsyncTee(response.stream, self)
            return
        await super().async_hook(response)


class _Frames:
    def __init__(self, contract: RunContract) -> None:
        self.contract = contract
        self.buffer = ""
        self.events: list[tuple[str, Any]] = []
        self.closed = False

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk.decode()
        while "\n\n" in self.buffer:
            raw, self.buffer = self.buffer.split("\n\n", 1)
            self.contract.event(self.events, raw)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.contract.finished(self.events)


class _SyncTee:
    def __init__(self, inner: Any, contract: RunContract) -> None:
        self.inner = inner
        self.frames = _Frames(contract)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.frames.feed(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()
        self.frames.close()


class _AsyncTee:
    def __init__(self, inner: Any, contract: RunContract) -> None:
        self.inner = inner
        self.frames = _Frames(contract)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.frames.feed(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.frames.close()


def start_server(db: Path, **settings: Any) -> EmbeddedServer:
    faults = Faults.parse(settings.pop("faults", ()), settings.pop("seed", 0))
    runs = RunSettings(model_time=settings.pop("model_time", MODEL_TIME), faults=faults, **settings)
    return EmbeddedServer(db, API_KEY, runs=runs).start()


def sdk(server: EmbeddedServer, contract: RunContract, **options: Any) -> openai.OpenAI:
    http = openai.DefaultHttpx2Client(event_hooks={"response": [contract.sync_hook]}, trust_env=False)
    return openai.OpenAI(
        api_key=API_KEY, base_url=server.base_url, max_retries=options.get("max_retries", 0), http_client=http
    )


def async_sdk(server: EmbeddedServer, contract: RunContract) -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpx2Client(event_hooks={"response": [contract.async_hook]}, trust_env=False)
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0, http_client=http)


def names(events: list[tuple[str, Any]]) -> list[str]:
    """Event names with runs of the same delta event collapsed (their number is not part of the shape)."""
    out: list[str] = []
    for name, _ in events:
        if not (name.endswith(".delta") and out and out[-1] == name):
            out.append(name)
    return out


WEATHER = {
    "type": "function",
    "function": {"name": "get_current_weather", "description": "Gets the user's current weather"},
}
