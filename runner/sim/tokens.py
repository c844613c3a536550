"""Deterministic token counting: a token is a run of word characters (`\\w+`, Unicode-aware) or one other
non-space character. It is the rule the server's retrieval index uses too, needs no model files, and lands
near a BPE tokenizer's count on English prose, so `max_prompt_tokens` and `max_completion_tokens` behave
plausibly."""

from __future__ import annotations

import json
import re

from runner.sim.types import (
    CodeInterpreterCall,
    FunctionCall,
    ModelInput,
    ToolCall,
)

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    # findall builds the list in C; counting finditer's matches in Python was most of a step's setup.
    return len(_TOKEN.findall(text))


def clip_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of `text` with at most `limit` tokens (for a message cut off by
    `max_completion_tokens`)."""
    if limit <= 0:
        return ""
    for i, m in enumerate(_TOKEN.finditer(text)):
        if i == limit:
            return text[: m.start()].rstrip()
    return text


def call_tokens(call: ToolCall, *, with_results: bool) -> int:
    """A call's own text (what the model writes) and, with `with_results`, what came back."""
    if isinstance(call, FunctionCall):
        n = count_tokens(call.name) + count_tokens(call.arguments)
        return n + (count_tokens(call.output or "") if with_results else 0)
    if isinstance(call, CodeInterpreterCall):
        return count_tokens(call.input) + (count_tokens(call.logs or "") if with_results else 0)
    n = count_tokens(call.query)
    if with_results:
        n += sum(count_tokens(hit.text) for hit in call.results or ())
    return n


def prompt_tokens(inp: ModelInput) -> int:
    """Instructions + every message's text + the tool definitions as compact JSON + this run's earlier tool
    steps with their outputs. The model name, temperature and tool_choice cost nothing."""
    total = count_tokens(inp.instructions)
    total += sum(count_tokens(m.text) for m in inp.messages)
    if inp.tools:
        total += count_tokens(json.dumps(list(inp.tools), separators=(",", ":"), sort_keys=True))
    total += sum(call_tokens(c, with_results=True) for s in inp.steps for c in s.calls)
    return total


def completion_tokens(produced: str | tuple[ToolCall, ...]) -> int:
    if isinstance(produced, str):
        return count_tokens(produced)
    return sum(call_tokens(c, with_results=False) for c in produced)
