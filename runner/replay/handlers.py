"""Python tool-output handlers: functions inside the project, run only with --allow-python-handlers.

How each is called (one dict, or the arguments as keywords) was decided by validate from its signature
(runner/project/handlers.py)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.project.models import PythonHandler

_LOCK = threading.Lock()


class Handlers:
    def __init__(self, root: Path, allowed: bool) -> None:
        self.root = root
        self.allowed = allowed
        self._loaded: dict[str, Callable[..., Any]] = {}

    def _function(self, handler: PythonHandler) -> Callable[..., Any]:
        with _LOCK:
            key = str(handler)
            if key not in self._loaded:
                # Loaded from its file (the path validate checked to be inside the project), under a name of
                # its own, so nothing on sys.path can stand in for it.
                spec = importlib.util.spec_from_file_location(
                    f"arun_handler_{handler.module}", self.root / handler.path
                )
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self._loaded[key] = getattr(module, handler.function)
            return self._loaded[key]

    def output(self, name: str, handler: PythonHandler, arguments: Any) -> tuple[str, str | None]:
        """(the output to submit, a problem to record or None)."""
        if not self.allowed:
            problem = f"the output of {name!r} comes from the Python handler {handler}; run with --allow-python-handlers"
            return json.dumps({"error": f"arun: {problem}"}), problem
        if handler.keywords and not isinstance(arguments, dict):
            problem = (
                f"the Python handler {handler} takes the arguments by name, but the model sent "
                f"{type(arguments).__name__} instead of a JSON object"
            )
            return json.dumps({"error": f"arun: {problem}"}), problem
        try:
            function = self._function(handler)
            if handler.keywords:
                try:
                    inspect.signature(function).bind(**arguments)
                except TypeError as exc:
                    problem = f"the Python handler {handler} does not take these arguments: {exc}"
                    return json.dumps({"error": f"arun: {problem}"}), problem
                result = function(**arguments)
            else:
                result = function(arguments)
        except Exception as exc:
            problem = f"the Python handler {handler} raised {type(exc).__name__}: {exc}"
            return json.dumps({"error": f"arun: {problem}"}), problem
        return (
            result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, sort_keys=True)
        ), None
