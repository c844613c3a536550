from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from runner.project.models import Project, Scenario
from runner.sim import (
    MemoryRetriever,
    Message,
    MessageStep,
    ModelInput,
    Sandbox,
    Simulator,
    ToolCallsStep,
    effective_instructions,
    execute_builtin_calls,
    needs_outputs,
)
from tests.conftest import REPO

CORPUS = REPO / "corpus" / "harbor-light"


def corpus_retriever(root: Path = REPO) -> MemoryRetriever:
    """The novel's chapters, each file id being its project-relative path (as scenarios name files)."""
    paths = sorted((root / "corpus" / "harbor-light").glob("*.md"))
    return MemoryRetriever(
        (p.relative_to(root).as_posix(), p.name, p.read_text(encoding="utf-8")) for p in paths
    )


@dataclass(frozen=True)
class TurnResult:
    steps: tuple[ToolCallsStep, ...]
    message: MessageStep


def play(
    project: Project, scenario: Scenario, sandbox: Sandbox, retriever: MemoryRetriever
) -> list[TurnResult]:
    """A scenario through the simulator the way a run engine drives it: one run per turn, built-in tools
    executed, function calls answered from the turn's `tool_outputs`."""
    assistant = project.assistants[scenario.assistant]
    model = Simulator()
    messages: tuple[Message, ...] = ()
    results = []
    for turn in scenario.turns:
        settings = scenario.run_settings(turn)
        messages = (*messages, Message("user", turn.user.text))
        inp = ModelInput(
            instructions=effective_instructions(
                assistant.instructions, settings.get("instructions"), settings.get("additional_instructions")
            ),
            tools=tuple(t.api for t in assistant.tools),
            tool_choice=settings.get("tool_choice", "auto"),
            model=settings.get("model", assistant.model),
            temperature=settings.get("temperature", assistant.temperature),
            messages=messages,
        )
        while isinstance(out := model.step(inp), ToolCallsStep):
            done = execute_builtin_calls(out, inp, retriever=retriever, code_runner=sandbox)
            if needs_outputs(done):
                outputs = [
                    json.dumps(turn.tool_outputs.get(c.name, "no output")) for c in done.function_calls
                ]
                done = done.with_function_outputs(outputs)
            inp = replace(inp, steps=(*inp.steps, done))
        results.append(TurnResult(inp.steps, out))
        messages = (*messages, Message("assistant", out.text))
    return results


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return Sandbox(cpu_seconds=5, wall_seconds=20)


@pytest.fixture(scope="session")
def retriever() -> MemoryRetriever:
    return corpus_retriever()
