"""Assistants runs over a scripted upstream: multi-round tool loops, the step bound, malformed arguments,
mixed built-in and function calls, and every upstream fault ending the run as the API would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.upstream.client import UpstreamClient, UpstreamSettings
from runner.upstream.model import UpstreamModel
from tests.upstream.scripted import Answer, ScriptedUpstream, call_chunks, text_chunks

KEY = "test-made-up-front-key"
CODE = {"type": "code_interpreter"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

# The upstream is our own simulator or a script, not a model a user steers: its code may run under the guard
# on a machine without the sandbox's boundary (tests/sim/test_sandbox_boundary.py tests the boundary).
FRONT = RunSettings(model_time=0.01, unsafe_code_execution=True)


@contextmanager
def fronting(
    tmp_path: Path, script: list[Answer], max_steps: int = 8
) -> Iterator[tuple[openai.OpenAI, ScriptedUpstream]]:
    with ScriptedUpstream(script) as up:
        client = UpstreamClient(UpstreamSettings(up.base_url, None, timeout=5, backoff=0.01))
        model = UpstreamModel(client, max_steps=max_steps)
        with EmbeddedServer(tmp_path / "front.db", KEY, runs=FRONT, model=model) as server:
            sdk = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
            yield sdk, up
            sdk.close()


def _run(sdk: openai.OpenAI, tools: list[Any], text: str = "Go") -> Any:
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=tools, instructions="Be useful.")
    return sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": text}]},
        poll_interval_ms=20,
    )


def _steps(sdk: openai.OpenAI, run: Any) -> list[Any]:
    return sdk.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data


def test_several_tool_rounds_in_one_run_with_the_history_in_the_upstreams_form(tmp_path: Path) -> None:
    script = [
        Answer(chunks=call_chunks([("arun_code_interpreter", '{"code":"print(6*7)"}')])),
        Answer(chunks=call_chunks([("arun_code_interpreter", '{"code":"print(42+1)"}')])),
        Answer(chunks=text_chunks("It is 43.", usage=(30, 4))),
    ]
    with fronting(tmp_path, script) as (sdk, up):
        run = _run(sdk, [CODE])
        steps = _steps(sdk, run)
    assert run.status == "completed"
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]
    assert [s.step_details.tool_calls[0].code_interpreter.outputs[0].logs for s in steps[:2]] == [
        "42\n",
        "43\n",
    ]
    last = up.requests[2]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert last[2]["tool_calls"][0]["function"] == {
        "name": "arun_code_interpreter",
        "arguments": '{"code":"print(6*7)"}',
    }
    assert last[3] == {"role": "tool", "tool_call_id": last[2]["tool_calls"][0]["id"], "content": "42\n"}
    assert all(r["stream"] and r["stream_options"] == {"include_usage": True} for r in up.requests)
    assert run.usage.prompt_tokens == 7 + 7 + 30 and run.usage.completion_tokens == 3 + 3 + 4


def test_after_the_step_bound_the_model_is_asked_with_tool_choice_none(tmp_path: Path) -> None:
    script = [Answer(chunks=call_chunks([("arun_code_interpreter", '{"code":"1"}')]))] * 2
    script.append(Answer(chunks=text_chunks("Done.")))
    with fronting(tmp_path, script, max_steps=2) as (sdk, up):
        run = _run(sdk, [CODE])
    assert run.status == "completed"
    assert ["tool_choice" in r for r in up.requests] == [False, False, True]
    assert up.requests[2]["tool_choice"] == "none"


def test_malformed_arguments_reach_the_client_as_written(tmp_path: Path) -> None:
    with fronting(tmp_path, [Answer(chunks=call_chunks([("get_weather", '{"city": Lisbon')]))]) as (sdk, _):
        run = _run(sdk, [WEATHER])
    assert run.status == "requires_action"
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.arguments == '{"city": Lisbon'


def test_a_builtin_and_a_function_in_one_step_wait_only_for_the_function(tmp_path: Path) -> None:
    calls = [("arun_code_interpreter", '{"code":"print(2)"}'), ("get_weather", '{"city":"Oslo"}')]
    script = [Answer(chunks=call_chunks(calls)), Answer(chunks=text_chunks("Two, and snow."))]
    with fronting(tmp_path, script) as (sdk, up):
        run = _run(sdk, [CODE, WEATHER])
        assert run.status == "requires_action"
        pending = run.required_action.submit_tool_outputs.tool_calls
        assert [c.function.name for c in pending] == ["get_weather"]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": pending[0].id, "output": "snow"}],
            poll_interval_ms=20,
        )
    assert run.status == "completed"
    answers = [m for m in up.requests[1]["messages"] if m["role"] == "tool"]
    assert [a["content"] for a in answers] == ["2\n", "snow"]


def test_upstream_faults_end_the_run_as_the_api_would(tmp_path: Path) -> None:
    busy = Answer(429, {"error": {"message": "Too many requests"}}, headers={"retry-after": "0"})
    overflow = Answer(
        400, {"error": {"message": "maximum context length exceeded", "code": "context_length_exceeded"}}
    )
    script = [busy] * 4 + [Answer(502, {"error": "bad gateway"})] * 4 + [overflow]
    script += [Answer(chunks=text_chunks("one two three four"), cut_after=2)]
    with fronting(tmp_path, script) as (sdk, _):
        limited, broken, long, cut = (_run(sdk, []) for _ in range(4))
    assert (limited.status, limited.last_error.code) == ("failed", "rate_limit_exceeded")
    assert limited.last_error.message == "the upstream answered 429: Too many requests (after 4 attempts)"
    assert (broken.status, broken.last_error.code) == ("failed", "server_error")
    assert "answered 502: bad gateway" in broken.last_error.message
    assert (long.status, long.incomplete_details.reason) == ("incomplete", "max_prompt_tokens")
    assert (cut.status, cut.last_error.code) == ("failed", "server_error")
    assert "before the answer was complete" in cut.last_error.message


def test_a_function_name_taken_by_a_builtin_is_refused(tmp_path: Path) -> None:
    taken = {"type": "function", "function": {"name": "arun_file_search", "parameters": {"type": "object"}}}
    with fronting(tmp_path, []) as (sdk, up):
        run = _run(sdk, [taken])
    assert run.status == "failed" and "reserved for a built-in tool" in run.last_error.message
    assert up.requests == []


def test_an_upstream_without_usage_gets_arun_estimate(tmp_path: Path) -> None:
    with fronting(tmp_path, [Answer(chunks=text_chunks("Hello there, friend.", usage=None))]) as (sdk, _):
        run = _run(sdk, [])
    assert run.status == "completed"
    assert run.usage.completion_tokens == 5 and run.usage.prompt_tokens > 0
    assert json.loads(json.dumps(run.usage.model_dump()))["total_tokens"] == run.usage.prompt_tokens + 5


def test_chat_completions_report_upstream_failures_as_errors(tmp_path: Path) -> None:
    busy = Answer(429, {"error": {"message": "Too many requests"}}, headers={"retry-after": "0"})
    script = [busy] * 4 + [Answer(chunks=text_chunks("one two three four"), cut_after=2)]
    with fronting(tmp_path, script) as (sdk, _):
        hello = [{"role": "user", "content": "Hello"}]
        try:
            sdk.chat.completions.create(model="m", messages=hello)  # type: ignore[arg-type]
        except openai.RateLimitError as exc:
            assert "answered 429: Too many requests" in exc.message
        else:
            raise AssertionError("expected a 429")
        try:
            list(sdk.chat.completions.create(model="m", messages=hello, stream=True))  # type: ignore[arg-type]
        except openai.APIError as exc:
            assert "before the answer was complete" in exc.message
        else:
            raise AssertionError("expected an error frame")
