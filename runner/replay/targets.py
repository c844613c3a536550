"""Finding each scenario's assistant on the API, and the project files it was given."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from runner.api.session import Api
from runner.apply.desired import SHORT_HASH, DesiredAssistant, desired_assistant
from runner.apply.remote import RemoteAssistant, RemoteState, read_assistants, read_remote
from runner.errors import RunnerError
from runner.project.models import Project, Scenario
from runner.replay.labels import file_labels, search_labels
from runner.replay.play import Target
from runner.replay.uptodate import OnStale, Stale, refuse

ATTACHMENT_MARK = "arun-replay"


class StaleFiles(RunnerError):
    """The managed files or vector stores on the API differ from the YAML, and replay may not apply them."""


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


# On the Responses API: no assistant object; the managed files and vector stores are what must match.


def stale_files(desired: dict[str, DesiredAssistant], remote: RemoteState) -> list[str]:
    """The keys whose managed files or vector store differ from the YAML on the API (missing included)."""
    from runner.apply.files_only import compute_files_plan

    plan = compute_files_plan(desired, remote)
    return sorted({c.key for c in plan.changes if c.action in ("create", "update") and c.key in desired})


def resolve_response_targets(
    api: Api, project: Project, scenarios: Iterable[Scenario], *, local: bool
) -> dict[str, Target]:
    """Each scenario's assistant compiled from its YAML, with the ids of what apply manages for it. The
    files and stores must match the YAML: on the embedded local server replay applies them first (files
    only), on any other API it refuses with the command to run."""
    from runner.apply.files_only import chosen_upload, managed_resources
    from runner.commands.apply import converge
    from runner.commands.plan import make_plan

    keys = sorted({s.assistant for s in scenarios})
    desired = {k: desired_assistant(project.root, project.assistants[k]) for k in keys}
    remote = read_remote(api)
    stale = stale_files(desired, remote)
    if stale and local:
        click.echo(
            f"arun: the managed files of {', '.join(stale)} differ from the YAML: applying them (files and "
            "vector stores only) to the embedded local server first",
            err=True,
        )
        converge(
            api, project.root, make_plan(api, project.root, prune=False, protocol="responses"), prune=False
        )
        remote = read_remote(api)
        stale = stale_files(desired, remote)
    if stale:
        raise StaleFiles(
            f"the managed files or vector stores of {', '.join(stale)} on the API differ from the YAML: replay "
            "never runs against what the YAML does not say. Run `arun apply --api responses` against the "
            "same API first, then replay again."
        )
    targets = {}
    for key in keys:
        want = desired[key]
        managed = managed_resources(want, remote)
        assert managed is not None  # nothing is stale
        labels: dict[str, str] = {}
        for store_id in managed.vector_store_ids:
            labels.update(search_labels(remote.stores[store_id].files))
        for wanted in want.code_files:
            upload = chosen_upload(key, wanted.short, remote)
            if upload is not None:
                labels.setdefault(upload.id, wanted.path)
        assistant = project.assistants[key]
        targets[key] = Target(
            key=key,
            id="",
            spec_hash=want.spec_hash,
            model=assistant.model,
            search="file_search" in assistant.tool_types,
            instructions=assistant.instructions,
            file_labels=labels,
            assistant=assistant,
            managed=managed,
        )
    return targets
