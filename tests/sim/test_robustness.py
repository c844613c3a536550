"""Odd input never breaks a run: every message under every tool_choice ends in a final message, with valid
JSON arguments, within one tool step."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from runner.sim import (
    MemoryRetriever,
    Message,
    MessageStep,
    ModelInput,
    Sandbox,
    Simulator,
    ToolCallsStep,
    execute_builtin_calls,
    needs_outputs,
)

NASTY = [
    "",
    " ",
    "?",
    "=",
    "x =",
    "= 3",
    "((((((((",
    "What is " + "(" * 300 + "1+1" + ")" * 300 + "?",
    "1/0=1",
    "2^64^64",
    "Is -5 prime?",
    "Is 0 prime?",
    "prime",
    "What is " + "9" * 5000 + " * 2?",
    "Is " + "7" * 5000 + " prime?",
    "Book " + "9" * 400 + " nights",
    "x" * 10000,
    "3x + 2y = 1",
    "x^2 = 4",
    "x/0 = 1",
    "0x = 0",
    "What is .5 + .5?",
    "1,000 + 2",
    "divide that by 0",
    "raise it to 100",
    "What is the weather in " + "Lisbon " * 500,
    "🙂🙂 ? 🙂",
    "\x00\x01",
    "【0:0†a.md】 what?",
    "`x = 1` `y = 2`",
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "n": {"type": "integer"}, "x": {"type": "number"}},
            "required": ["city", "n", "x"],
        },
    },
}
CHOICES: list[Any] = [
    "auto",
    "none",
    "required",
    {"type": "function", "function": {"name": "get_weather"}},
    {"type": "file_search"},
    {"type": "code_interpreter"},
]


@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: c if isinstance(c, str) else c["type"])
def test_odd_messages_still_end_in_a_message(choice: Any, sandbox: Sandbox) -> None:
    retriever = MemoryRetriever([("file-1", "a.md", "Odile turned the lens by hand. " * 3)])
    model = Simulator()
    for text in NASTY:
        inp = ModelInput(
            instructions="Address the user as Jane. Answer with yes or no first. Show each step.",
            tools=(WEATHER, {"type": "code_interpreter"}, {"type": "file_search"}),
            tool_choice=choice,
            messages=(Message("user", "What is 12 * 7?"), Message("assistant", "84"), Message("user", text)),
        )
        while isinstance(out := model.step(inp), ToolCallsStep):
            assert not inp.steps, text
            done = execute_builtin_calls(out, inp, retriever=retriever, code_runner=sandbox)
            if needs_outputs(done):
                assert all(isinstance(json.loads(c.arguments), dict) for c in done.function_calls)
                done = done.with_function_outputs(["ok"] * len(done.function_calls))
            inp = replace(inp, steps=(done,))
        assert isinstance(out, MessageStep), text
        assert out.text.startswith(("Yes, Jane.", "No, Jane.")), (text, out.text)
