"""The deterministic simulated model behind the local Assistants API server (rules: docs/simulator.md).

A run engine calls it like this (`Simulator.step` is the pure core; `SimulatedModel(model_time).stream(inp)`
yields the same step as paced deltas, the streaming `Model` seam every protocol consumes):

    inp = ModelInput(instructions=..., tools=..., tool_choice=..., messages=...)
    while isinstance(out := model.step(inp), ToolCallsStep):
        done = execute_builtin_calls(out, inp, retriever=..., code_runner=Sandbox())
        # function calls: wait in requires_action, then done = done.with_function_outputs([...])
        inp = dataclasses.replace(inp, steps=(*inp.steps, done))
    # out is the MessageStep: the final message and its citations
"""

from __future__ import annotations

from runner.sim.execute import (
    execute_builtin,
    execute_builtin_calls,
    file_search_settings,
    needs_outputs,
    tool_call_to_api,
)
from runner.sim.memory import MemoryRetriever
from runner.sim.model import Simulator
from runner.sim.sandbox import Sandbox
from runner.sim.stream import SimulatedModel, chunks, paced, pieces, text_pieces, within_budget
from runner.sim.tokens import clip_to_tokens, count_tokens, prompt_tokens
from runner.sim.types import (
    Attachment,
    Citation,
    CodeInterpreterCall,
    CodeResult,
    CodeRunner,
    ContextOverflow,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    Model,
    ModelEvent,
    ModelFailure,
    ModelInput,
    ModelStep,
    Retriever,
    SearchHit,
    StepDone,
    StepStart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallsStep,
    Usage,
    effective_instructions,
)

__all__ = [
    "Attachment",
    "Citation",
    "CodeInterpreterCall",
    "CodeResult",
    "CodeRunner",
    "ContextOverflow",
    "FileSearchCall",
    "FunctionCall",
    "MemoryRetriever",
    "Message",
    "MessageStep",
    "Model",
    "ModelEvent",
    "ModelFailure",
    "ModelInput",
    "ModelStep",
    "Retriever",
    "Sandbox",
    "SearchHit",
    "SimulatedModel",
    "Simulator",
    "StepDone",
    "StepStart",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallsStep",
    "Usage",
    "chunks",
    "clip_to_tokens",
    "count_tokens",
    "effective_instructions",
    "execute_builtin",
    "execute_builtin_calls",
    "file_search_settings",
    "needs_outputs",
    "paced",
    "pieces",
    "prompt_tokens",
    "text_pieces",
    "tool_call_to_api",
    "within_budget",
]
