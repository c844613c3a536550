"""Replay at scale, as whole `arun replay` commands on the embedded local server (issue 15, rows 1-2 and
memory), each against its yardstick in the same run:

- wall time of 200 scenarios x 3 plain turns at 1 s model time, -j 200, against the same command
  replaying one of those scenarios alone (goal <= 1.15x);
- completion latency at -j 200: from the moment the server published a run's terminal event to the moment
  replay's engine handed the finished turn back (goal p99 < 50 ms), beside the same figure for the one
  scenario alone;
- peak RSS of the whole command (embedded server included) replaying 1,000 scenarios at -j 200 (goal
  < 150 MB), and of a larger set to show how it scales, against the command replaying one scenario.

Every command runs in a fresh process through this file's `--child` mode, which only adds two timestamp
hooks (the server's `Bus.publish` of a terminal event, the engine's `run_turn` return) and writes them out
at exit; memory is the child's own `ru_maxrss` (os.wait4). With --before DIR (another arun checkout, e.g.
`git archive main | tar -x -C DIR`), its commands run interleaved in the same rounds on the same load.
Prints figures and ratios; asserts nothing. Run: .venv/bin/python bench/replay_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.table import Row

ROOT = Path(__file__).resolve().parent.parent

ASSISTANT = """\
name: Scale Chat
model: gpt-4o
instructions: You answer briefly and politely.
"""
TURNS = (
    "Hello! What can you tell me about lighthouses?",
    "And how did their keepers live?",
    "Thank you, that is all for today.",
)
TERMINAL_EVENTS = {
    *(f"thread.run.{s}" for s in ("completed", "failed", "cancelled", "expired", "incomplete")),
    "response.completed",
    "response.failed",
    "response.incomplete",
}


def make_project(root: Path, count: int) -> None:
    (root / "assistants").mkdir(parents=True)
    (root / "assistants" / "chat.yaml").write_text(ASSISTANT)
    folder = root / "scenarios" / "scale"
    folder.mkdir(parents=True)
    turns = "".join(f"  - user: {text}\n" for text in TURNS)
    for index in range(count):
        (folder / f"s{index:05d}.yaml").write_text(f"assistant: chat\nturns:\n{turns}")


# -- the child: one whole command, with two timestamp hooks -------------------------------------------------


def child(out: str, argv: list[str]) -> None:
    import atexit
    import resource

    client: dict[str, float] = {}
    try:
        from runner.api import local
    except ImportError:  # a tree whose embedded server runs in the command's own process
        server = _time_terminal_events()
    else:
        # The server's own process: this file again, in --server-child mode, around the same command line.
        command = local.child_command

        def timed_command(db: Path, model_time: float) -> list[str]:
            real = command(db, model_time)
            return [
                real[0],
                str(Path(__file__).resolve()),
                "--server-child",
                out + ".server",
                "--",
                *real[3:],
            ]

        local.child_command = timed_command  # type: ignore[assignment]
        server = {}

    from runner.replay.engines import assistants, responses

    def hook(engine: Any, key: Any) -> None:
        run_turn = engine.run_turn

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            turn = run_turn(self, *args, **kwargs)
            ident = key(turn)
            if ident:
                client.setdefault(ident, time.monotonic())
            return turn

        engine.run_turn = timed

    hook(assistants.AssistantsEngine, lambda t: t.run_id)
    hook(responses.ResponsesEngine, lambda t: t.last.get("id"))

    def dump() -> None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        cpu = own.ru_utime + own.ru_stime
        Path(out).write_text(
            json.dumps({"server": server, "client": client, "rss_kb": own.ru_maxrss, "cpu": cpu})
        )

    atexit.register(dump)
    from runner.cli import main

    main(argv)


def _time_terminal_events() -> dict[str, float]:
    """The moment the server published each run's terminal event (CLOCK_MONOTONIC: one clock for every
    process of the machine)."""
    server: dict[str, float] = {}
    from runner.server import streaming

    publish = streaming.Bus.publish

    def timed_publish(self: Any, run_id: str, event: str, data: dict[str, Any]) -> None:
        publish(self, run_id, event, data)
        if event in TERMINAL_EVENTS:
            server.setdefault(run_id, time.monotonic())

    streaming.Bus.publish = timed_publish  # type: ignore[method-assign]
    return server


def server_child(out: str, argv: list[str]) -> int:
    import resource

    server = _time_terminal_events()
    from runner.server import child

    try:
        return child.main(argv)
    finally:
        own = resource.getrusage(resource.RUSAGE_SELF)
        cpu = own.ru_utime + own.ru_stime
        Path(out).write_text(json.dumps({"server": server, "rss_kb": own.ru_maxrss, "cpu": cpu}))


# -- the parent ------------------------------------------------------------------------------------------


def _env(tree: Path, model_time: float) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CI")
    }
    env["PYTHONPATH"] = str(tree)
    env["ARUN_MODEL_TIME"] = str(model_time)
    env["NO_COLOR"] = "1"
    return env


class Run:
    def __init__(self, seconds: float, cpu: float, rss_mb: float, latencies: list[float], code: int) -> None:
        self.seconds, self.cpu, self.rss_mb, self.latencies, self.code = seconds, cpu, rss_mb, latencies, code
        self.server_mb: float | None = None  # the server process's own peak, when it had one
        self.server_cpu: float | None = None  # the server process's own CPU seconds, when it had one


def command(tree: Path, project: Path, args: list[str], model_time: float) -> Run:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        stamps = Path(handle.name)
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(stamps), "--", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=project, env=_env(tree, model_time), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        print(f"  ! {' '.join(args)} exited {proc.returncode}: {errors.strip()[-600:]}", file=sys.stderr)
    data = json.loads(stamps.read_text() or "{}") if stamps.stat().st_size else {"server": {}, "client": {}}
    stamps.unlink()
    # Memory: the command's own peak plus its server process's peak when the server ran in a process of its
    # own (the sum of two peaks: never less than what the machine held at once); wait4's ru_maxrss otherwise.
    rss_kb = usage.ru_maxrss
    server_kb = server_cpu = None
    served = Path(str(stamps) + ".server")
    if served.is_file():
        server = json.loads(served.read_text())
        served.unlink()
        data["server"] = server["server"]
        server_kb = server["rss_kb"]
        server_cpu = server.get("cpu")
        rss_kb = data.get("rss_kb", usage.ru_maxrss) + server_kb
    latencies = [
        (data["client"][k] - data["server"][k]) * 1000 for k in data["client"] if k in data["server"]
    ]
    cpu = usage.ru_utime + usage.ru_stime
    run = Run(seconds, cpu, rss_kb / 1024, latencies, proc.returncode)
    run.server_mb = server_kb / 1024 if server_kb is not None else None
    run.server_cpu = server_cpu
    return run


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    trees = {"now": ROOT} if args.before is None else {"before": args.before.resolve(), "now": ROOT}
    results: dict[str, Any] = {"load": [os.getloadavg()[0]], "trees": list(trees)}
    for label in trees:
        results[label] = {"alone": [], "many": [], "memory": {}}
    with tempfile.TemporaryDirectory() as tmp:
        if "wall" in args.parts:
            projects = {}
            for label, tree in trees.items():
                projects[label] = Path(tmp) / label / "project"
                make_project(projects[label], args.scenarios)
                # Warm-up: replay applies the assistant on the embedded server, byte-code caches are written.
                command(tree, projects[label], ["replay", "scale/s00000"], 0.0)
            alone = ["replay", "scale/s00000", "-j", str(args.jobs)]
            many = ["replay", "scale/", "-j", str(args.jobs)]
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    results[label]["alone"].append(command(tree, projects[label], alone, args.model_time))
                    results[label]["many"].append(command(tree, projects[label], many, args.model_time))
                    results["load"].append(os.getloadavg()[0])
        if "memory" in args.parts:
            for count in [1, *args.memory]:
                for label, tree in trees.items():
                    project = Path(tmp) / label / f"mem{count}"
                    make_project(project, count)
                    command(tree, project, ["replay", "scale/s00000"], 0.0)  # applies first
                    run = command(
                        tree, project, ["replay", "scale/", "-j", str(args.jobs)], args.memory_model_time
                    )
                    results[label]["memory"][count] = run
                    results["load"].append(os.getloadavg()[0])
                    shutil.rmtree(project)
    return results


def summarise(results: dict[str, Any], args: argparse.Namespace) -> list[Row]:

    rows: list[Row] = []
    load = statistics.mean(results["load"])
    print(
        f"replay at scale, whole commands on the embedded server, scenarios of 3 plain turns, -j {args.jobs}; "
        f"load average {load:.1f} (max {max(results['load']):.1f}), {os.cpu_count()} cores"
    )
    if "wall" in args.parts:
        print(
            f"  wall and latency: {args.scenarios} scenarios at {args.model_time:g} s model time, medians of "
            f"{args.rounds} rounds"
        )
    if "memory" in args.parts:
        print(f"  memory: {args.memory_model_time:g} s model time")
    for label in results["trees"]:
        data = results[label]
        print(f"  {label}:")
        if "wall" in args.parts:
            rows += _wall(label, data, args, load, last=label == results["trees"][-1])
        if "memory" in args.parts:
            rows += _memory(label, data, args, load, last=label == results["trees"][-1])
    return rows


def _wall(label: str, data: dict[str, Any], args: argparse.Namespace, load: float, last: bool) -> list[Row]:
    from bench.table import Row

    alone = statistics.median(r.seconds for r in data["alone"])
    many = statistics.median(r.seconds for r in data["many"])
    ratio = many / alone
    lat_many = [x for r in data["many"] for x in r.latencies]
    lat_alone = [x for r in data["alone"] for x in r.latencies]
    p50, p99 = pct(lat_many, 0.5), pct(lat_many, 0.99)
    print(
        f"    wall: one scenario alone {alone:6.2f} s, {args.scenarios} at -j {args.jobs} {many:6.2f} s "
        f"= {ratio:.2f}x alone (goal <= 1.15x); model-time ideal {args.model_time * 3:.1f} s "
        f"(all rounds: {' '.join(f'{r.seconds:.2f}' for r in data['many'])})"
    )
    _cpu(data, args, alone)
    print(
        f"    completion latency at -j {args.jobs}: p50 {p50:6.1f} ms, p99 {p99:6.1f} ms, "
        f"max {max(lat_many, default=float('nan')):6.1f} ms over {len(lat_many)} turns (goal p99 < 50 ms); "
        f"one scenario alone: p99 {pct(lat_alone, 0.99):.1f} ms"
    )
    _failed([*data["alone"], *data["many"]])
    if not last:
        return []
    return [
        Row(
            f"{args.scenarios} scenarios x 3 plain turns, {args.model_time:g} s model time, -j {args.jobs}",
            "<= 1.15x one of them alone",
            f"{ratio:.2f}x ({many:.2f} s vs {alone:.2f} s alone; load {load:.1f})",
            ratio <= 1.15,
        ),
        Row(
            f"completion latency (server finished the run -> replay has the turn), -j {args.jobs}",
            "p99 < 50 ms",
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (alone: p99 {pct(lat_alone, 0.99):.0f} ms; load {load:.1f})",
            p99 < 50,
        ),
    ]


def _cpu(data: dict[str, Any], args: argparse.Namespace, alone: float) -> None:
    """CPU per further turn, the replay's own and the server's, against the budget the wall goal leaves:
    the further turns may add 15% of the one scenario's wall time, on every core at best."""
    further = max(1, args.scenarios - 1) * 3

    def per_turn(key: Any) -> float:
        return (
            statistics.median(map(key, data["many"])) - statistics.median(map(key, data["alone"]))
        ) / further

    whole = per_turn(lambda r: r.cpu) * 1000
    alone_cpu = statistics.median(r.cpu for r in data["alone"])
    split, server = "", 0.0
    if all(r.server_cpu is not None for r in [*data["alone"], *data["many"]]):
        server = per_turn(lambda r: r.server_cpu) * 1000
        split = f" = replay {whole - server:.1f} + server {server:.1f}"
    cores = os.cpu_count() or 1
    budget = (1.15 * alone * cores - alone_cpu) / further * 1000
    print(
        f"    CPU (user+sys) per further turn, whole command: {whole:.1f} ms{split}; at most {budget:.1f} ms fits "
        f"the 1.15x goal's wall time on {cores} cores (an upper bound: every core busy all the time)"
    )
    if split and args.model_time > 0:
        busy = (whole - server) * args.scenarios / (args.model_time * 1000)
        print(
            f"    replay's interpreter (one lock for all its threads): {whole - server:.1f} ms per turn x "
            f"{args.scenarios} scenarios per {args.model_time:g} s of model time = {busy:.0%} of one core"
        )


