"""Harnesses for applies that are cut off or run two at once, shared by the Assistants and the Responses
(files only) apply tests: the same crash and race safety is asked of both."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions
from runner.server.embedded import EmbeddedServer

Hook = Callable[[str], None]


class Killed(BaseException):
    """Stands for the process dying: nothing in arun catches it."""


def cut_after(limit: int) -> tuple[list[str], Hook]:
    """A write hook that lets `limit` writes through and dies before the next; and the writes it saw."""
    seen: list[str] = []

    def hook(what: str) -> None:
        if len(seen) == limit:
            raise Killed(what)
        seen.append(what)

    return seen, hook


def cut_at_every_write(
    project: Path,
    folder: Path,
    api_key: str,
    converged: Callable[[EmbeddedServer, int], None],
    *,
    api: str = "assistants",
    before: Callable[[ApiOptions], None] = lambda options: None,
) -> int:
    """For each number of writes 0, 1, 2, ...: on a new server (state in `folder`), `before(options)`, then
    an apply on `api` that dies after that many writes, then a whole apply, which must succeed and leave the
    state that `converged(server, cuts)` checks. Ends with the first apply that was not cut (it had fewer
    writes than the limit) and returns the number of writes it made."""
    cuts = 0
    while True:
        with EmbeddedServer(folder / f"cut{cuts}.db", api_key) as server:
            settings = ApiOptions(server.base_url, api_key, api=api)
            before(settings)
            try:
                run_apply(project, settings, yes=True, hook=cut_after(cuts)[1])
                finished = True
            except Killed:
                finished = False
            assert run_apply(project, settings, yes=True) == 0
            converged(server, cuts)
        if finished:
            return cuts
        cuts += 1


def race(project: Path, options: ApiOptions, second_plans_after: int) -> list[BaseException]:
    """Apply twice at once; the second plans once the first has made `second_plans_after` writes, while the
    first waits for it (so the second plans from exactly that state). Returns what either raised."""
    first_at_gate = threading.Event()
    second_planned = threading.Event()
    counts = {"first": 0}

    def first_hook(what: str) -> None:
        if counts["first"] == second_plans_after:
            first_at_gate.set()
            second_planned.wait(timeout=30)
        counts["first"] += 1

    def second_hook(what: str) -> None:
        second_planned.set()

    errors: list[BaseException] = []

    def first() -> None:
        try:
            run_apply(project, options, yes=True, hook=first_hook)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            first_at_gate.set()  # a first apply with fewer writes than the gate still lets the second go

    def second() -> None:
        first_at_gate.wait(timeout=30)
        try:
            run_apply(project, options, yes=True, hook=second_hook)
        except BaseException as exc:
            errors.append(exc)
        finally:
            second_planned.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an apply hung"
    return errors
