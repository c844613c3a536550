"""A small exact-arithmetic expression language for the math rules: parse `12 * 7`, `3x + 11`, `(2+3)^2`,
evaluate with Fractions, emit readable Python for code_interpreter, and print the working step by step.

Only what the rules need: numbers, one single-letter variable, + - * / ^ (also × ÷ **), parentheses and
implicit multiplication (`3x`, `2(x + 1)`). Sizes are bounded so that no input can make the simulator, or
the code it writes, compute for long."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_EXPONENT = 64
MAX_MAGNITUDE = Fraction(10) ** 60
MAX_DIGITS = 30  # per number written
MAX_TOKENS = 200  # keeps the recursive parser far from Python's recursion limit

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z])|(\*\*|[-+*/^×÷()]))")
_OPS = {"×": "*", "÷": "/", "**": "^"}


class MathError(ValueError):
    """Not an expression these rules handle (or one that is too large)."""


@dataclass(frozen=True)
class Num:
    value: Fraction
    literal: str


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Bin:
    op: str  # one of + - * / ^
    left: Node
    right: Node
    implicit: bool = False  # written without a sign, as in 3x


Node = Num | Var | Neg | Bin

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise MathError(f"unexpected {text[pos:].strip()[:1]!r}")
        tokens.append(_OPS.get(m.group(3), m.group(3)) if m.group(3) else m.group(1) or m.group(2))
        pos = m.end()
        if len(tokens) > MAX_TOKENS or (m.group(1) and len(m.group(1)) > MAX_DIGITS):
            raise MathError("the expression is too long")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise MathError("the expression ends too early")
        self.pos += 1
        return tok

    def expression(self, min_prec: int = 1) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            implicit = tok is not None and (tok == "(" or tok[0].isalnum())
            op = "*" if implicit else tok
            if op not in _PRECEDENCE or _PRECEDENCE[op] < min_prec:
                return left
            if not implicit:
                self.take()
            # ^ is right-associative, the others left-associative
            next_prec = _PRECEDENCE[op] + (0 if op == "^" else 1)
            left = Bin(op, left, self.expression(next_prec), implicit)

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Neg(self.expression(_PRECEDENCE["^"]))  # -3^2 is -(3^2), as in math
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            inner = self.expression()
            self.take()  # an expression only stops before ")" or at the end, where take() refuses
            return inner
        if tok[0].isdigit():
            return Num(Fraction(tok), tok)
        if tok.isalpha():
            return Var(tok)
        raise MathError(f"unexpected {tok!r}")


def parse(text: str) -> Node:
    parser = _Parser(tokenize(text))
    node = parser.expression()
    if parser.peek() is not None:
        raise MathError(f"unexpected {parser.peek()!r}")
    return node


def variables(node: Node) -> set[str]:
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Neg):
        return variables(node.operand)
    if isinstance(node, Bin):
        return variables(node.left) | variables(node.right)
    return set()


def _checked(value: Fraction) -> Fraction:
    if abs(value) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise MathError("the numbers get too large")
    return value


def evaluate(node: Node, env: dict[str, Fraction] | None = None) -> Fraction:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        if env is None or node.name not in env:
            raise MathError(f"{node.name} has no value")
        return env[node.name]
    if isinstance(node, Neg):
        return -evaluate(node.operand, env)
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    if node.op == "+":
        return _checked(a + b)
    if node.op == "-":
        return _checked(a - b)
    if node.op == "*":
        return _checked(a * b)
    if node.op == "/":
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return _checked(a / b)
    if b.denominator != 1 or abs(b) > MAX_EXPONENT:
        raise MathError("only whole exponents up to 64 are supported")
    if a == 0 and b < 0:
        raise ZeroDivisionError("division by zero")
    return _checked(a ** int(b))


def linear(node: Node, var: str) -> tuple[Fraction, Fraction]:
    """(a, b) with node == a*var + b, or MathError when the expression is not linear in var."""
    if isinstance(node, Num):
        return Fraction(0), node.value
    if isinstance(node, Var):
        return Fraction(1), Fraction(0)
    if isinstance(node, Neg):
        a, b = linear(node.operand, var)
        return -a, -b
    (a1, b1), (a2, b2) = linear(node.left, var), linear(node.right, var)
    if node.op in "+-":
        sign = 1 if node.op == "+" else -1
        return a1 + sign * a2, b1 + sign * b2
    if node.op == "*" and (a1 == 0 or a2 == 0):
        return a1 * b2 + a2 * b1, b1 * b2
    if node.op == "/" and a2 == 0:
        if b2 == 0:
            raise ZeroDivisionError("division by zero")
        return a1 / b2, b1 / b2
    if node.op == "^" and a1 == 0 and a2 == 0:
        return Fraction(0), evaluate(node)
    raise MathError("not a linear equation")


def _wrap(node: Node, parent: Bin, right: bool, text: str) -> str:
    if isinstance(node, Bin):
        mine, theirs = _PRECEDENCE[node.op], _PRECEDENCE[parent.op]
        if mine < theirs or (mine == theirs and (right or parent.op == "^") and parent.op != "+"):
            return f"({text})"
    if isinstance(node, Neg) and parent.op == "^" and not right:
        return f"({text})"
    return text


def show(node: Node) -> str:
    """The expression as a person writes it: `3x + 11`, `12 * 7`."""
    if isinstance(node, Num):
        return node.literal
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Neg):
        inner = show(node.operand)
        return f"-({inner})" if isinstance(node.operand, Bin) else f"-{inner}"
    left, right = (
        _wrap(node.left, node, False, show(node.left)),
        _wrap(node.right, node, True, show(node.right)),
    )
    if node.implicit:
        return f"{left}{right}"
    return f"{left}^{right}" if node.op == "^" else f"{left} {node.op} {right}"


def python(node: Node) -> str:
    """The expression as Python over exact Fractions: 3x + 11 -> 3*x + 11, 84 / 4 -> Fraction(84) / 4, so
    that division stays exact and prints 21 rather than 21.0."""
    if isinstance(node, Num):
        if node.value.denominator == 1 and "." not in node.literal:
            return str(node.value)  # "01" is not a Python literal
        return f'Fraction("{node.value}")'
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Neg):
        inner = python(node.operand)
        return f"-({inner})" if isinstance(node.operand, Bin) else f"-{inner}"
    left, right = (
        _wrap(node.left, node, False, python(node.left)),
        _wrap(node.right, node, True, python(node.right)),
    )
    if node.op in "/^" and not variables(node.left):
        left = f"Fraction({python(node.left)})"  # the call's parentheses group the operand
    op = "**" if node.op == "^" else node.op
    return f"{left} {op} {right}" if op != "*" or not node.implicit else f"{left}*{right}"


def substitute(node: Node, name: str, value: Fraction) -> Node:
    """The variable replaced by a number; `3x` becomes `3 * 1`, not `31`."""
    if isinstance(node, Var):
        return Num(value, number(value)) if node.name == name else node
    if isinstance(node, Neg):
        return Neg(substitute(node.operand, name, value))
    if isinstance(node, Bin):
        return Bin(node.op, substitute(node.left, name, value), substitute(node.right, name, value))
    return node


def number(value: Fraction) -> str:
    """How a result prints: whole numbers plainly, others as a fraction (as Python prints a Fraction)."""
    return str(value)


def approx(value: Fraction) -> str:
    return f"{float(value):.6g}"


def working(node: Node) -> list[str]:
    """One line per operation, innermost first: (2 + 3) * 4 -> ["2 + 3 = 5", "5 * 4 = 20"]."""
    lines: list[str] = []

    def walk(n: Node) -> Node:
        if isinstance(n, Num | Var):
            return n
        if isinstance(n, Neg):
            inner = walk(n.operand)
            return Num(-evaluate(inner), number(-evaluate(inner)))
        left, right = walk(n.left), walk(n.right)
        reduced = Bin(n.op, left, right, n.implicit)
        value = evaluate(reduced)
        lines.append(f"{show(reduced)} = {number(value)}")
        return Num(value, number(value))

    walk(node)
    return lines
