"""One scenario, start to finish: one thread, one run per turn, expectations, and its transcript data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ApiError
from runner.project.models import Assistant, PythonHandler, Scenario, Turn
from runner.replay.engines.base import Engine, Rendered, transient
from runner.replay.expect import Observed, Result, ToolUse, check_all
from runner.replay.handlers import Handlers
from runner.responses.compile import Managed
from runner.transcript.form import Placeholders
from runner.transcript.io import FORMAT


@dataclass(frozen=True)
class Target:
    """A scenario's assistant as found on the API."""

    key: str
    id: str
    spec_hash: str | None
    model: str
    search: bool
    instructions: str | None = None
    file_labels: Mapping[str, str] = field(default_factory=dict)  # file id -> project path
    # The Responses API has no assistant object: its engine compiles the YAML into each request.
    assistant: Assistant | None = None
    managed: Managed | None = None


@dataclass
class Outcome:
    name: str
    data: dict[str, Any]
    failures: list[str]
    seconds: float = 0.0  # wall time, for reports only: never in transcripts
    turn_count: int | None = None  # set once `data` was let go (see `written`)

    @property
    def result(self) -> str:
        return str(self.data["result"])

    @property
    def turns(self) -> int:
        return self.turn_count if self.turn_count is not None else len(self.data["turns"])

    def written(self) -> Outcome:
        """The outcome once its transcript is on disk: only what the reports read, so that replay's memory
        does not grow with every transcript it has written (10,000 scenarios hold 10,000 of these)."""
        return Outcome(self.name, {"result": self.result}, self.failures, self.seconds, self.turns)


