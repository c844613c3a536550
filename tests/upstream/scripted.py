"""A scripted Chat Completions upstream on a loopback port: it answers each request with the next entry of
its script (a status, headers, a JSON body or a list of stream chunks, a delay, a cut) and keeps the
requests it got, for tests of the adapter's retries, faults and multi-round tool loops."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # a JSON body (non-streamed answer or error)
    chunks: list[Any] | None = None  # stream chunks (dicts), then `data: [DONE]` unless cut
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before answering
    chunk_delay: float = 0.0  # between chunks
    cut_after: int | None = None  # drop the connection after this many chunks


def text_chunks(
    text: str, usage: tuple[int, int] | None = (5, 2), finish: str = "stop"
) -> list[dict[str, Any]]:
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1].rstrip(" ")
    out = [_chunk({"role": "assistant", "content": ""})]
    out += [_chunk({"content": w}) for w in words]
    out.append(_chunk({}, finish))
    if usage is not None:
        out.append(
            {"id": "chatcmpl-up", "object": "chat.completion.chunk", "choices": [], "usage": _usage(*usage)}
        )
    return out


def call_chunks(calls: list[tuple[str, str]], usage: tuple[int, int] | None = (7, 3)) -> list[dict[str, Any]]:
    out = []
    for n, (name, arguments) in enumerate(calls):
        head = {"index": n, "id": f"up_{n}", "type": "function", "function": {"name": name, "arguments": ""}}
        out.append(_chunk({"role": "assistant", "content": None, "tool_calls": [head]}))
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            out.append(_chunk({"tool_calls": [{"index": n, "function": {"arguments": part}}]}))
    out.append(_chunk({}, "tool_calls"))
    if usage is not None:
        out.append(
            {"id": "chatcmpl-up", "object": "chat.completion.chunk", "choices": [], "usage": _usage(*usage)}
        )
    return out


def completion(
    text: str | None, calls: list[tuple[str, str]] = (), usage: tuple[int, int] = (5, 2)
) -> dict[str, Any]:  # type: ignore[assignment]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": f"up_{n}", "type": "function", "function": {"name": a, "arguments": b}}
            for n, (a, b) in enumerate(calls)
        ]
    finish = "tool_calls" if calls else "stop"
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(*usage),
    }


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class _Stream(Response):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.status_code = answer.status
        self.background = None
        self.raw_headers = [(b"content-type", b"text/event-stream")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for n, chunk in enumerate(self.answer.chunks or []):
            if self.answer.cut_after is not None and n >= self.answer.cut_after:
                return  # no final body message: the connection is dropped
            await asyncio.sleep(self.answer.chunk_delay)
            body = f"data: {json.dumps(chunk)}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


class ScriptedUpstream:
    def __init__(self, script: list[Answer]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.headers: list[dict[str, str]] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _handle(self, request: Request) -> Response:
        self.requests.append(json.loads(await request.body()))
        self.arrivals.append(time.monotonic())
        self.headers.append(dict(request.headers))
        if not self.script:
            return JSONResponse({"error": {"message": "the script has no more answers"}}, status_code=418)
        answer = self.script.pop(0)
        await asyncio.sleep(answer.delay)
        if answer.chunks is not None:
            return _Stream(answer)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    def __enter__(self) -> ScriptedUpstream:
        app = Starlette(routes=[Route("/v1/chat/completions", self._handle, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.002)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [t async for t in stream]
