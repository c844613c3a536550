"""Streamed runs through the real SDK's helpers, sync and async; every event is checked by the contract."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.lib.streaming import AssistantEventHandler, AsyncAssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Text, TextDelta
from runs_support import WEATHER, RunContract, async_sdk, names, sdk, start_server

from runner.server.embedded import EmbeddedServer
from runner.server.streaming import Bus, segment

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
RUN_START = ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
TOOL_STEP = ["thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta"]
MESSAGE_STEP = [
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.completed",
    "thread.run.step.completed",
]


@pytest.fixture
def rc() -> Iterator[RunContract]:
    checking = RunContract()
    yield checking
    checking.assert_clean()
    assert checking.streams, "no stream was checked"


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "streams.db")
    yield server
    server.stop()


@pytest.fixture
def api(fast: EmbeddedServer, rc: RunContract) -> Iterator[openai.OpenAI]:
    client = sdk(fast, rc)
    yield client
    client.close()


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.texts: list[str] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Text) -> None:
        self.texts.append(text.value)


def test_a_streamed_function_round_trip_with_event_handlers(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    thread = api.beta.threads.create()
    first = Recorder()
    with api.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_messages=[{"role": "user", "content": "What is the weather right now?"}],
        tool_choice="required",
        event_handler=first,
    ) as stream:
        stream.until_done()
    run = first.current_run
    assert run is not None and run.status == "requires_action"
    assert names([(e, None) for e in first.events]) == [*RUN_START, *TOOL_STEP, "thread.run.requires_action"]
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    second = Recorder()
    with api.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "warm and sunny"}],
        event_handler=second,
    ) as stream:
        stream.until_done()
    expected = ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress", *MESSAGE_STEP]
    assert names([(e, None) for e in second.events]) == [*expected, "thread.run.completed"]
    assert second.texts == ["".join(second.deltas)] and "warm and sunny" in second.texts[0]
    assert len(second.deltas) > 1
    final = api.beta.threads.messages.list(thread.id, order="desc").data[0]
    assert final.content[0].text.value == second.texts[0]  # type: ignore[union-attr]


def test_create_thread_and_run_streams_the_thread_first_and_ends_with_done(
    api: openai.OpenAI, rc: RunContract
) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", instructions="Address the user as Captain.")
    stream = api.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hello"}]}, stream=True
    )
    events = [event.event for event in stream]
    assert events[0] == "thread.created"
    raw = rc.streams[-1]
    assert names(raw) == ["thread.created", *RUN_START, *MESSAGE_STEP, "thread.run.completed", "done"]
    assert raw[-1] == ("done", "[DONE]")
    first_delta = next(data for name, data in raw if name == "thread.message.delta")
    assert first_delta["delta"]["content"][0]["text"]["annotations"] == []


def test_a_streamed_file_search_run_with_include(api: openai.OpenAI, rc: RunContract) -> None:
    upload = api.files.create(
        file=("favorite_foods.txt", io.BytesIO(b"The favorite food of Filip Carola is cake.")),
        purpose="assistants",
    )
    assistant = api.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [upload.id]}]}},
    )
    thread = api.beta.threads.create(messages=[{"role": "user", "content": "What is Filip's favorite food?"}])
    with api.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        include=[INCLUDE],  # type: ignore[list-item]
    ) as stream:
        stream.until_done()
        messages = stream.get_final_messages()
    raw = rc.streams[-1]
    completed = next(d for n, d in raw if n == "thread.run.step.completed" and d["type"] == "tool_calls")
    result = completed["step_details"]["tool_calls"][0]["file_search"]["results"][0]
    assert result["file_id"] == upload.id and "cake" in result["content"][0]["text"]
    cited = [
        a
        for n, d in raw
        if n == "thread.message.delta"
        for a in d["delta"]["content"][0]["text"].get("annotations", [])
    ]
    assert (
        cited and cited[0]["index"] == 0 and cited[0]["file_citation"] == {"file_id": upload.id, "quote": ""}
    )
    text = messages[0].content[0].text  # type: ignore[union-attr]
    assert text.value[text.annotations[0].start_index : text.annotations[0].end_index] == cited[0]["text"]


def test_a_streamed_code_interpreter_step_streams_input_then_logs(
    api: openai.OpenAI, rc: RunContract
) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    with api.beta.threads.create_and_run_stream(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "What is 12 * 7?"}]}
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    deltas = [
        d["delta"]["step_details"]["tool_calls"][0] for n, d in rc.streams[-1] if n == "thread.run.step.delta"
    ]
    assert deltas[0]["id"].startswith("call_") and deltas[0]["code_interpreter"] == {
        "input": "",
        "outputs": [],
    }
    code = "".join(d["code_interpreter"].get("input", "") for d in deltas)
    assert "12 * 7" in code
    assert deltas[-1]["code_interpreter"]["outputs"][0] == {"index": 0, "type": "logs", "logs": "84\n"}


@contextmanager
def slow_api(tmp_path: Path, rc: RunContract, **settings: Any) -> Iterator[openai.OpenAI]:
    """A client of a server of its own whose runs take long enough for the test to act while one streams:
    5 s of model time unless `settings` say otherwise (with 0.5 s, a machine under load sometimes read the
    first delta only after the run had completed)."""
    server = start_server(tmp_path / "slow.db", **{"model_time": 5.0, **settings})
    api = sdk(server, rc)
    try:
        yield api
    finally:
        api.close()
        server.stop()


def streamed_run(
    api: openai.OpenAI,
    text: str = "hello there",
    *,
    at_first_delta: Callable[[Any], None] | None = None,
    **assistant: Any,
) -> list[Any]:
    """The events of a streamed create_and_run of `text`, on a new assistant made with `assistant`'s fields.
    `at_first_delta(run as created)` is called once, when the first message delta arrives, while the rest of
    the stream is still to come."""
    made = api.beta.assistants.create(model="gpt-4o", **assistant)
    stream = api.beta.threads.create_and_run(
        assistant_id=made.id, thread={"messages": [{"role": "user", "content": text}]}, stream=True
    )
    seen: list[Any] = []
    started = None
    for event in stream:
        seen.append(event)
        if event.event == "thread.run.created":
            started = event.data
        if event.event == "thread.message.delta" and started is not None and at_first_delta is not None:
            at_first_delta(started)
            started = None
    return seen


def test_a_stream_follows_a_cancel_to_its_end(tmp_path: Path, rc: RunContract) -> None:
    def cancel(run: Any) -> None:
        assert api.beta.threads.runs.cancel(run.id, thread_id=run.thread_id).status == "cancelling"

    with slow_api(tmp_path, rc) as api:
        seen = [event.event for event in streamed_run(api, at_first_delta=cancel)]
        assert "thread.message.delta" in seen
        assert seen[-2:] == ["thread.run.cancelling", "thread.run.cancelled"]
        assert rc.streams[-1][-1][0] == "done"


def test_max_completion_tokens_cuts_the_streamed_message(api: openai.OpenAI, rc: RunContract) -> None:
    sentence = "The keeper of the lighthouse was " + " ".join(["very"] * 300) + " tired."
    upload = api.files.create(file=("keeper.txt", io.BytesIO(sentence.encode())), purpose="assistants")
    assistant = api.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [upload.id]}]}},
    )
    with api.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Who was the keeper of the lighthouse?"}]},
        max_completion_tokens=256,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "incomplete" and final.incomplete_details.reason == "max_completion_tokens"  # type: ignore[union-attr]
    incomplete = [d for n, d in rc.streams[-1] if n == "thread.message.incomplete"]
    assert incomplete and incomplete[0]["incomplete_details"] == {"reason": "max_tokens"}


def test_async_clients_poll_and_stream(fast: EmbeddedServer, rc: RunContract) -> None:
    class AsyncRecorder(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[str] = []

        async def on_event(self, event: AssistantStreamEvent) -> None:
            self.events.append(event.event)

    async def scenario() -> None:
        api = async_sdk(fast, rc)
        async with api:
            assistant = await api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
            thread = await api.beta.threads.create(
                messages=[{"role": "user", "content": "What is the weather?"}]
            )
            run = await api.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
            )
            assert run.status == "requires_action"
            call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
            handler = AsyncRecorder()
            async with api.beta.threads.runs.submit_tool_outputs_stream(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "rain"}],
                event_handler=handler,
            ) as stream:
                await stream.until_done()
            assert handler.events[0] == "thread.run.step.completed"
            assert handler.events[-1] == "thread.run.completed"
            again = await api.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert again.status in ("completed", "requires_action")
            steps = await api.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id)
            assert len(steps.data) == 2

    asyncio.run(scenario())


def test_a_run_that_expires_while_queued_streams_its_expiry(tmp_path: Path, rc: RunContract) -> None:
    # The run waits a tenth of the model time in `queued`, longer than its whole life here.
    with slow_api(tmp_path, rc, model_time=1.0, run_ttl=0.01) as api:
        assert streamed_run(api, "hello")[-1].event == "thread.run.expired"


def test_a_model_that_breaks_fails_the_run_with_a_server_error(
    fast: EmbeddedServer, api: openai.OpenAI
) -> None:
    class Broken:
        def step(self, inp: object) -> object:
            raise RuntimeError("the model broke")

    fast._backend.engine.model = Broken()  # type: ignore[union-attr]
    assistant = api.beta.assistants.create(model="gpt-4o")
    with api.beta.threads.create_and_run_stream(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hello"}]}
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "failed" and run.last_error is not None and run.last_error.code == "server_error"


def test_a_message_cut_off_by_a_cancel_keeps_what_was_written(tmp_path: Path, rc: RunContract) -> None:
    def cancel(run: Any) -> None:
        api.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)

    with slow_api(tmp_path, rc) as api:
        seen = streamed_run(api, at_first_delta=cancel, instructions="Address the user as Captain.")
        written = "".join(
            e.data.delta.content[0].text.value for e in seen if e.event == "thread.message.delta"
        )
        assert written
        message = api.beta.threads.messages.list(_thread_of(rc), order="desc").data[0]
        assert message.role == "assistant" and message.content[0].text.value == written  # type: ignore[union-attr]


def _thread_of(rc: RunContract) -> str:
    return str(next(data["id"] for name, data in rc.streams[-1] if name == "thread.created"))


def test_parallel_function_calls_stream_with_their_own_indexes(api: openai.OpenAI, rc: RunContract) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather for a city."},
        },
        {"type": "function", "function": {"name": "get_forecast", "description": "Forecast for a city."}},
    ]
    assistant = api.beta.assistants.create(model="gpt-4o", tools=tools)  # type: ignore[arg-type]
    thread = {"messages": [{"role": "user", "content": "What is the weather forecast?"}]}
    with api.beta.threads.create_and_run_stream(assistant_id=assistant.id, thread=thread) as stream:  # type: ignore[arg-type]
        stream.until_done()
        run = stream.current_run
    assert run is not None and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_forecast"]
    firsts = [
        d["delta"]["step_details"]["tool_calls"][0]
        for n, d in rc.streams[-1]
        if n == "thread.run.step.delta" and "id" in d["delta"]["step_details"]["tool_calls"][0]
    ]
    assert [(f["index"], f["id"]) for f in firsts] == [(0, calls[0].id), (1, calls[1].id)]
    with api.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=run.thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": f"out {i}"} for i, c in enumerate(calls)],
    ) as stream:
        stream.until_done()
        assert stream.get_final_run().status == "completed"
    one = api.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread=thread, parallel_tool_calls=False
    )  # type: ignore[arg-type]
    assert len(one.required_action.submit_tool_outputs.tool_calls) == 1  # type: ignore[union-attr]


def test_events_published_together_go_out_in_one_write() -> None:
    async def scenario() -> list[list[bytes]]:
        bus = Bus()
        feed = bus.subscribe("run_1", [("thread.run.created", {"id": "run_1"})])
        bus.publish("run_1", "thread.run.queued", {"id": "run_1"})
        frames = segment(bus, "run_1", feed)
        batches = [await anext(frames)]  # both waiting: one batch
        waiting = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0)
        bus.publish("run_1", "thread.message.delta", {"id": "msg_1"})  # alone: out at once, alone
        batches.append(await waiting)
        bus.publish("run_1", "thread.message.delta", {"id": "msg_2"})
        bus.publish("run_1", "thread.run.completed", {"id": "run_1"})
        bus.publish("run_1", "thread.run.step.created", {"id": "step_late"})  # after the end: not sent
        batches.append(await anext(frames))
        assert [b async for b in frames] == []
        assert bus._feeds == {}  # the ended stream unsubscribed
        return batches

    batches = asyncio.run(scenario())
    names = [[f.split(b"\n")[0].decode() for f in batch] for batch in batches]
    assert names == [
        ["event: thread.run.created", "event: thread.run.queued"],
        ["event: thread.message.delta"],
        ["event: thread.message.delta", "event: thread.run.completed", "event: done"],
    ]


def test_a_delta_reads_nothing_back_from_the_store(fast: EmbeddedServer, api: openai.OpenAI) -> None:
    store = fast.backend.store
    reads: list[str] = []
    get = store.get

    def counted(table: str, object_id: str, **scope: str) -> dict[str, object] | None:
        reads.append(table)
        return get(table, object_id, **scope)

    store.get = counted  # type: ignore[method-assign]
    assistant = api.beta.assistants.create(model="gpt-4o", instructions="Address the user as Captain.")
    thread = {"messages": [{"role": "user", "content": "Hello! What can you tell me about streams?"}]}
    with api.beta.threads.create_and_run_stream(assistant_id=assistant.id, thread=thread) as stream:  # type: ignore[arg-type]
        deltas = sum(1 for event in stream if event.event == "thread.message.delta")
    # The run is read when it starts and after its queued wait, never once per delta.
    assert deltas > 20 and reads.count("runs") <= 2, (deltas, reads)


def test_metadata_changed_while_a_run_streams_is_kept_to_its_end(tmp_path: Path, rc: RunContract) -> None:
    def change(run: Any) -> None:
        api.beta.threads.runs.update(run.id, thread_id=run.thread_id, metadata={"k": "v"})

    with slow_api(tmp_path, rc) as api:
        seen = streamed_run(api, at_first_delta=change)
        final = next(e.data for e in seen if e.event == "thread.run.completed")
        assert final.metadata == {"k": "v"}
        stored = api.beta.threads.runs.retrieve(final.id, thread_id=final.thread_id)
        assert stored.status == "completed" and stored.metadata == {"k": "v"}
