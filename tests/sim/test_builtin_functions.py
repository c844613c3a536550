"""The two functions through which built-in tools are offered: definitions and both directions of each call."""

from __future__ import annotations

import json

import pytest

from runner.sim import builtin_functions as bf
from runner.sim.types import CodeInterpreterCall, FileSearchCall, FunctionCall, SearchHit

HITS = (SearchHit("file-1", "a.md", 0.5, "First."), SearchHit("file-2", "b.md", 0.25, "Second “quoted”."))


def test_the_definitions_are_json_schema_functions_with_one_required_string() -> None:
    for kind, field in (("file_search", "query"), ("code_interpreter", "code")):
        tool = bf.function_tool(kind)
        function = tool["function"]
        assert tool["type"] == "function" and bf.kind_of(function["name"]) == kind
        assert function["parameters"]["required"] == [field]
        assert function["parameters"]["properties"][field]["type"] == "string"
    # a copy each time: a caller that edits it cannot change the definition
    bf.function_tool("file_search")["function"]["name"] = "changed"
    assert bf.function_tool("file_search")["function"]["name"] == bf.FILE_SEARCH


@pytest.mark.parametrize(
    "call",
    [
        FileSearchCall("lens by hand", HITS),
        FileSearchCall("nothing", ()),
        CodeInterpreterCall("print(6 * 7)", "42\n"),
        CodeInterpreterCall("pass", None),
    ],
)
def test_a_call_and_its_answer_survive_the_round_trip(call: FileSearchCall | CodeInterpreterCall) -> None:
    name = bf.KINDS["file_search" if isinstance(call, FileSearchCall) else "code_interpreter"]
    asked = bf.call_of(name, bf.arguments_of(call))
    assert asked is not None
    assert bf.answered(asked, bf.answer_of(call, 3)) == call


def test_a_file_search_answer_carries_each_results_citation_marker() -> None:
    answer = json.loads(bf.answer_of(FileSearchCall("q", HITS), 2))
    assert [r["citation"] for r in answer["results"]] == ["【2:0†a.md】", "【2:1†b.md】"]


@pytest.mark.parametrize("content", ["not json", "[]", '{"results": 3}', '{"results": [{"file_id": 1}]}'])
def test_an_unreadable_file_search_answer_means_no_results(content: str) -> None:
    assert bf.answered(FileSearchCall("q"), content) == FileSearchCall("q", ())


def test_other_names_are_not_builtins_and_clashes_are_found() -> None:
    assert bf.call_of("get_weather", "{}") is None
    assert bf.clashes([{"name": "get_weather"}, {"name": "arun_code_interpreter"}]) == [
        "arun_code_interpreter"
    ]
    assert bf.is_builtin(FileSearchCall("q")) and not bf.is_builtin(FunctionCall("f", "{}"))
