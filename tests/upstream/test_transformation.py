"""The adapter's translations, table by table: ModelInput -> request, and chunks -> the seam's step."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.sim import builtin_functions as bf
from runner.sim.types import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelInput,
    SearchHit,
    ToolCallsStep,
    Usage,
)
from runner.upstream.transformation import (
    Assembly,
    CallDelta,
    PromptTooLong,
    RequestOptions,
    TextDelta,
    UpstreamError,
    build_request,
    citations,
    malformed,
    prompt_estimate,
    to_step,
    upstream_tool_choice,
    upstream_tools,
)

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HIT = SearchHit("file-abc", "storm.md", 0.48, "Odile turned the lens by hand.")


def _inp(**kw: Any) -> ModelInput:
    return ModelInput(**{"messages": (Message("user", "Hi"),), **kw})


# -- tools and tool_choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ((), []),
        (({"type": "function", "function": WEATHER},), [{"type": "function", "function": WEATHER}]),
        (
            ({"type": "file_search", "file_search": {"max_num_results": 5}},),
            [bf.function_tool("file_search")],
        ),
        (({"type": "code_interpreter"},), [bf.function_tool("code_interpreter")]),
        (
            ({"type": "code_interpreter"}, {"type": "function", "function": WEATHER}),
            [bf.function_tool("code_interpreter"), {"type": "function", "function": WEATHER}],
        ),
        (({"type": "web_search"},), []),
    ],
)
def test_tools_are_offered_as_functions_in_order(tools: tuple[Any, ...], expected: list[Any]) -> None:
    assert upstream_tools(tools) == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        ({"type": "file_search"}, {"type": "function", "function": {"name": "arun_file_search"}}),
        ({"type": "code_interpreter"}, {"type": "function", "function": {"name": "arun_code_interpreter"}}),
    ],
)
def test_tool_choice_names_the_offered_function(choice: Any, expected: Any) -> None:
    assert upstream_tool_choice(choice) == expected


# -- the request --------------------------------------------------------------------------------------


def test_a_plain_turn_is_system_then_messages_streamed_with_usage() -> None:
    inp = _inp(
        instructions="Be brief.",
        messages=(Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "Bye")),
        temperature=0.2,
    )
    assert build_request(inp, RequestOptions(model="up-model")) == {
        "model": "up-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Bye"},
        ],
        "temperature": 0.2,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_tool_steps_become_assistant_tool_calls_then_tool_answers() -> None:
    steps = (
        ToolCallsStep(
            (
                FunctionCall("get_weather", '{"city":"Lisbon"}', "sunny"),
                FunctionCall("get_weather", "{}", "rain"),
            )
        ),
        ToolCallsStep((FileSearchCall("lens", (HIT,)),)),
        ToolCallsStep((CodeInterpreterCall("print(2+2)", "4\n"),)),
    )
    body = build_request(_inp(steps=steps), RequestOptions(model="m", stream=False))
    assert "stream" not in body and "tools" not in body
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}'},
                },
                {
                    "id": "call_0_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_0_0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_0_1", "content": "rain"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1_0",
                    "type": "function",
                    "function": {"name": "arun_file_search", "arguments": '{"query":"lens"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1_0",
            "content": json.dumps(
                {
                    "results": [
                        {
                            "citation": "【1:0†storm.md】",
                            "file_id": "file-abc",
                            "filename": "storm.md",
                            "score": 0.48,
                            "text": HIT.text,
                        }
                    ]
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ),
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_2_0",
                    "type": "function",
                    "function": {"name": "arun_code_interpreter", "arguments": '{"code":"print(2+2)"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_2_0", "content": "4\n"},
    ]


@pytest.mark.parametrize(
    ("settings", "steps", "expected"),
    [
        # tool_choice auto is the upstream's default: not sent
        ({"tool_choice": "auto"}, 0, {}),
        ({"tool_choice": "required"}, 0, {"tool_choice": "required"}),
        (
            {"tool_choice": {"type": "code_interpreter"}},
            0,
            {"tool_choice": {"type": "function", "function": {"name": "arun_code_interpreter"}}},
        ),
        ({"parallel_tool_calls": False}, 0, {"parallel_tool_calls": False}),
        # the bound on tool steps: then the model must answer
        ({"tool_choice": "required"}, 2, {"tool_choice": "none"}),
        ({"tool_choice": "auto"}, 3, {"tool_choice": "none"}),
    ],
)
def test_tool_choice_parallel_calls_and_the_step_bound(
    settings: dict[str, Any], steps: int, expected: dict[str, Any]
) -> None:
    done = ToolCallsStep((CodeInterpreterCall("1", "1"),))
    inp = _inp(tools=({"type": "code_interpreter"},), steps=(done,) * steps, **settings)
    body = build_request(inp, RequestOptions(model="m", max_steps=2))
    got = {k: body[k] for k in ("tool_choice", "parallel_tool_calls") if k in body}
    assert got == expected
    assert body["tools"] == [bf.function_tool("code_interpreter")]


def test_max_completion_tokens_is_the_runs_remaining_budget() -> None:
    assert (
        build_request(_inp(), RequestOptions(model="m", max_completion_tokens=40))["max_completion_tokens"]
        == 40
    )
    # a spent budget still asks for one token: the engine ends the run before asking at all
    assert (
        build_request(_inp(), RequestOptions(model="m", max_completion_tokens=0))["max_completion_tokens"]
        == 1
    )


def test_max_prompt_tokens_drops_the_oldest_messages_first() -> None:
    old = tuple(Message("user" if n % 2 == 0 else "assistant", f"message number {n} " * 5) for n in range(6))
    inp = _inp(instructions="Be brief.", messages=(*old, Message("user", "latest question")))
    full = build_request(inp, RequestOptions(model="m"))["messages"]
    limit = prompt_estimate(full, []) - 1
    fitted = build_request(inp, RequestOptions(model="m", max_prompt_tokens=limit))["messages"]
    assert fitted[0] == {"role": "system", "content": "Be brief."}
    assert fitted[-1] == {"role": "user", "content": "latest question"}
    assert fitted[1:] == full[2:]  # exactly the oldest one went
    assert prompt_estimate(fitted, []) <= limit


def test_a_prompt_that_cannot_fit_is_refused_before_sending() -> None:
    inp = _inp(instructions="Be brief.", messages=(Message("user", "word " * 50),))
    with pytest.raises(PromptTooLong) as caught:
        build_request(inp, RequestOptions(model="m", max_prompt_tokens=10))
    assert caught.value.limit == 10 and caught.value.tokens > 50


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (None, None),
        ("auto", None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        ),
        # Responses' text.format is flat
        (
            {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True},
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
            },
        ),
    ],
)
def test_response_format_is_sent_in_chat_completions_shape(given: Any, sent: Any) -> None:
    body = build_request(_inp(response_format=given), RequestOptions(model="m"))
    assert body.get("response_format") == sent


# -- the answer ---------------------------------------------------------------------------------------


def _chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"object": "chat.completion.chunk", "choices": choices, "usage": usage}


def test_streamed_text_and_usage_fold_into_a_message_step() -> None:
    answer = Assembly()
    deltas = []
    for chunk in [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hello"}),
        _chunk({"content": " there."}),
        _chunk({}, finish="stop"),
        _chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}),
    ]:
        deltas += answer.feed(chunk)
    assert deltas == [TextDelta("Hello"), TextDelta(" there.")]
    assert (answer.text, answer.finish_reason, answer.usage) == ("Hello there.", "stop", Usage(12, 3))
    assert to_step(answer, _inp(), Usage(12, 3)) == MessageStep("Hello there.", (), Usage(12, 3))


def test_streamed_tool_calls_are_assembled_by_index() -> None:
    answer = Assembly()
    deltas = []
    for chunk in [
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "u1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "u2",
                        "type": "function",
                        "function": {"name": "arun_file_search", "arguments": '{"qu'},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'ery":"lens"}'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Lisbon"}'}}]}),
        _chunk({}, finish="tool_calls"),
    ]:
        deltas += answer.feed(chunk)
    assert deltas[:3] == [
        CallDelta(0, name="get_weather"),
        CallDelta(1, name="arun_file_search"),
        CallDelta(1, arguments='{"qu'),
    ]
    step = to_step(answer, _inp(), Usage(1, 2))
    assert step == ToolCallsStep(
        (FunctionCall("get_weather", '{"city":"Lisbon"}'), FileSearchCall("lens")), Usage(1, 2)
    )


def test_a_non_streamed_completion_gives_the_same_deltas() -> None:
    answer = Assembly()
    deltas = answer.complete(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "x",
                                "type": "function",
                                "function": {"name": "arun_code_interpreter", "arguments": '{"code":"6*7"}'},
                            }
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
        }
    )
    assert deltas == [CallDelta(0, name="arun_code_interpreter"), CallDelta(0, arguments='{"code":"6*7"}')]
    assert answer.usage == Usage(9, 4)
    assert to_step(answer, _inp(), Usage(9, 4)) == ToolCallsStep((CodeInterpreterCall("6*7"),), Usage(9, 4))


def test_the_legacy_function_call_form_is_read_too() -> None:
    answer = Assembly()
    answer.feed(_chunk({"function_call": {"name": "get_weather", "arguments": "{}"}}, finish="function_call"))
    assert to_step(answer, _inp(), Usage(0, 0)) == ToolCallsStep((FunctionCall("get_weather", "{}"),))


def test_both_forms_in_one_delta_count_once_as_llama_cpp_sends_them() -> None:
    answer = Assembly()
    for piece in ('{"city": ', '"Lisbon"}'):
        function = {"name": "get_weather", "arguments": piece}
        call = {"index": 0, "id": "call_1", "type": "function", "function": function}
        answer.feed(_chunk({"function_call": function, "tool_calls": [call]}))
    assert to_step(answer, _inp(), Usage(0, 0)) == ToolCallsStep(
        (FunctionCall("get_weather", '{"city": "Lisbon"}'),)
    )
    whole = Assembly()
    message = {"role": "assistant", "function_call": function, "tool_calls": [call]}
    whole.complete(
        {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        }
    )
    assert to_step(whole, _inp(), Usage(0, 0)) == ToolCallsStep((FunctionCall("get_weather", '"Lisbon"}'),))


def test_an_answer_without_choices_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError):
        Assembly().complete({"object": "chat.completion", "choices": []})


@pytest.mark.parametrize(
    ("arguments", "bad"),
    [
        ('{"city":"Lisbon"}', False),
        ("{}", False),
        ('{"city":', True),
        ("[1]", True),
        ("", True),
        ("null", True),
    ],
)
def test_malformed_arguments_are_recognised(arguments: str, bad: bool) -> None:
    assert malformed(arguments) is bad


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("arun_file_search", '{"query":"lens"}', FileSearchCall("lens")),
        ("arun_file_search", "lens by hand", FileSearchCall("lens by hand")),  # kept, not refused
        ("arun_code_interpreter", '{"code":"print(1)"}', CodeInterpreterCall("print(1)")),
        (
            "arun_code_interpreter",
            '{"code":',
            CodeInterpreterCall('{"code":'),
        ),  # fails in the sandbox, visibly
        ("get_weather", '{"city":', FunctionCall("get_weather", '{"city":')),  # the client sees what came
    ],
)
def test_calls_of_the_offered_functions_become_builtin_calls(
    name: str, arguments: str, expected: Any
) -> None:
    answer = Assembly()
    answer.feed(
        _chunk({"tool_calls": [{"index": 0, "id": "u", "function": {"name": name, "arguments": arguments}}]})
    )
    step = to_step(answer, _inp(), Usage(0, 0))
    assert isinstance(step, ToolCallsStep) and step.calls == (expected,)


def test_citation_markers_that_name_a_found_result_become_file_citations() -> None:
    other = SearchHit("file-def", "keeper.md", 0.2, "Odile Marsh kept the light.")
    steps = (
        ToolCallsStep((FunctionCall("f", "{}", "x"),)),
        ToolCallsStep((FileSearchCall("q", (HIT, other)),)),
    )
    text = "She turned it by hand【1:0†storm.md】 and kept it【1:1†keeper.md】; not【0:0†f】 nor【1:5†x】."
    found = citations(text, steps)
    assert [(c.text, c.file_id, c.filename) for c in found] == [
        ("【1:0†storm.md】", "file-abc", "storm.md"),
        ("【1:1†keeper.md】", "file-def", "keeper.md"),
    ]
    assert all(text[c.start_index : c.end_index] == c.text for c in found)
    answer = Assembly(text=text)
    step = to_step(answer, _inp(steps=steps), Usage(0, 0))
    assert isinstance(step, MessageStep) and step.citations == found
