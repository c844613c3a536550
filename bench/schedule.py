"""What `run_all` itself costs per scenario (scheduling and collecting), apart from the scenarios' work,
side by side with its ideal: the same thread pool running the same sleeps through `map`.

Each scenario's work is replaced here by a sleep of 0-200 ms (play) and no transcript write, so only run_all's own
cost is measured, at 1,000 and 10,000 scenarios, -j 200. The issue measured the quadratic collecting at
0.4 s for 1,000 and about 57 s for 10,000. With --before DIR (another arun checkout) its run_all is timed in
the same run. Prints figures; asserts nothing. Run: .venv/bin/python bench/schedule.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 200
WORK = 0.1  # each scenario's stand-in work: a sleep of 0-200 ms, so they finish one by one, as they do


def _durations(count: int) -> list[float]:
    rng = random.Random(count)
    return [rng.uniform(0, 2 * WORK) for _ in range(count)]


def _one_measure(count: int) -> tuple[float, float]:
    import runner.replay.runner as module
    from runner.replay.play import Outcome

    durations = iter(_durations(count))

    def play(*args: Any, **kwargs: Any) -> Outcome:
        time.sleep(next(durations))
        return Outcome(name="x", data={"result": "passed"}, failures=[])

    module.play = play  # type: ignore[assignment]
    module.write_transcript = lambda path, data: None  # type: ignore[assignment]
    jobs = [(f"s{i}", SimpleNamespace(assistant="a")) for i in range(count)]
    engine = SimpleNamespace(stopper=None)
    start, cpu = time.perf_counter(), time.process_time()
    module.run_all(
        SimpleNamespace(spread=lambda threads: None),
        engine,
        jobs,
        {"a": None},
        {},
        Path("."),
        WORKERS,
        lambda name, outcome: None,
    )  # type: ignore[arg-type]
    return time.perf_counter() - start, time.process_time() - cpu


def _ideal(count: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(time.sleep, _durations(count)))
    return time.perf_counter() - start, time.process_time() - cpu


def _in_tree(tree: Path, count: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import schedule; print(schedule._one_measure({count}))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.strip().splitlines()[-1].strip("()").split(",")
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    trees = {"now": ROOT} if args.before is None else {"before": args.before.resolve(), "now": ROOT}
    print(
        f"run_all's own cost, -j {WORKERS}, medians of {args.rounds} (load average {os.getloadavg()[0]:.1f}):"
    )
    for count in (1_000, 10_000):
        figures: dict[str, list[tuple[float, float]]] = {
            "ideal (pool.map)": [],
            **{label: [] for label in trees},
        }
        for _ in range(args.rounds):
            figures["ideal (pool.map)"].append(_ideal(count))
            for label, tree in trees.items():
                figures[label].append(_in_tree(tree, count))
        ideal = statistics.median(w for w, _ in figures["ideal (pool.map)"])
        ideal_cpu = statistics.median(c for _, c in figures["ideal (pool.map)"])
        for label, values in figures.items():
            wall = statistics.median(w for w, _ in values)
            cpu = statistics.median(c for _, c in values)
            print(
                f"  {count:>6,} scenarios  {label:18} {wall:7.3f} s  {wall / ideal:5.2f}x ideal"
                f"   CPU {cpu:6.2f} s  {cpu / ideal_cpu:5.1f}x ideal's"
            )


if __name__ == "__main__":
    main()
