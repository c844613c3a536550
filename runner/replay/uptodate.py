"""Never replay against objects that differ from the YAML (DESIGN.md "Replay").

Protocol-independent: an engine says which of the YAML's objects it needs are missing on the API or differ
from their YAML (assistants for the Assistants API; files and vector stores for the Responses API), and
`Stale` decides what happens. On the embedded local server, the user's private sandbox, replay brings the
API up to date first with apply's own code path; on any other API it stops with the command to run
(exit 2: arun could not do the job), because changing a shared server is apply's decision, not replay's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from runner.api.session import Api
from runner.errors import RunnerError


class StaleObjects(RunnerError):
    """The API's objects do not match the YAML and replay may not change them."""


@dataclass(frozen=True)
class Stale:
    missing: tuple[str, ...] = ()  # keys not on the API at all
    differ: tuple[str, ...] = ()  # keys on the API whose spec differs from the YAML's
    kind: str = "assistant"

    def __bool__(self) -> bool:
        return bool(self.missing or self.differ)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"{_names(self.kind, self.missing)} not on the API")
        if self.differ:
            verb = "differs" if len(self.differ) == 1 else "differ"
            parts.append(f"{_names(self.kind, self.differ)} {verb} from the YAML")
        return "; ".join(parts)


def _names(kind: str, keys: tuple[str, ...]) -> str:
    return f"{kind}{'s' if len(keys) != 1 else ''} {', '.join(keys)}"


OnStale = Callable[[Stale], None]


def refuse(stale: Stale, where: str) -> None:
    raise StaleObjects(
        f"{stale.describe()} on {where}: replay never runs against what the YAML does not say. "
        "Run `arun apply` against the same API first (with the same --base-url / OPENAI_BASE_URL), "
        "then replay again."
    )


def apply_first_on_local(api: Api, root: Path, *, quiet: bool = False) -> OnStale:
    """The Assistants policy: converge with apply's code path on the embedded server, refuse elsewhere."""

    def on_stale(stale: Stale) -> None:
        if not api.local:
            refuse(stale, api.base_url)
        from runner.commands.apply import converge
        from runner.commands.plan import make_plan

        plan = make_plan(api, root, prune=False)
        if not quiet:
            click.echo(
                f"arun: {stale.describe()}: applying to the embedded local server first "
                f"({plan.count('create')} to create, {plan.count('update')} to update, "
                f"{plan.count('delete')} to delete)",
                err=True,
            )
        if not plan.empty:
            converge(api, root, plan, prune=False)

    return on_stale
