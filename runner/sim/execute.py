"""Running the built-in tools for the caller, and the API's shapes of tool calls, so the server only has to
store what comes back. Function calls are the client's to answer (`requires_action`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runner.sim.types import (
    CodeInterpreterCall,
    CodeRunner,
    FileSearchCall,
    FunctionCall,
    ModelInput,
    Retriever,
    ToolCall,
    ToolCallsStep,
)

DEFAULT_RANKER = "default_2024_08_21"
DISABLED_LOGS = "Code execution is disabled on this server."


def file_search_settings(inp: ModelInput) -> tuple[int, float, str]:
    """(max_num_results, score_threshold, ranker) from the run's file_search tool, with the API's defaults:
    20 results (5 for gpt-3.5 models), threshold 0, the default ranker."""
    tool = inp.tool("file_search") or {}
    settings: Mapping[str, Any] = tool.get("file_search") or {}
    default_max = 5 if inp.model.startswith("gpt-3.5") else 20
    ranking: Mapping[str, Any] = settings.get("ranking_options") or {}
    ranker = ranking.get("ranker") or "auto"
    return (
        int(settings.get("max_num_results") or default_max),
        float(ranking.get("score_threshold") or 0.0),
        DEFAULT_RANKER if ranker == "auto" else str(ranker),
    )


def execute_builtin(
    call: ToolCall, inp: ModelInput, *, retriever: Retriever | None, code_runner: CodeRunner | None
) -> ToolCall:
    """The call with its results (file_search) or logs (code_interpreter); function calls unchanged. No
    retriever means no vector stores (no results); no code runner means execution is disabled."""
    if isinstance(call, FileSearchCall):
        max_results, threshold, _ = file_search_settings(inp)
        hits = retriever.search(call.query, max_results) if retriever is not None else ()
        return replace(call, results=tuple(h for h in hits if h.score >= threshold)[:max_results])
    if isinstance(call, CodeInterpreterCall):
        logs = code_runner.run(call.input).output if code_runner is not None else DISABLED_LOGS
        return replace(call, logs=logs)
    return call


def execute_builtin_calls(
    step: ToolCallsStep, inp: ModelInput, *, retriever: Retriever | None, code_runner: CodeRunner | None
) -> ToolCallsStep:
    calls = tuple(execute_builtin(c, inp, retriever=retriever, code_runner=code_runner) for c in step.calls)
    return replace(step, calls=calls)


def needs_outputs(step: ToolCallsStep) -> bool:
    """The run waits in `requires_action` until the client submits these."""
    return any(c.output is None for c in step.function_calls)


def tool_call_to_api(
    call: ToolCall, call_id: str, inp: ModelInput, *, include_content: bool = False
) -> dict[str, Any]:
    """The run step's `step_details.tool_calls[]` entry, as the recordings show it."""
    if isinstance(call, FunctionCall):
        function = {"name": call.name, "arguments": call.arguments, "output": call.output}
        return {"id": call_id, "type": "function", "function": function}
    if isinstance(call, CodeInterpreterCall):
        outputs = [{"type": "logs", "logs": call.logs}] if call.logs else []
        return {
            "id": call_id,
            "type": "code_interpreter",
            "code_interpreter": {"input": call.input, "outputs": outputs},
        }
    _, threshold, ranker = file_search_settings(inp)
    results = []
    for hit in call.results or ():
        result: dict[str, Any] = {
            "file_id": hit.file_id,
            "file_name": hit.filename,
            "score": hit.score,
            "attributes": {},
        }
        if include_content:
            result["content"] = [{"type": "text", "text": hit.text}]
        results.append(result)
    ranking = {"ranker": ranker, "score_threshold": threshold}
    return {
        "id": call_id,
        "type": "file_search",
        "file_search": {"ranking_options": ranking, "results": results},
    }
