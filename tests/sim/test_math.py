"""The expression language and the math rules; every generated program really prints what the rule says."""

from __future__ import annotations

from fractions import Fraction

import pytest

from runner.sim import Sandbox
from runner.sim.mathexpr import MathError, evaluate, linear, parse, python, show, working
from runner.sim.mathtask import MathState, MathTask, describe_text, interpret, thread_state


@pytest.mark.parametrize(
    ("text", "shown", "value"),
    [
        ("12 * 7", "12 * 7", 84),
        ("12 × 7 ÷ 4", "12 * 7 / 4", 21),
        ("(2+3)^2", "(2 + 3)^2", 25),
        ("2 ** 3 ** 2", "2^(3^2)", 512),
        ("-3^2", "-(3^2)", -9),
        ("-3 * 2", "-3 * 2", -6),
        ("+4 - -3", "4 - -3", 7),
        ("10 - 4 - 3", "10 - 4 - 3", 3),
        ("10 - (4 - 3)", "10 - (4 - 3)", 9),
        ("8 / 3", "8 / 3", Fraction(8, 3)),
        ("1.5 * 2", "1.5 * 2", 3),
        ("2^-1", "2^-1", Fraction(1, 2)),
        ("2(3 + 1)", "2(3 + 1)", 8),
        ("-(2 + 3)", "-(2 + 3)", -5),
        ("(-3)^2", "(-3)^2", 9),
    ],
)
def test_expressions_parse_show_and_evaluate_exactly(text: str, shown: str, value: Fraction) -> None:
    node = parse(text)
    assert show(node) == shown
    assert evaluate(node) == value
    assert eval(python(node), {"Fraction": Fraction}) == value  # the Python it writes means the same


@pytest.mark.parametrize(
    "text", ["(1 + 2", "1 +", "1 2 )", "3 $ 4", "3 * / 4", "2 ^ 100", "10 ^ 50 * 10 ^ 50", "x + 1"]
)
def test_what_the_language_refuses(text: str) -> None:
    with pytest.raises(MathError):
        evaluate(parse(text))


def test_division_by_zero_is_its_own_error() -> None:
    for text in ("1 / 0", "0 ^ -1"):
        with pytest.raises(ZeroDivisionError):
            evaluate(parse(text))


def test_linear_forms_and_what_is_not_linear() -> None:
    assert linear(parse("3x + 11"), "x") == (3, 11)
    assert linear(parse("-(x - 4) / 2 + 2^2"), "x") == (Fraction(-1, 2), 6)
    for text in ("x * x", "1 / x", "x ^ 2"):
        with pytest.raises(MathError):
            linear(parse(text), "x")
    with pytest.raises(ZeroDivisionError):
        linear(parse("x / 0"), "x")


def test_working_lists_each_operation_innermost_first() -> None:
    assert working(parse("(2 + 3) * 4 - -1")) == ["2 + 3 = 5", "5 * 4 = 20", "20 - -1 = 21"]


def task(text: str, state: MathState | None = None) -> MathTask:
    found = interpret(text, state or MathState())
    assert found is not None
    return found


def test_arithmetic_in_words_and_symbols() -> None:
    assert task("What is 3 times 4 plus 1?").en == "3 * 4 + 1 = 13."
    assert task("what's 7 divided by 2").en == "7 / 2 = 7/2 (about 3.5)."
    assert task("calculate 5 squared minus 2 cubed").en == "5^2 - 2^3 = 17."
    assert task("What is 10 - 4?").en == "10 - 4 = 6."
    assert interpret("On 2024-01-05 we sail", MathState()) is None
    assert interpret("What is 2024-01-05?", MathState()) is None
    assert interpret("Room 12 is nice", MathState()) is None
    assert interpret("What is 1 + (2?", MathState()) is None
    assert interpret("What is 2 ^ 100?", MathState()) is None


