"""Which tools the model calls, if any: `tool_choice` first, then the `auto` rules.

A run takes at most one tool step: once `steps` holds one, the model answers. Under `auto`, in order:
1. every function whose name words (or at least two description words) match the user's words is called
   (only the first with `parallel_tool_calls: false`);
2. with code_interpreter, a math request gets a code step; without it, the model does the math itself;
3. with file_search, a question or request (or a message carrying a file_search attachment) gets a search;
4. otherwise the model answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.sim.arguments import build_arguments
from runner.sim.mathtask import MathState, MathTask, describe_text, interpret, thread_state
from runner.sim.search import search_query
from runner.sim.text import STOPWORDS, content_terms, is_question, split_identifier, stem, words, wordset
from runner.sim.types import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    ModelInput,
    ToolCall,
)

# Words that say what a function does in general, not what it is about.
GENERIC_WORDS = wordset(
    "get set fetch retrieve lookup look find list create update delete remove add current return returns data "
    "info information api call function tool user value values details"
)


@dataclass(frozen=True)
class Context:
    """What the rules read from the input: the latest user message and the math it asks for."""

    latest: Message | None
    before: MathState
    task: MathTask | None

    @property
    def text(self) -> str:
        return self.latest.text if self.latest else ""

    @classmethod
    def of(cls, inp: ModelInput) -> Context:
        users = [m for m in inp.messages if m.role == "user"]
        latest = users[-1] if users else None
        before = thread_state(m.text for m in users[:-1])
        task = interpret(latest.text, before) if latest else None
        return cls(latest, before, task)


def function_matches(function: Mapping[str, Any], text: str) -> bool:
    said = set(content_terms(text))
    name_words = {stem(w) for w in split_identifier(str(function.get("name", ""))) if w not in GENERIC_WORDS}
    description = str(function.get("description") or "")
    described = {
        stem(w) for w in words(description) if w.lower() not in STOPWORDS and w.lower() not in GENERIC_WORDS
    }
    return bool(said & name_words) or len(said & described) >= 2


def _call(function: Mapping[str, Any], text: str) -> FunctionCall:
    return FunctionCall(str(function["name"]), build_arguments(function.get("parameters"), text))


def _code_call(ctx: Context) -> CodeInterpreterCall:
    return CodeInterpreterCall((ctx.task or describe_text(ctx.text)).code)


def _search_call(ctx: Context) -> FileSearchCall:
    return FileSearchCall(search_query(ctx.text))


def auto_calls(inp: ModelInput, ctx: Context) -> tuple[ToolCall, ...]:
    if ctx.latest is None:
        return ()
    matching = [f for f in inp.functions if function_matches(f, ctx.text)]
    if matching:
        chosen = matching if inp.parallel_tool_calls else matching[:1]
        return tuple(_call(f, ctx.text) for f in chosen)
    if ctx.task is not None:
        return (_code_call(ctx),) if inp.tool("code_interpreter") else ()
    wants_files = any("file_search" in a.tools for a in ctx.latest.attachments)
    if inp.tool("file_search") and (is_question(ctx.text) or wants_files):
        return (_search_call(ctx),)
    return ()


def _first_tool_call(inp: ModelInput, ctx: Context) -> tuple[ToolCall, ...]:
    for tool in inp.tools:
        kind = tool.get("type")
        if kind == "function" and "function" in tool:
            return (_call(tool["function"], ctx.text),)
        if kind == "code_interpreter":
            return (_code_call(ctx),)
        if kind == "file_search":
            return (_search_call(ctx),)
    return ()


def decide(inp: ModelInput, ctx: Context) -> tuple[ToolCall, ...]:
    """The calls of the next step; empty when the model answers instead."""
    choice = inp.tool_choice
    if inp.steps or choice == "none" or not inp.tools:
        return ()
    if choice == "required":
        return auto_calls(inp, ctx) or _first_tool_call(inp, ctx)
    if isinstance(choice, Mapping):
        kind = choice.get("type")
        if kind == "function":
            name = (choice.get("function") or {}).get("name")
            function = next((f for f in inp.functions if f.get("name") == name), None)
            if function is not None:
                return (_call(function, ctx.text),)
        elif kind == "code_interpreter" and inp.tool("code_interpreter"):
            return (_code_call(ctx),)
        elif kind == "file_search" and inp.tool("file_search"):
            return (_search_call(ctx),)
    # "auto", and forced tools the run does not have (the server rejects those before running)
    return auto_calls(inp, ctx)
