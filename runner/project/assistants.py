"""Semantic checks of one schema-valid assistant file, and its frozen model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runner.project.diagnostics import Diagnostic, JsonPath
from runner.project.jsonschemas import schema_problems
from runner.project.models import (
    RESERVED_METADATA_KEYS,
    RESERVED_METADATA_PREFIX,
    USER_METADATA_KEYS,
    Assistant,
    FunctionTool,
    Source,
    Tool,
)
from runner.project.paths import PathProblem, resolve_file, resolve_files
from runner.project.yamlpos import Document, YamlProblem, read_text

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_INSTRUCTIONS = 256_000
MAX_CODE_INTERPRETER_FILES = 20


class AssistantChecker:
    def __init__(self, root: Path, doc: Document, key: str) -> None:
        self.root = root
        self.doc = doc
        self.key = key
        self.data: dict[str, Any] = doc.data
        self.problems: list[Diagnostic] = []

    def fail(self, path: JsonPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.doc.diag(path, message, at_key=at_key))

    def check_schema(self, path: JsonPath, schema: Any, *, function_parameters: bool = False) -> None:
        for inner, message in schema_problems(schema, function_parameters=function_parameters):
            self.fail((*path, *inner), message)

    def check(self) -> Assistant | None:
        if not KEY_PATTERN.match(self.key):
            self.problems.append(
                Diagnostic(
                    self.doc.rel,
                    1,
                    1,
                    "(file)",
                    f"assistant key {self.key!r} (the file name) must be 1-64 letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit: rename the file",
                )
            )
        instructions = self._instructions()
        tools = self._tools()
        self._metadata()
        search_files = self._files("file_search", "file_search", tools)
        code_files = self._files("code_interpreter", "code_interpreter", tools)
        if len(code_files) > MAX_CODE_INTERPRETER_FILES:
            self.fail(
                ("files", "code_interpreter"),
                f"names {len(code_files)} files; code_interpreter takes at most {MAX_CODE_INTERPRETER_FILES}",
            )
        if self.problems:
            return None
        data = self.data
        return Assistant(
            key=self.key,
            source=Source(self.doc.rel, 1, 1),
            model=data["model"],
            name=data.get("name"),
            description=data.get("description"),
            instructions=instructions,
            instructions_file=data.get("instructions_file"),
            tools=tuple(tools),
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            response_format=data.get("response_format"),
            reasoning_effort=data.get("reasoning_effort"),
            metadata=dict(data.get("metadata", {})),
            file_search_files=tuple(search_files),
            code_interpreter_files=tuple(code_files),
        )

    def _instructions(self) -> str | None:
        data = self.data
        if "instructions_file" not in data:
            return data.get("instructions")
        if "instructions" in data:
            self.fail(
                ("instructions_file",), "use either instructions or instructions_file, not both", at_key=True
            )
            return None
        try:
            rel = resolve_file(self.root, data["instructions_file"])
            text = read_text(self.root / rel, rel)
        except PathProblem as exc:
            self.fail(("instructions_file",), str(exc))
            return None
        except YamlProblem as exc:
            self.fail(("instructions_file",), exc.diagnostics[0].message)
            return None
        if len(text) > MAX_INSTRUCTIONS:
            self.fail(
                ("instructions_file",),
                f"{rel} holds {len(text):,} characters; instructions are limited to {MAX_INSTRUCTIONS:,}",
            )
        return text

    def _tools(self) -> list[Tool]:
        tools: list[Tool] = []
        first_seen: dict[str, int] = {}
        for index, raw in enumerate(self.data.get("tools", [])):
            kind = raw["type"]
            function = None
            if kind == "function":
                spec = raw["function"]
                label = f"function {spec['name']!r}"
                if "parameters" in spec:
                    self.check_schema(
                        ("tools", index, "function", "parameters"),
                        spec["parameters"],
                        function_parameters=True,
                    )
                function = FunctionTool(
                    spec["name"], spec.get("description"), spec.get("parameters"), spec.get("strict")
                )
                where: JsonPath = ("tools", index, "function", "name")
            else:
                label = f"tool {kind!r}"
                where = ("tools", index, "type")
            if label in first_seen:
                line = self.doc.value_pos(("tools", first_seen[label])).line
                self.fail(where, f"{label} is declared twice (first at line {line}): keep one")
            first_seen.setdefault(label, index)
            tools.append(Tool(type=kind, api=raw, function=function))
        response_format = self.data.get("response_format")
        if isinstance(response_format, dict) and "schema" in response_format.get("json_schema", {}):
            self.check_schema(
                ("response_format", "json_schema", "schema"), response_format["json_schema"]["schema"]
            )
        return tools

    def _metadata(self) -> None:
        metadata = self.data.get("metadata", {})
        for key in metadata:
            if key.startswith(RESERVED_METADATA_PREFIX):
                self.fail(
                    ("metadata", key),
                    f"key {key!r} is reserved: arun writes keys starting with {RESERVED_METADATA_PREFIX!r} "
                    f"({', '.join(RESERVED_METADATA_KEYS)}); rename it",
                    at_key=True,
                )
        if len(metadata) > USER_METADATA_KEYS:  # pragma: no cover - the schema's maxProperties says it first
            self.fail(("metadata",), f"has {len(metadata)} keys; the limit is {USER_METADATA_KEYS}")

    def _files(self, group: str, tool: str, tools: list[Tool]) -> list[str]:
        written = self.data.get("files", {}).get(group, [])
        if written and tool not in {t.type for t in tools}:
            self.fail(
                ("files", group),
                f"files for {tool} need the tool: add '- type: {tool}' to tools",
                at_key=True,
            )
        found: list[str] = []
        for index, raw in enumerate(written):
            try:
                for rel in resolve_files(self.root, raw):
                    if rel not in found:
                        found.append(rel)
            except PathProblem as exc:
                self.fail(("files", group, index), str(exc))
        return found