def message_for(turn: Turn, file_ids: Mapping[str, str]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": turn.user.text}
    if turn.user.attachments:
        message["attachments"] = [
            {"file_id": file_ids[a.file], "tools": [{"type": t} for t in a.tools]}
            for a in turn.user.attachments
        ]
    return message


class _Outputs:
    """Tool outputs for one turn: the scenario's values or handlers; an explicit error output where it has
    none, so the run can finish and the turn records why it failed."""

    def __init__(self, turn: Turn, handlers: Handlers | None) -> None:
        self.turn = turn
        self.handlers = handlers
        self.missing: list[str] = []
        self.problems: list[str] = []

    def __call__(self, calls: list[dict[str, Any]]) -> list[dict[str, str]]:
        outputs = []
        for call in calls:
            function = call.get("function") or {}
            name = function.get("name", "")
            value = self.turn.tool_outputs.get(name)
            if name not in self.turn.tool_outputs:
                self.missing.append(name)
                text = json.dumps({"error": f"arun: the scenario gives no output for the function {name!r}"})
            elif isinstance(value, PythonHandler):
                handlers = self.handlers or Handlers(Path("."), allowed=False)
                text, problem = handlers.output(name, value, _arguments(function.get("arguments")))
                if problem:
                    self.problems.append(problem)
            else:
                text = (
                    value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
                )
            outputs.append({"tool_call_id": call["id"], "output": text})
        return outputs


def _arguments(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _settings(scenario: Scenario, turn: Turn) -> dict[str, Any]:
    return dict(scenario.run_settings(turn))


def _user_data(turn: Turn) -> Any:
    if not turn.user.attachments:
        return turn.user.text
    return {
        "text": turn.user.text,
        "attachments": [{"file": a.file, "tools": list(a.tools)} for a in turn.user.attachments],
    }


def play(
    engine: Engine,
    scenario: Scenario,
    target: Target,
    attachments: Mapping[str, str] | None = None,
    handlers: Handlers | None = None,
) -> Outcome:
    # Files the scenario attached are shown by their project path too, like the assistant's own.
    attached = {file_id: path for path, file_id in (attachments or {}).items()}
    ids = Placeholders({**target.file_labels, **attached})
    conv = engine.open(target)
    data: dict[str, Any] = {"transcript": FORMAT, "scenario": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    data["api"] = engine.protocol
    data["assistant"] = {"key": target.key, "spec_hash": target.spec_hash or "", "model": target.model}
    turns: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    failures: list[str] = []
    observed: list[Observed] = []
    result, error = "passed", None
    for turn in scenario.turns:
        if engine.stopper.reason is not None:
            result, error = "interrupted", f"stopped before turn {turn.index + 1} ({engine.stopper.reason})"
            break
        outputs = _Outputs(turn, handlers)
        settings = _settings(scenario, turn)
        try:
            state = engine.run_turn(conv, message_for(turn, attachments or {}), settings, outputs)
            if transient(state):
                state = engine.retry_turn(conv, state, settings, outputs)
        except ApiError as exc:
            result, error = "error", f"turn {turn.index + 1}: {exc}"
            break
        stopped = state.cancelled_by_arun is not None
        shown = engine.render(state, settings, ids)
        entry, turn_failures, seen = _turn_entry(turn, shown, outputs, check=not stopped)
        observed.append(seen)
        turns.append(entry)
        usage.append({"turn": turn.index + 1, **state.usage})
        failures.extend(turn_failures)
        if state.retried and state.status == "failed":
            reason = state.failure_code or "failed"
            result, error = (
                "error",
                f"turn {turn.index + 1}: no answer: the run failed again after a retry ({reason})",
            )
            break
        if stopped:
            result, error = (
                "interrupted",
                f"turn {turn.index + 1}: run cancelled by arun ({state.cancelled_by_arun})",
            )
            break
    overall: list[Result] = []
    if scenario.expect and result == "passed" and observed:
        overall = check_all(scenario.expect, _whole(observed))
        failures += [_failure("scenario", r) for r in overall if not r.passed]
    if result == "passed" and failures:
        result = "failed"
    data["result"] = result
    if error:
        data["error"] = error
        failures.insert(0, error)
    data["turns"] = turns
    if overall:
        data["expectations"] = [r.to_data() for r in overall]
    data["usage"] = {
        "turns": usage,
        "total": {
            k: sum(u[k] for u in usage) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
        },
    }
    return Outcome(scenario.name, data, failures)


def _turn_entry(
    turn: Turn, shown: Rendered, outputs: _Outputs, *, check: bool
) -> tuple[dict[str, Any], list[str], Observed]:
    """The turn as transcript data, its failures, and what it showed; a turn arun cut short is recorded,
    not judged."""
    run, step_data, reply_data, cited = shown.run, shown.steps, shown.replies, shown.cited
    uses = tuple(ToolUse(kind, name, args) for kind, name, args in shown.uses)
    reply_text = "\n".join(r["text"] for r in reply_data)
    seen = Observed(run["status"], reply_text, uses, tuple(cited), run.get("reason"))
    results = check_all(turn.expect, seen) if check else []
    # Problems with the outputs arun sent come first: they explain the expectations that fail after them.
    sent = [
        Result(
            "tool_outputs",
            name,
            False,
            f"the scenario gives no output for {name!r}; arun sent an error output instead",
        )
        for name in outputs.missing
    ]
    sent += [Result("tool_outputs", "python handler", False, problem) for problem in outputs.problems]
    results = sent + results
    if check and run["status"] != "completed" and not any(e.kind == "status" for e in turn.expect):
        why = f" ({run['reason']})" if run.get("reason") else ""
        results.append(Result("status", "completed", False, f"the run ended {run['status']}{why}"))
    failures = [_failure(f"turn {turn.index + 1}", r) for r in results if not r.passed]
    entry = {
        "turn": turn.index + 1,
        "user": _user_data(turn),
        "run": run,
        "steps": step_data,
        "reply": reply_data,
        "expectations": [r.to_data() for r in results],
    }
    return entry, failures, seen


def _failure(where: str, result: Result) -> str:
    return f"{where}: {result.check} {json.dumps(result.expected, ensure_ascii=False)}: {result.detail}"


def _whole(turns: list[Observed]) -> Observed:
    """The conversation as one: every reply, every tool call and citation, and the last run's status."""
    return Observed(
        status=turns[-1].status,
        reply="\n".join(t.reply for t in turns if t.reply),
        tools=tuple(use for t in turns for use in t.tools),
        cited_files=tuple(path for t in turns for path in t.cited_files),
        reason=turns[-1].reason,
    )
