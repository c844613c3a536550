"""What the YAML wants: per assistant key, the API fields, the files with their content hashes, a spec hash.

Ownership without a state file (docs/apply.md): assistants and vector stores arun creates carry reserved
metadata; uploaded files carry their owner and content hash in their filename,
`arun~<key>~<sha256 first 12 hex>~<basename>`, because files have no metadata of their own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.project.models import Assistant, Project

MANAGED_VALUE = "true"
KEY_MANAGED, KEY_KEY, KEY_HASH, KEY_FILES = "arun_managed", "arun_key", "arun_spec_hash", "arun_files"
FILENAME_MARK = "arun"
SHORT_HASH = 12


@dataclass(frozen=True)
class DesiredFile:
    path: str  # project-relative
    sha256: str
    size: int

    @property
    def short(self) -> str:
        return self.sha256[:SHORT_HASH]

    def upload_name(self, key: str) -> str:
        return f"{FILENAME_MARK}~{key}~{self.short}~{Path(self.path).name}"


@dataclass(frozen=True)
class DesiredAssistant:
    key: str
    fields: dict[str, Any]  # API fields, user metadata only (arun's keys are added when writing)
    search_files: tuple[DesiredFile, ...]
    code_files: tuple[DesiredFile, ...]
    spec_hash: str

    def metadata(self) -> dict[str, str]:
        own = {
            KEY_MANAGED: MANAGED_VALUE,
            KEY_KEY: self.key,
            KEY_HASH: self.spec_hash,
            KEY_FILES: ",".join(f.short for f in self.code_files),
        }
        return {**self.fields.get("metadata", {}), **own}


@dataclass(frozen=True)
class UploadName:
    key: str
    short: str
    basename: str


def parse_upload_name(filename: str) -> UploadName | None:
    parts = filename.split("~", 3)
    if len(parts) != 4 or parts[0] != FILENAME_MARK or len(parts[2]) != SHORT_HASH:
        return None
    return UploadName(parts[1], parts[2], parts[3])


def _file(root: Path, rel: str) -> DesiredFile:
    data = (root / rel).read_bytes()
    return DesiredFile(rel, hashlib.sha256(data).hexdigest(), len(data))


def spec_hash(fields: dict[str, Any], search: tuple[DesiredFile, ...], code: tuple[DesiredFile, ...]) -> str:
    spec = {
        "fields": fields,
        "file_search": [[f.path, f.sha256] for f in search],
        "code_interpreter": [[f.path, f.sha256] for f in code],
    }
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def desired_assistant(root: Path, assistant: Assistant) -> DesiredAssistant:
    fields = assistant.api_fields()
    search = tuple(_file(root, p) for p in assistant.file_search_files)
    code = tuple(_file(root, p) for p in assistant.code_interpreter_files)
    return DesiredAssistant(assistant.key, fields, search, code, spec_hash(fields, search, code))


def desired_state(project: Project) -> dict[str, DesiredAssistant]:
    return {key: desired_assistant(project.root, a) for key, a in sorted(project.assistants.items())}
