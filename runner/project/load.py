"""The one loading pipeline: find files -> positional YAML -> JSON Schema -> semantic checks -> models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.errors import RunnerError, ValidationFailed
from runner.project.assistants import AssistantChecker
from runner.project.diagnostics import Diagnostic
from runner.project.models import Assistant, Project, Scenario
from runner.project.scenarios import ScenarioChecker
from runner.project.schema import schema_diagnostics
from runner.project.yamlpos import Document, YamlProblem, load_yaml

ASSISTANTS_DIR = "assistants"
SCENARIOS_DIR = "scenarios"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadResult:
    project: Project
    diagnostics: tuple[Diagnostic, ...]  # the errors
    files_checked: int
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def _selected(root: Path, paths: Sequence[Path], base: Path) -> set[Path]:
    chosen: set[Path] = set()
    for given in paths:
        target = given if given.is_absolute() else base / given
        if not target.exists():
            start = f"the project root {root}" if base == root else f"the current folder {base}"
            raise RunnerError(f"{given}: no such file or folder (paths are relative to {start})")
        target = target.resolve()
        kind = next((d for d in (ASSISTANTS_DIR, SCENARIOS_DIR) if target.is_relative_to(root / d)), None)
        if kind is None:
            raise RunnerError(
                f"{given}: not inside {ASSISTANTS_DIR}/ or {SCENARIOS_DIR}/ of the project {root}"
            )
        if target.is_dir():
            chosen.update(_yaml_files(target))
        elif target.suffix not in YAML_SUFFIXES:
            raise RunnerError(f"{given}: not a YAML file (expected .yaml or .yml)")
        else:
            chosen.add(target)
    return chosen


def _parse(root: Path, path: Path, schema: str, problems: list[Diagnostic]) -> Document | None:
    rel = path.relative_to(root).as_posix()
    try:
        doc = load_yaml(path, rel)
    except YamlProblem as exc:
        problems.extend(exc.diagnostics)
        return None
    if not isinstance(doc.data, dict):
        problems.append(doc.diag((), "expected a mapping of keys to values at the top of the file"))
        return None
    found = schema_diagnostics(doc, schema)
    problems.extend(found)
    return None if found else doc


def load_project(root: Path, paths: Sequence[Path] = (), *, cwd: Path | None = None) -> LoadResult:
    """Load and check the project. With `paths` (relative to `cwd`, default the root), only those files'
    problems are reported (and only those scenarios loaded); assistants are always read, since scenarios
    refer to them."""
    root = root.resolve()
    if not paths and not (root / ASSISTANTS_DIR).is_dir() and not (root / SCENARIOS_DIR).is_dir():
        raise RunnerError(
            f"no {ASSISTANTS_DIR}/ or {SCENARIOS_DIR}/ folder in {root}: run arun inside a project (it looks "
            "upward from the current folder), pass -C DIR, or start one with `arun init`"
        )
    assistant_files = _yaml_files(root / ASSISTANTS_DIR)
    scenario_files = _yaml_files(root / SCENARIOS_DIR)
    selected = (
        _selected(root, paths, (cwd or root).resolve())
        if paths
        else set(assistant_files) | set(scenario_files)
    )

    problems: list[Diagnostic] = []
    keys: dict[str, Path] = {}
    assistants: dict[str, Assistant] = {}
    _name_clashes(root, assistant_files, lambda p: p.stem, "assistant key", problems)
    for path in assistant_files:
        key = path.stem
        if key in keys:
            continue  # a clash, reported above; the first file of the name stands for it
        keys[key] = path
        doc = _parse(root, path, "assistant", problems)
        if doc is not None:
            checker = AssistantChecker(root, doc, key)
            assistant = checker.check()
            problems.extend(checker.problems)
            if assistant is not None:
                assistants[key] = assistant

    def scenario_name(path: Path) -> str:
        return path.relative_to(root / SCENARIOS_DIR).with_suffix("").as_posix()

    clashes = _name_clashes(root, scenario_files, scenario_name, "scenario", problems)
    scenarios: dict[str, Scenario] = {}
    for path in scenario_files:
        if path not in selected or path in clashes:
            continue
        doc = _parse(root, path, "scenario", problems)
        if doc is None:
            continue
        name = scenario_name(path)
        scenario_checker = ScenarioChecker(root, doc, name, set(keys), assistants)
        scenario = scenario_checker.check()
        problems.extend(scenario_checker.problems)
        if scenario is not None:
            scenarios[name] = scenario

    shown = {p.relative_to(root).as_posix() for p in selected}
    reported = sorted({d for d in problems if d.path in shown})
    project = Project(root=root, assistants=assistants, scenarios=scenarios)
    return LoadResult(
        project=project,
        diagnostics=tuple(d for d in reported if d.is_error),
        files_checked=len(selected),
        warnings=tuple(d for d in reported if not d.is_error),
    )


def _name_clashes(
    root: Path, files: list[Path], name_of: Callable[[Path], str], what: str, problems: list[Diagnostic]
) -> set[Path]:
    """The files that share their name with another; each of them gets an error, so that each shows up
    where it is validated. `x.yaml` beside `x.yml` is one name."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(name_of(path), []).append(path)
    for name, group in groups.items():
        if len(group) < 2:
            continue
        for path in group:
            rel = path.relative_to(root).as_posix()
            others = ", ".join(p.relative_to(root).as_posix() for p in group if p != path)
            if all(p.with_suffix("") == path.with_suffix("") for p in group):
                why = ".yaml and .yml are the same to arun: keep one of the two files"
            else:
                why = "keys (file stems) must be unique"
            problems.append(
                Diagnostic(rel, 1, 1, "(file)", f"{what} {name!r} is also defined by {others}: {why}")
            )
    return {path for group in groups.values() if len(group) > 1 for path in group}


def _refuse(problems: Sequence[Diagnostic], what: str) -> None:
    listing = "\n".join(d.format() for d in problems)
    raise ValidationFailed(f"{what} {len(problems)} problem(s):\n{listing}")


def require_project(root: Path, paths: Sequence[Path] = ()) -> Project:
    """For commands that act on the project: any problem stops them before they touch an API."""
    result = load_project(root, paths)
    if not result.ok:
        _refuse(result.diagnostics, "the project has")
    return result.project


def require_assistants(root: Path) -> tuple[Project, int]:
    """For plan and apply, which act on the assistants only: a problem in an assistant stops them, one in a
    scenario does not (replay refuses it). Returns the project and how many scenario problems there are."""
    result = load_project(root)
    prefix = ASSISTANTS_DIR + "/"
    own = [d for d in result.diagnostics if d.path.startswith(prefix)]
    if own:
        _refuse(own, "the assistants have")
    return result.project, len(result.diagnostics)
