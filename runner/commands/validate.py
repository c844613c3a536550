"""`arun validate`: schema and reference checks, no network, no `openai` import."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.project.load import load_project


def run_validate(root: Path, paths: list[Path], *, as_json: bool = False, cwd: Path | None = None) -> int:
    result = load_project(root, paths, cwd=cwd)
    if as_json:
        report = {
            "valid": result.ok,
            "files": result.files_checked,
            "errors": [d.to_json() for d in result.diagnostics],
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for diagnostic in result.diagnostics:
            click.echo(diagnostic.format())
        noun = "file" if result.files_checked == 1 else "files"
        if result.ok:
            click.echo(f"{result.files_checked} {noun} valid.", err=True)
        else:
            count = len(result.diagnostics)
            click.echo(
                f"{count} error{'s' if count != 1 else ''} in {result.files_checked} {noun}.", err=True
            )
    return 0 if result.ok else 1