def test_follow_ups_act_on_the_previous_result() -> None:
    state = MathState(Fraction(84))
    assert task("Now divide that by 4.", state).en == "84 / 4 = 21."
    assert task("Multiply it by 2", state).en == "84 * 2 = 168."
    assert task("add 6", state).en == "84 + 6 = 90."
    assert task("Subtract 4", state).en == "84 - 4 = 80."
    assert task("double it", state).en == "84 * 2 = 168."
    assert task("halve the result", state).en == "84 / 2 = 42."
    assert task("square it", state).en == "84^2 = 7056."
    assert task("raise it to the power of 2", state).en == "84^2 = 7056."
    assert task("and that times 3?", state).en == "84 * 3 = 252."
    assert interpret("Now divide that by 4.", MathState()) is None
    assert interpret("Now divide that by 0.", state) is None


def test_linear_equations_with_and_without_a_single_solution() -> None:
    solved = task("I need to solve the equation `3x + 11 = 14`. Can you help me?")
    assert (solved.en, solved.expected, solved.steps) == (
        "The solution of 3x + 11 = 14 is x = 1.",
        "x = 1",
        ("3x + 11 = 14", "3x = 3", "x = 3 / 3 = 1"),
    )
    assert task("solve 2y - 1 = y + 4 please").en == "The solution of 2y - 1 = y + 4 is y = 5."
    assert task("solve -x = 3").steps == ("-x = 3", "-x = 3", "x = 3 / (-1) = -3")
    assert task("solve x/2 = 3").steps[1] == "(1/2)x = 3"
    assert task("x + 1 = x + 2").en == "x + 1 = x + 2 has no solution."
    assert task("2x = x + x").ko == "모든 x가 2x = x + x의 해입니다."
    assert interpret("a + b = 3", MathState()) is None
    assert interpret("x * x = 4", MathState()) is None


def test_prime_questions_use_the_number_asked_or_the_previous_result() -> None:
    assert task("Is the result a prime number?", MathState(Fraction(21))).en == (
        "21 is not a prime number: it is divisible by 3."
    )
    assert task("Is 97 prime?").truth is True
    assert task("Is 3 * 7 prime?").truth is False
    assert task("Is 1 a prime?").en == "1 is not a prime number."
    assert task("Is it prime?", MathState(Fraction(7, 2))).truth is False
    assert interpret("Is it prime?", MathState()) is None
    assert interpret("Is 10000000000000000 prime?", MathState()) is None


def test_checking_a_solution_needs_a_solved_equation() -> None:
    state = thread_state(["solve 3x + 11 = 14"])
    checked = task("검산도 해 주세요.", state)
    assert (checked.expected, checked.truth, checked.steps) == (
        "14 14 True",
        True,
        ("3 * 1 = 3", "3 + 11 = 14"),
    )
    assert interpret("please check", MathState()) is None
    assert interpret("please check", thread_state(["x + 1 = x + 2"])) is None


def test_the_thread_state_follows_every_user_message_in_order() -> None:
    state = thread_state(["What is 12 * 7?", "Thanks!", "Now divide that by 4."])
    assert state.value == 21


def test_division_by_zero_is_answered_not_raised() -> None:
    broken = task("What is 7 / 0?")
    assert broken.en == "7 / 0 has no value: it divides by zero."
    assert broken.expected == "ZeroDivisionError"


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("What is 12 * 7?", MathState()),
        ("What is 7 / 2?", MathState()),
        ("Now divide that by 4.", MathState(Fraction(13))),
        ("double it", MathState(Fraction(13, 8))),
        ("solve 3x + 11 = 14", MathState()),
        ("solve x/3 + 1 = 2x", MathState()),
        ("x + 1 = x + 2", MathState()),
        ("2x = x + x", MathState()),
        ("Is the result prime?", MathState(Fraction(21))),
        ("Is 97 prime?", MathState()),
        ("Is it prime?", MathState(Fraction(7, 2))),
        ("check it", thread_state(["solve 3x + 11 = 14"])),
        ("What is 7 / 0?", MathState()),
    ],
)
def test_generated_code_prints_what_the_rule_expects(text: str, state: MathState, sandbox: Sandbox) -> None:
    found = task(text, state)
    result = sandbox.run(found.code)
    assert found.ran_as_intended(result.output), result.output


def test_describing_text_when_there_is_no_math(sandbox: Sandbox) -> None:
    described = describe_text("Tell me a 'story'")
    assert described.en == "Your message has 4 words and 17 characters."
    assert described.ran_as_intended(sandbox.run(described.code).output)
    assert not described.ran_as_intended("")
