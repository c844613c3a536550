"""The replay output folder: each replay's transcripts only, and never a folder arun did not write.

A replay empties its output folder before it writes (so no interrupted, repeated or deleted scenario's
transcript from an earlier replay is compared or promoted later) and leaves a marker file in it. A folder
is only ever replaced when it carries that marker, is empty, or holds nothing but transcripts (what older
versions of arun left, before the marker); anything else is refused with what to do.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from runner.errors import RunnerError

MARKER = ".arun-output"
_MARKER_TEXT = (
    "This folder is written by `arun replay`, which replaces it as a whole on every replay.\n"
    "Do not keep anything else here.\n"
)


def _only_transcripts(folder: Path) -> bool:
    for path in folder.rglob("*"):
        if path.is_symlink():
            return False
        if path.is_dir():
            continue
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue  # an atomic write cut short
        if path.suffix != ".yaml":
            return False
        with path.open("rb") as handle:
            if not handle.read(16).startswith(b"transcript:"):
                return False
    return True


def written_by_arun(folder: Path) -> bool:
    return (folder / MARKER).is_file() or _only_transcripts(folder)


def replace_output(folder: Path) -> None:
    """Make `folder` an empty, marked output folder, removing an earlier replay's output first."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise RunnerError(f"-o {folder}: not a folder; pick a folder for the transcripts")
    if folder.is_dir() and any(folder.iterdir()):
        if not written_by_arun(folder):
            raise RunnerError(
                f"-o {folder} holds files that arun did not write (it has no {MARKER} marker), and replay "
                "replaces its output folder as a whole: pick an empty or new folder, or empty this one"
            )
        # Move it aside first, so a failure half way through removing leaves no half folder in its place.
        aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        folder.rename(aside / folder.name)
        shutil.rmtree(aside)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
