"""Same input, same output, byte for byte; model name and temperature change nothing."""

from __future__ import annotations

from dataclasses import replace

from runner.project.load import load_project
from runner.sim import MemoryRetriever, Message, ModelInput, Sandbox, Simulator

from ..conftest import REPO
from .conftest import play

PROJECT = load_project(REPO).project


def test_replaying_every_example_twice_gives_identical_steps_and_messages(
    sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    def everything() -> str:
        return repr([play(PROJECT, s, sandbox, retriever) for _, s in sorted(PROJECT.scenarios.items())])

    first = everything()
    assert "Jane Doe" in first
    assert everything() == first


def test_model_and_temperature_do_not_change_the_output() -> None:
    inp = ModelInput(
        instructions="Address the user as Ana.",
        tools=({"type": "code_interpreter"}, {"type": "file_search"}),
        messages=(Message("user", "What is 6 * 7?"),),
    )
    outputs = {
        repr(Simulator().step(replace(inp, model=model, temperature=t)))
        for model in ("gpt-4o", "gpt-4o-mini", "local")
        for t in (None, 0.0, 0.7, 2.0)
    }
    assert len(outputs) == 1
