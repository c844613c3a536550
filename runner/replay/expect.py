"""Checking a turn's expectations against what its run did. Pure: no API, no files."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from runner.project.models import Expectation


@dataclass(frozen=True)
class ToolUse:
    type: str  # function, code_interpreter, file_search
    name: str  # the function name, or the tool type
    arguments: Any = None  # parsed JSON for functions


@dataclass(frozen=True)
class Observed:
    """What the expectations look at."""

    status: str
    reply: str
    tools: tuple[ToolUse, ...] = ()
    cited_files: tuple[str, ...] = ()  # one entry per file_citation: project path when known
    reason: str | None = None  # why the run did not complete, where the API or arun says


@dataclass(frozen=True)
class Result:
    check: str
    expected: Any
    passed: bool
    detail: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.check, "expected": self.expected, "passed": self.passed}
        if self.detail:
            data["detail"] = self.detail
        return data


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return json.dumps(flat if len(flat) <= limit else flat[: limit - 3] + "...", ensure_ascii=False)


def _contains_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _contains_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(map(_contains_subset, expected, actual))
        )
    return bool(expected == actual)


def _text(check: Expectation, seen: Observed) -> tuple[bool, str]:
    reply, wanted = seen.reply, str(check.value)
    fold = (lambda s: s.casefold()) if check.ignore_case else (lambda s: s)
    if check.kind == "contains":
        return fold(wanted) in fold(reply), f"{_excerpt(wanted)} not found in the reply {_excerpt(reply)}"
    if check.kind == "not_contains":
        return fold(wanted) not in fold(reply), f"the reply contains {_excerpt(wanted)}: {_excerpt(reply)}"
    if check.kind == "equals":
        return fold(reply.strip()) == fold(wanted.strip()), f"the reply is {_excerpt(reply)}"
    flags = re.IGNORECASE if check.ignore_case else 0
    return re.search(
        wanted, reply, flags
    ) is not None, f"no match for /{wanted}/ in the reply {_excerpt(reply)}"


def _json(check: Expectation, seen: Observed) -> tuple[bool, str]:
    try:
        data = json.loads(seen.reply)
    except json.JSONDecodeError as exc:
        return False, f"the reply is not JSON ({exc.msg} at character {exc.pos}): {_excerpt(seen.reply)}"
    schema = check.value.get("schema") if isinstance(check.value, Mapping) else None
    if schema is None:
        return True, ""
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        return False, f"the reply does not match the schema at {where}: {errors[0].message}"
    return True, ""


def _tool_called(check: Expectation, seen: Observed) -> tuple[bool, str]:
    value = check.value
    name = value["name"] if isinstance(value, Mapping) else value
    calls = [t for t in seen.tools if t.name == name]
    called = ", ".join(sorted({t.name for t in seen.tools})) or "none"
    if not calls:
        return False, f"{name!r} was not called (tools called: {called})"
    arguments = value.get("arguments") if isinstance(value, Mapping) else None
    if arguments is None or any(_contains_subset(arguments, c.arguments) for c in calls):
        return True, ""
    shown = "; ".join(json.dumps(c.arguments, ensure_ascii=False, sort_keys=True) for c in calls)
    return (
        False,
        f"{name!r} was called, but not with {json.dumps(arguments, ensure_ascii=False, sort_keys=True)} (calls: {shown})",
    )


def _no_tool_called(check: Expectation, seen: Observed) -> tuple[bool, str]:
    if check.value is True:
        names = ", ".join(t.name for t in seen.tools)
        return not seen.tools, f"tools were called: {names}"
    return all(t.name != check.value for t in seen.tools), f"{check.value!r} was called"


def _citations(check: Expectation, seen: Observed) -> tuple[bool, str]:
    value = check.value
    minimum = value if isinstance(value, int) else int(value.get("min", 1 if "file" in value else 0))
    if len(seen.cited_files) < minimum:
        return False, f"{len(seen.cited_files)} citation(s); expected at least {minimum}"
    wanted = value.get("file") if isinstance(value, Mapping) else None
    if wanted and wanted not in seen.cited_files:
        cited = ", ".join(sorted(set(seen.cited_files))) or "none"
        return False, f"{wanted} was not cited (cited: {cited})"
    return True, ""


def check_all(expectations: Sequence[Expectation], seen: Observed) -> list[Result]:
    results = []
    for check in expectations:
        if check.kind in ("contains", "not_contains", "equals", "regex"):
            passed, detail = _text(check, seen)
        elif check.kind == "json":
            passed, detail = _json(check, seen)
        elif check.kind == "tool_called":
            passed, detail = _tool_called(check, seen)
        elif check.kind == "no_tool_called":
            passed, detail = _no_tool_called(check, seen)
        elif check.kind == "status":
            why = f" ({seen.reason})" if seen.reason and seen.status != check.value else ""
            passed, detail = seen.status == check.value, f"the run ended {seen.status}{why}"
        else:
            passed, detail = _citations(check, seen)
        results.append(Result(check.kind, check.value, passed, None if passed else detail))
    return results
