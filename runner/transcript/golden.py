"""Updating the golden transcripts, the way snapshot tools do: on request, never silently in CI."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.errors import RunnerError
from runner.transcript.io import SUFFIX, transcript_files, write_atomic

_FALSE = ("", "0", "false", "no")


@dataclass(frozen=True)
class GoldenUpdate:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]

    def summary(self) -> str:
        return f"golden transcripts: {len(self.written)} written, {len(self.removed)} removed, {len(self.unchanged)} unchanged"


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in _FALSE


def refuse_in_ci(force: bool, environ: Mapping[str, str] | None = None) -> None:
    if in_ci(environ) and not force:
        raise RunnerError(
            "refusing to update golden transcripts in CI (the CI variable is set): goldens are updated on a "
            "developer's machine and committed. Pass --force if this job really should rewrite them."
        )


def update_goldens(
    new_dir: Path,
    golden_dir: Path,
    *,
    owns: Callable[[str], bool] | None = None,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
) -> GoldenUpdate:
    """Make golden_dir hold exactly the transcripts of new_dir, for the scenarios `owns` accepts."""
    refuse_in_ci(force, environ)
    keep = owns or (lambda name: True)
    new = {name: path for name, path in transcript_files(new_dir) if keep(name)}
    old = dict(transcript_files(golden_dir)) if golden_dir.is_dir() else {}
    written, unchanged = [], []
    for name, path in new.items():
        target = golden_dir / f"{name}{SUFFIX}"
        data = path.read_bytes()
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(name)
            continue
        write_atomic(target, data.decode("utf-8"))
        written.append(name)
    removed = []
    for name, path in old.items():
        if keep(name) and name not in new:
            path.unlink()
            removed.append(name)
            _prune_empty(path.parent, golden_dir)
    return GoldenUpdate(tuple(written), tuple(unchanged), tuple(removed))


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
