"""`arun replay`: scenarios through threads and runs, expectations checked, one transcript per scenario."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from runner.api.session import open_api
from runner.commands.diff import emit
from runner.commands.plan import ApiOptions, check_protocol
from runner.config import Backend
from runner.errors import RunnerError
from runner.project.load import require_project
from runner.replay import report
from runner.replay.engines.assistants import AssistantsEngine
from runner.replay.engines.base import Engine, Stopper
from runner.replay.engines.responses import ResponsesEngine, check_attachments
from runner.replay.handlers import Handlers
from runner.replay.play import Outcome
from runner.replay.runner import Selection, plan_jobs, run_all, select
from runner.replay.targets import resolve_response_targets, resolve_targets, uploaded_attachments
from runner.reports.junit import write_junit
from runner.shard import Shard
from runner.term import color_enabled
from runner.transcript.compare import Options, compare_sets
from runner.transcript.golden import refuse_in_ci, update_goldens
from runner.transcript.io import write_atomic

DEFAULT_OUT = Path(".arun") / "transcripts"
GOLDEN = Path("transcripts")


@dataclass(frozen=True)
class ReplayOptions:
    names: tuple[str, ...] = ()
    pattern: str | None = None
    out: Path | None = None
    jobs: int = 4
    shard: Shard | None = None
    repeat: int = 1
    timeout: float = 300.0
    poll: bool = False
    state: str = "conversation"  # --api responses: conversation | previous-response | stateless
    junit: Path | None = None
    summary: Path | None = None
    as_json: bool = False
    compare: Path | None = None
    update_golden: bool = False
    force: bool = False
    text_similarity: float | None = None
    allow_orphans: bool = False
    allow_python_handlers: bool = False


def _resolve(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def run_replay(root: Path, api_options: ApiOptions, options: ReplayOptions) -> int:
    if api_options.api == "responses" and options.poll:
        raise RunnerError("--poll is for the Assistants API; the Responses engine always streams")
    if options.state != "conversation" and api_options.api != "responses":
        raise RunnerError(
            f"--state {options.state} is for --api responses (the Assistants API keeps threads)"
        )
    check_protocol(root, api_options)
    project = require_project(root)
    owns = options.shard.owns if options.shard else None
    scenarios = select(project, Selection(options.names, options.pattern, owns, options.repeat))
    if api_options.api == "responses":
        check_attachments(scenarios)
    if options.repeat > 1 and (options.compare or options.update_golden):
        raise RunnerError(
            "--repeat writes one transcript per repetition (name@N); it cannot --compare or --update-golden"
        )
    out_dir = _resolve(root, options.out or DEFAULT_OUT)
    golden = _resolve(root, options.compare or GOLDEN)
    if options.update_golden and out_dir.resolve() == golden.resolve():
        raise RunnerError(
            "-o points at the golden transcripts; replay writes elsewhere and --update-golden copies"
        )
    if options.update_golden:
        refuse_in_ci(options.force)  # before spending any API time
    jobs = plan_jobs(scenarios, options.repeat)
    color = color_enabled(sys.stdout)
    started = time.perf_counter()
    settings = api_options.settings(root)
    with open_api(settings, announce=not options.as_json) as api:
        stopper = Stopper()
        engine: Engine
        if api_options.api == "responses":
            engine = ResponsesEngine(api, stopper, state=options.state, timeout=options.timeout)
            local = settings.backend is Backend.LOCAL
            targets = resolve_response_targets(api, project, scenarios, local=local)
        else:
            engine = AssistantsEngine(api, stopper, poll=options.poll, timeout=options.timeout)
            targets = resolve_targets(api, project, scenarios)

        def progress(name: str, outcome: Outcome) -> None:
            if not options.as_json:
                click.echo(report.progress_line(name, outcome, color=color), color=color)

        with uploaded_attachments(api, root, scenarios) as attachments:
            handlers = Handlers(project.root, options.allow_python_handlers)
            results = run_all(
                api, engine, jobs, targets, attachments, out_dir, options.jobs, progress, handlers
            )
        requests = api.counter.requests
    seconds = time.perf_counter() - started
    line = report.summary_line(results, requests, seconds)
    if options.as_json:
        click.echo(report.as_json(results, requests), nl=False)
    else:
        if sys.stdout.isatty():  # in CI the per-scenario lines above are the record
            click.echo("\n" + report.table(results), nl=False)
        click.echo(line)
    if options.junit:
        write_junit(_resolve(root, options.junit), "arun replay", report.junit_cases(results))
    _write_summaries(root, options, results, line)
    passed = all(outcome.result == "passed" for _, outcome in results)
    if options.update_golden:
        done = update_goldens(out_dir, golden, owns=owns, force=options.force)
        click.echo(done.summary(), err=True)
        return 0 if passed else 1
    if options.compare is not None:
        diff = compare_sets(
            golden,
            out_dir,
            Options(text_similarity=options.text_similarity, allow_orphans=options.allow_orphans, owns=owns),
        )
        emit(diff, "text")
        passed = passed and diff.same
    return 0 if passed else 1


def _write_summaries(
    root: Path, options: ReplayOptions, results: list[tuple[str, Outcome]], line: str
) -> None:
    text = report.markdown(results, line)
    if options.summary:
        write_atomic(_resolve(root, options.summary), text)
    _append_step_summary(text)


def _append_step_summary(text: str) -> None:
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(text)