def _memory(label: str, data: dict[str, Any], args: argparse.Namespace, load: float, last: bool) -> list[Row]:
    from bench.table import Row

    memory: dict[int, Run] = data["memory"]
    parts = [f"{n:,}: {m.rss_mb:.1f} MB{_split(m)} in {m.seconds:.1f} s" for n, m in memory.items()]
    print(
        f"    peak RSS of the whole command (embedded server included), -j {args.jobs}: " + "; ".join(parts)
    )
    counts = sorted(memory)
    growth = ""
    if len(counts) >= 3:
        small, large = counts[1], counts[-1]
        per = (memory[large].rss_mb - memory[small].rss_mb) / (large - small) * 1000
        growth = f"; {per:.1f} MB more per 1,000 scenarios from {small:,} to {large:,}"
        print(f"    growth{growth[1:]}")
    _failed(list(memory.values()))
    if not last or 1000 not in memory:
        return []
    others = "".join(f"; {n:,}: {m.rss_mb:.0f} MB" for n, m in memory.items() if n > 1000)
    return [
        Row(
            f"peak RSS, replay of 1,000 scenarios at -j {args.jobs} (whole command, embedded server included)",
            "< 150 MB; linear beyond",
            f"{memory[1000].rss_mb:.0f} MB (one scenario: {memory[1].rss_mb:.0f} MB{others}{growth})",
            memory[1000].rss_mb < 150,
        )
    ]


