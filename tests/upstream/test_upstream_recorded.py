"""Record then replay of the request forms a real model's answers add (text then calls, a call of a
function nobody offered, attachments): the same on a fresh database, and a changed prompt a clear miss."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

from runner.server.embedded import EmbeddedServer
from runner.upstream.client import UpstreamClient, UpstreamSettings
from runner.upstream.model import UpstreamModel
from runner.upstream.recording import Exchanges, Recorder, Replayer
from tests.upstream.scripted import Answer, ScriptedUpstream, call_chunks, text_chunks
from tests.upstream.test_upstream_answers import text_then_calls
from tests.upstream.test_upstream_runs import CODE, FRONT, KEY, WEATHER

SCRIPT = [
    Answer(chunks=call_chunks([("get_wether", '{"city":"Oslo"}')])),
    Answer(chunks=text_then_calls("Let me check.", [("get_weather", '{"city":"Oslo"}')])),
    Answer(chunks=text_chunks("It snows, and the file has 2 rows.", usage=(40, 9))),
]


@contextmanager
def serving(db: Path, source: Exchanges) -> Iterator[openai.OpenAI]:
    with EmbeddedServer(db, KEY, runs=FRONT, model=UpstreamModel(source)) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        yield sdk
        sdk.close()


def conversation(sdk: openai.OpenAI, question: str = "Weather in Oslo, and how many rows?") -> dict[str, Any]:
    """One run with an attachment, a function round trip, and everything the client saw, without ids."""
    data = sdk.files.create(file=("rows.csv", b"a\n1\n2\n"), purpose="assistants")
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[WEATHER, CODE], instructions="Be useful.")
    attachment = {"file_id": data.id, "tools": [{"type": "code_interpreter"}]}
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": question, "attachments": [attachment]}]},
        poll_interval_ms=20,
    )
    seen: dict[str, Any] = {"first": run.status}
    if run.status == "requires_action":
        pending = run.required_action.submit_tool_outputs.tool_calls
        seen["asked"] = [(c.function.name, c.function.arguments) for c in pending]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": c.id, "output": "snow"} for c in pending],
            poll_interval_ms=20,
        )
    steps = sdk.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data
    messages = sdk.beta.threads.messages.list(run.thread_id, order="asc").data
    seen.update(
        status=run.status,
        error=run.last_error.message if run.last_error else None,
        usage=run.usage.model_dump() if run.usage else None,
        steps=[(s.type, s.status, s.usage.model_dump() if s.usage else None) for s in steps],
        messages=[(m.role, m.content[0].text.value if m.content else "") for m in messages],
    )
    return seen


def test_record_then_replay_on_a_fresh_database_is_the_same_and_a_changed_prompt_misses(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "exchanges"
    with ScriptedUpstream(list(SCRIPT)) as up:
        client = UpstreamClient(UpstreamSettings(up.base_url, None, timeout=5, backoff=0.01))
        with serving(tmp_path / "recorded.db", Recorder(client, folder)) as sdk:
            recorded = conversation(sdk)
    assert recorded["status"] == "completed", recorded
    assert recorded["asked"] == [("get_weather", '{"city":"Oslo"}')]
    assert len(list(folder.glob("*.json"))) == 3  # the unknown call's re-ask is an exchange of its own
    with serving(tmp_path / "fresh.db", Replayer(folder)) as sdk:
        replayed = conversation(sdk)
    assert json.dumps(replayed, sort_keys=True) == json.dumps(recorded, sort_keys=True)
    with serving(tmp_path / "changed.db", Replayer(folder)) as sdk:
        changed = conversation(sdk, "Weather in Bergen?")
    assert changed["status"] == "failed"
    assert "no recorded answer for this request" in changed["error"]
    assert "Weather in Bergen?" in changed["error"]


def test_a_response_fails_with_the_upstreams_failure(tmp_path: Path) -> None:
    busy = Answer(status=429, body={"error": {"message": "slow down", "code": "rate_limit_exceeded"}})
    with ScriptedUpstream([busy] * 4) as up:
        client = UpstreamClient(UpstreamSettings(up.base_url, None, timeout=5, backoff=0.01))
        with serving(tmp_path / "front.db", client) as sdk:
            response = sdk.responses.create(model="gpt-4o", input="Hello")
    assert response.status == "failed"
    assert response.error is not None and response.error.code == "rate_limit_exceeded"
    assert "slow down" in response.error.message
