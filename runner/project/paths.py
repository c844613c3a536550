"""Project-relative paths written in YAML: they must stay inside the project and name real files."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # the Files API's per-file limit
_GLOB_CHARS = set("*?[")


class PathProblem(Exception):
    pass


def _inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _checked_pattern(raw: str) -> str:
    if "\\" in raw:
        raise PathProblem(f"{raw!r}: use '/' as the path separator")
    if raw.startswith("/") or PurePosixPath(raw).is_absolute() or (len(raw) > 1 and raw[1] == ":"):
        raise PathProblem(f"{raw!r} is an absolute path; write it relative to the project root")
    normal = os.path.normpath(raw)
    if normal == ".." or normal.startswith("../"):
        raise PathProblem(f"{raw!r} points outside the project; files must live inside it")
    return normal


def resolve_files(root: Path, raw: str) -> list[str]:
    """Expand one written path (or glob pattern) into project-relative POSIX paths of existing files."""
    pattern = _checked_pattern(raw)
    if _GLOB_CHARS & set(pattern):
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        if not matches:
            raise PathProblem(f"no file matches {raw!r}")
    else:
        target = root / pattern
        if not target.exists():
            raise PathProblem(f"file not found: {raw!r} (paths are relative to the project root)")
        if target.is_dir():
            raise PathProblem(f"{raw!r} is a folder; name the files, or a glob such as '{pattern}/*'")
        matches = [target]
    found = []
    for match in matches:
        if not _inside(root, match):
            raise PathProblem(f"{raw!r} resolves outside the project (through a symbolic link)")
        size = match.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise PathProblem(
                f"{match.relative_to(root).as_posix()!r} is {size:,} bytes; the API's limit is 512 MB"
            )
        found.append(match.relative_to(root).as_posix())
    return found


def resolve_file(root: Path, raw: str) -> str:
    if _GLOB_CHARS & set(raw):
        raise PathProblem(f"{raw!r}: name one file here, not a glob pattern")
    return resolve_files(root, raw)[0]
