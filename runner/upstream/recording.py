"""Recorded model exchanges (`arun serve --record DIR` / `--replay DIR`, docs/upstream.md).

Each exchange is one JSON file in DIR: the request in its canonical form and the answer's JSON texts as
they came (each chunk of a stream, or the one completion). The file is named after a hash of the canonical
request, in which every id the server made (files, vector stores, assistants, threads, messages, runs,
steps, calls, completions) is replaced by a placeholder numbered in order of first appearance, so that the
same conversation asks the same request on a fresh database. `model` stays: a change of upstream model is
a different request.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

from runner.sim.types import ModelFailure

_ID = re.compile(
    r"\b(asst_|thread_|msg_|run_|step_|call_|file-|vs_|vsfb_|chatcmpl-|resp_|conv_)[A-Za-z0-9]{16,}\b"
)
FORMAT = 1


class Exchanges(Protocol):
    def exchange(self, body: dict[str, Any]) -> AsyncIterator[str]: ...


def canonical(body: dict[str, Any]) -> str:
    """The request as compact, key-sorted JSON text with server-made ids replaced by `<kind:N>`."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    seen: dict[str, str] = {}

    def placeholder(m: re.Match[str]) -> str:
        if m.group(0) not in seen:
            seen[m.group(0)] = f"<{m.group(1).rstrip('_-')}:{len(seen) + 1}>"
        return seen[m.group(0)]

    return _ID.sub(placeholder, text)


def key(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body).encode()).hexdigest()[:20]


def describe(body: dict[str, Any]) -> str:
    """A request in a few words, for an error message: model, message count and the last message."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    content = str(last.get("content") or "")
    shown = content if len(content) <= 80 else content[:77] + "..."
    return f"model {body.get('model')!r}, {len(messages)} messages, the last ({last.get('role')}) {shown!r}"


class Recorder:
    """Asks `upstream` and writes each finished exchange to `folder`."""

    def __init__(self, upstream: Exchanges, folder: Path) -> None:
        self.upstream = upstream
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def aclose(self) -> None:
        close = getattr(self.upstream, "aclose", None)
        if close is not None:
            await close()

    async def exchange(self, body: dict[str, Any]) -> AsyncIterator[str]:
        shaped = getattr(self.upstream, "shaped", lambda b: b)(body)
        texts: list[str] = []
        async for text in self.upstream.exchange(body):
            texts.append(text)
            yield text
        record = {"format": FORMAT, "key": key(body), "request": json.loads(canonical(body))}
        record["sent_streamed"] = bool(shaped.get("stream"))
        record["answer"] = texts
        _write(self.folder / f"{record['key']}.json", json.dumps(record, indent=1, ensure_ascii=False) + "\n")


class Replayer:
    """Answers from `folder`; a request with no recorded answer fails the step and names the request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of recorded exchanges (made with --record)")

    async def exchange(self, body: dict[str, Any]) -> AsyncIterator[str]:
        for text in self.answer(body):
            yield text

    def answer(self, body: dict[str, Any]) -> Iterator[str]:
        name = key(body)
        path = self.folder / f"{name}.json"
        if not path.is_file():
            raise ModelFailure(
                "server_error",
                f"--replay {self.folder}: no recorded answer for this request (key {name}: {describe(body)}). "
                "The conversation asks something the recording did not; record it again with --record.",
            )
        record = json.loads(path.read_text(encoding="utf-8"))
        yield from record["answer"]


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
