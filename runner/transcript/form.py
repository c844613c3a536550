"""The pieces of the transcript form that every protocol's mapping shares (docs/transcripts.md).

A mapping from one API's objects to transcript data lives beside this module, one per protocol
(`assistants.py`, `responses.py`); both use these placeholders and this reply shape, so a turn replayed on
either protocol writes the same data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.transcript.io import canonical


class Placeholders:
    """Volatile ids become `run_1`, `call_1`, `file_1`, ... in order of first appearance within one
    transcript; the kinds are arun's own words, never a protocol's id prefix (`resp_`, `fc_`, `asst_`), so
    both protocols number the same things alike. A file that arun manages is shown by its project path."""

    def __init__(self, file_labels: Mapping[str, str]) -> None:
        self.file_labels = file_labels
        self.given: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str, value: str | None) -> str | None:
        if value is None:
            return None
        if kind == "file" and value in self.file_labels:
            return self.file_labels[value]
        if value not in self.given:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.given[value] = f"{kind}_{self.counts[kind]}"
        return self.given[value]


def parsed(text: Any) -> Any:
    """JSON text as data with sorted keys (so only its content compares), other text as it is."""
    if not isinstance(text, str):
        return text
    try:
        return canonical(json.loads(text))
    except ValueError:
        return text


@dataclass(frozen=True)
class Citation:
    """A citation of a file in a reply: the file (project path or placeholder), where in the marker-free
    text it belongs (the offset, in characters, of the point right after the cited words), the quote when
    the API gives one."""

    file: str
    index: int
    quote: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "index": self.index}
        if self.quote:
            data["quote"] = self.quote
        return data


@dataclass(frozen=True)
class FileLink:
    """A span of the reply text that names a file the tools made (a `sandbox:` link): [start, end)."""

    file: str
    start: int
    end: int

    def to_data(self) -> dict[str, Any]:
        return {"file": self.file, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Reply:
    """One assistant message: its text without citation markers, its citations and file links."""

    text: str
    citations: tuple[Citation, ...] = ()
    files: tuple[FileLink, ...] = ()

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.citations:
            data["citations"] = [c.to_data() for c in self.citations]
        if self.files:
            data["files"] = [f.to_data() for f in self.files]
        return data


def joined(parts: list[Reply]) -> Reply:
    """Several text parts of one message as one reply: texts joined by a newline, offsets moved along."""
    if len(parts) == 1:
        return parts[0]
    texts: list[str] = []
    citations: list[Citation] = []
    files: list[FileLink] = []
    offset = 0
    for part in parts:
        citations += [Citation(c.file, c.index + offset, c.quote) for c in part.citations]
        files += [FileLink(f.file, f.start + offset, f.end + offset) for f in part.files]
        texts.append(part.text)
        offset += len(part.text) + 1
    return Reply("\n".join(texts), tuple(citations), tuple(files))
