"""Semantic checks of one schema-valid scenario file against the assistants, and its frozen model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.project.diagnostics import Diagnostic, JsonPath, did_you_mean
from runner.project.handlers import check_handler
from runner.project.jsonschemas import schema_problems
from runner.project.models import (
    BUILTIN_TOOLS,
    EXPECTATION_KINDS,
    Assistant,
    Attachment,
    Expectation,
    PythonHandler,
    Scenario,
    Source,
    Turn,
    UserMessage,
)
from runner.project.paths import PathProblem, resolve_file
from runner.project.yamlpos import Document

TEXT_KINDS = ("contains", "not_contains", "equals", "regex")
HANDLER = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<function>[A-Za-z_]\w*)$")


class ScenarioChecker:
    def __init__(
        self, root: Path, doc: Document, name: str, keys: set[str], assistants: Mapping[str, Assistant]
    ) -> None:
        self.root = root
        self.doc = doc
        self.name = name
        self.keys = keys
        self.assistants = assistants
        self.data: dict[str, Any] = doc.data
        self.problems: list[Diagnostic] = []

    def fail(self, path: JsonPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.doc.diag(path, message, at_key=at_key))

    def source(self, path: JsonPath) -> Source:
        pos = self.doc.value_pos(path)
        return Source(self.doc.rel, pos.line, pos.column)

    def check(self) -> Scenario | None:
        key = self.data["assistant"]
        assistant = self.assistants.get(key)
        if key not in self.keys:
            self.fail(
                ("assistant",),
                f"no assistant {key!r}{did_you_mean(key, self.keys)}: assistants are the files under assistants/",
            )
        self._run(("run",), self.data.get("run", {}), assistant)
        turns = [self._turn(index, raw, assistant) for index, raw in enumerate(self.data["turns"])]
        overall = [
            self._expectation(("expect", j), item, assistant)
            for j, item in enumerate(self.data.get("expect", []))
        ]
        if self.problems:
            return None
        return Scenario(
            name=self.name,
            source=Source(self.doc.rel, 1, 1),
            assistant=key,
            description=self.data.get("description"),
            run=dict(self.data.get("run", {})),
            turns=tuple(t for t in turns if t is not None),
            expect=tuple(e for e in overall if e is not None),
        )

    def _run(self, path: JsonPath, run: Mapping[str, Any], assistant: Assistant | None) -> None:
        choice = run.get("tool_choice")
        if assistant is None or not isinstance(choice, dict):
            return
        if choice["type"] == "function":
            self._tool_name((*path, "tool_choice", "function", "name"), choice["function"]["name"], assistant)
        elif choice["type"] not in assistant.tool_types:
            self.fail(
                (*path, "tool_choice", "type"),
                f"assistant {assistant.key!r} has no {choice['type']} tool to force: add it to its tools",
            )

    def _tool_name(self, path: JsonPath, name: str, assistant: Assistant, *, at_key: bool = False) -> None:
        known = set(assistant.function_names) | (set(BUILTIN_TOOLS) & set(assistant.tool_types))
        if name not in known:
            offered = ", ".join(sorted(known)) or "none"
            self.fail(
                path,
                f"assistant {assistant.key!r} has no tool {name!r}{did_you_mean(name, known)} (its tools: {offered})",
                at_key=at_key,
            )

    def _turn(self, index: int, raw: dict[str, Any], assistant: Assistant | None) -> Turn | None:
        path: JsonPath = ("turns", index)
        self._run((*path, "run"), raw.get("run", {}), assistant)
        user = self._user((*path, "user"), raw["user"])
        outputs = {
            name: self._output((*path, "tool_outputs", name), name, value, assistant)
            for name, value in raw.get("tool_outputs", {}).items()
        }
        if assistant is not None:
            choice = {**self.data.get("run", {}), **raw.get("run", {})}.get("tool_choice")
            for name in outputs:
                if name in assistant.function_names:
                    self._never_called((*path, "tool_outputs", name), name, choice)
                if name not in assistant.function_names:
                    known = assistant.function_names
                    offered = ", ".join(known) if known else "it declares none"
                    self.fail(
                        (*path, "tool_outputs", name),
                        f"{name!r} is not a function of assistant {assistant.key!r}"
                        f"{did_you_mean(name, known)} (functions: {offered})",
                        at_key=True,
                    )
        expectations = [
            self._expectation((*path, "expect", j), item, assistant)
            for j, item in enumerate(raw.get("expect", []))
        ]
        return Turn(
            index=index,
            source=self.source(path),
            user=user,
            run=dict(raw.get("run", {})),
            tool_outputs=dict(outputs),
            expect=tuple(e for e in expectations if e is not None),
        )

    def _never_called(self, path: JsonPath, name: str, choice: Any) -> None:
        """An output the turn's tool_choice keeps the model from ever asking for: harmless, but a sign that
        the scenario does not test what it seems to."""
        if choice == "none":
            why = "the turn's tool_choice is 'none', so the model calls no tool"
        elif isinstance(choice, dict) and choice.get("type") == "function":
            forced = choice.get("function", {}).get("name")
            if forced == name:
                return
            why = f"the turn's tool_choice forces {forced!r}, so the model does not call {name!r}"
        elif isinstance(choice, dict):
            why = f"the turn's tool_choice forces {choice.get('type')}, so the model calls no function"
        else:
            return
        self.problems.append(
            self.doc.diag(path, f"{why}: this output is never used", at_key=True, severity="warning")
        )

    def _output(self, path: JsonPath, name: str, value: Any, assistant: Assistant | None) -> Any:
        """A static output, or a Python handler: a mapping whose only key is `python`."""
        if not (isinstance(value, dict) and list(value) == ["python"]):
            return value
        spec = value["python"]
        match = HANDLER.match(spec) if isinstance(spec, str) else None
        if match is None:
            self.fail(
                (*path, "python"),
                f"{spec!r} is not module:function (for example handlers.weather:get_weather)",
            )
            return value
        module = match["module"]
        for candidate in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
            try:
                rel = resolve_file(self.root, candidate)
            except PathProblem:
                continue
            function = match["function"]
            tool = next((f for f in assistant.functions if f.name == name), None) if assistant else None
            arguments = None
            if tool is not None:
                properties = (tool.parameters or {}).get("properties", {})
                arguments = list(properties) if isinstance(properties, dict) else []
            convention = check_handler(self.root, rel, function, arguments)
            for problem in convention.problems:
                self.fail((*path, "python"), problem)
            return PythonHandler(module, function, rel, keywords=convention.keywords)
        self.fail(
            (*path, "python"),
            f"no module {module!r} in the project (looked for {module.replace('.', '/')}.py)",
        )
        return value

    def _user(self, path: JsonPath, raw: str | dict[str, Any]) -> UserMessage:
        if isinstance(raw, str):
            return UserMessage(raw)
        attachments = []
        for j, item in enumerate(raw.get("attachments", [])):
            try:
                rel = resolve_file(self.root, item["file"])
            except PathProblem as exc:
                self.fail((*path, "attachments", j, "file"), str(exc))
                continue
            attachments.append(Attachment(rel, tuple(item["tools"])))
        return UserMessage(raw["text"], tuple(attachments))

    def _expectation(
        self, path: JsonPath, raw: dict[str, Any], assistant: Assistant | None
    ) -> Expectation | None:
        kinds = [k for k in raw if k in EXPECTATION_KINDS]
        if not kinds:
            self.fail(path, f"expectation names no check: use one of {', '.join(EXPECTATION_KINDS)}")
            return None
        if len(kinds) > 1:
            listed = ", ".join(map(repr, kinds))
            self.fail(path, f"expectation names {len(kinds)} checks ({listed}): give each its own list item")
            return None
        kind = kinds[0]
        value = raw[kind]
        if "ignore_case" in raw and kind not in TEXT_KINDS:
            self.fail(
                (*path, "ignore_case"),
                f"ignore_case applies to {', '.join(TEXT_KINDS)}, not {kind}",
                at_key=True,
            )
        if kind == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                self.fail((*path, "regex"), f"invalid regular expression: {exc}")
        elif kind == "json" and isinstance(value, dict) and "schema" in value:
            for inner, message in schema_problems(value["schema"]):
                self.fail((*path, "json", "schema", *inner), message)
        elif kind in ("tool_called", "no_tool_called") and assistant is not None and value is not True:
            name = value["name"] if isinstance(value, dict) else value
            where = (*path, kind, "name") if isinstance(value, dict) else (*path, kind)
            self._tool_name(where, name, assistant)
        elif kind == "citations" and assistant is not None and "file_search" not in assistant.tool_types:
            wanted = value if isinstance(value, int) else int(value.get("min", 1 if "file" in value else 0))
            if wanted > 0:
                self.fail(
                    (*path, "citations"),
                    f"assistant {assistant.key!r} has no file_search tool, so its replies cite nothing and this "
                    "expectation can never pass: add '- type: file_search' (with files) to its tools, or drop it",
                )
        elif kind == "citations" and isinstance(value, dict) and "file" in value and assistant is not None:
            self._cited_file((*path, "citations", "file"), value["file"], assistant)
        return Expectation(kind, value, self.source(path), bool(raw.get("ignore_case", False)))

    def _cited_file(self, path: JsonPath, raw: str, assistant: Assistant) -> None:
        try:
            rel = resolve_file(self.root, raw)
        except PathProblem as exc:
            self.fail(path, str(exc))
            return
        if rel not in assistant.file_search_files:
            self.fail(path, f"{rel!r} is not one of the file_search files of assistant {assistant.key!r}")
