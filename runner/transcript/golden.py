"""Updating the golden transcripts, the way snapshot tools do: on request, never silently in CI.

Only the transcripts of the scenarios a replay selected are written; a golden is removed as an orphan only
when the whole set (or the whole shard) was selected and its scenario no longer exists; an interrupted
transcript is never promoted (its golden stays as it was).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from runner.errors import RunnerError
from runner.transcript.io import SUFFIX, transcript_files, write_atomic

_FALSE = ("", "0", "false", "no")


@dataclass(frozen=True)
class GoldenUpdate:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    not_promoted: tuple[str, ...] = ()  # interrupted, or no transcript was written

    def summary(self) -> str:
        text = (
            f"golden transcripts: {len(self.written)} written, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
        )
        if self.not_promoted:
            text += f"; {len(self.not_promoted)} not promoted (interrupted): {', '.join(self.not_promoted)}"
        return text

    def to_data(self) -> dict[str, list[str]]:
        return {
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "not_promoted": list(self.not_promoted),
        }


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in _FALSE


def refuse_in_ci(force: bool, environ: Mapping[str, str] | None = None) -> None:
    if in_ci(environ) and not force:
        raise RunnerError(
            "refusing to update golden transcripts in CI (the CI variable is set): goldens are updated on a "
            "developer's machine and committed. Pass --force if this job really should rewrite them."
        )


def _promotable(path: Path) -> bool:
    if not path.is_file():
        return False
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and data.get("result") != "interrupted"


def update_goldens(
    new_dir: Path,
    golden_dir: Path,
    *,
    names: Iterable[str],
    known: Collection[str] | None = None,
    owns: Callable[[str], bool] | None = None,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
) -> GoldenUpdate:
    """Copy the transcripts of `names` from new_dir into golden_dir. With `known` (every scenario's name,
    given only when the whole set or shard was replayed), goldens of scenarios not in it are removed;
    `owns` limits that to a shard's own goldens."""
    refuse_in_ci(force, environ)
    written, unchanged, skipped = [], [], []
    for name in names:
        source = new_dir / f"{name}{SUFFIX}"
        if not _promotable(source):
            skipped.append(name)
            continue
        target = golden_dir / f"{name}{SUFFIX}"
        data = source.read_bytes()
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(name)
            continue
        write_atomic(target, data.decode("utf-8"))
        written.append(name)
    removed = []
    if known is not None and golden_dir.is_dir():
        keep = owns or (lambda name: True)
        for name, path in list(transcript_files(golden_dir)):
            if keep(name) and name not in known:
                path.unlink()
                removed.append(name)
                _prune_empty(path.parent, golden_dir)
    return GoldenUpdate(tuple(written), tuple(unchanged), tuple(removed), tuple(skipped))


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
