"""Replaying many scenarios: selection, sharding, concurrency, Ctrl-C, transcripts on disk."""

from __future__ import annotations

import fnmatch
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import click

from runner.api.session import Api
from runner.errors import NothingSelected
from runner.project.models import Project, Scenario
from runner.replay.engines.base import Engine
from runner.replay.handlers import Handlers
from runner.replay.play import Outcome, Target, play
from runner.transcript.io import write_transcript


class Reporter(Protocol):
    """What run_all tells as it goes (runner.replay.progress.Progress)."""

    def done(self, name: str, outcome: Outcome) -> None: ...

    def tick(self) -> None: ...


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    pattern: str | None = None
    owns: Callable[[str], bool] | None = None
    repeat: int = 1


def _normalised(given: str) -> str:
    return given.removeprefix("scenarios/").removesuffix(".yaml").removesuffix(".yml").rstrip("/")


def select(project: Project, selection: Selection) -> list[Scenario]:
    """Scenarios by name or folder (`math-tutor/seed`, `math-tutor/`), then -k PATTERN, then the shard."""
    known = sorted(project.scenarios)
    wanted = [_normalised(g) for g in selection.names]
    for given, name in zip(selection.names, wanted, strict=True):
        if not any(n == name or n.startswith(name + "/") for n in known):
            raise NothingSelected(
                f"no scenario {given!r}: scenarios are named by their path under scenarios/ without .yaml "
                "(`math-tutor/seed-jane-doe`) or by a folder (`math-tutor/`)"
            )
    matched = []
    for name in known:
        if wanted and not any(name == w or name.startswith(w + "/") for w in wanted):
            continue
        if selection.pattern and not (selection.pattern in name or fnmatch.fnmatch(name, selection.pattern)):
            continue
        matched.append(project.scenarios[name])
    if not matched and selection.pattern:
        among = f" among {', '.join(selection.names)}" if selection.names else ""
        raise NothingSelected(
            f"-k {selection.pattern!r} matches no scenario{among}: it matches a part of a scenario's name "
            "or the whole name as a glob"
        )
    # A shard that owns none of them is not the user's mistake (a small project in a wide CI matrix).
    return [s for s in matched if selection.owns is None or selection.owns(s.name)]


def transcript_name(scenario: Scenario, repeat: int, index: int) -> str:
    return scenario.name if repeat == 1 else f"{scenario.name}@{index}"


def run_all(
    api: Api,
    engine: Engine,
    jobs: list[tuple[str, Scenario]],
    targets: dict[str, Target],
    attachments: dict[str, str],
    out_dir: Path,
    workers: int,
    progress: Reporter,
    handlers: Handlers | None = None,
) -> list[tuple[str, Outcome]]:
    stopper = engine.stopper
    results: dict[str, Outcome] = {}

    def one(name: str, scenario: Scenario) -> Outcome | None:
        if stopper.reason is not None:
            return None  # never started: no transcript, not in the results
        start = time.perf_counter()
        outcome = play(engine, scenario, targets[scenario.assistant], attachments, handlers)
        outcome.seconds = time.perf_counter() - start
        if outcome.result == "interrupted" and not outcome.data["turns"]:
            return None  # stopped before its first run began
        write_transcript(out_dir / f"{name}.yaml", outcome.data)
        return outcome.written()

    api.spread(min(max(1, workers), len(jobs)))
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="arun-replay")
    pending: dict[Future[Outcome | None], str] = {}
    finished: queue.SimpleQueue[Future[Outcome | None]] = queue.SimpleQueue()

    def collect(futures: list[Future[Outcome | None]]) -> None:
        for future in futures:
            name = pending.pop(future)
            outcome = future.result()
            if outcome is not None:
                results[name] = outcome
                progress.done(name, outcome)

    with _ctrl_c_as_flag() as interrupted:
        try:
            for name, scenario in jobs:
                future = pool.submit(one, name, scenario)
                pending[future] = name
                future.add_done_callback(finished.put)
            # Each finished future is handed over once, so collecting costs the same for the 10,000th
            # scenario as for the first (waiting on every pending future per finish was quadratic).
            while pending and not interrupted.is_set():
                with suppress(queue.Empty):
                    collect([finished.get(timeout=0.2)])
                progress.tick()
            if interrupted.is_set():
                click.echo(
                    "Stopping: cancelling the active runs (Ctrl-C again quits without waiting).", err=True
                )
                stopper.stop("interrupted (Ctrl-C)")
                engine.cancel_active()
                stopper.close_streams()
                collect(
                    [f for f in pending if not f.cancel()]
                )  # workers write what they have, marked interrupted
                raise KeyboardInterrupt
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [(name, results[name]) for name, _ in jobs if name in results]


@contextmanager
def _ctrl_c_as_flag() -> Iterator[threading.Event]:
    """Ctrl-C sets a flag instead of raising wherever the main thread happens to be: a KeyboardInterrupt
    inside concurrent.futures' own locking can leave a future's lock held and hang every worker. A second
    Ctrl-C quits at once."""
    flag = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if flag.is_set():
            os._exit(130)
        flag.set()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (library use): keep Python's default behaviour
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def plan_jobs(scenarios: Sequence[Scenario], repeat: int) -> list[tuple[str, Scenario]]:
    return [(transcript_name(s, repeat, i), s) for s in scenarios for i in range(1, repeat + 1)]
