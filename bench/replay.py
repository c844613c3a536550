"""Replay on the local server at a fixed simulated model time: arun streaming at -j 1 and -j 32, arun
--poll, the Responses engine (`--api responses`, each state mode) beside them, and the seed tutorial's loop
(add a message, start a run, poll every second, read the messages).

Prints requests per turn and wall time against the ideal (model time x turns / concurrency), side by side
in one run; asserts nothing. Run: .venv/bin/python bench/replay.py
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.table import Row
from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions
from runner.commands.replay import ReplayOptions, run_replay
from runner.project.load import require_project
from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings

REPO = Path(__file__).resolve().parent.parent
MODEL_TIME = 0.25
COPIES = 32
KEY = "sk-bench-replay"


def make_project(root: Path) -> int:
    for name in ("assistants", "corpus", "prompts"):
        shutil.copytree(REPO / name, root / name)
    folder = root / "scenarios" / "bench"
    folder.mkdir(parents=True)
    source = (REPO / "scenarios/math-tutor/follow-up.yaml").read_text()
    for index in range(COPIES):
        (folder / f"follow-up-{index:02d}.yaml").write_text(source)
    return COPIES * 3  # turns


def requests(log: Path, since: int) -> int:
    return len(log.read_text().splitlines()) - since


def arun_replay(
    root: Path, server: EmbeddedServer, log: Path, api: str = "assistants", **options: object
) -> tuple[float, int]:
    mark = requests(log, 0)
    start = time.perf_counter()
    where = ApiOptions(server.base_url, KEY, api=api)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        run_replay(root, where, ReplayOptions(names=("bench/",), **options))  # type: ignore[arg-type]
    return time.perf_counter() - start, requests(log, mark)


def seed_loop(root: Path, server: EmbeddedServer, log: Path) -> tuple[float, int]:
    """The tutorial's way, one turn after another: message, run, poll each second, list messages."""
    project = require_project(root)
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    assistant = next(
        a
        for a in client.beta.assistants.list(limit=100)
        if (a.metadata or {}).get("arun_key") == "math-tutor"
    )
    mark = requests(log, 0)
    start = time.perf_counter()
    for scenario in (s for name, s in project.scenarios.items() if name.startswith("bench/")):
        thread = client.beta.threads.create()
        for turn in scenario.turns:
            client.beta.threads.messages.create(thread.id, role="user", content=turn.user.text)
            run = client.beta.threads.runs.create(
                thread.id, assistant_id=assistant.id, **scenario.run_settings(turn)
            )
            while run.status in ("queued", "in_progress"):
                time.sleep(1.0)
                run = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            client.beta.threads.messages.list(thread.id)
    client.close()
    return time.perf_counter() - start, requests(log, mark)


def rows() -> list[Row]:
    """Issue 15's rows 1-2 (200 scenarios at -j 200 against one alone; completion latency), measured as whole
    commands by bench/replay_scale.py; this file's own figures above are context, printed by main()."""
    from bench import replay_scale

    return replay_scale.rows("wall")


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's notice about the sunset
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        turns = make_project(root)
        log = Path(tmp) / "access.jsonl"
        settings = RunSettings(model_time=MODEL_TIME)
        with (
            log.open("a") as handle,
            EmbeddedServer(Path(tmp) / "bench.db", KEY, access_log=handle, runs=settings) as server,
        ):
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                run_apply(root, ApiOptions(server.base_url, KEY), yes=True)
            rows = [
                ("arun, streaming, -j 1", 1, *arun_replay(root, server, log, jobs=1)),
                ("arun, streaming, -j 32", 32, *arun_replay(root, server, log, jobs=32)),
                ("arun --poll, -j 32", 32, *arun_replay(root, server, log, jobs=32, poll=True)),
                ("responses, -j 1", 1, *arun_replay(root, server, log, "responses", jobs=1)),
                ("responses, -j 32", 32, *arun_replay(root, server, log, "responses", jobs=32)),
                (
                    "responses prev-resp -j 32",
                    32,
                    *arun_replay(root, server, log, "responses", jobs=32, state="previous-response"),
                ),
                (
                    "responses stateless -j 32",
                    32,
                    *arun_replay(root, server, log, "responses", jobs=32, state="stateless"),
                ),
                ("seed tutorial loop", 1, *seed_loop(root, server, log)),
            ]
    print(f"{COPIES} scenarios x 3 turns = {turns} turns; simulated model time {MODEL_TIME} s per model step")
    print("(every turn here takes two model steps, a code_interpreter call and the answer: wall/ideal >= 2)")
    print(f"{'':24s} {'wall s':>8s} {'ideal s':>8s} {'wall/ideal':>10s} {'requests':>9s} {'req/turn':>9s}")
    for label, concurrency, seconds, count in rows:
        ideal = MODEL_TIME * turns / concurrency
        print(
            f"{label:24s} {seconds:8.2f} {ideal:8.2f} {seconds / ideal:10.2f} {count:9d} {count / turns:9.2f}"
        )
    print(json.dumps({label: round(seconds, 3) for label, _, seconds, _ in rows}))


if __name__ == "__main__":
    main()
