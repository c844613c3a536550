"""`arun diff` results as terminal text, Markdown (pull requests, GITHUB_STEP_SUMMARY), JSON and JUnit."""

from __future__ import annotations

import json
from typing import Any

import click

from runner.reports.junit import Case
from runner.transcript.compare import DiffResult, ScenarioDiff, Section

_NOTES = {
    "added": "new scenario without a golden transcript: record it with `arun replay --update-golden`",
    "removed": "golden transcript without a scenario: delete it, or pass --allow-orphans",
}


def summary_line(result: DiffResult) -> str:
    counts = [f"{result.count(s)} {s}" for s in ("same", "changed", "added", "removed") if result.count(s)]
    total = len(result.scenarios)
    verdict = "no differences" if result.same else "differences found"
    return f"{total} scenario{'s' if total != 1 else ''}: {', '.join(counts) or 'none'}; {verdict}."


def _heading(section: Section) -> str:
    if section.turn is None:
        return section.title
    user = (section.user or "").splitlines()[0] if section.user else ""
    if len(user) > 80:
        user = user[:77] + "..."
    return f"{section.title} (user: {user!r})" if user else section.title


def _context(scenario: ScenarioDiff) -> str:
    return "not compared: " + "; ".join(scenario.context)


def render_text(result: DiffResult, *, color: bool = False) -> str:
    def paint(text: str, fg: str) -> str:
        return click.style(text, fg=fg) if color else text

    marks = {"changed": ("~", "yellow"), "added": ("+", "green"), "removed": ("-", "red")}
    out: list[str] = []
    for scenario in result.scenarios:
        if scenario.status == "same":
            if scenario.context:  # the assistant changed and its behaviour did not: worth a line
                out.append(f"= {scenario.name}: same ({_context(scenario)})")
            continue
        mark, fg = marks[scenario.status]
        note = _NOTES.get(scenario.status)
        allowed = " (allowed)" if scenario.status == "removed" and not result.failing(scenario) else ""
        out.append(
            paint(f"{mark} {scenario.name}: {scenario.status}{allowed}", fg) + (f" ({note})" if note else "")
        )
        if scenario.context:
            out.append(f"  {_context(scenario)}")
        for section in scenario.sections:
            out.append(f"  {_heading(section)}:")
            for line in section.diff:
                shade = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan"
                shaded = line.startswith(("+", "-", "@@")) and not line.startswith(("+++", "---"))
                out.append("    " + (paint(line, shade) if shaded else line))
    out.append(summary_line(result))
    return "\n".join(out) + "\n"


def render_markdown(result: DiffResult) -> str:
    out = [f"### arun diff: {summary_line(result)}", ""]
    for scenario in result.scenarios:
        if scenario.status == "same" and not scenario.context:
            continue
        note = _NOTES.get(scenario.status)
        out.append(f"#### `{scenario.name}`: {scenario.status}" + (f" ({note})" if note else ""))
        out.append("")
        if scenario.context:
            out.extend(["not compared: " + "; ".join(f"`{c}`" for c in scenario.context), ""])
        for section in scenario.sections:
            out.extend([f"**{_heading(section)}**", "", "```diff", *section.diff, "```", ""])
    return "\n".join(out).rstrip("\n") + "\n"


def _scenario_json(result: DiffResult, scenario: ScenarioDiff) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "status": scenario.status,
        "failing": result.failing(scenario),
        "context": list(scenario.context),
        "sections": [
            {"title": s.title, "turn": s.turn, "user": s.user, "diff": "\n".join(s.diff)}
            for s in scenario.sections
        ],
    }


def render_json(result: DiffResult) -> str:
    report = {
        "same": result.same,
        "counts": {s: result.count(s) for s in ("same", "changed", "added", "removed")},
        "scenarios": [_scenario_json(result, s) for s in result.scenarios],
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def junit_cases(result: DiffResult) -> list[Case]:
    cases = []
    for scenario in result.scenarios:
        failure = None
        if result.failing(scenario):
            titles = ", ".join(s.title for s in scenario.sections)
            failure = (
                f"{scenario.status}: {titles}" if titles else f"{scenario.status}: {_NOTES[scenario.status]}"
            )
        details = "\n".join(f"{s.title}\n" + "\n".join(s.diff) for s in scenario.sections)
        cases.append(Case(scenario.name, "arun.diff", failure, details))
    return cases
