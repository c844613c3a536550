"""How instructions shape the final message, and the replies that need no tool."""

from __future__ import annotations

from runner.sim import (
    CodeInterpreterCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelInput,
    Simulator,
    ToolCallsStep,
)
from runner.sim.execute import DISABLED_LOGS
from runner.sim.reply import Style, style_of


def answer(text: str, instructions: str = "", steps: tuple[ToolCallsStep, ...] = (), **kw: object) -> str:
    out = Simulator().step(
        ModelInput(instructions=instructions, messages=(Message("user", text),), steps=steps, **kw)  # type: ignore[arg-type]
    )
    assert isinstance(out, MessageStep)
    return out.text


def test_style_rules_read_the_instructions() -> None:
    assert style_of("Please address the user as Jane Doe. The user has a premium account.", "hi") == Style(
        "en", "Jane Doe"
    )
    assert style_of("Call the user “Captain”.", "hi").name == "Captain"
    assert style_of("Answer with yes or no first, then explain.", "hi").yes_no_first
    assert style_of("Start every reply with yes/no.", "hi").yes_no_first
    assert style_of("예 또는 아니오로 먼저 답하세요.", "hi").yes_no_first
    assert style_of("사용자를 민지님이라고 부르세요.", "hi").name == "민지"
    assert style_of("사용자를 Jane이라고 부르세요.", "hi").name == "Jane"
    assert style_of("Show each step of the working.", "hi").show_steps
    assert style_of("Think step by step.", "hi").show_steps
    assert style_of("Always show your work.", "hi").show_steps
    assert not style_of("Be kind.", "hi").show_steps
    assert not style_of("Give short answers and work carefully.", "hi").show_steps


def test_the_reply_language_follows_the_user_unless_told_otherwise() -> None:
    assert style_of("", "안녕하세요").lang == "ko"
    assert style_of("", "Hello").lang == "en"
    assert style_of("Always answer in Korean.", "Hello").lang == "ko"
    assert style_of("항상 한국어로 답하세요.", "Hello").lang == "ko"
    assert style_of("Reply in English.", "안녕하세요").lang == "en"
    # a conditional instruction only applies when its condition does, which the user's language decides
    assert style_of("If the user writes in Korean, answer in Korean.", "Hello").lang == "en"
    assert style_of("사용자가 한국어로 질문하면 한국어로 답하세요.", "Hello").lang == "en"


def test_the_name_and_yes_or_no_open_the_reply() -> None:
    assert answer("What is 12 * 7?", "Address the user as Jane Doe.") == "Jane Doe, 12 * 7 = 84."
    assert answer("Is 7 prime?", "Answer with yes or no first.") == "Yes. 7 is a prime number."
    both = "Address the user as Jane Doe. Answer with yes or no first."
    assert answer("Is 8 prime?", both) == "No, Jane Doe. 8 is not a prime number: it is divisible by 2."
    assert (
        answer("7은 소수인가요? Is 7 prime", "Address the user as Jane Doe.")
        == "Jane Doe님, 7은(는) 소수입니다."
    )
    assert answer("7은 소수인가요? Is 7 prime", both) == "네, Jane Doe님. 7은(는) 소수입니다."
    assert answer("Can you help?", "Answer with yes or no first.").startswith("Yes. ")


def test_steps_are_shown_when_asked_without_repeating_the_answer() -> None:
    reply = answer("solve 3x + 11 = 14", "Show each step of the working.")
    assert reply == "The solution of 3x + 11 = 14 is x = 1. Steps: 3x = 3; x = 3 / 3 = 1."
    assert answer("방정식 3x + 11 = 14", "풀이 과정을 보여 주세요.").endswith(" 풀이: 3x = 3; x = 3 / 3 = 1.")


def test_replies_without_a_tool_or_a_rule_do_not_guess() -> None:
    assert answer("Thanks! Any tip for the afternoon?") == (
        "You're welcome! I have no tool result or rule that answers “Any tip for the afternoon?”, so I will not guess."
    )
    assert answer("Hello") == "Hello! How can I help?"
    assert answer("I like boats.") == "Noted."
    assert answer("감사합니다") == "천만에요!"
    assert answer("안녕하세요") == "안녕하세요! 무엇을 도와드릴까요?"
    assert answer("배가 좋아요") == "알겠습니다."
    assert (
        answer("오후에 뭐 할까요?")
        == "“오후에 뭐 할까요?”에 답할 도구 결과나 규칙이 없어 추측하지 않겠습니다."
    )


def test_function_outputs_of_every_shape_are_reported() -> None:
    step = ToolCallsStep(
        (
            FunctionCall("get_weather", "{}", '{"temp": 21, "tags": ["sun"]}'),
            FunctionCall("get_tide", "{}", "high at 14:00"),
            FunctionCall("get_wind", "{}", None),
        )
    )
    assert answer("Weather?", steps=(step,)) == (
        'According to get_weather: temp 21, tags ["sun"]; according to get_tide: high at 14:00; '
        "get_wind returned nothing."
    )
    assert answer("날씨?", steps=(step,)).startswith("get_weather 결과: temp 21")


def test_code_that_did_not_run_as_intended_is_reported_not_hidden() -> None:
    code = "result = 12 * 7\nprint(result)\n"
    disabled = ToolCallsStep((CodeInterpreterCall(code, DISABLED_LOGS),))
    assert answer("What is 12 * 7?", steps=(disabled,)) == (
        f"The code did not run as intended. It printed: “{DISABLED_LOGS}”"
    )
    silent = ToolCallsStep((CodeInterpreterCall(code, ""),))
    assert (
        answer("12 * 7 계산해 주세요", steps=(silent,))
        == "코드가 예상대로 실행되지 않았습니다. 출력: “출력 없음”"
    )
    other = ToolCallsStep((CodeInterpreterCall("print(84)\n", "84\n"),))
    assert answer("What is 12 * 7?", steps=(other,)) == "The code did not run as intended. It printed: “84”"


def test_an_empty_tool_step_falls_back_to_the_models_own_answer() -> None:
    assert answer("What is 2 + 2?", steps=(ToolCallsStep(()),)) == "2 + 2 = 4."
