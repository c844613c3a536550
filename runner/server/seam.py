"""The seam between stored objects and the model (DESIGN.md, "Seams"): what the model sees for a run, the
file_search retriever over part 1's index, and the model's tool steps kept in the run between requests.

The model is anything with `stream(ModelInput)` yielding the seam's events (runner.sim.types.Model); the
simulator (runner.sim.stream.SimulatedModel) is the default. Nothing here knows about HTTP; storage is read
only through what the engines hand in (the vector stores, the store the sandbox's files come from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.server.models.vector_stores import VectorStores
from runner.server.store import Store
from runner.sim import (
    Attachment,
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    Model,
    ModelInput,
    SearchHit,
    SimulatedModel,
    ToolCall,
    ToolCallsStep,
    Usage,
)
from runner.sim.sandbox import Origin, SandboxFile


class StoreRetriever:
    """The sim's `Retriever` over the vector stores of a run (the assistant's, or the run's own, and the
    thread's), ranked by part 1's BM25 index exactly as `POST /vector_stores/{id}/search` ranks them."""

    def __init__(
        self,
        vector_stores: VectorStores,
        store_ids: Sequence[str],
        filters: Mapping[str, Any] | None = None,
    ) -> None:
        self.vector_stores = vector_stores
        self.store_ids = [s for s in dict.fromkeys(store_ids) if vector_stores.store.get("vector_stores", s)]
        self.filters = (
            dict(filters) if filters else None
        )  # attribute filters (a Responses file_search tool's)

    def search(self, query: str, max_results: int) -> Sequence[SearchHit]:
        if not self.store_ids:
            return []
        hits = self.vector_stores.search(self.store_ids, [query], max_results, self.filters)
        return [SearchHit(h.file_id, h.filename, h.score, h.text) for h in hits]


def search_store_ids(
    run: Mapping[str, Any], assistant: Mapping[str, Any], thread: Mapping[str, Any]
) -> list[str]:
    own = (run.get("tool_resources") or {}).get("file_search")
    base = own if own is not None else (assistant.get("tool_resources") or {}).get("file_search") or {}
    from_thread = (thread.get("tool_resources") or {}).get("file_search") or {}
    return [*base.get("vector_store_ids", []), *from_thread.get("vector_store_ids", [])]


def code_file_ids(
    run: Mapping[str, Any],
    assistant: Mapping[str, Any],
    thread: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The files code_interpreter sees: the run's own `tool_resources` (create thread and run) or else the
    assistant's, then the thread's, then every thread message's attachment for code_interpreter; each once,
    in that order (the first of a name gets the name in the sandbox's folder)."""
    own = (run.get("tool_resources") or {}).get("code_interpreter")
    base = own if own is not None else (assistant.get("tool_resources") or {}).get("code_interpreter") or {}
    from_thread = (thread.get("tool_resources") or {}).get("code_interpreter") or {}
    attached = [
        a["file_id"]
        for m in messages
        for a in m.get("attachments") or []
        if any(t.get("type") == "code_interpreter" for t in a.get("tools") or [])
    ]
    return list(dict.fromkeys([*base.get("file_ids", []), *from_thread.get("file_ids", []), *attached]))


def code_origin(model: Model) -> Origin:
    """Whose code a code_interpreter call carries: the simulator's may fall back to the guard where there is
    no sandbox boundary, a real model's may not (docs/sandbox.md)."""
    return "simulator" if isinstance(model, SimulatedModel) else "model"


def sandbox_files(store: Store, file_ids: Sequence[str]) -> tuple[SandboxFile, ...]:
    """The files with their bytes, for the sandbox's /mnt/data, read here (in the loop's thread, where the
    store is used); files deleted meanwhile are left out."""
    files = []
    for file_id in file_ids:
        meta, data = store.get("files", file_id), store.get_blob(file_id)
        if meta is not None and data is not None:
            files.append(SandboxFile(file_id, meta["filename"], data))
    return tuple(files)


def message_text(message: Mapping[str, Any]) -> str:
    parts = [p["text"]["value"] for p in message.get("content") or [] if p.get("type") == "text"]
    return "\n".join(parts)


def to_sim_message(message: Mapping[str, Any], filenames: Mapping[str, str] | None = None) -> Message:
    names = filenames or {}
    attachments = tuple(
        Attachment(a["file_id"], tuple(t["type"] for t in a.get("tools") or []), names.get(a["file_id"], ""))
        for a in message.get("attachments") or []
    )
    if message["role"] == "assistant":
        return Message("assistant", message_text(message), attachments)
    return Message("user", message_text(message), attachments)


def truncate(messages: list[dict[str, Any]], strategy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if strategy and strategy.get("type") == "last_messages" and strategy.get("last_messages") is not None:
        keep = int(strategy["last_messages"])
        return messages[-keep:] if keep > 0 else []
    return messages


def model_input(
    run: Mapping[str, Any],
    messages: list[dict[str, Any]],
    steps: tuple[ToolCallsStep, ...],
    filenames: Mapping[str, str] | None = None,
) -> ModelInput:
    """What the model sees: the run's own settings (resolved against the assistant's at creation),
    the thread's messages after the truncation strategy, and this run's tool steps so far."""
    return ModelInput(
        # Fixed when the run was made (its own, or the assistant's, plus additional_instructions), as the
        # real API fixes them: editing the assistant meanwhile does not change a run under way.
        instructions=run.get("instructions") or "",
        tools=tuple(run["tools"]),
        tool_choice=run["tool_choice"],
        model=run["model"],
        temperature=run.get("temperature"),
        messages=tuple(
            to_sim_message(m, filenames) for m in truncate(messages, run.get("truncation_strategy"))
        ),
        steps=steps,
        parallel_tool_calls=bool(run.get("parallel_tool_calls", True)),
        response_format=run.get("response_format"),
    )


# -- tool steps kept in the run document between requests (requires_action survives a restart) ----------


def call_to_json(call: ToolCall) -> dict[str, Any]:
    if isinstance(call, FunctionCall):
        return {"type": "function", "name": call.name, "arguments": call.arguments, "output": call.output}
    if isinstance(call, CodeInterpreterCall):
        return {"type": "code_interpreter", "input": call.input, "logs": call.logs}
    results = None
    if call.results is not None:
        results = [[h.file_id, h.filename, h.score, h.text] for h in call.results]
    return {"type": "file_search", "query": call.query, "results": results}


def call_from_json(data: Mapping[str, Any]) -> ToolCall:
    if data["type"] == "function":
        return FunctionCall(data["name"], data["arguments"], data["output"])
    if data["type"] == "code_interpreter":
        return CodeInterpreterCall(data["input"], data["logs"])
    results = None
    if data["results"] is not None:
        results = tuple(SearchHit(f, n, float(s), t) for f, n, s, t in data["results"])
    return FileSearchCall(data["query"], results)


def step_to_json(step: ToolCallsStep) -> dict[str, Any]:
    out: dict[str, Any] = {
        "calls": [call_to_json(c) for c in step.calls],
        "usage": [step.usage.prompt_tokens, step.usage.completion_tokens],
    }
    if step.text:
        out["text"] = step.text
    return out


def step_from_json(data: Mapping[str, Any]) -> ToolCallsStep:
    prompt, completion = data["usage"]
    calls = tuple(call_from_json(c) for c in data["calls"])
    return ToolCallsStep(calls, Usage(prompt, completion), data.get("text", ""))
