"""`arun replay`: scenarios through threads and runs, expectations checked, one transcript per scenario.

Exit codes (as pytest): 0 every scenario passed (and, with --compare, matched), 1 a failure or a
difference, 2 arun could not do the job (raised as RunnerError, mapped in runner.cli), 5 the user's own
selection matched nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from runner.api.local import LocalServer
from runner.api.session import open_api, start_early, warm_sdk
from runner.commands.diff import emit
from runner.commands.plan import ApiOptions, check_protocol
from runner.config import Backend
from runner.errors import RunnerError
from runner.project.load import require_project
from runner.project.models import Project, Scenario
from runner.replay import report
from runner.replay.engines.assistants import AssistantsEngine
from runner.replay.engines.base import Engine, Stopper
from runner.replay.engines.responses import ResponsesEngine, check_attachments
from runner.replay.handlers import Handlers
from runner.replay.outdir import replace_output
from runner.replay.play import Outcome
from runner.replay.progress import Progress, live_wanted
from runner.replay.runner import Selection, plan_jobs, run_all, select
from runner.replay.targets import resolve_response_targets, resolve_targets, uploaded_attachments
from runner.replay.uptodate import apply_first_on_local
from runner.reports.junit import write_junit
from runner.shard import Shard
from runner.term import color_enabled
from runner.transcript.compare import DiffResult, Options, compare_sets
from runner.transcript.golden import GoldenUpdate, refuse_in_ci, update_goldens
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

    @property
    def whole(self) -> bool:
        """Every scenario (of the shard) was asked for: only then can a golden be an orphan."""
        return not self.names and not self.pattern


def _resolve(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def _scenarios(project: Project, options: ReplayOptions) -> list[Scenario]:
    chosen = select(project, Selection(options.names, options.pattern, None, options.repeat))
    if options.shard is None:
        return chosen
    return [s for s in chosen if options.shard.owns(s.name)]


def run_replay(root: Path, api_options: ApiOptions, options: ReplayOptions) -> int:
    with start_early(root, api_options.settings) as server:  # started while the project loads
        return _replay(root, api_options, options, server)


def _replay(root: Path, api_options: ApiOptions, options: ReplayOptions, server: LocalServer | None) -> int:
    if api_options.api == "responses" and options.poll:
        raise RunnerError("--poll is for the Assistants API; the Responses engine always streams")
    if options.state != "conversation" and api_options.api != "responses":
        raise RunnerError(
            f"--state {options.state} is for --api responses (the Assistants API keeps threads)"
        )
    check_protocol(root, api_options)
    project = require_project(root)
    if options.repeat > 1 and (options.compare or options.update_golden):
        raise RunnerError(
            "--repeat writes one transcript per repetition (name@N); it cannot --compare or --update-golden"
        )
    out_dir = _resolve(root, options.out or DEFAULT_OUT)
    golden = _resolve(root, options.compare or GOLDEN)
    if out_dir.resolve() == golden.resolve():
        raise RunnerError(
            f"-o {options.out} is the golden folder; replay writes its transcripts elsewhere (default "
            f"{DEFAULT_OUT}) and --update-golden copies them"
        )
    if options.update_golden:
        refuse_in_ci(options.force)  # before spending any API time
    scenarios = _scenarios(project, options)  # raises NothingSelected (exit 5) for an empty selection
    if api_options.api == "responses":
        check_attachments(scenarios)
    jobs = plan_jobs(scenarios, options.repeat)
    owns = options.shard.owns if options.shard else None
    color = color_enabled(sys.stdout)
    live = live_wanted(sys.stdout)
    started = time.perf_counter()
    results: list[tuple[str, Outcome]] = []
    requests = 0
    if jobs:
        settings = api_options.settings(root)
        if server is not None:
            warm_sdk(api_options.api)  # while the server's process finishes its start-up
        with open_api(settings, announce=not options.as_json, server=server) as api:
            stopper = Stopper()
            engine: Engine
            if api_options.api == "responses":
                engine = ResponsesEngine(api, stopper, state=options.state, timeout=options.timeout)
                local = settings.backend is Backend.LOCAL
                targets = resolve_response_targets(api, project, scenarios, local=local)
            else:
                engine = AssistantsEngine(api, stopper, poll=options.poll, timeout=options.timeout)
                targets = resolve_targets(
                    api, project, scenarios, on_stale=apply_first_on_local(api, root, quiet=options.as_json)
                )
            progress = Progress(len(jobs), live=live, color=color, quiet=options.as_json)
            with uploaded_attachments(api, root, scenarios) as attachments:
                handlers = Handlers(project.root, options.allow_python_handlers)
                replace_output(out_dir)  # only now: a replay that could not start leaves the last one be
                try:
                    results = run_all(
                        api, engine, jobs, targets, attachments, out_dir, options.jobs, progress, handlers
                    )
                finally:
                    progress.finish()
            requests = api.counter.requests
    else:
        assert options.shard is not None  # select() raised for an empty selection of the user's own
        click.echo(
            f"arun: shard {options.shard} owns none of the selected scenarios: nothing to replay", err=True
        )
        replace_output(out_dir)
    seconds = time.perf_counter() - started
    line = report.summary_line(results, requests, seconds)
    if options.junit:
        write_junit(_resolve(root, options.junit), "arun replay", report.junit_cases(results))
    _write_summaries(root, options, results, line)
    passed = all(outcome.result == "passed" for _, outcome in results)
    promoted: GoldenUpdate | None = None
    if options.update_golden:
        known = set(project.scenarios) if options.whole else None
        names = [n for n, _ in jobs]
        promoted = update_goldens(out_dir, golden, names=names, known=known, owns=owns, force=options.force)
    diff: DiffResult | None = None
    if options.compare is not None:
        # A partial selection compares its own scenarios only; the whole set (or shard) also finds orphans.
        selected = {n for n, _ in jobs}
        compare_owns = owns if options.whole else selected.__contains__
        diff = compare_sets(
            golden,
            out_dir,
            Options(
                text_similarity=options.text_similarity,
                allow_orphans=options.allow_orphans,
                owns=compare_owns,
            ),
        )
        passed = passed and diff.same
    _report(options, results, requests, line, diff, promoted)
    return 0 if passed else 1


def _report(
    options: ReplayOptions,
    results: list[tuple[str, Outcome]],
    requests: int,
    line: str,
    diff: DiffResult | None,
    promoted: GoldenUpdate | None,
) -> None:
    """With --json, stdout is the one JSON document and everything else goes to stderr."""
    if options.as_json:
        extra: dict[str, Any] = {}
        if promoted is not None:
            extra["golden"] = promoted.to_data()
        if diff is not None:
            from runner.reports.diff_report import render_json

            extra["compare"] = json.loads(render_json(diff))
        click.echo(report.as_json(results, requests, extra), nl=False)
        click.echo(line, err=True)
        if promoted is not None:
            click.echo(promoted.summary(), err=True)
        return
    click.echo(line)
    if promoted is not None:
        click.echo(promoted.summary(), err=True)
    if diff is not None:
        emit(diff, "text")


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
