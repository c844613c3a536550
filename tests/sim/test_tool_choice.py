"""tool_choice: none, auto, required, a named function, file_search, code_interpreter; one tool step a run."""

from __future__ import annotations

import json
from typing import Any

from runner.sim import (
    Attachment,
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelInput,
    Simulator,
    ToolCallsStep,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIDES = {
    "type": "function",
    "function": {"name": "tide_table", "description": "High and low tides for a harbour."},
}
CODE = {"type": "code_interpreter"}
SEARCH = {"type": "file_search"}


def step(text: str, tools: tuple[dict[str, Any], ...], choice: Any = "auto", **kw: Any) -> Any:
    return Simulator().step(
        ModelInput(tools=tools, tool_choice=choice, messages=(Message("user", text),), **kw)
    )


def test_none_never_calls_a_tool_and_the_model_answers_itself() -> None:
    out = step("What is the weather in Lisbon? And what is 12 * 7?", (WEATHER, CODE, SEARCH), "none")
    assert isinstance(out, MessageStep)
    assert out.text == "12 * 7 = 84."


def test_auto_calls_a_function_whose_name_matches_the_users_words() -> None:
    out = step("What is the weather in Lisbon?", (WEATHER, CODE, SEARCH))
    assert out.calls == (FunctionCall("get_weather", '{"city":"Lisbon"}'),)


def test_auto_needs_two_description_words_when_the_name_does_not_match() -> None:
    assert isinstance(step("Which city should I visit?", (WEATHER,)), MessageStep)
    [call] = step("Is it a good day for the harbour tides?", (TIDES,)).calls
    assert call == FunctionCall("tide_table", "{}")


def test_auto_calls_every_matching_function_unless_parallel_calls_are_off() -> None:
    text = "Weather and tide table for Lisbon, please."
    assert [c.name for c in step(text, (WEATHER, TIDES)).calls] == ["get_weather", "tide_table"]
    assert [c.name for c in step(text, (WEATHER, TIDES), parallel_tool_calls=False).calls] == ["get_weather"]


def test_auto_runs_code_for_math_and_searches_for_other_questions() -> None:
    [code] = step("What is 12 * 7?", (CODE, SEARCH)).calls
    assert isinstance(code, CodeInterpreterCall)
    assert code.input == "result = 12 * 7\nprint(result)\n"
    [search] = step("Who kept the light?", (CODE, SEARCH)).calls
    assert search == FileSearchCall("kept light")


def test_auto_does_not_search_for_a_statement_unless_a_file_is_attached() -> None:
    assert isinstance(step("I like lighthouses.", (SEARCH,)), MessageStep)
    attached = Message("user", "Here is my report.", (Attachment("file-1", ("file_search",)),))
    out = Simulator().step(ModelInput(tools=(SEARCH,), messages=(attached,)))
    assert out.calls == (FileSearchCall("report"),)


def test_auto_does_the_math_itself_without_code_interpreter() -> None:
    out = step("What is 12 * 7?", (SEARCH,))
    assert isinstance(out, MessageStep)
    assert out.text == "12 * 7 = 84."


def test_required_takes_the_auto_choice_or_else_the_first_tool() -> None:
    assert step("What is 12 * 7?", (SEARCH, CODE), "required").calls[0].input.startswith("result = 12 * 7")
    assert step("Hello there", (SEARCH, CODE), "required").calls == (FileSearchCall("Hello there"),)
    [call] = step("Hello there", (WEATHER,), "required").calls
    assert call == FunctionCall("get_weather", '{"city":""}')  # required properties are always present
    [code] = step("Hello there", (CODE,), "required").calls
    assert "print(len(text.split())" in code.input


def test_a_named_function_is_called_even_when_the_words_do_not_match() -> None:
    choice = {"type": "function", "function": {"name": "tide_table"}}
    assert step("Tell me a joke about Brest", (WEATHER, TIDES), choice).calls == (
        FunctionCall("tide_table", "{}"),
    )


def test_a_forced_tool_the_run_does_not_have_falls_back_to_auto() -> None:
    unknown = {"type": "function", "function": {"name": "book_table"}}
    assert isinstance(step("Tell me a joke", (WEATHER,), unknown), MessageStep)
    assert (
        step("What is the weather in Oslo?", (WEATHER,), {"type": "file_search"}).calls[0].name
        == "get_weather"
    )
    assert isinstance(step("Tell me a joke", (WEATHER,), {"type": "code_interpreter"}), MessageStep)


def test_file_search_and_code_interpreter_can_be_forced() -> None:
    assert step("What is 12 * 7?", (CODE, SEARCH), {"type": "file_search"}).calls == (FileSearchCall("12 7"),)
    [code] = step("Who kept the light?", (CODE, SEARCH), {"type": "code_interpreter"}).calls
    assert (
        code.input
        == 'text = \'Who kept the light?\'\nprint(len(text.split()), "words,", len(text), "characters")\n'
    )


def test_a_forced_tool_is_used_on_the_first_step_only_then_the_model_answers() -> None:
    first = step("Hello there", (WEATHER,), "required")
    assert isinstance(first, ToolCallsStep)
    done = first.with_function_outputs([json.dumps("rain")])
    again = Simulator().step(
        ModelInput(
            tools=(WEATHER,),
            tool_choice="required",
            messages=(Message("user", "Hello there"),),
            steps=(done,),
        )
    )
    assert isinstance(again, MessageStep)
    assert again.text == "According to get_weather: rain."


def test_without_tools_or_messages_the_model_just_answers() -> None:
    assert isinstance(step("What is the weather?", (), "required"), MessageStep)
    assert isinstance(step("What is the weather?", ({"type": "web_search"},), "required"), MessageStep)
    out = Simulator().step(ModelInput(tools=(WEATHER, SEARCH, CODE)))
    assert out == MessageStep("Hello! How can I help?", (), out.usage)
