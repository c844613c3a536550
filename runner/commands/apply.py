"""`arun apply`: execute the plan, then plan again to prove the API matches the YAML."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from runner.api.local import LocalServer
from runner.api.session import Api, open_api, start_early
from runner.apply.execute import Executor
from runner.apply.plan import Plan
from runner.apply.render import plan_json, render_plan
from runner.commands.plan import ApiOptions, check_assistants, check_protocol, make_plan, print_plan
from runner.errors import ApiError, RunnerError
from runner.term import color_enabled

MAX_ROUNDS = 6


def _confirm(plan: Plan, requests: int, *, yes: bool, as_json: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RunnerError("apply changes the API and there is no terminal to ask for confirmation: add --yes")
    color = color_enabled(sys.stdout)
    click.echo(render_plan(plan, requests, color=color), nl=False, color=color)
    if not click.confirm("Apply these changes?", default=False):
        raise RunnerError("nothing applied: the plan was not confirmed")


def converge(
    api: Api, root: Path, plan: Plan, *, prune: bool, hook: Callable[[str], None] | None = None
) -> int:
    protocol = plan.protocol
    """Execute the plan, then plan again until nothing is left; returns the number of rounds."""
    executor = Executor(api, root, hook)
    executor.run(plan)
    after = make_plan(api, root, prune=prune, protocol=protocol)
    rounds = 1
    # Another apply running at the same time (there is no lock to share) can leave duplicates, orphans and
    # references to what it deleted, or stop a round of ours (`executor.conflict`). Each fresh plan sees
    # all of that as drift, so execute it and look again, a bounded number of times. A plan that comes
    # back unchanged from a round that met no other writer means apply itself is wrong: say so.
    while not after.empty:
        stuck = after.changes == plan.changes and not executor.disturbed
        if stuck or rounds >= MAX_ROUNDS:
            listing = render_plan(after, api.counter.requests)
            why = f"after {rounds} rounds" if not stuck else "and executing it again would change nothing"
            conflict = (
                f"\nThe last round was stopped by a concurrent change: {executor.conflict}"
                if executor.conflict
                else ""
            )
            raise ApiError(
                f"apply finished but a fresh plan is not empty ({why}), so the API does not match the YAML:"
                f"\n{listing}{conflict}"
            )
        plan = after
        executor = Executor(api, root, hook)
        executor.run(plan)
        after = make_plan(api, root, prune=prune, protocol=protocol)
        rounds += 1
    return rounds


def run_apply(
    root: Path,
    options: ApiOptions,
    *,
    prune: bool = False,
    yes: bool = False,
    as_json: bool = False,
    hook: Callable[[str], None] | None = None,
) -> int:
    with start_early(root, options.settings) as server:  # its start-up overlaps the loading of the project
        return _apply(root, options, server, prune=prune, yes=yes, as_json=as_json, hook=hook)


def _apply(
    root: Path,
    options: ApiOptions,
    server: LocalServer | None,
    *,
    prune: bool,
    yes: bool,
    as_json: bool,
    hook: Callable[[str], None] | None,
) -> int:
    project = check_assistants(root)
    check_protocol(root, options)
    with open_api(options.settings(root), announce=not as_json, server=server) as api:
        plan = make_plan(api, root, prune=prune, protocol=options.api, project=project)
        if plan.empty:
            print_plan(plan, api.counter.requests, as_json=as_json)
            return 0
        _confirm(plan, api.counter.requests, yes=yes, as_json=as_json)
        if yes and not as_json:
            print_plan(plan, api.counter.requests, as_json=False)
        rounds = converge(api, root, plan, prune=prune, hook=hook)
        counts = (
            f"{plan.count('create')} created, {plan.count('update')} updated, {plan.count('delete')} deleted"
        )
        again = f" in {rounds} rounds (another writer was at work)" if rounds > 1 else ""
        done = (
            f"Applied{again}: {counts}. {api.counter.requests} API requests ({api.counter.writes} writes); "
            "a fresh plan is empty."
        )
        if as_json:
            report = plan_json(plan, api.counter.requests) | {
                "applied": True,
                "writes": api.counter.writes,
                "rounds": rounds,
            }
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            click.echo(done)
    return 0
