"""No-op apply of 100 assistants with files: requests on the wire and whole-command wall time.

Goal (README, "Performance"): 2 list pages + the file checks, concurrent. Each no-op `arun apply --yes` runs
in a fresh process, on the embedded server (the default) and against `arun serve` on a loopback port, with
and without 20 ms of added latency per request (what a server across a network costs; it shows whether the
file checks overlap). Side by side in the same rounds: the yardsticks `python -c pass`, `import openai`
and `import openai` plus the first `client.beta` access (the SDK's fixed cost), and with --before DIR
another arun checkout (e.g. a `git worktree` of main). Requests are counted from the server's access log,
by kind. Medians over interleaved rounds; prints figures and ratios, asserts nothing.

Run: .venv/bin/python bench/apply.py [--rounds N] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import Row  # noqa: E402
from runner.apply.listing import WORKERS  # noqa: E402

ASSISTANTS = 100
KEY = "bench-local-key"
LATENCY = 0.02
SDK_COST = (
    "import openai\n"
    "client = openai.OpenAI(api_key='k', base_url='http://127.0.0.1:9/v1')\n"
    "client.beta.assistants, client.vector_stores.files, client.files\n"
)


def make_project(root: Path) -> None:
    (root / "assistants").mkdir(parents=True)
    (root / "docs").mkdir()
    for index in range(ASSISTANTS):
        key = f"bench-{index:03d}"
        doc = root / "docs" / f"{key}.md"
        doc.write_text(f"# Notes {index}\n" + f"Paragraph {index} about lighthouses and tides.\n" * 40)
        data = root / "docs" / f"{key}.csv"
        data.write_text("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(50)))
        (root / "assistants" / f"{key}.yaml").write_text(
            f"model: gpt-4o\nname: Bench {index}\ninstructions: Answer from the notes.\n"
            "tools: [{type: file_search}, {type: code_interpreter}]\n"
            f"files:\n  file_search: [docs/{key}.md]\n  code_interpreter: [docs/{key}.csv]\n"
        )


def _env(tree: Path, base_url: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "OPENAI_BASE_URL", "OPENAI_API_KEY", "NO_COLOR")
    }
    env["PYTHONPATH"] = str(tree)
    if base_url:
        env |= {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": KEY}
    return env


@dataclass
class Server:
    base_url: str
    log: Path

    def lines(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def requests_since(self, start: int) -> Counter[str]:
        kinds: Counter[str] = Counter()
        for line in self.log.read_text().splitlines()[start:]:
            entry = json.loads(line)
            path = re.sub(r"/(vs|file|asst)_[A-Za-z0-9]+", "/{id}", entry["path"].split("?")[0])
            kinds[f"{entry['method']} {path}"] += 1
        return kinds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(tmp: Path, name: str, latency: float) -> Iterator[Server]:
    port = _free_port()
    log = tmp / f"{name}.jsonl"
    argv = [sys.executable, "-m", "runner", "serve", "--port", str(port), "--api-key", KEY]
    argv += ["--db", str(tmp / f"{name}.db"), "--access-log", str(log), "--latency", str(latency)]
    process = subprocess.Popen(
        argv, cwd=tmp, env=_env(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(f"{base_url}/models", headers={"Authorization": f"Bearer {KEY}"})
            try:
                urllib.request.urlopen(request, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"arun serve did not start on port {port}") from None
                time.sleep(0.1)
        yield Server(base_url, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return seconds, done.stdout


@dataclass
class Results:
    rounds: int
    load: tuple[float, float]  # load average before and after
    times: dict[str, list[float]] = field(default_factory=dict)
    requests: dict[str, Counter[str]] = field(default_factory=dict)
    first_apply: tuple[float, int] = (0.0, 0)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])


def measure(rounds: int, before: Path | None) -> Results:
    py = sys.executable
    trees = {"now": ROOT} if before is None else {"before": before.resolve(), "now": ROOT}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = tmp / "project"
        make_project(project)
        with serve(tmp, "plain", 0.0) as plain, serve(tmp, "slow", LATENCY) as slow:
            apply = [py, "-m", "runner", "apply", "--yes"]
            # Bring all three servers up to date once (the first apply, timed on the plain server).
            start = plain.lines()
            first, _ = _run(apply, project, _env(ROOT, plain.base_url))
            first_requests = sum(plain.requests_since(start).values())
            _run(apply, project, _env(ROOT, slow.base_url))
            _run(apply, project, _env(ROOT))  # the embedded server, state in project/.arun/local.db
            rows: dict[str, tuple[list[str], dict[str, str]]] = {
                "python -c pass": ([py, "-c", "pass"], _env(ROOT)),
                "python -c 'import openai'": ([py, "-c", "import openai"], _env(ROOT)),
                "import openai + first client.beta": ([py, "-c", SDK_COST], _env(ROOT)),
            }
            for label, tree in trees.items():
                rows[f"{label}: embedded server"] = (apply, _env(tree))
                rows[f"{label}: arun serve"] = (apply, _env(tree, plain.base_url))
                rows[f"{label}: arun serve +20 ms"] = (apply, _env(tree, slow.base_url))
            results = Results(rounds, (load_start, 0.0), {name: [] for name in rows})
            results.first_apply = (first, first_requests)
            for label in trees:  # warm-up (byte-code caches) and the request count of each tree
                start = plain.lines()
                argv, env = rows[f"{label}: arun serve"]
                _run(argv, project, env)
                results.requests[label] = plain.requests_since(start)
            for _ in range(rounds):
                for name, (argv, env) in rows.items():
                    results.times[name].append(_run(argv, project, env)[0])
    results.load = (load_start, os.getloadavg()[0])
    return results


def _kinds(requests: Counter[str]) -> str:
    lists = {k: v for k, v in requests.items() if "{id}/files" not in k}
    stores = sum(v for k, v in requests.items() if "{id}/files" in k)
    pages = ", ".join(f"{v} {k.split('/v1/')[1]}" for k, v in sorted(lists.items()))
    return f"{sum(lists.values())} list pages ({pages}) + {stores} store-file listings"


def report(results: Results) -> list[Row]:
    floor = results.median("python -c pass")
    sdk = results.median("import openai + first client.beta")
    now = results.median("now: embedded server")
    plain, slow = results.median("now: arun serve"), results.median("now: arun serve +20 ms")
    requests = sum(results.requests["now"].values())
    one_by_one = requests * LATENCY  # what 20 ms per request adds when the requests go one after another
    measured = (
        f"{_kinds(results.requests['now'])}, {WORKERS} at a time (met counting the files page as a file "
        f"check: it proves every file an assistant names still exists); CLI {now:.2f} s on the embedded server "
        f"({now / floor:.0f}x python -c pass; the SDK's import + client.beta alone: {sdk:.2f} s), "
        f"{plain:.2f} s against arun serve; 20 ms per request adds {slow - plain:.2f} s "
        f"(one after another: {one_by_one:.2f} s)"
    )
    if "before: embedded server" in results.times:
        measured += f"; before: {results.median('before: embedded server'):.2f} s embedded"
    lists = sum(v for k, v in results.requests["now"].items() if "{id}/files" not in k)
    # The goal counts list pages of assistants and vector stores; the files page is one of the file checks
    # (it proves that every file an assistant names still exists), see docs/performance.md, "Apply". The
    # checks are concurrent when the added latency is well under that of the requests one after another.
    met = lists - 1 <= 2 and slow - plain < one_by_one / 2
    return [Row("no-op apply of 100 assistants", "2 list pages + the file checks, concurrent", measured, met)]


def rows(rounds: int = 5, before: Path | None = None) -> list[Row]:
    return report(measure(rounds, before))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another arun checkout to time in the same rounds")
    args = parser.parse_args()
    results = measure(args.rounds, args.before)
    floor = results.median("python -c pass")
    print(
        f"no-op `arun apply --yes` of {ASSISTANTS} assistants (one file_search + one code_interpreter file "
        f"each), medians of {results.rounds} rounds, load average {results.load[0]:.1f} -> "
        f"{results.load[1]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  first apply (now, arun serve): {results.first_apply[0]:.2f} s, {results.first_apply[1]} requests"
    )
    for label, requests in results.requests.items():
        print(f"  {label}: {sum(requests.values())} requests: {_kinds(requests)}")
    print("  (median, then the fastest round: on a shared machine the fastest is the least disturbed)")
    for name, values in results.times.items():
        median = statistics.median(values)
        print(f"  {name:36} {median:6.3f} s ({min(values):6.3f} s)  {median / floor:5.1f}x python -c pass")
    if "before: embedded server" in results.times:
        for where in ("embedded server", "arun serve", "arun serve +20 ms"):
            ratio = results.median(f"before: {where}") / results.median(f"now: {where}")
            print(f"  {where}: now is {ratio:.1f}x faster than before")
    for row in report(results):
        print(f"  goal {row.goal!r}: {'met' if row.met else 'NOT met'}")


if __name__ == "__main__":
    main()
