"""From a YAML assistant and a turn's run settings to the inline fields of one Responses request.

There is no assistant object on the Responses API: every `POST /responses` carries the assistant. This
module is that translation and nothing else: pure functions, no I/O, no `openai` import. docs/responses.md
has the same mapping as a table; tests/responses/test_compile.py checks it row by row.

What the Assistants API did implicitly is made explicit, so that a run behaves the same on both protocols:
- `additional_instructions` were appended to the instructions after a blank line; Responses has no such
  field and its `instructions` replace the prompt, so the sum is sent.
- a function tool's `strict` defaulted to false; on Responses it defaults to true, so it is always sent.
- the thread was truncated automatically (`truncation_strategy: {type: auto}`); Responses defaults to
  `disabled` (a request over the context window fails), so `truncation: auto` is always sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.project.models import Assistant, Tool


class NotOnResponses(ValueError):
    """A setting with no Responses equivalent. `arun validate --api responses` reports these first, at
    their line; this is the last line of defence for callers that skipped validation."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


@dataclass(frozen=True)
class Managed:
    """The ids apply manages for one assistant: its vector store and its code_interpreter uploads."""

    vector_store_ids: tuple[str, ...] = ()
    code_file_ids: tuple[str, ...] = ()


# Why each unsupported setting is refused, and what to write instead (validate shows the same text).
MAX_PROMPT_TOKENS = (
    "has no Responses equivalent (Responses bounds only the output). Remove it; to keep long conversations "
    "inside the context window use truncation_strategy: {type: auto}, and bound replies with "
    "max_completion_tokens"
)
LAST_MESSAGES = (
    "truncation_strategy type last_messages has no Responses equivalent (Responses truncates only with "
    "`auto`, dropping the oldest items when the context window is full). Use {type: auto}"
)
OLD_RANKER = (
    "ranker default_2024_08_21 does not exist on Responses (its rankers are auto and default-2024-11-15). "
    "Use ranker: auto, or leave ranker out"
)


def function_tool(tool: Tool) -> dict[str, Any]:
    """Assistants nest a function under `function`; Responses puts its fields on the tool itself."""
    assert tool.function is not None
    fn = tool.function
    out: dict[str, Any] = {"type": "function", "name": fn.name}
    if fn.description is not None:
        out["description"] = fn.description
    out["parameters"] = copy.deepcopy(dict(fn.parameters)) if fn.parameters is not None else None
    out["strict"] = bool(fn.strict)  # the Assistants default (false), sent because Responses' is true
    return out


def file_search_tool(options: Mapping[str, Any], vector_store_ids: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file_search", "vector_store_ids": list(vector_store_ids)}
    if "max_num_results" in options:
        out["max_num_results"] = options["max_num_results"]
    ranking = options.get("ranking_options")
    if ranking is not None:
        if ranking.get("ranker") == "default_2024_08_21":
            raise NotOnResponses("tools[].file_search.ranking_options.ranker", OLD_RANKER)
        out["ranking_options"] = copy.deepcopy(dict(ranking))
    return out


def code_interpreter_tool(file_ids: Sequence[str]) -> dict[str, Any]:
    return {"type": "code_interpreter", "container": {"type": "auto", "file_ids": list(file_ids)}}


def compile_tools(tools: Sequence[Tool], managed: Managed) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.type == "function":
            out.append(function_tool(tool))
        elif tool.type == "file_search":
            out.append(file_search_tool(tool.api.get("file_search") or {}, managed.vector_store_ids))
        elif tool.type == "code_interpreter":
            out.append(code_interpreter_tool(managed.code_file_ids))
        else:  # pragma: no cover - the schema allows only the three
            raise NotOnResponses(f"tools[].{tool.type}", "is not a tool arun knows")
    return out


def text_format(response_format: Any) -> dict[str, Any] | None:
    """`response_format` -> `text: {format: ...}`; `auto` (or nothing) sends no `text` at all."""
    if response_format is None or response_format == "auto":
        return None
    kind = response_format["type"]
    if kind in ("text", "json_object"):
        return {"format": {"type": kind}}
    schema = response_format["json_schema"]  # json_schema: its fields move up one level
    fmt: dict[str, Any] = {"type": "json_schema", "name": schema["name"]}
    for name in ("description", "schema", "strict"):
        if name in schema:
            fmt[name] = copy.deepcopy(schema[name])
    return {"format": fmt}


def tool_choice(choice: Any) -> Any:
    """`auto`/`none`/`required` stay; `{type: function, function: {name}}` -> `{type: function, name}`;
    a forced built-in tool keeps its `{type: ...}` shape."""
    if isinstance(choice, str):
        return choice
    if choice["type"] == "function":
        return {"type": "function", "name": choice["function"]["name"]}
    return {"type": choice["type"]}


def instructions(base: str | None, settings: Mapping[str, Any]) -> str | None:
    """A run's `instructions` replace the assistant's; `additional_instructions` are appended after a
    blank line, as the Assistants API appended them."""
    text: str | None = settings.get("instructions", base)
    extra = settings.get("additional_instructions")
    if extra:
        text = f"{text}\n\n{extra}" if text else extra
    return text


def truncation(settings: Mapping[str, Any]) -> str:
    strategy = settings.get("truncation_strategy")
    if strategy is not None and strategy.get("type") == "last_messages":
        raise NotOnResponses("truncation_strategy", LAST_MESSAGES)
    return "auto"


def compile_request(
    assistant: Assistant, settings: Mapping[str, Any] | None = None, managed: Managed = Managed()
) -> dict[str, Any]:
    """The Responses request fields for one turn of `assistant` with these run settings (the scenario's
    merged with the turn's, `Scenario.run_settings`). Everything but `input`, `conversation` /
    `previous_response_id`, `store`, `stream` and `include`, which belong to the replay engine."""
    settings = settings or {}
    if "max_prompt_tokens" in settings:
        raise NotOnResponses("max_prompt_tokens", MAX_PROMPT_TOKENS)
    body: dict[str, Any] = {"model": settings.get("model", assistant.model)}
    text = instructions(assistant.instructions, settings)
    if text is not None:
        body["instructions"] = text
    tools = compile_tools(assistant.tools, managed)
    if tools:
        body["tools"] = tools
    if "tool_choice" in settings:
        body["tool_choice"] = tool_choice(settings["tool_choice"])
    for name in ("temperature", "top_p"):
        value = settings.get(name, getattr(assistant, name))
        if value is not None:
            body[name] = value
    fmt = text_format(assistant.response_format)
    if fmt is not None:
        body["text"] = fmt
    if assistant.reasoning_effort is not None:
        body["reasoning"] = {"effort": assistant.reasoning_effort}
    if assistant.metadata:
        body["metadata"] = dict(assistant.metadata)
    body["truncation"] = truncation(settings)
    if "max_completion_tokens" in settings:
        body["max_output_tokens"] = settings["max_completion_tokens"]
    return body
