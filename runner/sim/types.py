"""The model seam's types (DESIGN.md, "Seams"): plain frozen dataclasses in, one model step out as a stream
of events, and the Protocols the caller implements for the built-in tools. No SDK types, no HTTP, no
storage: the server maps these to and from its own objects.

`Model.stream(ModelInput)` is an async generator of `ModelEvent`s, for one model step:

    StepStart(kind)                      once, as soon as the model knows what it writes
    TextDelta(text, citations) ...       kind "message": the text in pieces, in order
    ToolCallDelta(index, kind, name, text) ...   kind "tool_calls": per call, its first delta names it
    StepDone(step, finish)               always last: the whole step with its usage

A real model may write some text and then call tools in one answer ("Let me check..."). That step starts as
a message and turns into a tool step: `StepStart("message")`, its `TextDelta`s, then `StepStart("tool_calls")`
and the calls' deltas, and `StepDone` carries a `ToolCallsStep` whose `text` is what was written before the
calls. The engines show it as the API does: a finished message (Assistants: a `message_creation` step; Responses:
a message output item), then the tool calls. The simulator never writes such a step.

A step over `ModelInput.max_tokens` stops early with `finish="length"` (a message keeps its longest prefix
within the budget; a tool step the simulator would not fit is not started: `StepDone` comes alone). The
model paces its own events (the simulator sleeps to model-time deadlines, a real model streams as it
writes); a consumer that stops early closes the generator (`aclose()`), which stops the model. The
simulator is `runner.sim.stream.SimulatedModel`; `Simulator.step` is its pure, synchronous core.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

ToolChoice = str | Mapping[str, Any]


@dataclass(frozen=True)
class Attachment:
    file_id: str
    tools: tuple[str, ...] = ()
    filename: str = ""  # the file's name where the caller knows it (a real model is told it)


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """One file_search result: what a `Retriever` returns and what a run step records."""

    file_id: str
    filename: str
    score: float
    text: str


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str  # JSON text, as the API carries it
    output: str | None = None  # filled by the caller from submit_tool_outputs


@dataclass(frozen=True)
class CodeInterpreterCall:
    input: str
    logs: str | None = None  # filled by `execute_builtin` from the CodeRunner


@dataclass(frozen=True)
class FileSearchCall:
    query: str  # not part of the API's step object; the caller passes it to its Retriever
    results: tuple[SearchHit, ...] | None = None  # filled by `execute_builtin`


ToolCall = FunctionCall | CodeInterpreterCall | FileSearchCall


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ToolCallsStep:
    """The model asks for tools. All calls of one step have the same kind (functions, or one built-in).
    `text` is a message the model wrote before its calls in the same answer ("" for none); the step's
    usage covers both."""

    calls: tuple[ToolCall, ...]
    usage: Usage = Usage(0, 0)
    text: str = ""

    @property
    def function_calls(self) -> tuple[FunctionCall, ...]:
        return tuple(c for c in self.calls if isinstance(c, FunctionCall))

    def with_function_outputs(self, outputs: Sequence[str]) -> ToolCallsStep:
        """The step with the submitted outputs, given in the order of its function calls."""
        functions = self.function_calls
        if len(outputs) != len(functions):
            raise ValueError(f"expected {len(functions)} function outputs, got {len(outputs)}")
        given = iter(outputs)
        calls = tuple(
            replace(c, output=next(given)) if isinstance(c, FunctionCall) else c for c in self.calls
        )
        return replace(self, calls=calls)


@dataclass(frozen=True)
class Citation:
    """A `file_citation` annotation: `text` is the marker in the message, `quote` the sentence it cites."""

    text: str
    file_id: str
    filename: str
    quote: str
    start_index: int
    end_index: int

    def to_api(self) -> dict[str, Any]:
        return {
            "type": "file_citation",
            "text": self.text,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "file_citation": {"file_id": self.file_id},
        }


@dataclass(frozen=True)
class MessageStep:
    """The model answers: the run's final assistant message."""

    text: str
    citations: tuple[Citation, ...] = ()
    usage: Usage = Usage(0, 0)


ModelStep = ToolCallsStep | MessageStep