def _split(run: Run) -> str:
    if run.server_mb is None:
        return ""
    return f" (replay {run.rss_mb - run.server_mb:.1f} + server {run.server_mb:.1f})"


def _failed(runs: list[Run]) -> None:
    failed = [r.code for r in runs if r.code != 0]
    if failed:
        print(f"    ! {len(failed)} command(s) did not exit 0: these figures are not valid")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--model-time", type=float, default=1.0)
    parser.add_argument("--memory", type=lambda s: [int(x) for x in s.split(",") if x], default=[1000, 3000])
    parser.add_argument("--memory-model-time", type=float, default=0.2)
    parser.add_argument("--before", type=Path, help="another arun checkout to run in the same rounds")
    parser.add_argument("--quick", action="store_true", help="one round, memory at 1,000 only")
    parser.add_argument("--parts", type=lambda s: set(s.split(",")), default={"wall", "memory"})
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.memory = 1, [1000]
    return args


def rows(parts: str = "wall,memory") -> list[Row]:
    args = parse(["--parts", parts])
    return summarise(measure(args), args)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        # The child imports arun from the tree under test (PYTHONPATH), never from this file's own.
        child(sys.argv[2], sys.argv[sys.argv.index("--") + 1 :])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--server-child":
        sys.exit(server_child(sys.argv[2], sys.argv[sys.argv.index("--") + 1 :]))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    args = parse()
    for row in summarise(measure(args), args):
        print(f"| {row.what} | {row.goal} | {row.measured} | {'yes' if row.met else 'no'} |")


if __name__ == "__main__":
    main()
