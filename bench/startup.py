"""Start-up of `arun validate` and `arun diff` on a one-scenario project (the one `arun init` writes),
side by side with its yardsticks: `python -c pass` and `arun --help` (goal: < 0.15 s each).

Whole commands in fresh processes, interleaved round by round, medians over the rounds. Byte-code caches
are allowed (a warm-up run writes them), as on a user's machine after the first run. With --before DIR
(another checkout of arun, e.g. a `git worktree` of main), its commands run in the same rounds, so the two
are compared on the same load. Prints figures; asserts nothing. Run: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import Row  # noqa: E402

GOAL = 0.15  # seconds, each of validate and diff


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    return env


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def measure(rounds: int, before: Path | None = None) -> dict[str, list[float]]:
    """Seconds per round of each command, interleaved round by round in fresh processes."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        subprocess.run(
            [py, "-m", "runner", "init", str(project)], check=True, stdout=subprocess.DEVNULL, env=_env(ROOT)
        )
        golden = project / "transcripts"
        subprocess.run(
            [py, "-m", "runner", "replay"],
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(ROOT),
        )
        made = project / ".arun" / "transcripts"
        # The same set on both sides, but not the same bytes: the diff reads and compares both files.
        for path in made.rglob("*.yaml"):
            target = golden / path.relative_to(made)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        trees = {"now": ROOT} if before is None else {"before": before.resolve(), "now": ROOT}
        commands: dict[str, list[str]] = {"python -c pass": [py, "-c", "pass"]}
        for label in trees:
            commands[f"{label}: arun --help"] = [py, "-m", "runner", "--help"]
            commands[f"{label}: arun validate"] = [py, "-m", "runner", "validate"]
            commands[f"{label}: arun diff (1 pair)"] = [py, "-m", "runner", "diff", str(golden), str(made)]
        envs = {name: _env(trees[name.split(":")[0]] if ":" in name else ROOT) for name in commands}
        for name, argv in commands.items():  # warm-up: byte-code caches, file system caches
            _timed(argv, project, envs[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, argv in commands.items():
                times[name].append(_timed(argv, project, envs[name]))
    return times


def rows(rounds: int = 15) -> list[Row]:
    medians = {name: statistics.median(values) for name, values in measure(rounds).items()}
    floor, help_ = medians["python -c pass"], medians["now: arun --help"]
    validate, diff = medians["now: arun validate"], medians["now: arun diff (1 pair)"]
    return [
        Row(
            "`arun validate`, `arun diff` start-up on a one-scenario project",
            f"< {GOAL} s",
            f"validate {validate:.3f} s, diff {diff:.3f} s (python -c pass {floor:.3f} s, --help {help_:.3f} s)",
            validate < GOAL and diff < GOAL,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", type=Path, help="another arun checkout to time in the same rounds")
    args = parser.parse_args()
    times = measure(args.rounds, args.before)
    floor = statistics.median(times["python -c pass"])
    load = os.getloadavg()[0]
    print(
        f"start-up, one-scenario project, medians of {args.rounds} rounds (load average {load:.1f}, 2 cores):"
    )
    for name, values in times.items():
        median = statistics.median(values)
        goal = (
            ""
            if "pass" in name or "help" in name
            else (f"  meets < {GOAL} s" if median < GOAL else f"  MISSES {GOAL} s")
        )
        print(f"  {name:32} {median:6.3f} s  {median / floor:5.1f}x python -c pass{goal}")


if __name__ == "__main__":
    main()
