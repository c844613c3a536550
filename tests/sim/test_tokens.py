"""Deterministic token counts, and the usage each step reports."""

from __future__ import annotations

from runner.sim import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    ModelInput,
    SearchHit,
    Simulator,
    ToolCallsStep,
    Usage,
    clip_to_tokens,
    count_tokens,
    prompt_tokens,
)
from runner.sim.tokens import completion_tokens


def test_a_token_is_a_word_or_one_other_character() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("x = 3/2") == 5
    assert count_tokens("방정식을 풀어 주세요.") == 4
    assert count_tokens("【0:0†a.md】") == 9
    assert count_tokens("   ") == 0


def test_clipping_keeps_a_prefix_with_at_most_that_many_tokens() -> None:
    assert clip_to_tokens("One, two, three.", 3) == "One, two"
    assert clip_to_tokens("One, two, three.", 10) == "One, two, three."
    assert clip_to_tokens("One", 0) == ""


def test_prompt_tokens_count_instructions_messages_tools_and_earlier_steps() -> None:
    tools = ({"type": "code_interpreter"},)  # [{"type":"code_interpreter"}] is 11 tokens
    step = ToolCallsStep(
        (
            FunctionCall("f", "{}", "ok"),
            CodeInterpreterCall("print(1)", "1\n"),
            FileSearchCall("cats", (SearchHit("file-1", "a.md", 0.5, "A cat."),)),
        )
    )
    inp = ModelInput(
        instructions="Be brief.", tools=tools, messages=(Message("user", "Hi there"),), steps=(step,)
    )
    assert prompt_tokens(inp) == 3 + 2 + 11 + (1 + 2 + 1) + (4 + 1) + (1 + 3)
    assert completion_tokens(step.calls) == (1 + 2) + 4 + 1
    assert completion_tokens("Two words") == 2


def test_steps_report_their_usage() -> None:
    inp = ModelInput(messages=(Message("user", "What is 2 + 2?"),))
    out = Simulator().step(inp)
    assert out.usage == Usage(prompt_tokens(inp), count_tokens("2 + 2 = 4."))
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    called = Simulator().step(ModelInput(tools=({"type": "code_interpreter"},), messages=inp.messages))
    assert isinstance(called, ToolCallsStep)
    assert called.usage.completion_tokens == count_tokens(called.calls[0].input)  # type: ignore[union-attr]
