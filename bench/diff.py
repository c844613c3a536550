"""`arun diff` of 1,000 transcript pairs: identical sets, sets where every scenario changed, and the same
with --text-similarity. Goal (README, "Performance"): < 1 s.

Beside each wall time, the command's CPU time (median, its child process included): diff forks a second
process only when a CPU is idle (runner/transcript/twoway.py), so on a busy machine wall and CPU agree, and
on an idle one the wall time is what the two processes make of the CPU time.

Whole commands in fresh processes (`python -m runner diff GOLDEN NEW`), interleaved round by round, medians.
Side by side in the same rounds, the yardsticks: `python -c pass`; reading the 2,000 files' bytes (the floor
of any diff); and libyaml parsing them to events without building anything (the floor of any reader built on
PyYAML, which arun's is: its C parser alone, before a single node, dict or check). With --before DIR
(another arun checkout, e.g. a `git worktree` of main), its commands run in the same rounds. Prints figures
and ratios; asserts nothing (machines here are shared and noisy).

Run: .venv/bin/python bench/diff.py [--rounds N] [--before DIR]
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import Row  # noqa: E402
from runner.transcript.io import write_transcript  # noqa: E402

PAIRS = 1000
READ = "import sys, pathlib\nfor d in sys.argv[1:]:\n    [p.read_bytes() for p in sorted(pathlib.Path(d).rglob('*.yaml'))]\n"
PARSE = (
    "import sys, pathlib, yaml\n"
    "for d in sys.argv[1:]:\n"
    "    for p in sorted(pathlib.Path(d).rglob('*.yaml')):\n"
    "        for _ in yaml.parse(p.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader): pass\n"
)


def sample(index: int) -> dict[str, Any]:
    turns = []
    for number in range(1, 4):
        turns.append(
            {
                "turn": number,
                "user": f"Question {number} of scenario {index}: what is {number} * {index}?",
                "run": {"id": f"run_{number}", "settings": {"temperature": 0}, "status": "completed"},
                "steps": [
                    {
                        "type": "tool_calls",
                        "status": "completed",
                        "calls": [
                            {
                                "type": "code_interpreter",
                                "id": "call_1",
                                "input": f"print({number} * {index})\n",
                            }
                        ],
                    },
                    {"type": "message_creation", "status": "completed", "message": 1},
                ],
                "reply": [{"text": f"The answer is {number * index}.\n" + "Working shown below.\n" * 5}],
                "expectations": [{"check": "contains", "expected": str(number * index), "passed": True}],
            }
        )
    return {
        "transcript": 2,
        "api": "assistants",
        "scenario": f"bench/s{index:04d}",
        "assistant": {"key": "math-tutor", "spec_hash": "sha256:0", "model": "gpt-4o"},
        "result": "passed",
        "turns": turns,
        "usage": {"total": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}},
    }


def make_sets(tmp: Path) -> tuple[Path, Path, Path]:
    golden, same, changed = tmp / "golden", tmp / "same", tmp / "changed"
    for index in range(PAIRS):
        data = sample(index)
        write_transcript(golden / f"s{index:04d}.yaml", data)
        write_transcript(same / f"s{index:04d}.yaml", data)
        other = copy.deepcopy(data)
        reply = other["turns"][1]["reply"][0]
        reply["text"] = reply["text"].replace("answer", "result")
        write_transcript(changed / f"s{index:04d}.yaml", other)
    return golden, same, changed


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR")}
    env["PYTHONPATH"] = str(tree)
    return env


CPU: dict[str, list[float]] = {}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str], cwd: Path, name: str = "") -> float:
    """Wall seconds of the command; its CPU seconds (with its own children's) go to CPU[name]: the figure
    that the shared machine's load disturbs least, and the one a second process does not lower."""
    # cwd outside every checkout: `python -m runner` puts the current folder first on sys.path.
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    CPU.setdefault(name, []).append(_cpu() - cpu)
    return time.perf_counter() - start


def measure(rounds: int, before: Path | None) -> tuple[dict[str, list[float]], tuple[float, float]]:
    py = sys.executable
    trees = {"now": ROOT} if before is None else {"before": before.resolve(), "now": ROOT}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        golden, same, changed = (str(p) for p in make_sets(Path(tmp)))
        rows: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([py, "-c", "pass"], _env(ROOT)),
            "read the 2,000 files": ([py, "-c", READ, golden, changed], _env(ROOT)),
            "libyaml events of the 2,000": ([py, "-c", PARSE, golden, changed], _env(ROOT)),
        }
        for label, tree in trees.items():
            diff = [py, "-m", "runner", "diff", golden]
            rows[f"{label}: identical"] = ([*diff, same], _env(tree))
            rows[f"{label}: every scenario changed"] = ([*diff, changed], _env(tree))
            rows[f"{label}: changed, --text-similarity 0.8"] = (
                [*diff, changed, "--text-similarity", "0.8"],
                _env(tree),
            )
        for argv, env in rows.values():  # warm-up: byte-code caches, file system caches
            _timed(argv, env, Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(rounds):
            for name, (argv, env) in rows.items():
                times[name].append(_timed(argv, env, Path(tmp), name))
    return times, (load_start, os.getloadavg()[0])


def report(times: dict[str, list[float]]) -> list[Row]:
    def med(name: str) -> float:
        return statistics.median(times[name])

    changed = med("now: every scenario changed")
    measured = (
        f"identical {med('now: identical'):.2f} s, every scenario changed {changed:.2f} s, changed with "
        f"--text-similarity 0.8 {med('now: changed, --text-similarity 0.8'):.2f} s (whole commands; "
        f"yardsticks: reading the 2,000 files {med('read the 2,000 files'):.2f} s, libyaml's events of them "
        f"{med('libyaml events of the 2,000'):.2f} s, python -c pass {med('python -c pass'):.2f} s)"
    )
    if "before: every scenario changed" in times:
        measured += f"; before: changed {med('before: every scenario changed'):.2f} s"
    met = max(med(f"now: {case}") for case in ("identical", "every scenario changed")) < 1.0
    return [Row("`arun diff` of 1,000 transcript pairs", "< 1 s", measured, met)]


def rows(rounds: int = 5, before: Path | None = None) -> list[Row]:
    return report(measure(rounds, before)[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another arun checkout to time in the same rounds")
    args = parser.parse_args()
    times, load = measure(args.rounds, args.before)
    floor = statistics.median(times["libyaml events of the 2,000"])
    print(
        f"`arun diff` of {PAIRS} transcript pairs, whole commands, medians of {args.rounds} rounds, load "
        f"average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} cores"
    )
    print("  (median, then the fastest round: on a shared machine the fastest is the least disturbed)")
    for name, values in times.items():
        median = statistics.median(values)
        cpu = statistics.median(CPU[name])
        print(
            f"  {name:44} {median:6.3f} s ({min(values):6.3f} s)  {median / floor:5.2f}x libyaml's events"
            f"  CPU {cpu:6.3f} s"
        )
    if args.before is not None:
        for case in ("identical", "every scenario changed", "changed, --text-similarity 0.8"):
            ratio = statistics.median(times[f"before: {case}"]) / statistics.median(times[f"now: {case}"])
            print(f"  {case}: now is {ratio:.1f}x faster than before")
    for row in report(times):
        print(f"  goal {row.goal!r}: {'met' if row.met else 'NOT met'}")


if __name__ == "__main__":
    main()
