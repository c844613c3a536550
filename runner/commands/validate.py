"""`arun validate`: schema and reference checks, no network, no `openai` import. With `--api responses`,
also the migration lints of runner/responses/lints.py (errors fail, warnings are shown)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from runner.errors import ConfigError
from runner.project.diagnostics import Diagnostic
from runner.project.load import load_project
from runner.project.models import Project


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def today() -> dt.date:
    """The date retirement lints compare with; ARUN_TODAY=YYYY-MM-DD pins it (tests, reproducible CI)."""
    pinned = os.environ.get("ARUN_TODAY")
    if not pinned:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"ARUN_TODAY={pinned!r} is not a date: write it as YYYY-MM-DD") from None


def responses_lints(
    project: Project, root: Path, paths: list[Path], cwd: Path | None, *, on: dt.date | None = None
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    from runner.responses.lints import lint_project

    lints = lint_project(project, today=on or today())
    if not paths:
        return lints.errors, lints.warnings
    base = cwd or root
    chosen = [
        ((p if p.is_absolute() else base / p).resolve()).relative_to(root.resolve()).as_posix() for p in paths
    ]

    def shown(d: Diagnostic) -> bool:
        return any(d.path == c or d.path.startswith(c.rstrip("/") + "/") for c in chosen)

    return [d for d in lints.errors if shown(d)], [d for d in lints.warnings if shown(d)]


def run_validate(
    root: Path,
    paths: list[Path],
    *,
    as_json: bool = False,
    cwd: Path | None = None,
    api: str = "assistants",
    on: dt.date | None = None,
) -> int:
    result = load_project(root, paths, cwd=cwd)
    errors = list(result.diagnostics)
    warnings = list(result.warnings)
    if api == "responses":
        more_errors, more_warnings = responses_lints(result.project, root, paths, cwd, on=on)
        errors = sorted(set(errors) | set(more_errors))
        warnings = sorted(set(warnings) | set(more_warnings))
    ok = not errors
    if as_json:
        report: dict[str, object] = {
            "valid": ok,
            "files": result.files_checked,
            "errors": [d.to_json() for d in errors],
            "warnings": [d.to_json() for d in warnings],
        }
        if api == "responses":
            report["api"] = api
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for diagnostic in sorted((*errors, *warnings)):
            click.echo(diagnostic.format())
        files = _count(result.files_checked, "file")
        warned = f" ({_count(len(warnings), 'warning')})" if warnings else ""
        if ok:
            click.echo(f"{files} valid{warned}.", err=True)
        else:
            warned = f", {_count(len(warnings), 'warning')}" if warnings else ""
            click.echo(f"{_count(len(errors), 'error')}{warned} in {files}.", err=True)
    return 0 if ok else 1
