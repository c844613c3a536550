"""Finding each scenario's assistant on the API, and the project files it was given."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.api.session import Api
from runner.apply.desired import SHORT_HASH, DesiredAssistant, desired_assistant
from runner.apply.remote import RemoteAssistant, read_assistants
from runner.errors import RunnerError
from runner.project.models import Project, Scenario
from runner.replay.labels import file_labels
from runner.replay.play import Target
from runner.replay.uptodate import OnStale, Stale, refuse

ATTACHMENT_MARK = "arun-replay"


def resolve_targets(
    api: Api, project: Project, scenarios: Iterable[Scenario], on_stale: OnStale | None = None
) -> dict[str, Target]:
    """The scenarios' assistants on the API. One that is missing or differs from its YAML goes to
    `on_stale` (runner.replay.uptodate: apply first on the embedded server, refuse elsewhere), which
    raises or brings the API up to date; it is then read again and must match."""
    keys = sorted({s.assistant for s in scenarios})
    desired = {k: desired_assistant(project.root, project.assistants[k]) for k in keys}
    managed, _ = read_assistants(api)
    stale = _stale(keys, desired, managed)
    if stale:
        (on_stale or (lambda found: refuse(found, api.base_url)))(stale)
        managed, _ = read_assistants(api)
        still = _stale(keys, desired, managed)
        if still:
            raise RunnerError(f"{still.describe()} even after bringing the API up to date")
    labels = {k: file_labels(api, managed[k][0], desired[k]) for k in keys}
    targets = {}
    for key in keys:
        remote = managed[key][0]
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


def _stale(
    keys: list[str], desired: dict[str, DesiredAssistant], managed: dict[str, list[RemoteAssistant]]
) -> Stale:
    return Stale(
        missing=tuple(k for k in keys if k not in managed),
        differ=tuple(k for k in keys if k in managed and managed[k][0].spec_hash != desired[k].spec_hash),
    )


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