@dataclass(frozen=True)
class ModelInput:
    """Everything the model sees for its next step. `tools` and `tool_choice` use the API's JSON shapes;
    `steps` are the tool steps this run already took, with their outputs and results filled in."""

    instructions: str = ""
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: ToolChoice = "auto"
    model: str = "gpt-4o"
    temperature: float | None = None
    messages: tuple[Message, ...] = ()
    steps: tuple[ToolCallsStep, ...] = ()
    parallel_tool_calls: bool = True
    max_tokens: int | None = None  # the completion tokens this step may write; None: no limit
    # What is left of the run's max_prompt_tokens for this step's prompt (None: no limit). A model that builds
    # its own prompt (the upstream adapter) drops the oldest thread messages to fit it, and raises
    # ContextOverflow when the latest alone does not fit; the simulator ignores it (the engine checks the
    # simulator's own count before asking it).
    max_prompt_tokens: int | None = None
    # Tool steps of earlier turns, each after the first n `messages` (the Responses API shows them to the
    # model; an Assistants thread does not). The simulator ignores them and does not count them, so that
    # one scenario gets the same answers and usage on both protocols; a real model sees them.
    earlier_steps: tuple[tuple[int, ToolCallsStep], ...] = ()
    # The API's response_format (Assistants, Chat Completions) or text.format (Responses), as sent; a JSON
    # format makes the final message JSON (runner/sim/structured.py). None, "auto" or text: plain text.
    response_format: Mapping[str, Any] | str | None = None

    def tool(self, kind: str) -> Mapping[str, Any] | None:
        return next((t for t in self.tools if t.get("type") == kind), None)

    @property
    def functions(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(t["function"] for t in self.tools if t.get("type") == "function" and "function" in t)


def effective_instructions(
    assistant: str | None, run_instructions: str | None = None, additional: str | None = None
) -> str:
    """The run's `instructions` replace the assistant's; `additional_instructions` are appended."""
    base = run_instructions if run_instructions is not None else (assistant or "")
    if additional:
        return f"{base}\n\n{additional}" if base else additional
    return base


@dataclass(frozen=True)
class StepStart:
    """The first event of a step: what the model writes (a final message, or tool calls)."""

    kind: Literal["message", "tool_calls"]


@dataclass(frozen=True)
class TextDelta:
    """A piece of the message text. `citations` are the ones whose marker starts at this piece, with
    indices into the whole text; a marker is never split across pieces."""

    text: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of tool call `index` (0, 1, ... in the step's order). The call's first delta carries its kind
    and, for a function, its name; the `text` of its deltas adds up to the function's JSON arguments, the
    code (code_interpreter) or the search query (file_search)."""

    index: int
    kind: Literal["function", "code_interpreter", "file_search"]
    name: str = ""
    text: str = ""


@dataclass(frozen=True)
class StepDone:
    """The last event: the whole step (the pieces put together) with its usage. `finish` is "length" when
    `ModelInput.max_tokens` stopped it."""

    step: ModelStep
    finish: Literal["stop", "length"] = "stop"


ModelEvent = StepStart | TextDelta | ToolCallDelta | StepDone


class Model(Protocol):
    """The model seam every protocol's engine consumes: given what the model sees, its next step as a
    stream of events (the order is in this module's docstring)."""

    def stream(self, inp: ModelInput) -> AsyncGenerator[ModelEvent, None]: ...


class Retriever(Protocol):
    """file_search over the run's vector stores (the assistant's and the thread's), best hit first."""

    def search(self, query: str, max_results: int) -> Sequence[SearchHit]: ...


@dataclass(frozen=True)
class CodeResult:
    status: Literal["ok", "error", "timeout", "killed", "disabled"]
    output: str  # what the code printed (stdout and stderr interleaved), capped; notes about limits appended


class CodeRunner(Protocol):
    def run(self, code: str) -> CodeResult: ...


class ModelFailure(Exception):
    """The model could not give its step (an upstream that kept failing, a recorded answer missing): the run
    fails with `last_error` {code, message}, `code` being one the API uses (server_error,
    rate_limit_exceeded)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ContextOverflow(Exception):
    """The prompt does not fit: over `max_prompt_tokens` even with only the latest message, or longer than
    the model's context. The run ends `incomplete` (reason max_prompt_tokens); nothing is written."""
