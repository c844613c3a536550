"""`arun init [DIR]`: a new project that replays green on the embedded local server right away.

Never overwrites: each file is created only where nothing is, atomically (a temporary file hard-linked
into place, which fails if the name is taken meanwhile), so running it again changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from runner.errors import RunnerError
from runner.project.schema import schema_dir
from runner.project.starter import EXAMPLE, FILES, SCHEMAS

_YAML = (".yaml", ".yml")


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def _create(path: Path, text: str) -> bool:
    """Write `text` to `path` unless something is there already; False when it was."""
    if path.exists() or path.is_symlink():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True


def _has_yaml(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in _YAML for p in folder.rglob("*"))


def _planned(target: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    files = dict(FILES)
    for name in SCHEMAS:
        rel = f"schemas/{name}.schema.json"
        files[rel] = (schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")
    skipped: list[tuple[str, str]] = []
    # An existing project keeps its own assistants: the example would only be one more to delete.
    others = _has_yaml(target / "assistants") or _has_yaml(target / "scenarios")
    for rel, text in EXAMPLE.items():
        if others and not (target / rel).exists():
            skipped.append((rel, "not added: the project has assistants or scenarios of its own"))
        else:
            files[rel] = text
    return files, skipped


def init_project(target: Path) -> InitResult:
    if target.exists() and not target.is_dir():
        raise RunnerError(f"{target} is a file, not a folder: give arun init a folder (new or existing)")
    files, skipped = _planned(target)
    result = InitResult(skipped=skipped)
    for rel in sorted(files):
        path = target / rel
        try:
            made = _create(path, files[rel])
        except OSError as exc:
            raise RunnerError(
                f"cannot write {path}: {exc.strerror or exc}"
                + (f" (created so far: {', '.join(result.created)})" if result.created else "")
            ) from None
        if made:
            result.created.append(rel)
        else:
            result.skipped.append((rel, "already there; left as it is"))
    gitignore = target / ".gitignore"
    if ".gitignore" not in result.created and ".arun/" not in _lines(gitignore):
        result.skipped.append((".gitignore", "has no '.arun/' line: add it, so local state stays out of git"))
    result.skipped.sort()
    return result


def _lines(path: Path) -> set[str]:
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    except (OSError, UnicodeDecodeError):
        return set()


def run_init(target: Path) -> int:
    result = init_project(target)
    here = target.resolve() == Path.cwd().resolve()
    where = "this folder" if here else str(target)
    for rel in result.created:
        click.echo(f"created  {rel}")
    for rel, why in result.skipped:
        click.echo(f"skipped  {rel}: {why}")
    if not result.created:
        click.echo(f"Nothing to do: {where} has every file arun init writes.")
        return 0
    click.echo(f"\nA new arun project in {where}. Next:")
    steps = [] if here else [f"cd {target}"]
    steps += [
        "arun replay                  # creates the assistant on the embedded local server, replays the scenario",
        "arun replay --update-golden  # keeps its transcript as the golden in transcripts/",
        "git add . && git commit      # the workflow in .github/ compares replays with the goldens",
    ]
    for step in steps:
        click.echo(f"  {step}")
    return 0
