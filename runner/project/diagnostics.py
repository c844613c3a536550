"""A problem found in a project file, pointing at the line and column of the offending key or value."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PathElem = str | int
JsonPath = tuple[PathElem, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    column: int
    where: str
    message: str
    # "error" stops validate (exit 1) and every command that acts on the file; "warning" is shown only.
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        label = "" if self.is_error else f"{self.severity}: "
        return f"{self.path}:{self.line}:{self.column}: {self.where}: {label}{self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "where": self.where,
            "message": self.message,
        }


def render_path(path: Sequence[PathElem]) -> str:
    """`turns[1].expect[0]`; the document itself is `(root)`."""
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        elif _IDENTIFIER.match(elem):
            out += f".{elem}" if out else elem
        else:
            out += f"[{elem!r}]"
    return out or "(root)"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
