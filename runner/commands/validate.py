"""`arun validate`: schema and reference checks, no network, no `openai` import."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.project.load import load_project


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def run_validate(root: Path, paths: list[Path], *, as_json: bool = False, cwd: Path | None = None) -> int:
    result = load_project(root, paths, cwd=cwd)
    if as_json:
        report = {
            "valid": result.ok,
            "files": result.files_checked,
            "errors": [d.to_json() for d in result.diagnostics],
            "warnings": [d.to_json() for d in result.warnings],
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for diagnostic in sorted((*result.diagnostics, *result.warnings)):
            click.echo(diagnostic.format())
        files = _count(result.files_checked, "file")
        warned = f" ({_count(len(result.warnings), 'warning')})" if result.warnings else ""
        if result.ok:
            click.echo(f"{files} valid{warned}.", err=True)
        else:
            warned = f", {_count(len(result.warnings), 'warning')}" if result.warnings else ""
            click.echo(f"{_count(len(result.diagnostics), 'error')}{warned} in {files}.", err=True)
    return 0 if result.ok else 1
