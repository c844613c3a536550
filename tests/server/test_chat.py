"""Chat Completions through the real SDK, sync and async: plain, streamed, tools, the legacy functions form,
the offered built-in functions, and every answer and chunk checked against the spec's schemas."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from conftest import API_KEY, Contract, make_async_client, make_client

from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.sim import builtin_functions as bf

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
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
ASK = [{"role": "user", "content": "What is the weather and the local time in Lisbon?"}]


@pytest.fixture
def fast_server(tmp_path: Any) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "chat.db", API_KEY, runs=RunSettings(model_time=0.05)) as running:
        yield running


@pytest.fixture
def sdk(fast_server: EmbeddedServer, contract: Contract) -> Iterator[openai.OpenAI]:
    client = make_client(fast_server, contract)
    yield client
    client.close()


def _chunks_valid(contract: Contract, chunks: list[Any]) -> None:
    validator = contract.validator("CreateChatCompletionStreamResponse")
    for chunk in chunks:
        data = chunk.model_dump(mode="json", exclude_unset=True)
        problems = [e.message for e in validator.iter_errors(data)]
        assert not problems, (data, problems)


def test_a_plain_completion(sdk: openai.OpenAI, contract: Contract) -> None:
    done = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello, world!"}]
    )
    assert done.object == "chat.completion" and done.id.startswith("chatcmpl-")
    choice = done.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == "Hello! How can I help?"
    assert (
        done.usage is not None
        and done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    )
    assert done.usage.completion_tokens > 0
    assert contract.checked >= 1


def test_system_and_developer_messages_are_the_instructions(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Address the user as Captain."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "Hello"},
        ],
    )
    assert done.choices[0].message.content == "Captain, hello! How can I help?"


def test_a_streamed_completion_adds_up_and_ends_with_usage(sdk: openai.OpenAI, contract: Contract) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What is 12 * 7?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    _chunks_valid(contract, chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "84" in text and len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_without_include_usage_no_chunk_carries_usage(sdk: openai.OpenAI) -> None:
    chunks = list(
        sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True)
    )
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_tools_called_in_parallel_and_answered_with_role_tool(sdk: openai.OpenAI) -> None:
    first = sdk.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER, TIME])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    calls = message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_local_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Lisbon"}
    assert len({c.id for c in calls}) == 2
    answers = [
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"conditions": "sunny"}'},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "14:05"},
    ]
    second = sdk.chat.completions.create(
        model="gpt-4o",
        messages=[*ASK, message.model_dump(exclude_none=True), *answers],
        tools=[WEATHER, TIME],
    )
    assert (
        second.choices[0].message.content
        == "According to get_weather: conditions sunny; according to get_local_time: 14:05."
    )


def test_parallel_tool_calls_false_and_tool_choice(sdk: openai.OpenAI) -> None:
    one = sdk.chat.completions.create(
        model="m", messages=ASK, tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    assert [c.function.name for c in one.choices[0].message.tool_calls or []] == ["get_weather"]
    forced = sdk.chat.completions.create(
        model="m",
        messages=ASK,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_local_time"}},
    )
    assert [c.function.name for c in forced.choices[0].message.tool_calls or []] == ["get_local_time"]
    none = sdk.chat.completions.create(model="m", messages=ASK, tools=[WEATHER, TIME], tool_choice="none")
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason == "stop"


def test_streamed_tool_calls_come_by_index_with_id_and_name_first(
    sdk: openai.OpenAI, contract: Contract
) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model="m",
            messages=ASK,
            tools=[WEATHER, TIME],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    _chunks_valid(contract, chunks)
    pieces = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    firsts = [p for p in pieces if p.id]
    assert [(p.index, p.function.name if p.function else None) for p in firsts] == [
        (0, "get_weather"),
        (1, "get_local_time"),
    ]
    arguments = {0: "", 1: ""}
    for p in pieces:
        arguments[p.index] += p.function.arguments or "" if p.function else ""
    assert json.loads(arguments[0]) == {"city": "Lisbon"} and json.loads(arguments[1]) == {"city": "Lisbon"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None


def test_the_sdk_stream_helper_gives_the_final_completion(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(model="m", messages=ASK, tools=[WEATHER]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in kinds and "tool_calls.function.arguments.done" in kinds
    call = (final.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Lisbon"}
    with sdk.chat.completions.stream(model="m", messages=[{"role": "user", "content": "Hi"}]) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        text = stream.get_final_completion().choices[0].message.content
    assert "".join(deltas) == text == "Hello! How can I help?"


def test_the_legacy_functions_form(sdk: openai.OpenAI) -> None:
    functions = [WEATHER["function"]]
    first = sdk.chat.completions.create(model="m", messages=ASK, functions=functions)  # type: ignore[call-overload]
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "function_call" and message.tool_calls is None
    assert message.function_call is not None and message.function_call.name == "get_weather"
    answered = [
        *ASK,
        {"role": "assistant", "function_call": message.function_call.model_dump()},
        {"role": "function", "name": "get_weather", "content": "chartreuse skies"},
    ]
    second = sdk.chat.completions.create(model="m", messages=answered, functions=functions)  # type: ignore[call-overload]
    assert second.choices[0].message.content == "According to get_weather: chartreuse skies."
    none = sdk.chat.completions.create(model="m", messages=ASK, functions=functions, function_call="none")  # type: ignore[call-overload]
    assert none.choices[0].message.function_call is None


def test_the_offered_builtin_functions_follow_the_simulators_rules(sdk: openai.OpenAI) -> None:
    tools: Any = [bf.function_tool("file_search"), bf.function_tool("code_interpreter")]
    question = [
        {"role": "user", "content": "How did Odile keep the light working when the clockwork jammed?"}
    ]
    first = sdk.chat.completions.create(model="m", messages=question, tools=tools)
    call = (first.choices[0].message.tool_calls or [])[0]
    assert call.function.name == bf.FILE_SEARCH
    assert json.loads(call.function.arguments) == {"query": "Odile keep light working clockwork jammed"}
    results = {
        "results": [
            {"citation": "【0:0†storm.md】", "file_id": "file-x", "filename": "storm.md", "score": 0.5,
             "text": "On the second night the clockwork jammed. Odile turned the lens by hand."},
        ]
    }  # fmt: skip
    second = sdk.chat.completions.create(
        model="m",
        messages=[
            *question,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(results)},
        ],
        tools=tools,
    )
    assert (
        second.choices[0].message.content
        == "According to the files, “Odile turned the lens by hand”【0:0†storm.md】."
    )
    math = sdk.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "What is 12 * 7?"}], tools=tools
    )
    code = (math.choices[0].message.tool_calls or [])[0]
    assert code.function.name == bf.CODE_INTERPRETER and "12" in json.loads(code.function.arguments)["code"]


def test_max_completion_tokens_cuts_the_answer_with_length(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Is it raining? Should I go?"}],
        max_completion_tokens=3,
    )
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None and done.usage.completion_tokens <= 3


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    ],
)
def test_what_is_not_served_is_a_400_naming_the_parameter(
    sdk: openai.OpenAI, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], **extra)
    assert caught.value.param == param


def test_a_request_the_spec_refuses_is_a_400(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="m", messages=[])
    assert caught.value.param == "messages"


def test_async_create_and_stream(fast_server: EmbeddedServer, contract: Contract) -> None:
    async def main() -> tuple[str, str, Any]:
        client = make_async_client(fast_server, contract)
        async with client:
            done = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "Hello"}]
            )
            stream = await client.chat.completions.create(
                model="m", messages=ASK, tools=[WEATHER], stream=True, stream_options={"include_usage": True}
            )
            names = [
                tc.function.name
                async for c in stream
                if c.choices
                for tc in c.choices[0].delta.tool_calls or []
                if tc.function and tc.function.name
            ]
            async with client.chat.completions.stream(
                model="m", messages=[{"role": "user", "content": "Thanks!"}]
            ) as s:
                final = await s.get_final_completion()
        return done.choices[0].message.content or "", names[0], final

    text, name, final = asyncio.run(main())
    assert text == "Hello! How can I help?" and name == "get_weather"
    assert final.choices[0].message.content == "You're welcome!"


def test_json_schema_answers_are_valid_json_and_parse(sdk: openai.OpenAI) -> None:
    import pydantic

    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "steps": {"type": "array", "items": {"type": "string"}}},
        "required": ["answer", "steps"],
        "additionalProperties": False,
    }
    done = sdk.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "What is 12 * 7?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "math", "schema": schema, "strict": True},
        },
    )
    data = json.loads(done.choices[0].message.content or "")
    assert sorted(data) == ["answer", "steps"] and isinstance(data["steps"], list)

    class Answer(pydantic.BaseModel):
        answer: str
        steps: list[str]

    parsed = sdk.chat.completions.parse(
        model="m", messages=[{"role": "user", "content": "What is 12 * 7?"}], response_format=Answer
    )
    assert isinstance(parsed.choices[0].message.parsed, Answer)
