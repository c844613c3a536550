"""The caller's helpers: running built-in calls, step outputs, and the API's shapes of tool calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.sim import (
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    MemoryRetriever,
    ModelInput,
    Sandbox,
    SearchHit,
    ToolCallsStep,
    effective_instructions,
    execute_builtin,
    execute_builtin_calls,
    file_search_settings,
    needs_outputs,
    tool_call_to_api,
)
from runner.sim.execute import DISABLED_LOGS

from ..shared import shared_path


def recorded_tool_calls(name: str) -> list[dict[str, Any]]:
    """Every completed tool call in a recording's run-step bodies."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("object") == "thread.run.step" and value.get("type") == "tool_calls":
                found.extend(value["step_details"]["tool_calls"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(json.loads(v.split("data: ", 1)[1]) if isinstance(v, str) and "data: {" in v else v)

    walk(json.loads(shared_path("recordings", name).read_text(encoding="utf-8")))
    return [c for c in found if c]


def test_file_search_settings_follow_the_tool_and_the_apis_defaults() -> None:
    assert file_search_settings(ModelInput()) == (20, 0.0, "default_2024_08_21")
    assert file_search_settings(ModelInput(model="gpt-3.5-turbo"))[0] == 5
    tool = {
        "type": "file_search",
        "file_search": {
            "max_num_results": 2,
            "ranking_options": {"ranker": "custom", "score_threshold": 0.4},
        },
    }
    assert file_search_settings(ModelInput(tools=(tool,))) == (2, 0.4, "custom")


def test_file_search_calls_get_results_above_the_threshold(retriever: MemoryRetriever) -> None:
    tool = {
        "type": "file_search",
        "file_search": {"max_num_results": 5, "ranking_options": {"score_threshold": 0.2}},
    }
    inp = ModelInput(tools=(tool,))
    done = execute_builtin(
        FileSearchCall("clockwork jammed Odile"), inp, retriever=retriever, code_runner=None
    )
    assert isinstance(done, FileSearchCall)
    assert done.results
    assert all(h.score >= 0.2 for h in done.results)
    assert len(done.results) < len(retriever.search("clockwork jammed Odile", 5))
    alone = execute_builtin(FileSearchCall("x"), inp, retriever=None, code_runner=None)
    assert alone == FileSearchCall("x", ())


def test_code_calls_get_logs_and_functions_are_left_for_the_client(sandbox: Sandbox) -> None:
    step = ToolCallsStep((CodeInterpreterCall("print(2 + 2)"),))
    assert execute_builtin_calls(step, ModelInput(), retriever=None, code_runner=sandbox).calls == (
        CodeInterpreterCall("print(2 + 2)", "4\n"),
    )
    assert execute_builtin(CodeInterpreterCall("1"), ModelInput(), retriever=None, code_runner=None) == (
        CodeInterpreterCall("1", DISABLED_LOGS)
    )
    call = FunctionCall("f", "{}")
    assert execute_builtin(call, ModelInput(), retriever=None, code_runner=sandbox) is call


def test_function_outputs_are_filled_in_call_order() -> None:
    step = ToolCallsStep((FunctionCall("a", "{}"), FunctionCall("b", "{}")))
    assert needs_outputs(step)
    done = step.with_function_outputs(["1", "2"])
    assert [c.output for c in done.function_calls] == ["1", "2"]
    assert not needs_outputs(done)
    with pytest.raises(ValueError, match="expected 2 function outputs, got 1"):
        step.with_function_outputs(["1"])


def test_effective_instructions_replace_then_append() -> None:
    assert effective_instructions("Tutor.") == "Tutor."
    assert effective_instructions("Tutor.", "Jane.") == "Jane."
    assert effective_instructions("Tutor.", None, "Steps.") == "Tutor.\n\nSteps."
    assert effective_instructions(None, None, "Steps.") == "Steps."
    assert effective_instructions(None) == ""


@pytest.mark.parametrize(
    ("recording", "call"),
    [
        ("StreamingToolCall().json", FunctionCall("get_weather", '{"city":"Lisbon"}', "sunny")),
        ("BasicRunStepFunctionalityWorks.json", CodeInterpreterCall("print(1)")),
        ("FileSearchWorks.json", FileSearchCall("q", (SearchHit("file-1", "a.md", 0.5, "text"),))),
    ],
)
def test_api_shapes_have_the_recorded_keys(recording: str, call: Any) -> None:
    shapes = {
        json.dumps(_keys(c), sort_keys=True)
        for c in recorded_tool_calls(recording)
        if c["type"] == _kind(call)
    }
    ours = tool_call_to_api(call, "call_1", ModelInput(), include_content=True)
    assert json.dumps(_keys(ours), sort_keys=True) in shapes


def test_api_shapes_carry_the_values() -> None:
    inp = ModelInput()
    assert tool_call_to_api(CodeInterpreterCall("x"), "call_2", inp)["code_interpreter"] == {
        "input": "x",
        "outputs": [],
    }
    logged = tool_call_to_api(CodeInterpreterCall("x", "1\n"), "call_2", inp)["code_interpreter"]
    assert logged["outputs"] == [{"type": "logs", "logs": "1\n"}]  # the spec's code output logs object
    search = tool_call_to_api(FileSearchCall("q", (SearchHit("f", "a.md", 0.5, "t"),)), "call_3", inp)
    assert search["file_search"] == {
        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
        "results": [{"file_id": "f", "file_name": "a.md", "score": 0.5, "attributes": {}}],
    }


def _kind(call: Any) -> str:
    return {FunctionCall: "function", CodeInterpreterCall: "code_interpreter", FileSearchCall: "file_search"}[
        type(call)
    ]


def _keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, recursively, with the first list item standing for all of them."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None
