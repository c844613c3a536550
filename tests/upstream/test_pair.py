"""`arun serve --upstream` pointed at a second `arun serve` (the simulator's Chat Completions): the examples
replay and compare the same as directly; record then replay byte for byte on a fresh database; a replay
miss; runs with parallel calls, built-in tools, streaming and usage through the real SDK."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.sim.types import Model
from runner.upstream.client import UpstreamClient, UpstreamSettings
from runner.upstream.model import UpstreamModel
from runner.upstream.recording import Exchanges, Recorder, Replayer
from tests.conftest import REPO

KEY = "test-made-up-pair-key"

# The upstream is our own simulator or a script, not a model a user steers: its code may run under the guard
# on a machine without the sandbox's boundary (tests/sim/test_sandbox_boundary.py tests the boundary).
FRONT = RunSettings(model_time=0.01, unsafe_code_execution=True)


class Timed:
    """An upstream wrapper noting when each exchange's last text arrived."""

    def __init__(self, inner: Exchanges) -> None:
        self.inner = inner
        self.finished: list[float] = []

    async def exchange(self, body: dict[str, Any]) -> AsyncIterator[str]:
        async for text in self.inner.exchange(body):
            yield text
        self.finished.append(time.monotonic())


@contextmanager
def upstream_server(tmp_path: Path, model_time: float = 0.01) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "upstream.db", KEY, runs=RunSettings(model_time=model_time)) as up:
        yield up


@contextmanager
def front(tmp_path: Path, model: Model, name: str = "front") -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / f"{name}.db", KEY, runs=FRONT, model=model) as server:
        yield server


def adapter(up: EmbeddedServer, record: Path | None = None) -> tuple[UpstreamModel, Timed]:
    source: Exchanges = UpstreamClient(UpstreamSettings(up.base_url, KEY))
    if record is not None:
        source = Recorder(source, record)
    timed = Timed(source)
    return UpstreamModel(timed), timed


def _project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    for part in ("assistants", "scenarios", "corpus", "prompts", "transcripts"):
        shutil.copytree(REPO / part, root / part)
    return root


def _arun(root: Path, base_url: str, *args: str) -> tuple[int, str]:
    command, *rest = args
    result = CliRunner().invoke(
        cli,
        ["-C", str(root), command, "--base-url", base_url, "--api-key", KEY, *rest],
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout + result.stderr


def _transcripts(root: Path) -> dict[str, bytes]:
    out = root / ".arun" / "transcripts"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.yaml"))}


def test_the_examples_through_the_adapter_compare_the_same_then_replay_byte_for_byte(tmp_path: Path) -> None:
    record = tmp_path / "exchanges"
    with upstream_server(tmp_path) as up:
        model, _ = adapter(up, record)
        root = _project(tmp_path, "recorded")
        with front(tmp_path, model) as server:
            assert _arun(root, server.base_url, "apply", "--yes")[0] == 0
            code, out = _arun(root, server.base_url, "replay", "--compare", "transcripts/")
    assert code == 0, out
    assert "6 scenarios: 6 passed." in out
    recorded = _transcripts(root)
    assert len(recorded) == 6 and len(list(record.glob("*.json"))) >= 9

    # A fresh database, no upstream at all: the same answers from the recording, byte for byte.
    again = _project(tmp_path, "replayed")
    with front(tmp_path, UpstreamModel(Replayer(record)), "fresh") as server:
        assert _arun(again, server.base_url, "apply", "--yes")[0] == 0
        code, out = _arun(again, server.base_url, "replay", "--compare", "transcripts/")
    assert code == 0, out
    assert _transcripts(again) == recorded


def test_a_replay_miss_fails_the_run_naming_the_request(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with front(tmp_path, UpstreamModel(Replayer(tmp_path / "empty"))) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        assistant = client.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Hello there"}]}
        )
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "no recorded answer for this request" in run.last_error.message
    assert "the last (user) 'Hello there'" in run.last_error.message


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Local time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _recorded_usage(folder: Path) -> tuple[int, int]:
    prompt = completion = 0
    for path in folder.glob("*.json"):
        for text in json.loads(path.read_text(encoding="utf-8"))["answer"]:
            usage = json.loads(text).get("usage")
            if usage:
                prompt += usage["prompt_tokens"]
                completion += usage["completion_tokens"]
    return prompt, completion


def test_parallel_calls_stream_through_and_usage_is_the_upstreams(tmp_path: Path) -> None:
    record = tmp_path / "exchanges"
    with upstream_server(tmp_path, model_time=1.0) as up:
        model, timed = adapter(up, record)
        with front(tmp_path, model) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
            assistant = client.beta.assistants.create(model="gpt-4o", tools=[WEATHER, TIME])  # type: ignore[list-item]
            thread = client.beta.threads.create(
                messages=[{"role": "user", "content": "What is the weather and the local time in Lisbon?"}]
            )
            first_delta = None
            with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
                for event in stream:
                    if event.event == "thread.run.step.delta" and first_delta is None:
                        first_delta = time.monotonic()
                run = stream.get_final_run()
            assert run.status == "requires_action" and run.required_action is not None
            calls = run.required_action.submit_tool_outputs.tool_calls
            assert [c.function.name for c in calls] == ["get_weather", "get_local_time"]
            assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Lisbon"}] * 2
            assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)
            # The client saw the first call's delta before the upstream had finished writing the step.
            assert first_delta is not None and first_delta < timed.finished[0]
            outputs = [
                {"tool_call_id": calls[0].id, "output": "sunny"},
                {"tool_call_id": calls[1].id, "output": "14:05"},
            ]
            run = client.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread.id, tool_outputs=outputs
            )
            assert run.status == "completed"
            reply = client.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
            assert (
                reply.content[0].text.value
                == "According to get_weather: sunny; according to get_local_time: 14:05."
            )  # type: ignore[union-attr]
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == _recorded_usage(record)


