"""The upstream client against a scripted upstream on loopback: retries honouring Retry-After, every fault
turned into the seam's failure, and the unstreamed fallback for upstreams that cannot stream tool steps;
then recording and replaying exchanges."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from runner.sim.types import ContextOverflow, ModelFailure
from runner.upstream.client import UpstreamClient, UpstreamSettings, retry_after
from runner.upstream.recording import Recorder, Replayer, canonical, key
from tests.upstream.scripted import Answer, ScriptedUpstream, call_chunks, collect, completion, text_chunks

BODY: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
TOOLS: dict[str, Any] = {**BODY, "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}


def _ask(upstream: ScriptedUpstream, body: dict[str, Any] = BODY, **settings: Any) -> list[str]:
    async def main() -> list[str]:
        client = UpstreamClient(
            UpstreamSettings(upstream.base_url, "made-up-upstream-key", **{"backoff": 0.01, **settings})
        )
        try:
            return await collect(client.exchange(body))
        finally:
            await client.close()

    return asyncio.run(main())


def test_a_streamed_answer_is_relayed_chunk_by_chunk_with_the_key_sent() -> None:
    with ScriptedUpstream([Answer(chunks=text_chunks("Hello there"))]) as up:
        texts = _ask(up)
    assert [json.loads(t) for t in texts] == text_chunks("Hello there")
    assert up.headers[0]["authorization"] == "Bearer made-up-upstream-key"
    assert up.requests == [BODY]


def test_429_is_retried_after_retry_after_then_answered() -> None:
    script = [
        Answer(429, {"error": {"message": "slow down"}}, headers={"retry-after": "0.2"}),
        Answer(chunks=text_chunks("ok")),
    ]
    with ScriptedUpstream(script) as up:
        texts = _ask(up)
    assert len(up.requests) == 2 and json.loads(texts[1])["choices"][0]["delta"]["content"] == "ok"
    assert up.arrivals[1] - up.arrivals[0] >= 0.19  # the wait the upstream asked for, not the 0.01 backoff


@pytest.mark.parametrize(
    ("status", "code"), [(429, "rate_limit_exceeded"), (500, "server_error"), (503, "server_error")]
)
def test_a_failure_that_persists_fails_the_step_with_its_code(status: int, code: str) -> None:
    with (
        ScriptedUpstream([Answer(status, {"error": {"message": "busy"}})] * 4) as up,
        pytest.raises(ModelFailure) as caught,
    ):
        _ask(up, retries=3)
    assert len(up.requests) == 4
    assert caught.value.code == code
    assert caught.value.message == f"the upstream answered {status}: busy (after 4 attempts)"


def test_a_timeout_is_retried_then_reported() -> None:
    with (
        ScriptedUpstream([Answer(chunks=text_chunks("late"), delay=1.0)] * 2) as up,
        pytest.raises(ModelFailure) as caught,
    ):
        _ask(up, retries=1, timeout=0.2)
    assert caught.value.code == "server_error" and "did not answer within" in caught.value.message
    assert len(up.requests) == 2


def test_a_stream_dropped_midway_fails_without_a_retry() -> None:
    with (
        ScriptedUpstream([Answer(chunks=text_chunks("one two three"), cut_after=2)] * 2) as up,
        pytest.raises(ModelFailure) as caught,
    ):
        _ask(up)
    assert caught.value.code == "server_error" and "before the answer was complete" in caught.value.message
    assert len(up.requests) == 1  # chunks had been relayed: asking again would repeat them


def test_a_context_overflow_is_not_retried() -> None:
    body = {
        "error": {
            "message": "This model's maximum context length is 8 tokens",
            "code": "context_length_exceeded",
        }
    }
    with (
        ScriptedUpstream([Answer(400, body)]) as up,
        pytest.raises(ContextOverflow, match="maximum context length"),
    ):
        _ask(up)
    assert len(up.requests) == 1


def test_a_refusal_is_reported_as_it_came() -> None:
    with (
        ScriptedUpstream([Answer(401, {"error": {"message": "Incorrect API key provided"}})]) as up,
        pytest.raises(ModelFailure, match="answered 401: Incorrect API key provided"),
    ):
        _ask(up)
    assert len(up.requests) == 1


def test_an_upstream_that_cannot_stream_tool_steps_is_asked_unstreamed() -> None:
    refusal = {"error": {"message": "Automatic streaming tool choice is not supported"}}
    script = [
        Answer(500, refusal),
        Answer(body=completion(None, [("f", "{}")])),
        Answer(body=completion("done")),
    ]

    async def main(up: ScriptedUpstream) -> list[list[str]]:
        client = UpstreamClient(UpstreamSettings(up.base_url, None, backoff=0.01))
        try:
            return [await collect(client.exchange(TOOLS)), await collect(client.exchange(TOOLS))]
        finally:
            await client.close()

    with ScriptedUpstream(script) as up:
        first, second = asyncio.run(main(up))
    assert [("stream" in r, "stream_options" in r) for r in up.requests] == [
        (True, False),
        (False, False),
        (False, False),
    ]
    assert (
        json.loads(first[0])["object"] == "chat.completion"
        and json.loads(second[0])["choices"][0]["message"]["content"] == "done"
    )
    assert "authorization" not in up.headers[0]  # no key configured: none sent


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "150"}, 0.15),
        ({"retry-after": "Wed, 21 Oct 2015"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], wait: float | None) -> None:
    assert retry_after(headers) == wait


# -- record and replay ---------------------------------------------------------------------------------


def test_the_canonical_form_replaces_server_made_ids_in_order() -> None:
    a = {
        "model": "m",
        "messages": [
            {
                "role": "tool",
                "content": '{"file_id":"file-AAAAAAAAAAAAAAAAAAAAAA"} file-BBBBBBBBBBBBBBBBBBBBBB file-AAAAAAAAAAAAAAAAAAAAAA',
            }
        ],
    }
    b = {
        "messages": [
            {
                "content": '{"file_id":"file-CCCCCCCCCCCCCCCCCCCCCC"} file-DDDDDDDDDDDDDDDDDDDDDD file-CCCCCCCCCCCCCCCCCCCCCC',
                "role": "tool",
            }
        ],
        "model": "m",
    }
    assert canonical(a) == canonical(b)
    assert "<file:1>" in canonical(a) and "<file:2>" in canonical(a)
    assert key(a) == key(b) and key(a) != key({**a, "model": "other"})


def test_record_then_replay_gives_the_same_texts_and_a_miss_names_the_request(tmp_path: Path) -> None:
    folder = tmp_path / "rec"

    async def record(up: ScriptedUpstream) -> list[str]:
        client = UpstreamClient(UpstreamSettings(up.base_url, None))
        try:
            return await collect(Recorder(client, folder).exchange(TOOLS))
        finally:
            await client.close()

    with ScriptedUpstream([Answer(chunks=call_chunks([("f", '{"a":1}')]))]) as up:
        recorded = asyncio.run(record(up))
    files = list(folder.glob("*.json"))
    assert [f.name for f in files] == [f"{key(TOOLS)}.json"]
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    assert saved["request"] == TOOLS and saved["answer"] == recorded and saved["sent_streamed"] is True
    replayed = asyncio.run(collect(Replayer(folder).exchange(TOOLS)))
    assert replayed == recorded
    changed = {**TOOLS, "messages": [{"role": "user", "content": "Hi there, something else"}]}
    with pytest.raises(ModelFailure) as caught:
        asyncio.run(collect(Replayer(folder).exchange(changed)))
    assert caught.value.code == "server_error"
    assert (
        f"no recorded answer for this request (key {key(changed)}: model 'm', 1 messages, the last (user) 'Hi there, something else')"
        in caught.value.message
    )


def test_replay_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder of recorded exchanges"):
        Replayer(tmp_path / "missing")
