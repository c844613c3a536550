"""HTTP to the upstream's `POST /chat/completions`: one exchange per model step, streamed when it can be,
retried where retrying is safe, and every failure turned into the seam's `ModelFailure` / `ContextOverflow`.

Retries: a 429 or 5xx answer, a timeout and a refused connection are retried before any chunk has arrived
(up to `retries` more times, waiting the answer's `Retry-After` when it sends one, else 0.5 s, 1 s, 2 s...
capped at `max_wait`), then the step fails with `rate_limit_exceeded` (429) or `server_error`. Once chunks
have been relayed to the client nothing is retried: a stream cut then fails the step.

An upstream that cannot stream a step with tools (llama.cpp's server with `tool_choice: auto` answers
"Automatic streaming tool choice is not supported") is asked the same request without `stream`; the
client remembers that and asks tool steps unstreamed from then on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from runner.sim.types import ContextOverflow, ModelFailure

log = logging.getLogger("runner.upstream")

# What upstreams say when a prompt is longer than the model's context (OpenAI, vLLM, llama.cpp, Ollama).
_OVERFLOW = (
    "context_length_exceeded",
    "maximum context length",
    "exceeds the available context",
    "context size",
)


@dataclass(frozen=True)
class UpstreamSettings:
    base_url: str
    api_key: str | None = None
    timeout: float = 60.0  # seconds without a byte from the upstream
    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0


class _Retry(Exception):
    def __init__(self, code: str, message: str, wait: float | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.wait = wait


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds; an HTTP date is not honoured)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)[:300]
    if isinstance(error, str):
        return error[:300]
    return json.dumps(data)[:300]


class UpstreamClient:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self.stream_tools = True  # set to False once the upstream refuses to stream a step with tools
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        timeout = httpx2.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        self._http = httpx2.AsyncClient(
            base_url=settings.base_url.rstrip("/"), headers=headers, timeout=timeout, trust_env=False
        )

    async def close(self) -> None:
        """Closes the HTTP connections (the server calls it as it stops, on its own event loop)."""
        await self._http.aclose()

    aclose = close

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def shaped(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as it will be sent to this upstream (unstreamed tool steps where it cannot stream them)."""
        if body.get("stream") and body.get("tools") and not self.stream_tools:
            return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        return body

    async def exchange(self, body: dict[str, Any]) -> AsyncIterator[str]:
        """The answer's JSON texts as they arrive: each chunk of a stream, or the one non-streamed completion."""
        body = self.shaped(body)
        attempt = 0
        while True:
            relayed = False
            try:
                async for text in self._once(body):
                    relayed = True
                    yield text
                return
            except _Unstreamable:
                log.warning("the upstream cannot stream steps with tools; asking them unstreamed from now on")
                self.stream_tools = False
                body = self.shaped(body)
                continue
            except _Retry as retry:
                if relayed or attempt >= self.settings.retries:
                    raise ModelFailure(
                        retry.code, f"{retry.message} (after {attempt + 1} attempts)"
                    ) from None
                wait = retry.wait
                if wait is None:
                    wait = self.settings.backoff * 2**attempt
                wait = min(wait, self.settings.max_wait)
                log.warning("upstream: %s; retrying in %.2f s", retry.message, wait)
                attempt += 1
                await asyncio.sleep(wait)

    async def _once(self, body: dict[str, Any]) -> AsyncIterator[str]:
        url = self.settings.base_url.rstrip("/") + "/chat/completions"
        started = time.monotonic()
        try:
            async with self._http.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    raw = await response.aread()
                    self._refused(response.status_code, raw, response.headers, body)
                if not body.get("stream"):
                    raw = await response.aread()
                    yield raw.decode("utf-8")
                    return
                finished = False
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        finished = True
                        break
                    if _finishes(data):
                        finished = True
                    yield data
                if not finished:
                    raise ModelFailure(
                        "server_error",
                        f"the upstream's stream from {url} ended before the answer was complete",
                    )
        except httpx2.TimeoutException:
            waited = time.monotonic() - started
            raise _Retry(
                "server_error", f"the upstream {url} did not answer within {waited:.0f} s", None
            ) from None
        except httpx2.ConnectError as exc:
            raise _Retry("server_error", f"cannot reach the upstream {url}: {exc}", None) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            raise ModelFailure(
                "server_error",
                f"the upstream's stream from {url} was cut before the answer was complete ({exc})",
            ) from None

    def _refused(self, status: int, raw: bytes, headers: Mapping[str, str], body: Mapping[str, Any]) -> None:
        message = _message(raw)
        said = f"the upstream answered {status}: {message}"
        if body.get("stream") and body.get("tools") and "stream" in message.lower():
            raise _Unstreamable()
        if status == 429:
            raise _Retry("rate_limit_exceeded", said, retry_after(headers))
        if status >= 500:
            raise _Retry("server_error", said, retry_after(headers))
        if any(word in raw.decode("utf-8", "replace").lower() for word in _OVERFLOW):
            raise ContextOverflow(said)
        raise ModelFailure("server_error", said)


class _Unstreamable(Exception):
    pass


def _finishes(data: str) -> bool:
    try:
        chunk = json.loads(data)
    except ValueError:
        return False
    return any(c.get("finish_reason") for c in chunk.get("choices") or () if isinstance(c, dict))