def test_builtin_tools_run_in_the_front_server_with_citations_of_its_files(tmp_path: Path) -> None:
    with upstream_server(tmp_path) as up:
        model, _ = adapter(up)
        with front(tmp_path, model) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
            chapter = REPO / "corpus" / "harbor-light" / "02-the-storm.md"
            uploaded = client.files.create(file=(chapter.name, chapter.read_bytes()), purpose="assistants")
            store = client.vector_stores.create(file_ids=[uploaded.id])
            assistant = client.beta.assistants.create(
                model="gpt-4o",
                tools=[{"type": "file_search"}, {"type": "code_interpreter"}],
                tool_resources={"file_search": {"vector_store_ids": [store.id]}},
            )
            question = "How did Odile keep the light working when the clockwork jammed?"
            run = client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": question}]}
            )
            assert run.status == "completed", run.last_error
            steps = client.beta.threads.runs.steps.list(
                run_id=run.id,
                thread_id=run.thread_id,
                order="asc",
                include=["step_details.tool_calls[*].file_search.results[*].content"],
            ).data
            search = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
            assert search.type == "file_search" and search.file_search.results[0].file_id == uploaded.id  # type: ignore[union-attr]
            text = client.beta.threads.messages.list(thread_id=run.thread_id).data[0].content[0].text  # type: ignore[union-attr]
            assert text.value.startswith("According to the files, “Odile turned the lens by hand”【0:0†")
            assert [a.file_citation.file_id for a in text.annotations] == [uploaded.id]  # type: ignore[union-attr]
            math = client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": "What is 12 * 7?"}]},
            )
            assert math.status == "completed"
            code = client.beta.threads.runs.steps.list(
                run_id=math.id, thread_id=math.thread_id, order="asc"
            ).data[0]
            logs = code.step_details.tool_calls[0].code_interpreter.outputs[0].logs  # type: ignore[union-attr]
            assert logs.strip() == "84"
            answer = client.beta.threads.messages.list(thread_id=math.thread_id).data[0].content[0].text.value  # type: ignore[union-attr]
            assert "84" in answer


def test_chat_completions_through_the_adapter(tmp_path: Path) -> None:
    with upstream_server(tmp_path) as up:
        model, _ = adapter(up)
        with front(tmp_path, model) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
            ask = [{"role": "user", "content": "What is the weather and the local time in Lisbon?"}]
            done = client.chat.completions.create(model="gpt-4o", messages=ask, tools=[WEATHER, TIME])  # type: ignore[list-item, arg-type]
            assert [c.function.name for c in done.choices[0].message.tool_calls or []] == [
                "get_weather",
                "get_local_time",
            ]  # type: ignore[union-attr]
            chunks = list(
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": "Hello"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello! How can I help?"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("flag", ["--record", "--upstream-model"])
def test_serve_refuses_recording_or_mapping_without_an_upstream(tmp_path: Path, flag: str) -> None:
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "serve", flag, "x"])
    assert result.exit_code == 1
    assert "needs --upstream" in result.output
