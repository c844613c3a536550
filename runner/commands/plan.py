"""`arun plan`: what apply would change. Reads only; exit 0 nothing to do, 2 changes, 1 error."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from runner.api.session import Api, open_api
from runner.apply.desired import desired_state
from runner.apply.plan import Plan, compute_plan
from runner.apply.remote import read_remote
from runner.apply.render import plan_json, render_plan
from runner.config import Settings
from runner.project.load import require_assistants
from runner.project.models import Project
from runner.term import color_enabled

EXIT_CHANGES = 2


@dataclass(frozen=True)
class ApiOptions:
    base_url: str | None = None
    api_key: str | None = None
    local: bool = False
    api: str = "assistants"  # or "responses" (docs/responses.md)
    model_time: float | None = None  # the embedded server's; None: ARUN_MODEL_TIME, else 0

    def settings(self, root: Path) -> Settings:
        from runner.config import resolve_settings

        return resolve_settings(
            root,
            base_url=self.base_url,
            api_key=self.api_key,
            local=self.local,
            model_time=self.model_time,
        )


def check_assistants(root: Path) -> Project:
    """Stop before any API is touched when an assistant has a problem; only mention the scenarios'."""
    project, scenario_problems = require_assistants(root)
    if scenario_problems:
        click.echo(
            f"Note: the scenarios have {scenario_problems} problem(s) (`arun validate` lists them); "
            "plan and apply need only the assistants, replay refuses them.",
            err=True,
        )
    return project


def check_protocol(root: Path, options: ApiOptions) -> None:
    """On --api responses, the migration lints come first: warnings shown, errors stop the command."""
    if options.api != "responses":
        return
    from runner.commands.validate import today
    from runner.errors import ValidationFailed
    from runner.project.load import load_project
    from runner.responses.lints import lint_project

    lints = lint_project(load_project(root).project, today=today())
    for warning in lints.warnings:
        click.echo(warning.format(), err=True)
    if lints.errors:
        listing = "\n".join(d.format() for d in lints.errors)
        raise ValidationFailed(
            f"the project has {len(lints.errors)} problem(s) on --api responses:\n{listing}"
        )


def make_plan(
    api: Api, root: Path, *, prune: bool, protocol: str = "assistants", project: Project | None = None
) -> Plan:
    """The plan of the project at `root` (or of `project`, when the caller has just loaded it)."""
    if project is None:
        project, _ = require_assistants(root)
    if protocol == "responses":
        from runner.apply.files_only import compute_files_plan

        return compute_files_plan(desired_state(project), read_remote(api), prune=prune)
    return compute_plan(desired_state(project), read_remote(api), prune=prune)


def print_plan(plan: Plan, requests: int, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(plan_json(plan, requests), indent=2, ensure_ascii=False))
        return
    color = color_enabled(sys.stdout)
    click.echo(render_plan(plan, requests, color=color), nl=False, color=color)


def run_plan(root: Path, options: ApiOptions, *, prune: bool = False, as_json: bool = False) -> int:
    project = check_assistants(root)
    check_protocol(root, options)
    settings = options.settings(root)
    with open_api(settings, announce=not as_json) as api:
        plan = make_plan(api, root, prune=prune, protocol=options.api, project=project)
        print_plan(plan, api.counter.requests, as_json=as_json)
    return 0 if plan.empty else EXIT_CHANGES
