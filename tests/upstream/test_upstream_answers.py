"""Answers a real model gives that the simulator never does: text and then tool calls in one answer (on
runs, Responses and Chat Completions), and calls of functions nobody offered (answered with an error and
asked again, bounded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.upstream.scripted import Answer, call_chunks, text_chunks
from tests.upstream.test_upstream_runs import CODE, WEATHER, _run, _steps, fronting


def text_then_calls(text: str, calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One streamed answer: the text, then the calls (the text's finish chunk and usage left out)."""
    return [*text_chunks(text, usage=None)[:-1], *call_chunks(calls)]


def test_a_run_shows_the_text_as_a_message_step_then_the_tool_step(tmp_path: Path) -> None:
    script = [
        Answer(chunks=text_then_calls("Let me check the weather.", [("get_weather", '{"city":"Oslo"}')])),
        Answer(chunks=text_chunks("It snows in Oslo.", usage=(20, 5))),
    ]
    with fronting(tmp_path, script) as (sdk, up):
        run = _run(sdk, [WEATHER])
        assert run.status == "requires_action", run.last_error
        steps = _steps(sdk, run)
        assert [(s.type, s.status) for s in steps] == [
            ("message_creation", "completed"),
            ("tool_calls", "in_progress"),
        ]
        said = sdk.beta.threads.messages.retrieve(
            steps[0].step_details.message_creation.message_id, thread_id=run.thread_id
        )
        assert said.content[0].text.value == "Let me check the weather."
        pending = run.required_action.submit_tool_outputs.tool_calls
        assert [(c.function.name, c.function.arguments) for c in pending] == [
            ("get_weather", '{"city":"Oslo"}')
        ]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": pending[0].id, "output": "snow"}],
            poll_interval_ms=20,
        )
        assert run.status == "completed"
        assert [s.type for s in _steps(sdk, run)] == ["message_creation", "tool_calls", "message_creation"]
        texts = [m.content[0].text.value for m in sdk.beta.threads.messages.list(run.thread_id, order="asc")]
    assert texts == ["Go", "Let me check the weather.", "It snows in Oslo."]
    # The text goes back to the upstream with its calls, in one assistant message.
    sent = up.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["content"] == "Let me check the weather."
    assert sent[2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert run.usage.prompt_tokens == 7 + 20 and run.usage.completion_tokens == 3 + 5


def test_the_streamed_run_shows_the_message_complete_before_the_calls(tmp_path: Path) -> None:
    script = [
        Answer(chunks=text_then_calls("Computing.", [("arun_code_interpreter", '{"code":"print(6*7)"}')]))
    ]
    script.append(Answer(chunks=text_chunks("42.")))
    with fronting(tmp_path, script) as (sdk, _):
        assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[CODE])
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
        with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            names = [e.event for e in stream]
    wanted = [
        "thread.run.step.created",
        "thread.message.created",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.step.created",
        "thread.run.step.delta",
        "thread.run.step.completed",
        "thread.run.step.created",
        "thread.message.completed",
        "thread.run.completed",
    ]
    seen = iter(names)
    assert all(w in seen for w in wanted), names


def test_whitespace_before_the_calls_is_not_a_message(tmp_path: Path) -> None:
    script = [Answer(chunks=text_then_calls("\n", [("get_weather", '{"city":"Oslo"}')]))]
    with fronting(tmp_path, script) as (sdk, _):
        run = _run(sdk, [WEATHER])
        assert run.status == "requires_action"
        assert [s.type for s in _steps(sdk, run)] == ["tool_calls"]


