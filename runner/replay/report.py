"""Replay results for people and CI: progress lines, a summary, JUnit XML, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from runner.replay.play import Outcome
from runner.reports.junit import Case

_LABELS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "interrupted": "STOPPED"}
_COLORS = {"passed": "green", "failed": "red", "error": "red", "interrupted": "yellow"}


def progress_line(name: str, outcome: Outcome, *, color: bool = False) -> str:
    label = _LABELS[outcome.result]
    turns = outcome.turns
    head = click.style(f"{label:7s}", fg=_COLORS[outcome.result]) if color else f"{label:7s}"
    line = f"{head} {name} ({turns} turn{'s' if turns != 1 else ''})"
    if outcome.failures:
        line += f": {outcome.failures[0]}"
        if len(outcome.failures) > 1:
            line += f" (+{len(outcome.failures) - 1} more)"
    return line


def counts(results: Sequence[tuple[str, Outcome]]) -> dict[str, int]:
    out = {key: 0 for key in _LABELS}
    for _, outcome in results:
        out[outcome.result] += 1
    return out


def summary_line(results: Sequence[tuple[str, Outcome]], requests: int, seconds: float) -> str:
    tally = counts(results)
    parts = [f"{tally[k]} {k}" for k in _LABELS if tally[k]]
    total = len(results)
    return (
        f"{total} scenario{'s' if total != 1 else ''}: {', '.join(parts) or 'none'}. "
        f"{requests} API requests in {seconds:.1f} s."
    )


def junit_cases(results: Sequence[tuple[str, Outcome]]) -> list[Case]:
    cases = []
    for name, outcome in results:
        failure = (
            None
            if outcome.result == "passed"
            else outcome.failures[0]
            if outcome.failures
            else outcome.result
        )
        error = outcome.result in ("error", "interrupted")
        cases.append(Case(name, "arun.replay", failure, "\n".join(outcome.failures), outcome.seconds, error))
    return cases


def markdown(results: Sequence[tuple[str, Outcome]], line: str) -> str:
    rows = [
        "### arun replay",
        "",
        line,
        "",
        "| scenario | result | turns | first problem |",
        "|---|---|---|---|",
    ]
    for name, outcome in results:
        problem = outcome.failures[0].replace("|", "\\|") if outcome.failures else ""
        rows.append(f"| `{name}` | {outcome.result} | {outcome.turns} | {problem} |")
    return "\n".join(rows) + "\n"


def as_json(
    results: Sequence[tuple[str, Outcome]], requests: int, extra: dict[str, Any] | None = None
) -> str:
    report: dict[str, Any] = {
        "passed": all(o.result == "passed" for _, o in results),
        "counts": counts(results),
        "requests": requests,
        "scenarios": [
            {"name": n, "result": o.result, "failures": o.failures, "seconds": round(o.seconds, 3)}
            for n, o in results
        ],
        **(extra or {}),
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
