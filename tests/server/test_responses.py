"""The Responses and Conversations APIs through the real `openai` SDK over HTTP on loopback, sync and async.
Every answer and every streamed event is checked against the spec (responses_support.ResponsesContract)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from responses_support import ResponsesContract
from runs_support import async_sdk, names, sdk, start_server

from runner.server.embedded import EmbeddedServer

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Gets the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def rc() -> Iterator[ResponsesContract]:
    checking = ResponsesContract()
    yield checking
    checking.assert_clean()
    assert checking.checked, "nothing was checked"


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "responses.db")
    yield server
    server.stop()


@pytest.fixture
def api(fast: EmbeddedServer, rc: ResponsesContract) -> Iterator[openai.OpenAI]:
    client = sdk(fast, rc)
    yield client
    client.close()


def test_create_answers_with_a_message_and_usage(api: openai.OpenAI) -> None:
    response = api.responses.create(model="gpt-4o", input="Hello there!", instructions="Be brief.")
    assert response.status == "completed" and response.object == "response"
    assert response.output_text == "Hello! How can I help?"
    assert response.instructions == "Be brief."
    usage = response.usage
    assert usage is not None and usage.total_tokens == usage.input_tokens + usage.output_tokens > 0
    again = api.responses.retrieve(response.id)
    assert again.output_text == response.output_text and again.usage == usage
    items = api.responses.input_items.list(response.id)
    assert [(i.type, i.role) for i in items.data] == [("message", "user")]  # type: ignore[union-attr]


def test_stream_helpers_and_final_response(api: openai.OpenAI, rc: ResponsesContract) -> None:
    seen: list[str] = []
    with api.responses.stream(model="gpt-4o", input="Hello there, how are you?") as stream:
        for event in stream:
            seen.append(event.type)
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text.startswith("Hello! How can I help?")
    assert names(rc.streams[-1]) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert seen == [name for name, _ in rc.streams[-1]]
    stored = api.responses.retrieve(final.id)
    assert stored.output_text == final.output_text


def test_function_call_round_trip_with_previous_response_id(
    api: openai.OpenAI, rc: ResponsesContract
) -> None:
    first = api.responses.create(model="gpt-4o", input="What is the weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.arguments == '{"city":"Paris"}' and call.status == "completed"
    second = api.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        tools=[WEATHER],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'}],
    )
    assert second.output_text == "According to get_weather: temp 21."
    assert second.previous_response_id == first.id
    listed = api.responses.input_items.list(second.id)
    assert [i.type for i in listed.data] == ["function_call_output", "function_call", "message"]
    # The same round trip, streamed: function call events in the recordings' order.
    with api.responses.stream(model="gpt-4o", input="Weather in Oslo?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        final = stream.get_final_response()
    assert final.output[0].type == "function_call"
    assert names(rc.streams[-1]) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_a_missing_function_output_and_bad_tools_are_refused(api: openai.OpenAI) -> None:
    first = api.responses.create(model="gpt-4o", input="What is the weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call"):
        api.responses.create(model="gpt-4o", previous_response_id=first.id, input="and?", tools=[WEATHER])  # type: ignore[list-item]
    nested = {"type": "function", "function": {"name": "f", "parameters": {}}}
    with pytest.raises(openai.BadRequestError, match=r"tools\[0\]\.name"):
        api.responses.create(model="gpt-4o", input="hi", tools=[nested])  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied: bogus"):
        api.responses.create(model="gpt-4o", input="hi", extra_body={"bogus": 1})
    conversation = api.conversations.create()
    with pytest.raises(openai.BadRequestError, match="Mutually exclusive"):
        api.responses.create(
            model="gpt-4o", input="hi", previous_response_id=first.id, conversation=conversation.id
        )
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve("resp_nothing")


def test_function_call_round_trip_with_a_conversation(api: openai.OpenAI) -> None:
    conversation = api.conversations.create(
        metadata={"topic": "weather"},
        items=[{"type": "message", "role": "system", "content": "Answer in English."}],
    )
    first = api.responses.create(
        model="gpt-4o",
        conversation=conversation.id,
        input="What is the weather in Rome?",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert first.conversation is not None and first.conversation.id == conversation.id
    call = first.output[0]
    assert call.type == "function_call"
    second = api.responses.create(
        model="gpt-4o",
        conversation=conversation.id,
        tools=[WEATHER],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "According to get_weather: sunny."
    listed = api.conversations.items.list(conversation.id, order="asc")
    kinds = [(i.type, getattr(i, "role", None)) for i in listed.data]
    assert kinds == [
        ("message", "system"),
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    # Only this response's input is its input items: the conversation's come first but are not listed.
    assert [i.type for i in api.responses.input_items.list(second.id).data] == ["function_call_output"]


def test_conversations_and_their_items(api: openai.OpenAI) -> None:
    conversation = api.conversations.create(
        metadata={"topic": "test"},
        items=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a joke"}]}],
    )
    assert api.conversations.retrieve(conversation.id).metadata == {"topic": "test"}
    updated = api.conversations.update(conversation.id, metadata={"topic": "new"})
    assert updated.metadata == {"topic": "new"}
    added = api.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": f"item {n}"}  # type: ignore[misc]
            for n in range(3)
        ],
    )
    assert len(added.data) == 3
    page = api.conversations.items.list(conversation.id, limit=2)
    assert page.has_more and len(page.data) == 2
    rest = api.conversations.items.list(conversation.id, limit=2, after=page.data[-1].id)
    assert not rest.has_more and len(rest.data) == 2
    everything = [i.id for i in api.conversations.items.list(conversation.id, limit=1)]  # pages on its own
    assert len(everything) == 4
    one = api.conversations.items.retrieve(everything[0], conversation_id=conversation.id)
    assert one.id == everything[0]
    after_delete = api.conversations.items.delete(everything[0], conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        api.conversations.items.retrieve(everything[0], conversation_id=conversation.id)
    with pytest.raises(openai.BadRequestError, match="maximum length 20"):
        api.conversations.create(items=[{"type": "message", "role": "user", "content": "x"}] * 21)  # type: ignore[list-item]
    deleted = api.conversations.delete(conversation.id)
    assert deleted.deleted and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError):
        api.conversations.retrieve(conversation.id)


def test_input_items_page_with_limit_order_and_after(api: openai.OpenAI) -> None:
    inputs: Any = [{"type": "message", "role": "user", "content": f"Item {n}"} for n in range(5)]
    response = api.responses.create(model="gpt-4o", input=inputs)
    page = api.responses.input_items.list(response.id, limit=2)
    assert page.has_more and page.first_id == page.data[0].id and page.last_id == page.data[-1].id
    texts = [page.data[0].content[0].text]  # type: ignore[union-attr]
    assert texts == ["Item 4"]  # newest first by default
    following = api.responses.input_items.list(response.id, limit=2, after=page.last_id)
    assert [i.content[0].text for i in following.data] == ["Item 2", "Item 1"]  # type: ignore[union-attr]
    ascending = api.responses.input_items.list(response.id, order="asc", limit=10)
    assert [i.content[0].text for i in ascending.data] == [f"Item {n}" for n in range(5)]  # type: ignore[union-attr]
    assert not ascending.has_more


def test_file_search_with_include_and_citations(api: openai.OpenAI, rc: ResponsesContract) -> None:
    upload = api.files.create(
        file=("foods.txt", io.BytesIO(b"Travis's favorite food is pizza. Odile likes soup.")),
        purpose="assistants",
    )
    store = api.vector_stores.create(name="foods", file_ids=[upload.id])
    tool: Any = {"type": "file_search", "vector_store_ids": [store.id]}
    with api.responses.stream(
        model="gpt-4o",
        input="What is Travis's favorite food?",
        tools=[tool],
        include=["file_search_call.results"],
    ) as stream:
        final = stream.get_final_response()
    search, message = final.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries and search.results and search.results[0].file_id == upload.id
    assert message.type == "message"
    part = message.content[0]
    assert part.type == "output_text" and "pizza" in part.text and "【" not in part.text
    citation = part.annotations[0]
    assert citation.type == "file_citation" and citation.file_id == upload.id  # type: ignore[union-attr]
    assert citation.filename == "foods.txt"  # type: ignore[union-attr]
    assert "response.output_text.annotation.added" in names(rc.streams[-1])
    assert names(rc.streams[-1])[2:7] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    plain = api.responses.retrieve(final.id)
    assert plain.output[0].results is None  # type: ignore[union-attr]
    # Filters on the tool narrow the search: no file has the attribute, so nothing is found.
    filtered: Any = {**tool, "filters": {"type": "eq", "key": "lang", "value": "fr"}}
    nothing = api.responses.create(model="gpt-4o", input="What is Travis's favorite food?", tools=[filtered])
    assert "could not find" in nothing.output_text


def test_code_interpreter(api: openai.OpenAI, rc: ResponsesContract) -> None:
    tool: Any = {"type": "code_interpreter", "container": {"type": "auto"}}
    with api.responses.stream(
        model="gpt-4o", input="What is 12 * 7?", tools=[tool], include=["code_interpreter_call.outputs"]
    ) as stream:
        final = stream.get_final_response()
    call, message = final.output
    assert message.type == "message"
    assert call.type == "code_interpreter_call" and call.code and call.container_id.startswith("cntr_")
    assert call.outputs and "84" in call.outputs[0].logs  # type: ignore[union-attr]
    assert "84" in final.output_text
    assert names(rc.streams[-1])[2:9] == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]


def test_max_output_tokens_ends_incomplete(api: openai.OpenAI) -> None:
    response = api.responses.create(
        model="gpt-4o", input="Hello there, how are you today, and what can you do?", max_output_tokens=16
    )
    assert response.status == "incomplete"
    assert (
        response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    )
    assert response.output[0].status == "incomplete"  # type: ignore[union-attr]
    assert response.usage is not None and response.usage.output_tokens <= 16


def test_truncation_disabled_refuses_an_input_over_the_context_window(api: openai.OpenAI) -> None:
    huge = "word " * 130_000
    with pytest.raises(openai.BadRequestError) as refused:
        api.responses.create(model="gpt-4o", input=huge)
    assert refused.value.code == "context_length_exceeded"


def test_store_false_is_not_retrievable_and_delete_removes(api: openai.OpenAI) -> None:
    unstored = api.responses.create(model="gpt-4o", input="Hello!", store=False)
    assert unstored.status == "completed" and unstored.store is False
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve(unstored.id)
    kept = api.responses.create(model="gpt-4o", input="Hello!")
    api.responses.delete(kept.id)
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve(kept.id)


def test_background_polls_to_completion_and_cancels(tmp_path: Path, rc: ResponsesContract) -> None:
    server = start_server(tmp_path / "slow.db", model_time=0.5)
    api = sdk(server, rc)
    try:
        done = api.responses.create(model="gpt-4o", input="Hello!", background=True)
        assert done.status == "queued" and done.background
        deadline = time.monotonic() + 20
        while done.status in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.05)
            done = api.responses.retrieve(done.id)
        assert done.status == "completed" and done.output_text == "Hello! How can I help?"
        running = api.responses.create(
            model="gpt-4o", input="Hello, what can you do for me today?", background=True
        )
        cancelled = api.responses.cancel(running.id)
        assert cancelled.status == "cancelled"
        time.sleep(0.7)
        assert api.responses.retrieve(running.id).status == "cancelled"
        with pytest.raises(openai.BadRequestError, match="background"):
            api.responses.cancel(api.responses.create(model="gpt-4o", input="Hi").id)
    finally:
        api.close()
        server.stop()


def test_a_conversation_takes_one_response_at_a_time(tmp_path: Path, rc: ResponsesContract) -> None:
    server = start_server(tmp_path / "slow.db", model_time=0.5)
    api = sdk(server, rc)
    try:
        conversation = api.conversations.create()
        first = api.responses.create(
            model="gpt-4o", input="Hello!", conversation=conversation.id, background=True
        )
        with pytest.raises(openai.BadRequestError) as refused:
            api.responses.create(model="gpt-4o", input="Again", conversation=conversation.id)
        assert refused.value.code == "conversation_locked"
        api.responses.cancel(first.id)
        later = api.responses.create(model="gpt-4o", input="Again", conversation=conversation.id)
        assert later.status == "completed"
    finally:
        api.close()
        server.stop()


def test_a_background_response_in_progress_ends_failed_after_a_restart(
    tmp_path: Path, rc: ResponsesContract
) -> None:
    server = start_server(tmp_path / "restart.db", model_time=30)
    api = sdk(server, rc)
    running = api.responses.create(model="gpt-4o", input="Hello!", background=True)
    api.close()
    server.stop()
    server = start_server(tmp_path / "restart.db")
    api = sdk(server, rc)
    try:
        after = api.responses.retrieve(running.id)
        assert after.status == "failed" and after.error is not None and after.error.code == "server_error"
    finally:
        api.close()
        server.stop()


def test_faults_apply_to_responses(tmp_path: Path, rc: ResponsesContract) -> None:
    server = start_server(tmp_path / "faults.db", faults=("run_failed=1",))
    api = sdk(server, rc)
    try:
        failed = api.responses.create(model="gpt-4o", input="Hello!")
        assert failed.status == "failed" and failed.error is not None
    finally:
        api.close()
        server.stop()
    server = start_server(tmp_path / "faults.db", faults=("server_error=1",))
    api = sdk(server, rc)
    try:
        with pytest.raises(openai.InternalServerError):
            api.responses.create(model="gpt-4o", input="Hello!")
    finally:
        api.close()
        server.stop()


def test_async_create_stream_and_conversation(fast: EmbeddedServer, rc: ResponsesContract) -> None:
    async def scenario() -> None:
        api = async_sdk(fast, rc)
        async with api:
            response = await api.responses.create(model="gpt-4o", input="Hello!")
            assert response.output_text == "Hello! How can I help?"
            async with api.responses.stream(model="gpt-4o", input="Thanks!") as stream:
                async for _ in stream:
                    pass
                final = await stream.get_final_response()
            assert final.output_text == "You're welcome!"
            conversation = await api.conversations.create()
            await api.responses.create(model="gpt-4o", input="Hello!", conversation=conversation.id)
            items = await api.conversations.items.list(conversation.id)
            assert len(items.data) == 2

    asyncio.run(scenario())


def test_parse_answers_a_json_schema_format_with_valid_json(api: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Animals(BaseModel):
        animal_data_list: list[str]

    parsed = api.responses.parse(model="gpt-4o", input="List three animals.", text_format=Animals)
    assert parsed.status == "completed"
    assert isinstance(parsed.output_parsed, Animals)
    assert parsed.text.format.type == "json_schema"  # type: ignore[union-attr]
