"""The example project's scenarios, played through the simulator, meet their own `expect:` lists."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from runner.project.load import load_project
from runner.project.models import Expectation
from runner.sim import FunctionCall, MemoryRetriever, Sandbox

from ..conftest import REPO
from .conftest import TurnResult, play

PROJECT = load_project(REPO).project


def check(expectation: Expectation, turn: TurnResult) -> bool:
    """The expectation kinds the examples use, judged the way replay will judge them."""
    kind, value = expectation.kind, expectation.value
    text = turn.message.text
    calls = [c for step in turn.steps for c in step.calls]
    names = [c.name if isinstance(c, FunctionCall) else type(c).__name__ for c in calls]
    builtin = {"CodeInterpreterCall": "code_interpreter", "FileSearchCall": "file_search"}
    names = [builtin.get(n, n) for n in names]
    if kind == "status":
        return bool(value == "completed")  # every simulated run that reaches a message completes
    if kind == "contains":
        return str(value) in text
    if kind == "regex":
        return re.search(value, text, re.IGNORECASE if expectation.ignore_case else 0) is not None
    if kind == "tool_called":
        if isinstance(value, str):
            return value in names
        wanted: dict[str, Any] = value.get("arguments", {})
        return any(
            isinstance(c, FunctionCall)
            and c.name == value["name"]
            and wanted.items() <= json.loads(c.arguments).items()
            for c in calls
        )
    if kind == "no_tool_called":
        return value not in names
    if kind == "citations":
        cited = turn.message.citations
        if isinstance(value, int):
            return len(cited) == value
        return len(cited) >= value.get("min", 0) and all(c.file_id == value["file"] for c in cited)
    raise AssertionError(f"the examples use an expectation kind this test does not know: {kind}")


@pytest.mark.parametrize("name", sorted(PROJECT.scenarios))
def test_example_scenario_meets_its_expectations(
    name: str, sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    scenario = PROJECT.scenarios[name]
    results = play(PROJECT, scenario, sandbox, retriever)
    failed = [
        f"turn {turn.index}: {e.kind} {e.value!r} not met by {result.message.text!r}"
        for turn, result in zip(scenario.turns, results, strict=True)
        for e in turn.expect
        if not check(e, result)
    ]
    assert failed == []


def test_every_example_expectation_kind_is_exercised() -> None:
    kinds = {e.kind for s in PROJECT.scenarios.values() for t in s.turns for e in t.expect}
    assert kinds == {"status", "contains", "regex", "tool_called", "no_tool_called", "citations"}


def test_the_seed_conversation_greets_jane_doe_and_solves_with_code(
    sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    [turn] = play(PROJECT, PROJECT.scenarios["math-tutor/seed-jane-doe"], sandbox, retriever)
    assert turn.message.text == "Jane Doe, the solution of 3x + 11 = 14 is x = 1."
    [step] = turn.steps
    [call] = step.calls
    assert call.logs == "x = 1\n"  # type: ignore[union-attr]


def test_follow_up_turns_show_their_working_and_build_on_each_other(
    sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    turns = play(PROJECT, PROJECT.scenarios["math-tutor/follow-up"], sandbox, retriever)
    assert [t.message.text for t in turns] == [
        "12 * 7 = 84. Steps: the Python code printed 84.",
        "84 / 4 = 21. Steps: the Python code printed 21.",
        "No. 21 is not a prime number: it is divisible by 3.",
    ]


def test_korean_questions_get_korean_answers(sandbox: Sandbox, retriever: MemoryRetriever) -> None:
    solve, check_it = play(PROJECT, PROJECT.scenarios["math-tutor/korean-equation"], sandbox, retriever)
    assert solve.message.text == "방정식 3x + 11 = 14의 해는 x = 1입니다."
    assert check_it.message.text.startswith("검산: x = 1을(를) 대입하면")
    [cat] = play(PROJECT, PROJECT.scenarios["novel-guide/korean-question"], sandbox, retriever)
    assert cat.message.text.startswith("파일에 따르면 “She lived alone with a grey cat called Pilot")
    [citation] = cat.message.citations
    assert citation.file_id == "corpus/harbor-light/01-the-keeper.md"
    assert cat.message.text[citation.start_index : citation.end_index] == "【0:0†01-the-keeper.md】"


def test_storm_answer_quotes_the_chapter_and_points_at_the_quote(
    sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    [turn] = play(PROJECT, PROJECT.scenarios["novel-guide/storm-night"], sandbox, retriever)
    [citation] = turn.message.citations
    assert turn.message.text == f"According to the files, “Odile turned the lens by hand”{citation.text}."
    assert citation.quote == "Odile turned the lens by hand."
    assert citation.quote in " ".join((REPO / "corpus/harbor-light/02-the-storm.md").read_text().split())


def test_weather_turns_call_the_function_then_use_its_output(
    sandbox: Sandbox, retriever: MemoryRetriever
) -> None:
    first, second = play(PROJECT, PROJECT.scenarios["travel-helper/weather-lookup"], sandbox, retriever)
    [call] = first.steps[0].function_calls
    assert (call.name, call.arguments) == ("get_weather", '{"city":"Lisbon"}')
    assert (
        first.message.text
        == "According to get_weather: city Lisbon, temperature 21, unit celsius, conditions sunny."
    )
    assert second.steps == ()
    assert second.message.text.startswith("You're welcome!")
