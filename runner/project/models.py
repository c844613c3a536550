"""Frozen, validated views of the project's files. Nothing outside runner.project touches raw YAML dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Metadata keys arun writes on the objects it manages (issue: ownership without a state file). The API
# allows 16 metadata keys; these four are taken from the user's budget, and users may not set them.
RESERVED_METADATA_PREFIX = "arun_"
RESERVED_METADATA_KEYS = ("arun_managed", "arun_key", "arun_spec_hash", "arun_files")
API_METADATA_KEYS = 16
USER_METADATA_KEYS = API_METADATA_KEYS - len(RESERVED_METADATA_KEYS)

TERMINAL_RUN_STATUSES = ("completed", "failed", "cancelled", "expired", "incomplete")
EXPECTATION_KINDS = (
    "contains",
    "not_contains",
    "equals",
    "regex",
    "json",
    "tool_called",
    "no_tool_called",
    "status",
    "citations",
)
BUILTIN_TOOLS = ("code_interpreter", "file_search")


@dataclass(frozen=True)
class Source:
    """Where a value was written: a project-relative path and a 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class FunctionTool:
    name: str
    description: str | None
    parameters: Mapping[str, Any] | None
    strict: bool | None


@dataclass(frozen=True)
class Tool:
    """One entry of `tools`, kept in the API's own shape (`api`) for requests and plans."""

    type: str
    api: Mapping[str, Any]
    function: FunctionTool | None = None


@dataclass(frozen=True)
class Assistant:
    key: str
    source: Source
    model: str
    name: str | None
    description: str | None
    instructions: str | None
    instructions_file: str | None
    tools: tuple[Tool, ...]
    temperature: float | None
    top_p: float | None
    response_format: Any
    reasoning_effort: str | None
    metadata: Mapping[str, str]
    file_search_files: tuple[str, ...]
    code_interpreter_files: tuple[str, ...]

    @property
    def function_names(self) -> tuple[str, ...]:
        return tuple(t.function.name for t in self.tools if t.function is not None)

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        return tuple(t.function for t in self.tools if t.function is not None)

    @property
    def tool_types(self) -> tuple[str, ...]:
        return tuple(t.type for t in self.tools)

    def api_fields(self) -> dict[str, Any]:
        """The assistant as the API's create/modify body, without files and arun's own metadata."""
        body: dict[str, Any] = {
            "model": self.model,
            "name": self.name,
            "description": self.description,
            "instructions": self.instructions,
            "tools": [dict(t.api) for t in self.tools],
            "metadata": dict(self.metadata),
        }
        optional = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "response_format": self.response_format,
            "reasoning_effort": self.reasoning_effort,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


@dataclass(frozen=True)
class PythonHandler:
    """A tool output computed by a function in the project (`{python: "pkg.module:function"}`)."""

    module: str
    function: str
    path: str  # the module's file, project-relative
    keywords: bool = False  # called as function(**arguments) rather than function(arguments)

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


@dataclass(frozen=True)
class Attachment:
    file: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class UserMessage:
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Expectation:
    kind: str
    value: Any
    source: Source
    ignore_case: bool = False


@dataclass(frozen=True)
class Turn:
    index: int
    source: Source
    user: UserMessage
    run: Mapping[str, Any]
    tool_outputs: Mapping[str, Any]
    expect: tuple[Expectation, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Source
    assistant: str
    description: str | None
    run: Mapping[str, Any]
    turns: tuple[Turn, ...]
    expect: tuple[Expectation, ...] = ()  # over the whole conversation

    def run_settings(self, turn: Turn) -> dict[str, Any]:
        """The run settings of one turn: the scenario's, overridden key by key by the turn's."""
        return {**self.run, **turn.run}


@dataclass(frozen=True)
class Project:
    root: Path
    assistants: Mapping[str, Assistant] = field(default_factory=dict)
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)
