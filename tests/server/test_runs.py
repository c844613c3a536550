"""Runs and run steps through the real SDK, polling: lifecycle, tool round trips, the API's rules, overrides."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from runs_support import WEATHER, RunContract, sdk, start_server

from runner.server.embedded import EmbeddedServer

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
FOOD = {
    "type": "function",
    "function": {
        "name": "get_favorite_food_for_day_of_week",
        "description": "gets the user's favorite food for a given day of the week, like Tuesday",
        "parameters": {
            "type": "object",
            "properties": {"day_of_week": {"type": "string", "description": "a day of the week"}},
        },
    },
}


@pytest.fixture
def rc() -> Iterator[RunContract]:
    checking = RunContract()
    yield checking
    checking.assert_clean()


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "runs.db")
    yield server
    server.stop()


@pytest.fixture
def api(fast: EmbeddedServer, rc: RunContract) -> Iterator[openai.OpenAI]:
    client = sdk(fast, rc)
    yield client
    client.close()


def _ask(api: openai.OpenAI, assistant_id: str, text: str, **run: object) -> openai.types.beta.threads.Run:
    thread = {"messages": [{"role": "user", "content": text}]}
    return api.beta.threads.create_and_run_poll(assistant_id=assistant_id, thread=thread, **run)  # type: ignore[arg-type]


def _reply(api: openai.OpenAI, thread_id: str) -> str:
    message = api.beta.threads.messages.list(thread_id, order="desc").data[0]
    assert message.role == "assistant"
    return message.content[0].text.value  # type: ignore[union-attr]


def test_a_run_is_created_queued_polled_and_completed_with_its_message_and_steps(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", instructions="Address the user as Captain.")
    thread = api.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    raw = api.beta.threads.runs.with_raw_response.create(thread_id=thread.id, assistant_id=assistant.id)
    created = raw.parse()
    assert created.status == "queued" and created.expires_at is not None
    assert int(raw.headers["openai-poll-after-ms"]) >= 1
    run = api.beta.threads.runs.poll(created.id, thread_id=thread.id)
    assert run.status == "completed"
    assert run.started_at is not None and run.completed_at is not None and run.expires_at is None
    assert (
        run.usage is not None
        and run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    )
    assert run.instructions == "Address the user as Captain."
    assert _reply(api, thread.id).startswith("Captain")
    steps = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id)
    assert [s.type for s in steps.data] == ["message_creation"]
    step = api.beta.threads.runs.steps.retrieve(step_id=steps.data[0].id, run_id=run.id, thread_id=thread.id)
    assert step.status == "completed" and step.usage is not None
    assert api.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    listed = api.beta.threads.runs.list(thread.id)
    assert [r.id for r in listed.data] == [run.id]
    modified = api.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": "v"})
    assert modified.metadata == {"k": "v"}


def test_a_function_call_round_trip_by_polling(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[FOOD])  # type: ignore[list-item]
    run = _ask(api, assistant.id, "What should I eat on Thursday?", tool_choice="required")
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "get_favorite_food_for_day_of_week"
    assert isinstance(json.loads(call.function.arguments), dict)
    done = api.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "tacos"}]
    )
    assert done.status == "completed"
    assert "tacos" in _reply(api, run.thread_id)
    steps = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0].step_details.tool_calls[0].function.output == "tacos"  # type: ignore[union-attr]


def test_a_thread_with_an_active_run_refuses_messages_and_runs(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    run = _ask(api, assistant.id, "What is the weather?", tool_choice="required")
    assert run.status == "requires_action"
    with pytest.raises(openai.BadRequestError) as refused:
        api.beta.threads.messages.create(run.thread_id, role="user", content="hi")
    assert refused.value.message.endswith(
        f"Can't add messages to {run.thread_id} while a run {run.id} is active."
    )
    with pytest.raises(
        openai.BadRequestError, match=re.escape(f"Thread {run.thread_id} already has an active run {run.id}.")
    ):
        api.beta.threads.runs.create(thread_id=run.thread_id, assistant_id=assistant.id)


def test_tool_outputs_come_all_at_once_and_only_while_requires_action(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    run = _ask(api, assistant.id, "What is the weather?", tool_choice="required")
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match=r"Expected tool outputs for call_ids"):
        api.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=run.thread_id, tool_outputs=[])
    with pytest.raises(openai.BadRequestError, match=r"Expected tool outputs for call_ids"):
        api.beta.threads.runs.submit_tool_outputs(
            run_id=run.id,
            thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": "call_other", "output": "x"}],
        )
    done = api.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": call_id, "output": "sunny"}]
    )
    assert done.status == "completed"
    with pytest.raises(
        openai.BadRequestError, match=re.escape('Runs in status "completed" do not accept tool outputs.')
    ):
        api.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": call_id, "output": "x"}]
        )


def test_cancel_goes_through_cancelling_and_a_finished_run_cannot_be_cancelled(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    run = _ask(api, assistant.id, "What is the weather?", tool_choice="required")
    cancelling = api.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
    assert cancelling.status == "cancelling"
    cancelled = api.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    step = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id).data[0]
    assert step.status == "cancelled"
    with pytest.raises(openai.BadRequestError, match=re.escape("Cannot cancel run with status 'cancelled'.")):
        api.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
    # The thread is free again.
    assert api.beta.threads.messages.create(run.thread_id, role="user", content="hi").role == "user"


def test_a_run_nobody_answers_expires(tmp_path: Path, rc: RunContract) -> None:
    server = start_server(tmp_path / "expiry.db", run_ttl=0.3)
    api = sdk(server, rc)
    try:
        assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
        run = _ask(api, assistant.id, "What is the weather?", tool_choice="required")
        assert run.status == "requires_action"
        call_id = run.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
        for _ in range(100_000):  # bounded, so that a run that never expires fails instead of hanging
            if run.status != "requires_action":
                break
            run = api.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
        assert run.status == "expired" and run.expires_at is not None
        with pytest.raises(
            openai.BadRequestError, match=re.escape('Runs in status "expired" do not accept tool outputs.')
        ):
            api.beta.threads.runs.submit_tool_outputs(
                run_id=run.id,
                thread_id=run.thread_id,
                tool_outputs=[{"tool_call_id": call_id, "output": "x"}],
            )
        assert (
            api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id).data[0].status
            == "expired"
        )
    finally:
        api.close()
        server.stop()


def test_token_limits_end_a_run_incomplete_with_the_reason(api: openai.OpenAI) -> None:
    long_question = "Tell me about " + " ".join(f"topic{i}" for i in range(300)) + "."
    assistant = api.beta.assistants.create(model="gpt-4o")
    run = _ask(api, assistant.id, long_question, max_prompt_tokens=256)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    sentence = "The keeper of the lighthouse was " + " ".join(["very"] * 300) + " tired."
    store = api.vector_stores.create(name="long")
    upload = api.files.create(file=("keeper.txt", io.BytesIO(sentence.encode())), purpose="assistants")
    api.vector_stores.files.create(vector_store_id=store.id, file_id=upload.id)
    searcher = api.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    cut = _ask(api, searcher.id, "Who was the keeper of the lighthouse?", max_completion_tokens=256)
    assert cut.status == "incomplete"
    assert cut.incomplete_details is not None and cut.incomplete_details.reason == "max_completion_tokens"
    assert cut.usage is not None and cut.usage.completion_tokens <= 256
    assert _reply(api, cut.thread_id).startswith("According to the files")


@pytest.mark.parametrize(
    ("choice", "steps"),
    [
        ("none", []),
        ("auto", []),
        ("required", ["function"]),
        ({"type": "function", "function": {"name": "get_current_weather"}}, ["function"]),
        ({"type": "code_interpreter"}, ["code_interpreter"]),
        ({"type": "file_search"}, ["file_search"]),
    ],
)
def test_every_tool_choice(api: openai.OpenAI, choice: object, steps: list[str]) -> None:
    assistant = api.beta.assistants.create(
        model="gpt-4o",
        tools=[WEATHER, {"type": "code_interpreter"}, {"type": "file_search"}],  # type: ignore[list-item]
    )
    # "hello" asks for no tool, so every tool step below is the tool_choice's doing.
    run = _ask(api, assistant.id, "hello", tool_choice=choice)
    if run.status == "requires_action":
        calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        run = api.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls],
        )
    assert run.status == "completed"
    listed = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data
    kinds = [c.type for s in listed if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    assert kinds == steps
    # The run's usage is its steps' usage added up, built-in tool steps included.
    assert run.usage is not None
    assert sum(s.usage.total_tokens for s in listed if s.usage) == run.usage.total_tokens


def test_forcing_a_tool_the_run_does_not_have_is_refused(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    thread = api.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as refused:
        api.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "file_search"}
        )
    assert refused.value.body["param"] == "tool_choice"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        api.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert api.beta.threads.runs.list(thread.id).data == []


def test_run_level_settings_override_the_assistants(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", instructions="Address the user as Captain.")
    thread = api.beta.threads.create(
        messages=[{"role": "user", "content": "hello"}, {"role": "user", "content": "hi"}]
    )
    run = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Address the user as Admiral.",
        additional_instructions="Answer in English.",
        additional_messages=[{"role": "user", "content": "good morning"}],
        model="gpt-4o-mini",
        temperature=0.2,
        top_p=0.5,
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        truncation_strategy={"type": "last_messages", "last_messages": 1},
        parallel_tool_calls=False,
    )
    assert run.status == "completed"
    assert run.instructions == "Address the user as Admiral.\n\nAnswer in English."
    assert (run.model, run.temperature, run.top_p) == ("gpt-4o-mini", 0.2, 0.5)
    assert [t.type for t in run.tools] == ["function"] and run.parallel_tool_calls is False
    assert run.truncation_strategy is not None and run.truncation_strategy.last_messages == 1
    assert _reply(api, thread.id).startswith("Admiral")
    texts = [m.content[0].text.value for m in api.beta.threads.messages.list(thread.id, order="asc").data]  # type: ignore[union-attr]
    assert texts[:3] == ["hello", "hi", "good morning"]
    whole = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Address the user as Admiral.",
        additional_instructions="Answer in English.",
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
    )
    assert run.usage is not None and whole.usage is not None
    assert run.usage.prompt_tokens < whole.usage.prompt_tokens


def test_file_search_results_carry_content_only_when_included(api: openai.OpenAI) -> None:
    upload = api.files.create(
        file=("foods.txt", io.BytesIO(b"The favorite food of Filip Carola is cake.")), purpose="assistants"
    )
    assistant = api.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [upload.id]}]}},
    )
    run = _ask(api, assistant.id, "What is Filip's favorite food?")
    assert run.status == "completed"
    message = api.beta.threads.messages.list(run.thread_id, order="desc").data[0]
    text = message.content[0].text  # type: ignore[union-attr]
    citation = text.annotations[0]
    assert citation.type == "file_citation" and citation.file_citation.file_id == upload.id  # type: ignore[union-attr]
    assert text.value[citation.start_index : citation.end_index] == citation.text
    plain = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data[0]
    result = plain.step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr]
    assert result.file_id == upload.id and result.content is None and 0 < result.score <= 1
    full = api.beta.threads.runs.steps.retrieve(
        step_id=plain.id,
        run_id=run.id,
        thread_id=run.thread_id,
        include=[INCLUDE],  # type: ignore[list-item]
    )
    content = full.step_details.tool_calls[0].file_search.results[0].content  # type: ignore[union-attr]
    assert content is not None and "cake" in content[0].text  # type: ignore[operator]
    with pytest.raises(openai.BadRequestError):
        api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, include=["nope"])  # type: ignore[list-item]


def test_unknown_ids_answer_not_found(api: openai.OpenAI) -> None:
    thread = api.beta.threads.create()
    with pytest.raises(openai.NotFoundError, match=re.escape("No run found with id 'run_x'.")):
        api.beta.threads.runs.retrieve("run_x", thread_id=thread.id)
    with pytest.raises(openai.NotFoundError, match=re.escape("No assistant found with id 'asst_x'.")):
        api.beta.threads.create_and_run(assistant_id="asst_x")
    assistant = api.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
    run = api.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.NotFoundError, match=re.escape("No run step found with id 'step_x'.")):
        api.beta.threads.runs.steps.retrieve(step_id="step_x", run_id=run.id, thread_id=thread.id)


def test_a_restart_ends_cut_off_runs_and_keeps_waiting_ones(tmp_path: Path, rc: RunContract) -> None:
    db = tmp_path / "restart.db"
    server = start_server(db, model_time=60.0)
    api = sdk(server, rc)
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    busy = api.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    # A second run, being cancelled when the server stops (the engine only looks again after 6 s).
    leaving = api.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "bye"}]}
    )
    assert api.beta.threads.runs.cancel(leaving.id, thread_id=leaving.thread_id).status == "cancelling"
    api.close()
    server.stop()
    fast = start_server(db)
    api = sdk(fast, rc)
    try:
        failed = api.beta.threads.runs.retrieve(busy.id, thread_id=busy.thread_id)
        assert failed.status == "failed" and failed.last_error is not None
        assert failed.last_error.code == "server_error" and "restarted" in failed.last_error.message
        cancelled = api.beta.threads.runs.retrieve(leaving.id, thread_id=leaving.thread_id)
        assert cancelled.status == "cancelled"
        waiting = _ask(api, assistant.id, "What is the weather?", tool_choice="required")
        assert waiting.status == "requires_action"
        fast.stop()
        again = start_server(db)
        api.close()
        api = sdk(again, rc)
        call_id = waiting.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
        done = api.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=waiting.id,
            thread_id=waiting.thread_id,
            tool_outputs=[{"tool_call_id": call_id, "output": "sunny"}],
        )
        assert done.status == "completed" and "sunny" in _reply(api, waiting.thread_id)
        again.stop()
    finally:
        api.close()


def test_create_thread_and_run_searches_the_runs_own_vector_stores(api: openai.OpenAI) -> None:
    upload = api.files.create(
        file=("ships.txt", io.BytesIO(b"The ship in the harbor was called the Gull.")), purpose="assistants"
    )
    store = api.vector_stores.create(name="ships", file_ids=[upload.id])
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    run = api.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "What was the ship in the harbor called?"}]},
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    assert run.status == "completed"
    # The SDK keeps the run's tool_resources (a field the spec lacks) as a plain dict.
    assert run.tool_resources == {"file_search": {"vector_store_ids": [store.id]}}  # type: ignore[attr-defined]
    step = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data[0]
    assert step.step_details.tool_calls[0].file_search.results[0].file_id == upload.id  # type: ignore[union-attr]
    assert "Gull" in _reply(api, run.thread_id)


def test_code_runs_in_the_sandbox_unless_switched_off(
    api: openai.OpenAI, tmp_path: Path, rc: RunContract
) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    run = _ask(api, assistant.id, "What is 12 * 7?")
    step = api.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data[0]
    call = step.step_details.tool_calls[0]  # type: ignore[union-attr]
    assert "12 * 7" in call.code_interpreter.input and call.code_interpreter.outputs[0].logs == "84\n"  # type: ignore[union-attr]
    off = start_server(tmp_path / "nocode.db", code_execution=False)
    other = sdk(off, rc)
    try:
        assistant = other.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        run = _ask(other, assistant.id, "What is 12 * 7?")
        step = other.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc").data[0]
        logs = step.step_details.tool_calls[0].code_interpreter.outputs[0].logs  # type: ignore[union-attr]
        assert logs == "Code execution is disabled on this server."
    finally:
        other.close()
        off.stop()


def test_files_attached_for_file_search_are_searched_through_the_threads_vector_store(
    api: openai.OpenAI,
) -> None:
    upload = api.files.create(
        file=("ships.txt", io.BytesIO(b"The ship in the harbor was called the Gull.")), purpose="assistants"
    )
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    message = {
        "role": "user",
        "content": "What was the ship in the harbor called?",
        "attachments": [{"file_id": upload.id, "tools": [{"type": "file_search"}]}],
    }
    run = api.beta.threads.create_and_run_poll(assistant_id=assistant.id, thread={"messages": [message]})  # type: ignore[list-item]
    assert run.status == "completed" and "Gull" in _reply(api, run.thread_id)
    thread = api.beta.threads.retrieve(run.thread_id)
    store_ids = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert [f.id for f in api.vector_stores.files.list(store_ids[0]).data] == [upload.id]
    # A later run finds the file already indexed and adds nothing.
    again = api.beta.threads.runs.create_and_poll(thread_id=run.thread_id, assistant_id=assistant.id)
    assert again.status == "completed"
    assert api.beta.threads.retrieve(run.thread_id).tool_resources.file_search.vector_store_ids == store_ids  # type: ignore[union-attr]
    # A thread that has a vector store gets the attached file in it.
    own = api.vector_stores.create(name="thread's own")
    thread = api.beta.threads.create(
        messages=[message],  # type: ignore[list-item]
        tool_resources={"file_search": {"vector_store_ids": [own.id]}},
    )
    api.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert [f.id for f in api.vector_stores.files.list(own.id).data] == [upload.id]
