"""`arun serve --upstream` before llama.cpp's server, driven by the real SDK and the real `arun replay`:
structure only (tool calls round-trip, deltas add up, usage is the upstream's, runs repeat exactly)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest

from tests.conftest import REPO
from tests.model.conftest import KEY, Front, Llama, exchanges, front
from tests.model.test_llama_server import WEATHER


def _sdk(server: Front) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=300)


def _forced_round_trip(client: openai.OpenAI) -> Any:
    """A forced get_weather call, its arguments checked against the schema, answered until the run stops
    asking (at most 10 rounds); the run as it ends."""
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[WEATHER], temperature=0)  # type: ignore[list-item]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Lisbon?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        poll_interval_ms=100,
    )
    assert run.status == "requires_action", run.last_error
    rounds = 0
    while run.status == "requires_action" and rounds < 10:
        rounds += 1
        calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        assert len({c.id for c in calls}) == len(calls)
        for call in calls:
            assert call.function.name == "get_weather"
            jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])  # type: ignore[index]
        outputs = [{"tool_call_id": c.id, "output": '{"temperature": 21}'} for c in calls]
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=outputs,
            poll_interval_ms=100,  # type: ignore[arg-type]
        )
    return run


def test_a_forced_tool_call_has_arguments_valid_against_the_schema(llama: Llama, tmp_path: Path) -> None:
    with front(llama, tmp_path) as server, _sdk(server) as client:
        run = _forced_round_trip(client)
    assert run.status in ("completed", "failed", "incomplete")  # it ends; how is the next test's question


@pytest.mark.xfail(
    strict=True,
    reason="known gap: llama.cpp's server answers 500 (request validation, 'literal_error' in messages[1]) "
    "to the history the adapter sends after a tool output",
)
def test_a_forced_tool_call_round_trips_to_a_completed_run(llama: Llama, tmp_path: Path) -> None:
    with front(llama, tmp_path) as server, _sdk(server) as client:
        run = _forced_round_trip(client)
    assert run.status == "completed", run.last_error


def test_streamed_deltas_add_up_to_the_message_and_usage_is_the_upstreams(
    llama: Llama, tmp_path: Path
) -> None:
    with front(llama, tmp_path) as server, _sdk(server) as client:
        assistant = client.beta.assistants.create(model="gpt-4o-mini", temperature=0)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Name three colours."}])
        deltas: list[str] = []
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            for event in stream:
                if event.event == "thread.message.delta":
                    deltas += [p.text.value or "" for p in event.data.delta.content or [] if p.type == "text"]  # type: ignore[union-attr]
            run = stream.get_final_run()
        message = client.beta.threads.messages.list(thread_id=thread.id, limit=1).data[0]
        assert message.role == "assistant"
        assert "".join(deltas) == message.content[0].text.value  # type: ignore[union-attr]
        assert len(deltas) > 1  # relayed as the upstream streamed, not as one piece
    [exchange] = exchanges(server.record)
    reported = [json.loads(t).get("usage") for t in exchange["answer"]]
    usage = next((u for u in reported if u), None)
    assert run.usage is not None
    counted = (run.usage.prompt_tokens, run.usage.completion_tokens)
    if usage is not None:
        assert counted == (usage["prompt_tokens"], usage["completion_tokens"])
    else:  # llama.cpp's server reports none in a stream (stream_options is ignored): arun counts instead
        assert counted[0] > 0 and counted[1] > 0


def _project(root: Path) -> Path:
    for part in ("assistants", "scenarios", "corpus", "prompts"):
        shutil.copytree(REPO / part, root / part)
    # temperature 0: the small model answers greedily, so a repeat asks and answers the same
    helper = root / "assistants" / "travel-helper.yaml"
    helper.write_text(helper.read_text(encoding="utf-8") + "temperature: 0\n", encoding="utf-8")
    return root


def _arun(root: Path, server: Front, *args: str) -> subprocess.CompletedProcess[str]:
    arun = Path(sys.executable).with_name("arun")
    command, *rest = args
    full = [str(arun), "-C", str(root), command, "--base-url", server.base_url, "--api-key", KEY, *rest]
    return subprocess.run(full, capture_output=True, text=True, timeout=900)


def _transcripts(root: Path) -> dict[str, Any]:
    out = root / ".arun" / "transcripts"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.yaml"))}


def test_the_same_seed_gives_the_same_transcript(llama: Llama, tmp_path: Path) -> None:
    runs = []
    for name in ("first", "second"):
        root = _project(tmp_path / name)
        with front(llama, tmp_path / f"{name}-server") as server:
            assert _arun(root, server, "apply", "--yes").returncode == 0
            done = _arun(root, server, "replay", "travel-helper/", "-j", "1")
        # 1 may be an expectation the small model's judgement missed, which this tier does not check
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert "Error" not in done.stderr, done.stderr
        runs.append(_transcripts(root))
    assert list(runs[0]) == ["travel-helper/weather-lookup.yaml"]
    assert runs[0] == runs[1]
