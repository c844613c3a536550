"""Finding math in prose: the arithmetic span of "What is 12 times 7?", the equation in "solve `3x + 11 =
14` please". The spans are handed to `runner.sim.mathexpr` to parse."""

from __future__ import annotations

import re

from runner.sim.mathexpr import MathError, Node, parse

_WORD_OPS = (
    (r"\bmultiplied by\b|\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bto the power of\b", "^"),
    (r"\bsquared\b", "^2"),
    (r"\bcubed\b", "^3"),
)
_MATH_VERB = re.compile(r"\b(?:calculate|compute|evaluate|what is|what's|how much|solve)\b|계산", re.I)
_EXPR_CHARS = re.compile(r"[\d.+\-*/×÷^() ]+")
_EQ_PART = re.compile(r"\d|[A-Za-z]$|\*\*|[-+*/^×÷()]|\s")  # what an equation is made of
_EQ_TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z]+|\*\*|[-+*/^×÷()=]|\s+|.", re.S)


def words_to_ops(text: str) -> str:
    for pattern, op in _WORD_OPS:
        text = re.sub(pattern, f" {op} ", text, flags=re.IGNORECASE)
    return text


def find_expression(text: str) -> Node | None:
    """The longest span of digits and operators that parses and has an operator. A lone minus (a date,
    a range) only counts when the message asks for a calculation."""
    translated = words_to_ops(text)
    spans = sorted((m.group(0).strip() for m in _EXPR_CHARS.finditer(translated)), key=len, reverse=True)
    for span in spans:
        if not re.search(r"\d\s*\)?\s*(?:[-+*/×÷^]|\*\*)\s*\(?\s*-?\d", span):
            continue
        if not re.search(r"[+*/×÷^]", span) and not _MATH_VERB.search(text):
            continue
        if re.search(r"(?<![\d.])0\d", span):
            continue  # 2024-01-05 is a date
        try:
            return parse(span)
        except MathError:
            continue
    return None


def equation_candidates(text: str) -> list[str]:
    """Text around each `=` that may be an equation; spans between backticks first."""
    quoted = [q for q in re.findall(r"`([^`]*)`", text) if "=" in q]
    tokens = [m.group(0) for m in _EQ_TOKEN.finditer(text)]
    spans = []
    for i, tok in enumerate(tokens):
        if tok != "=":
            continue
        lo, hi = i, i + 1
        while (
            lo > 0
            and _EQ_PART.match(tokens[lo - 1])
            and not (tokens[lo - 1].isalpha() and len(tokens[lo - 1]) > 1)
        ):
            lo -= 1
        while (
            hi < len(tokens)
            and _EQ_PART.match(tokens[hi])
            and not (tokens[hi].isalpha() and len(tokens[hi]) > 1)
        ):
            hi += 1
        spans.append("".join(tokens[lo:hi]).strip())
    return quoted + spans
