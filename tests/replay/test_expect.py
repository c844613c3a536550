from __future__ import annotations

from typing import Any

import pytest

from runner.project.models import Expectation, Source
from runner.replay.expect import Observed, ToolUse, check_all

SRC = Source("scenarios/x.yaml", 1, 1)
SEEN = Observed(
    status="completed",
    reply="Hello Jane Doe! The answer is x = 1.",
    tools=(
        ToolUse("function", "get_weather", {"city": "Lisbon", "unit": "celsius"}),
        ToolUse("code_interpreter", "code_interpreter"),
    ),
    cited_files=("corpus/a.md", "corpus/a.md"),
)


def run(kind: str, value: Any, seen: Observed = SEEN, ignore_case: bool = False) -> tuple[bool, str | None]:
    (result,) = check_all([Expectation(kind, value, SRC, ignore_case)], seen)
    assert result.check == kind and result.expected == value
    return result.passed, result.detail


@pytest.mark.parametrize(
    ("kind", "value", "ignore_case", "passed"),
    [
        ("contains", "Jane Doe", False, True),
        ("contains", "jane doe", False, False),
        ("contains", "jane doe", True, True),
        ("not_contains", "Error", False, True),
        ("not_contains", "hello", True, False),
        ("equals", "  Hello Jane Doe! The answer is x = 1.\n", False, True),
        ("equals", "Hello", False, False),
        ("regex", r"x = \d", False, True),
        ("regex", r"^hello", True, True),
        ("regex", r"^hello", False, False),
        ("status", "completed", False, True),
        ("status", "failed", False, False),
        ("tool_called", "get_weather", False, True),
        ("tool_called", "code_interpreter", False, True),
        ("tool_called", "file_search", False, False),
        ("tool_called", {"name": "get_weather", "arguments": {"city": "Lisbon"}}, False, True),
        ("tool_called", {"name": "get_weather", "arguments": {"city": "Porto"}}, False, False),
        ("no_tool_called", "file_search", False, True),
        ("no_tool_called", "get_weather", False, False),
        ("no_tool_called", True, False, False),
        ("citations", 2, False, True),
        ("citations", 3, False, False),
        ("citations", {"file": "corpus/a.md"}, False, True),
        ("citations", {"min": 1, "file": "corpus/b.md"}, False, False),
    ],
)
def test_checks(kind: str, value: Any, ignore_case: bool, passed: bool) -> None:
    assert run(kind, value, ignore_case=ignore_case)[0] is passed


def test_failure_details_say_what_was_seen() -> None:
    assert (
        run("contains", "Pilot")[1] == '"Pilot" not found in the reply "Hello Jane Doe! The answer is x = 1."'
    )
    assert run("status", "failed")[1] == "the run ended completed"
    assert (
        run("tool_called", "file_search")[1]
        == "'file_search' was not called (tools called: code_interpreter, get_weather)"
    )
    assert run("tool_called", {"name": "get_weather", "arguments": {"city": "Porto"}})[1] == (
        '\'get_weather\' was called, but not with {"city": "Porto"} '
        '(calls: {"city": "Lisbon", "unit": "celsius"})'
    )
    assert (
        run("citations", {"min": 1, "file": "corpus/b.md"})[1]
        == "corpus/b.md was not cited (cited: corpus/a.md)"
    )
    assert run("no_tool_called", True)[1] == "tools were called: get_weather, code_interpreter"


def test_json_checks() -> None:
    seen = Observed("completed", '{"answer": 1, "steps": ["subtract 11", "divide by 3"]}')
    assert run("json", True, seen)[0] is True
    schema = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "integer"}}}
    assert run("json", {"schema": schema}, seen)[0] is True
    bad = {"type": "object", "properties": {"steps": {"type": "array", "items": {"type": "integer"}}}}
    assert run("json", {"schema": bad}, seen) == (
        False,
        "the reply does not match the schema at steps/0: 'subtract 11' is not of type 'integer'",
    )
    assert run("json", True, Observed("completed", "x = 1")) == (
        False,
        'the reply is not JSON (Expecting value at character 0): "x = 1"',
    )


def test_long_replies_are_cut_in_details() -> None:
    seen = Observed("completed", "word " * 100)
    detail = run("contains", "missing", seen)[1]
    assert detail is not None and detail.endswith('..."') and len(detail) < 200
