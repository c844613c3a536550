"""The math rules: read what the user asked (an arithmetic expression, a linear equation, a follow-up on the
previous result, a prime question, a request to check the last solution), write the Python that answers it,
and know what that Python prints, so the reply can state the result and notice when the code did not run.

The conversation's state is rebuilt by reading every user message of the thread in order (`thread_state`),
so "Now divide that by 4." acts on the previous turn's result without trusting the assistant's wording."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from runner.sim.mathexpr import (
    Bin,
    MathError,
    Node,
    Num,
    Var,
    approx,
    evaluate,
    linear,
    number,
    parse,
    python,
    show,
    substitute,
    variables,
    working,
)
from runner.sim.mathfind import equation_candidates, find_expression, words_to_ops

MAX_PRIME = 10**12  # trial division up to 10**6, quick in the sandbox and in the simulator

_NUM = r"(-?\d+(?:\.\d+)?)"
_REF = r"(?:that|it|this|the result|the answer|the previous result)"
_FOLLOW_UPS = (
    (rf"\bdivide\s+(?:{_REF}\s+)?by\s+{_NUM}", "/"),
    (rf"\bmultiply\s+(?:{_REF}\s+)?by\s+{_NUM}", "*"),
    (rf"\badd\s+{_NUM}", "+"),
    (rf"\bsubtract\s+{_NUM}", "-"),
    (rf"\braise\s+(?:{_REF}\s+)?to(?:\s+the\s+power\s+of)?\s+{_NUM}", "^"),
    (rf"\b{_REF}\s*([-+*/^])\s*{_NUM}", ""),  # "that * 3" after word operators became symbols
)
_SHORT_FOLLOW_UPS = (
    (rf"\bdouble\s+{_REF}", "*", "2"),
    (rf"\bhalve\s+{_REF}", "/", "2"),
    (rf"\bsquare\s+{_REF}", "^", "2"),
)
_CHECK = re.compile(r"\b(?:check|verify|double-check|confirm)\b|검산|확인|검증", re.IGNORECASE)


@dataclass(frozen=True)
class Equation:
    left: Node
    right: Node
    var: str
    solution: Fraction | None  # None: no solution, or every value solves it

    @property
    def text(self) -> str:
        return f"{show(self.left)} = {show(self.right)}"


@dataclass(frozen=True)
class MathState:
    value: Fraction | None = None
    equation: Equation | None = None


@dataclass(frozen=True)
class MathTask:
    kind: Literal["arithmetic", "equation", "prime", "check", "words"]
    code: str
    expected: str  # what the code prints when it runs as intended
    state: MathState
    en: str
    ko: str
    steps: tuple[str, ...] = ()
    truth: bool | None = None  # the yes/no answer, for questions that have one

    def answer(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en

    def ran_as_intended(self, logs: str) -> bool:
        """The code's last printed line is the expected one (an expected exception matches its name)."""
        lines = [ln for ln in logs.splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else ""
        return last == self.expected or last.startswith(self.expected + ":")


def _fraction_literal(value: Fraction) -> str:
    return f"Fraction({value})" if value.denominator == 1 else f'Fraction("{value}")'


def _operand(value: Fraction) -> str:
    return number(value) if value.denominator == 1 and value >= 0 else f"({number(value)})"


def _code(lines: Iterable[str]) -> str:
    body = "\n".join(lines)
    header = "from fractions import Fraction\n\n" if "Fraction(" in body else ""
    if header and body.startswith("def "):
        header += "\n"  # two blank lines before a top-level def
    return header + body + "\n"


def _result(value: Fraction) -> tuple[str, str]:
    if value.denominator == 1:
        return number(value), number(value)
    return f"{number(value)} (about {approx(value)})", f"{number(value)} (약 {approx(value)})"


def _arithmetic(node: Node, state: MathState, previous: Fraction | None = None) -> MathTask:
    """`node` may use the variable `previous` (the last result): Python gets the variable, the working and
    the answer get the number."""
    env = {"previous": previous} if previous is not None else None
    value = evaluate(node, env)
    shown_node = _substituted(node, previous)
    en, ko = _result(value)
    prelude = [f"previous = {_fraction_literal(previous)}  # the last result"] if previous is not None else []
    return MathTask(
        "arithmetic",
        _code([*prelude, f"result = {python(node)}", "print(result)"]),
        number(value),
        MathState(value, state.equation),
        f"{show(shown_node)} = {en}.",
        f"{show(shown_node)} = {ko}입니다.",
        tuple(working(shown_node)),
    )


def _substituted(node: Node, previous: Fraction | None) -> Node:
    if isinstance(node, Bin) and isinstance(node.left, Var) and previous is not None:
        return Bin(node.op, Num(previous, number(previous)), node.right, node.implicit)
    return node


def _follow_up(text: str, state: MathState) -> MathTask | None:
    if state.value is None:
        return None
    lowered = words_to_ops(text.lower())
    found: tuple[str, str] | None = None
    for pattern, op in _FOLLOW_UPS:
        m = re.search(pattern, lowered)
        if m:
            found = (op or m.group(1), m.group(m.lastindex or 1))
            break
    for pattern, op, operand in _SHORT_FOLLOW_UPS:
        if found is None and re.search(pattern, lowered):
            found = (op, operand)
    if found is None:
        return None
    op, operand = found
    return _arithmetic(Bin(op, Var("previous"), parse(operand)), state, state.value)


def _equation(text: str, state: MathState) -> MathTask | None:
    for candidate in equation_candidates(text):
        left_text, _, right_text = candidate.partition("=")
        try:
            left, right = parse(left_text), parse(right_text)
            names = variables(left) | variables(right)
            if len(names) != 1:
                continue
            var = names.pop()
            a, b = linear(left, var)
            c, d = linear(right, var)
        except (MathError, ZeroDivisionError):
            continue
        return _solve(Equation(left, right, var, (d - b) / (a - c) if a != c else None), a - c, d - b, state)
    return None


def _solve(eq: Equation, slope: Fraction, offset: Fraction, state: MathState) -> MathTask:
    code = _code(
        [
            f"def left({eq.var}):",
            f"    return {python(eq.left)}",
            "",
            "",
            f"def right({eq.var}):",
            f"    return {python(eq.right)}",
            "",
            "",
            f"# Both sides are linear in {eq.var}: two evaluations give left - right = slope * {eq.var} + offset.",
            "offset = Fraction(left(Fraction(0)) - right(Fraction(0)))",
            "slope = Fraction(left(Fraction(1)) - right(Fraction(1))) - offset",
            "if slope != 0:",
            f'    print(f"{eq.var} = {{-offset / slope}}")',
            "elif offset == 0:",
            f'    print("every {eq.var} is a solution")',
            "else:",
            '    print("no solution")',
        ]
    )
    if eq.solution is None:
        every = offset == 0
        expected = f"every {eq.var} is a solution" if every else "no solution"
        en = f"Every value of {eq.var} solves {eq.text}." if every else f"{eq.text} has no solution."
        ko = f"모든 {eq.var}가 {eq.text}의 해입니다." if every else f"방정식 {eq.text}은(는) 해가 없습니다."
        return MathTask("equation", code, expected, MathState(state.value, eq), en, ko, (eq.text,))
    coef = (
        "" if slope == 1 else "-" if slope == -1 else f"({slope})" if slope.denominator != 1 else str(slope)
    )
    steps = [eq.text, f"{coef}{eq.var} = {number(offset)}"]
    if slope != 1:
        steps.append(f"{eq.var} = {_operand(offset)} / {_operand(slope)} = {number(eq.solution)}")
    answer = f"{eq.var} = {number(eq.solution)}"
    return MathTask(
        "equation",
        code,
        answer,
        MathState(eq.solution, eq),
        f"The solution of {eq.text} is {answer}.",
        f"방정식 {eq.text}의 해는 {answer}입니다.",
        tuple(steps),
    )


def _smallest_divisor(n: int) -> int | None:
    # 2, then odd numbers only: at most 5 * 10**5 divisions below MAX_PRIME, a fraction of a second.
    if n % 2 == 0:
        return 2 if n > 2 else None
    return next((d for d in range(3, math.isqrt(n) + 1, 2) if n % d == 0), None)


def _prime(text: str, state: MathState) -> MathTask | None:
    if not re.search(r"\bprime\b", text, re.IGNORECASE):
        return None
    node = find_expression(text)
    explicit = re.search(r"(?<![\d.])-?\d{1,13}(?![\d.])", text)
    if re.search(r"\d{14}", text):
        return None  # beyond MAX_PRIME whatever it says
    if node is not None:
        value = evaluate(node)
    elif explicit:
        value = Fraction(int(explicit.group(0)))
    elif state.value is not None:
        value = state.value
    else:
        return None
    if abs(value) > MAX_PRIME:
        return None
    whole = value.denominator == 1 and value > 1
    divisor = _smallest_divisor(int(value)) if whole else None
    truth = whole and divisor is None
    n = number(value)
    if truth:
        en, ko = f"{n} is a prime number.", f"{n}은(는) 소수입니다."
    elif divisor is not None:
        en = f"{n} is not a prime number: it is divisible by {divisor}."
        ko = f"{n}은(는) {divisor}(으)로 나누어떨어지므로 소수가 아닙니다."
    else:
        en, ko = f"{n} is not a prime number.", f"{n}은(는) 소수가 아닙니다."
    code = _code(
        [
            "import math",
            "",
            f"n = {_fraction_literal(value)}",
            # Trial division on an int: a Fraction's % is ten times slower, seconds for a 12-digit prime.
            "m = int(n)",
            "is_prime = n.denominator == 1 and m > 1 and all(m % d for d in range(2, math.isqrt(m) + 1))",
            "print(is_prime)",
        ]
    ).replace(
        "from fractions import Fraction\n\nimport math\n", "import math\nfrom fractions import Fraction\n"
    )
    steps = (f"{n} = {divisor} * {number(value / divisor)}",) if divisor else ()
    return MathTask("prime", code, str(truth), MathState(value, state.equation), en, ko, steps, truth)


def _check(text: str, state: MathState) -> MathTask | None:
    eq = state.equation
    if not _CHECK.search(text) or eq is None or eq.solution is None:
        return None
    env = {eq.var: eq.solution}
    left, right = number(evaluate(eq.left, env)), number(evaluate(eq.right, env))
    sol = f"{eq.var} = {number(eq.solution)}"
    code = _code(
        [
            f"{eq.var} = {_fraction_literal(eq.solution)}",
            f"left = {python(eq.left)}",
            f"right = {python(eq.right)}",
            "print(left, right, left == right)",
        ]
    )
    return MathTask(
        "check",
        code,
        f"{left} {right} True",
        state,
        f"Check: with {sol}, the left side {show(eq.left)} is {left} and the right side is {right}, so {sol} is correct.",
        f"검산: {sol}을(를) 대입하면 좌변 {show(eq.left)}은(는) {left}, 우변은 {right}로 같으므로 {sol}이(가) 맞습니다.",
        tuple(
            working(substitute(eq.left, eq.var, eq.solution))
            + working(substitute(eq.right, eq.var, eq.solution))
        ),
        True,
    )


def interpret(text: str, state: MathState) -> MathTask | None:
    """The math task in one user message, given the state before it; None when it asks for no math."""
    for rule in (_prime, _equation, _check, _follow_up):
        try:
            task = rule(text, state)
        except (MathError, ZeroDivisionError):
            task = None
        if task is not None:
            return task
    node = find_expression(text)
    if node is None:
        return None
    try:
        return _arithmetic(node, state)
    except ZeroDivisionError:
        return _division_by_zero(node, state)
    except MathError:
        return None


def _division_by_zero(node: Node, state: MathState) -> MathTask:
    code = _code([f"result = {python(node)}", "print(result)"])
    expected = "ZeroDivisionError"
    en = f"{show(node)} has no value: it divides by zero."
    ko = f"{show(node)}은(는) 0으로 나누므로 값이 없습니다."
    return MathTask("arithmetic", code, expected, state, en, ko)


def thread_state(user_texts: Iterable[str]) -> MathState:
    state = MathState()
    for text in user_texts:
        task = interpret(text, state)
        if task is not None:
            state = task.state
    return state


def describe_text(text: str) -> MathTask:
    """What code_interpreter does when forced on a message with no math: count its words and characters."""
    n_words, n_chars = len(text.split()), len(text)
    code = _code([f"text = {text!r}", 'print(len(text.split()), "words,", len(text), "characters")'])
    return MathTask(
        "words",
        code,
        f"{n_words} words, {n_chars} characters",
        MathState(),
        f"Your message has {n_words} words and {n_chars} characters.",
        f"메시지는 {n_words}단어, {n_chars}글자입니다.",
    )