def test_responses_give_a_message_item_then_the_function_call(tmp_path: Path) -> None:
    script = [
        Answer(chunks=text_then_calls("Let me check.", [("get_weather", '{"city":"Oslo"}')])),
        Answer(chunks=text_chunks("Snow.")),
    ]
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
    with fronting(tmp_path, script) as (sdk, up):
        with sdk.responses.stream(model="gpt-4o", input="Weather in Oslo?", tools=[tool]) as stream:
            kinds = [e.type for e in stream]
            first = stream.get_final_response()
        assert first.status == "completed", first.error
        assert [(o.type, getattr(o, "status", None)) for o in first.output] == [
            ("message", "completed"),
            ("function_call", "completed"),
        ]
        assert first.output[0].content[0].text == "Let me check."
        assert kinds.index("response.output_text.done") < kinds.index(
            "response.function_call_arguments.delta"
        )
        call = first.output[1]
        second = sdk.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            tools=[tool],
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "snow"}],
        )
    assert second.status == "completed" and second.output_text == "Snow."
    assert any(m.get("content") == "Let me check." for m in up.requests[1]["messages"])


def test_chat_completions_keep_the_text_beside_the_calls(tmp_path: Path) -> None:
    script = [Answer(chunks=text_then_calls("Let me check.", [("get_weather", '{"city":"Oslo"}')]))]
    with fronting(tmp_path, script) as (sdk, _):
        done = sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Oslo?"}], tools=[WEATHER]
        )
    message = done.choices[0].message
    assert message.content == "Let me check."
    assert [c.function.name for c in message.tool_calls or []] == ["get_weather"]
    assert done.choices[0].finish_reason == "tool_calls"


# -- functions nobody offered ---------------------------------------------------------------------------


def test_an_unknown_function_is_answered_with_an_error_and_the_model_asked_again(tmp_path: Path) -> None:
    script = [
        Answer(chunks=call_chunks([("get_wether", '{"city":"Oslo"}')])),
        Answer(chunks=call_chunks([("get_weather", '{"city":"Oslo"}')])),
    ]
    with fronting(tmp_path, script) as (sdk, up):
        run = _run(sdk, [WEATHER])
        steps = _steps(sdk, run)
    assert run.status == "requires_action"
    # The client never sees the invented call: one tool step, with the real function.
    assert [c.function.name for c in run.required_action.submit_tool_outputs.tool_calls] == ["get_weather"]
    assert len(steps) == 1 and len(steps[0].step_details.tool_calls) == 1
    again = up.requests[1]["messages"]
    assert again[:-2] == up.requests[0]["messages"]
    assert again[-2]["tool_calls"][0]["function"] == {"name": "get_wether", "arguments": '{"city":"Oslo"}'}
    error = json.loads(again[-1]["content"])["error"]
    assert "get_wether" in error and "get_weather" in error
    assert "tool_choice" not in up.requests[1]


def test_a_model_that_keeps_inventing_is_bounded(tmp_path: Path) -> None:
    script = [Answer(chunks=call_chunks([("lookup", "{}")]))] * 3
    with fronting(tmp_path, script) as (sdk, up):
        run = _run(sdk, [WEATHER])
    assert run.status == "failed"
    assert run.last_error.code == "server_error" and "'lookup'" in run.last_error.message
    assert len(up.requests) == 3
    assert up.requests[2]["tool_choice"] == "none" and "tool_choice" not in up.requests[1]


def test_after_the_error_the_model_may_answer_with_a_message(tmp_path: Path) -> None:
    script = [
        Answer(chunks=call_chunks([("lookup", "{}")])),
        Answer(chunks=text_chunks("I cannot look that up.")),
    ]
    with fronting(tmp_path, script) as (sdk, _):
        run = _run(sdk, [WEATHER])
        steps = _steps(sdk, run)
    assert run.status == "completed"
    assert [s.type for s in steps] == ["message_creation"]


def test_an_unknown_call_beside_a_real_one_is_left_out(tmp_path: Path) -> None:
    calls = [("lookup", "{}"), ("get_weather", '{"city":"Oslo"}')]
    with fronting(tmp_path, [Answer(chunks=call_chunks(calls))]) as (sdk, up):
        run = _run(sdk, [WEATHER])
    assert run.status == "requires_action"
    assert [c.function.name for c in run.required_action.submit_tool_outputs.tool_calls] == ["get_weather"]
    assert len(up.requests) == 1
