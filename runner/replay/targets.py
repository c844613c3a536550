"""Finding each scenario's assistant on the API, and the project files it was given."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from runner.api.session import Api
from runner.apply.desired import SHORT_HASH, desired_assistant
from runner.apply.remote import read_assistants
from runner.errors import RunnerError
from runner.project.models import Project, Scenario
from runner.replay.labels import file_labels
from runner.replay.play import Target

ATTACHMENT_MARK = "arun-replay"


def resolve_targets(api: Api, project: Project, scenarios: Iterable[Scenario]) -> dict[str, Target]:
    keys = sorted({s.assistant for s in scenarios})
    managed, _ = read_assistants(api)
    missing = [k for k in keys if k not in managed]
    if missing:
        names = ", ".join(missing)
        raise RunnerError(
            f"assistant(s) {names} not found on the API (as arun-managed): run `arun apply` first"
        )
    desired = {k: desired_assistant(project.root, project.assistants[k]) for k in keys}
    labels = {k: file_labels(api, managed[k][0], desired[k]) for k in keys}
    targets = {}
    for key in keys:
        remote = managed[key][0]
        if remote.spec_hash != desired[key].spec_hash:
            click.echo(
                f"arun: warning: assistant {key} on the API differs from its YAML; run `arun apply`", err=True
            )
        assistant = project.assistants[key]
        search = "file_search" in assistant.tool_types
        targets[key] = Target(
            key=key,
            id=remote.id,
            spec_hash=remote.spec_hash,
            model=str(remote.raw.get("model")),
            search=search,
            instructions=remote.raw.get("instructions"),
            file_labels=labels[key],
        )
    return targets


@contextmanager
def uploaded_attachments(api: Api, root: Path, scenarios: Iterable[Scenario]) -> Iterator[dict[str, str]]:
    """Upload the files scenarios attach to messages, once each, and delete them when replay ends."""
    paths = sorted({a.file for s in scenarios for t in s.turns for a in t.user.attachments})
    ids: dict[str, str] = {}
    try:
        for rel in paths:
            data = (root / rel).read_bytes()
            name = f"{ATTACHMENT_MARK}~{hashlib.sha256(data).hexdigest()[:SHORT_HASH]}~{Path(rel).name}"
            uploaded = api.call(
                f"upload attachment {rel}",
                api.client.files.create,
                file=(name, data),
                purpose="assistants",
                write=True,
            )
            ids[rel] = uploaded.id
        yield ids
    finally:
        for file_id in ids.values():
            api.call("delete an attachment", api.client.files.delete, file_id, write=True)
