"""`arun diff GOLDEN NEW`: compare two transcript sets; 0 when they match, 1 when they do not."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

import click

from runner.errors import RunnerError
from runner.reports.diff_report import junit_cases, render_json, render_markdown, render_text
from runner.reports.junit import write_junit
from runner.term import color_enabled
from runner.transcript.compare import DiffResult, Options, compare_sets

Format = Literal["text", "markdown", "json"]


def run_diff(
    golden: Path,
    new: Path,
    *,
    fmt: Format = "text",
    include: Collection[str] = (),
    text_similarity: float | None = None,
    allow_orphans: bool = False,
    junit: Path | None = None,
    owns: Callable[[str], bool] | None = None,
) -> int:
    for label, folder in (("GOLDEN", golden), ("NEW", new)):
        if not folder.is_dir():
            raise RunnerError(f"{label} {folder} is not a folder of transcripts")
    options = Options(frozenset(include), text_similarity, allow_orphans, owns)
    result = compare_sets(golden, new, options, processes=2)
    emit(result, fmt)
    if junit is not None:
        write_junit(junit, "arun diff", junit_cases(result))
    return 0 if result.same else 1


def emit(result: DiffResult, fmt: Format) -> None:
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        color = color_enabled(sys.stdout)
        click.echo(render_text(result, color=color), nl=False, color=color)
