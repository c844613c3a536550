"""Migration lints for `--api responses`: what would break, or silently behave differently, when the
project's assistants and scenarios run on the Responses API. Shown by `arun validate --api responses` and
by `arun plan --api responses`; errors stop validate (exit 1) and every command that acts on the project.

Each finding points at the YAML key or value it is about (file:line:col), like every other diagnostic.
They run on a project that already loaded cleanly, so the data here has passed the JSON Schemas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.project.diagnostics import Diagnostic, JsonPath
from runner.project.models import Project
from runner.project.yamlpos import Document, YamlProblem, load_yaml
from runner.responses.compile import LAST_MESSAGES, MAX_PROMPT_TOKENS, OLD_RANKER
from runner.responses.models import retirement_of

ADDITIONAL = (
    "Responses has no additional_instructions: arun appends this text to the instructions after a blank "
    "line, as the Assistants API did (sent as `instructions`, it would replace the assistant's own; see "
    "docs/responses.md)"
)
SEARCH_WITHOUT_FILES = (
    "file_search has no files: on Responses the tool searches only the vector stores named on it, and "
    "arun manages one only for files listed under files.file_search, so it retrieves nothing. List files "
    "there, or remove the tool"
)


@dataclass
class Lints:
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def add(self, severity: str, diagnostic: Diagnostic) -> None:
        if severity == "error":
            self.errors.append(diagnostic)
        else:
            self.warnings.append(dataclasses.replace(diagnostic, severity="warning"))

    def sorted(self) -> Lints:
        return Lints(sorted(set(self.errors)), sorted(set(self.warnings)))


def _doc(root: Path, rel: str) -> Document | None:
    try:
        return load_yaml(root / rel, rel)
    except (OSError, YamlProblem):  # pragma: no cover - the project loaded a moment ago
        return None


def _model(doc: Document, path: JsonPath, model: Any, today: dt.date, lints: Lints) -> None:
    if isinstance(model, str):
        found = retirement_of(model, today)
        if found is not None:
            lints.add(found[0], doc.diag(path, found[1]))


def _assistant(doc: Document, today: dt.date, lints: Lints) -> None:
    data: Mapping[str, Any] = doc.data
    _model(doc, ("model",), data.get("model"), today, lints)
    search_files = (data.get("files") or {}).get("file_search") or []
    for index, tool in enumerate(data.get("tools") or []):
        if tool.get("type") != "file_search":
            continue
        if not search_files:
            lints.add("warning", doc.diag(("tools", index), SEARCH_WITHOUT_FILES))
        ranker = ((tool.get("file_search") or {}).get("ranking_options") or {}).get("ranker")
        if ranker == "default_2024_08_21":
            path = ("tools", index, "file_search", "ranking_options", "ranker")
            lints.add("error", doc.diag(path, OLD_RANKER))


def _run(doc: Document, at: JsonPath, run: Mapping[str, Any], today: dt.date, lints: Lints) -> None:
    if "max_prompt_tokens" in run:
        lints.add("error", doc.diag((*at, "max_prompt_tokens"), MAX_PROMPT_TOKENS, at_key=True))
    strategy = run.get("truncation_strategy") or {}
    if strategy.get("type") == "last_messages":
        lints.add("error", doc.diag((*at, "truncation_strategy", "type"), LAST_MESSAGES))
    if "additional_instructions" in run:
        lints.add("warning", doc.diag((*at, "additional_instructions"), ADDITIONAL, at_key=True))
    _model(doc, (*at, "model"), run.get("model"), today, lints)


def _scenario(doc: Document, today: dt.date, lints: Lints) -> None:
    data: Mapping[str, Any] = doc.data
    if isinstance(data.get("run"), dict):
        _run(doc, ("run",), data["run"], today, lints)
    for index, turn in enumerate(data.get("turns") or []):
        if isinstance(turn, dict) and isinstance(turn.get("run"), dict):
            _run(doc, ("turns", index, "run"), turn["run"], today, lints)


def lint_project(project: Project, *, today: dt.date, only: Iterable[str] | None = None) -> Lints:
    """The lints of every loaded assistant and scenario (or of the files in `only`, project-relative)."""
    wanted = set(only) if only is not None else None
    lints = Lints()
    for kind, items in (("assistant", project.assistants.values()), ("scenario", project.scenarios.values())):
        for item in items:
            rel = item.source.path
            if wanted is not None and rel not in wanted:
                continue
            doc = _doc(project.root, rel)
            if doc is None:
                continue
            (_assistant if kind == "assistant" else _scenario)(doc, today, lints)
    return lints.sorted()
