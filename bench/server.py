"""The latency the local server adds to a streamed run (the performance table's row 3), for one run alone and
for many at once, on each protocol it streams: an Assistants run (create thread and run), a Responses
response and a Chat Completions answer.

Added latency per run = the wall time from opening its connection to the last byte of its stream, minus its
own simulated model time (a run's tenth of a step in `queued` plus its one step; a response's or a chat
answer's one step). The ideal is 0. The server runs in its own process (`arun serve`), as it does for real;
the client here is a few lines of raw HTTP over asyncio, so that what is measured is the server and not a
client's parsing (replay's client is measured by bench/replay.py).

`--before DIR` runs the server of another checkout (say `git worktree add /tmp/main-wt main`) in the same
run, alternating with this one, so that the two are measured side by side under the same load.
`--rates` also prints requests per second of a few plain requests through the SDK.

Usage: python bench/server.py [--runs N] [--model-time S] [--rounds R] [--before DIR] [--rates]
Figures are printed, never asserted: they depend on the machine (the load average is printed beside them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root on the path, for bench.table
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.table import Row

API_KEY = "bench-made-up-key"
ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ("assistants", "responses", "chat")
QUESTION = "Hello! What can you tell me about streams?"
# What ends each protocol's stream, as the recordings show.
ENDS = {"assistants": b"data: [DONE]", "responses": b"event: response.completed", "chat": b"data: [DONE]"}
GOAL_MS = 50.0


@dataclass(frozen=True)
class Sample:
    """Per run of one measurement: the added latency (ms), and how long (ms) the server took to answer at
    all (its first byte: the run created and its stream begun), the part of the added latency that a burst
    of requests arriving at once costs."""

    added: list[float]
    answered: list[float]

    def extend(self, other: Sample) -> None:
        self.added.extend(other.added)
        self.answered.extend(other.answered)

    def pct(self, q: float, answered: bool = False) -> float:
        ordered = sorted(self.answered if answered else self.added)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def text(self) -> str:
        return f"p50 {self.pct(0.5):.0f} ms, p99 {self.pct(0.99):.0f} ms"


class Server:
    """`arun serve` of a checkout (this one, or --before's) in its own process, on a free port."""

    def __init__(self, checkout: Path, model_time: float, tmp: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        command = [sys.executable, "-m", "runner", "serve", "--port", "0", "--db", str(tmp / "runs.db")]
        command += ["--api-key", API_KEY, "--model-time", str(model_time)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=tmp, env=env)
        assert self.process.stdout is not None
        url = self.process.stdout.readline().split()[3]  # "arun local server: URL (state in ...)"
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])

    def cpu(self) -> float:
        """CPU seconds (user + system) the server has used so far: a figure the machine's load disturbs
        far less than wall times."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


async def request(port: int, path: str, payload: dict[str, object]) -> tuple[bytes, float, float]:
    """POSTs `payload` on a new connection and reads the answer to its end: the whole body (chunked framing
    left in) and the perf_counter times its first and its last bytes arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(payload).encode()
    head = (
        f"POST /v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"OpenAI-Beta: assistants=v2\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode() + data)
    parts: list[bytes] = []
    first = last = time.perf_counter()
    while chunk := await reader.read(65536):
        if not parts:
            first = time.perf_counter()
        parts.append(chunk)
        last = time.perf_counter()
    writer.close()
    return b"".join(parts), first, last


def _payload(protocol: str, assistant_id: str) -> tuple[str, dict[str, object]]:
    if protocol == "assistants":
        thread = {"messages": [{"role": "user", "content": QUESTION}]}
        return "/threads/runs", {"assistant_id": assistant_id, "thread": thread, "stream": True}
    if protocol == "responses":
        return "/responses", {
            "model": "gpt-4o",
            "instructions": "Address the user as Captain.",
            "input": QUESTION,
            "stream": True,
        }
    messages = [
        {"role": "system", "content": "Address the user as Captain."},
        {"role": "user", "content": QUESTION},
    ]
    return "/chat/completions", {"model": "gpt-4o", "messages": messages, "stream": True}


async def streamed(port: int, protocol: str, assistant_id: str, runs: int, ideal: float) -> Sample:
    """`runs` streamed runs started at once, each read to its end; each one's added latency."""
    path, payload = _payload(protocol, assistant_id)

    async def one() -> tuple[float, float]:
        started = time.perf_counter()
        body, first, last = await request(port, path, payload)
        if not body.startswith(b"HTTP/1.1 200") or ENDS[protocol] not in body:
            raise RuntimeError(f"{protocol}: the stream did not end as it should:\n{body[-400:]!r}")
        return (last - started - ideal) * 1000, (first - started) * 1000

    found = await asyncio.gather(*(one() for _ in range(runs)))
    return Sample([a for a, _ in found], [f for _, f in found])


def measure(
    server: Server, protocol: str, assistant_id: str, runs: int, model_time: float, alone: int
) -> tuple[Sample, Sample, float]:
    """`alone` runs one after another, `runs` at once, and the server's CPU milliseconds per run of the
    concurrent ones."""
    # A run waits a tenth of a step in `queued` before its step; responses and chat answers do not queue.
    ideal = model_time * (1.1 if protocol == "assistants" else 1.0)
    single = Sample([], [])
    for _ in range(alone):
        single.extend(asyncio.run(streamed(server.port, protocol, assistant_id, 1, ideal)))
    cpu = server.cpu()
    crowd = asyncio.run(streamed(server.port, protocol, assistant_id, runs, ideal))
    return single, crowd, (server.cpu() - cpu) * 1000 / runs


def assistant(port: int) -> str:
    async def create() -> str:
        body, _, _ = await request(
            port, "/assistants", {"model": "gpt-4o", "instructions": "Address the user as Captain."}
        )
        return str(json.loads(body.split(b"\r\n\r\n", 1)[1])["id"])

    return asyncio.run(create())


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


@dataclass
class Result:
    """One checkout's figures for one protocol, over every round."""

    alone: Sample
    crowd: Sample
    cpu_ms: list[float]  # the server's CPU per concurrent run, one figure per round


Results = dict[str, dict[str, Result]]  # checkout label -> protocol -> figures


def run_all(
    checkouts: dict[str, Path],
    protocols: tuple[str, ...],
    runs: int,
    model_time: float,
    rounds: int,
    alone: int,
) -> tuple[Results, list[str]]:
    """Each round measures every checkout in turn (one fresh server each), so that both see the same load."""
    results = {
        label: {p: Result(Sample([], []), Sample([], []), []) for p in protocols} for label in checkouts
    }
    loads = []
    for _ in range(rounds):
        for label, checkout in checkouts.items():
            with tempfile.TemporaryDirectory() as tmp:
                server = Server(checkout, model_time, Path(tmp))
                try:
                    assistant_id = assistant(server.port)
                    for protocol in protocols:
                        single, crowd, cpu = measure(server, protocol, assistant_id, runs, model_time, alone)
                        found = results[label][protocol]
                        found.alone.extend(single)
                        found.crowd.extend(crowd)
                        found.cpu_ms.append(cpu)
                finally:
                    server.stop()
            loads.append(load())
    return results, loads


def rows(
    runs: int = 200,
    model_time: float = 1.0,
    rounds: int = 1,
    before: Path | None = None,
    protocols: tuple[str, ...] = PROTOCOLS,
    alone: int = 10,
    show: Callable[[str], None] | None = None,
) -> list[Row]:
    checkouts = {"now": ROOT} if before is None else {"before": before, "now": ROOT}
    results, loads = run_all(checkouts, protocols, runs, model_time, rounds, alone)
    out = []
    for protocol in protocols:
        now = results["now"][protocol]
        measured = f"{runs} at once: {now.crowd.text()}; one alone: {now.alone.text()}"
        if before is not None:
            then = results["before"][protocol]
            measured += f" (before: {then.crowd.text()}; alone {then.alone.text()})"
        out.append(
            Row(
                f"server, {runs} concurrent streamed {protocol} runs, added latency per run",
                f"p99 < {GOAL_MS:.0f} ms",
                f"{measured}; {loads[-1]}",
                now.crowd.pct(0.99) < GOAL_MS and now.alone.pct(0.99) < GOAL_MS,
            )
        )
    if show is not None:
        for label, by in results.items():
            for protocol, found in by.items():
                cpu = ", ".join(f"{c:.1f}" for c in found.cpu_ms)
                show(
                    f"{label:<6} {protocol:<10} alone ({len(found.alone.added)}): {found.alone.text()} | "
                    f"{runs} at once: {found.crowd.text()}, max {max(found.crowd.added):.0f} ms, "
                    f"mean {statistics.fmean(found.crowd.added):.0f} ms, answered within p50 "
                    f"{found.crowd.pct(0.5, True):.0f} / p99 {found.crowd.pct(0.99, True):.0f} ms | "
                    f"server CPU per run {cpu} ms"
                )
        show("load averages after each server: " + ", ".join(loads))
    return out


def rates(seconds: float) -> None:
    """Requests per second of a retrieve, list pages and a create, through the real SDK in-process."""
    import warnings

    import openai

    from runner.server.embedded import EmbeddedServer

    def rate(label: str, call: Callable[[], object]) -> None:
        call()  # warm the connection and the statement cache
        done, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            call()
            done += 1
        print(f"{label:<44} {done / elapsed:8.0f} req/s  ({done} requests in {elapsed:.1f} s)")

    warnings.simplefilter("ignore", DeprecationWarning)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(Path(tmp) / "bench.db", API_KEY) as server:
        sdk = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        assistants = [sdk.beta.assistants.create(model="gpt-4o", name=f"bench {i}") for i in range(200)]
        one = assistants[100].id
        rate("GET /v1/assistants/{id} (retrieve)", lambda: sdk.beta.assistants.retrieve(one))
        rate("GET /v1/assistants?limit=20 (list page)", lambda: sdk.beta.assistants.list(limit=20))
        rate("GET /v1/assistants?limit=100 (list page)", lambda: sdk.beta.assistants.list(limit=100))
        # A write, so that a transport stall on request bodies (Nagle, delayed ACK) shows up here.
        rate("POST /v1/threads (create)", lambda: sdk.beta.threads.create())


# Creating streamed runs in-process, through the whole ASGI app (the guard, Starlette, the handler, the
# first events), without sockets or uvicorn: the CPU per creation, the figure that decides how long a burst
# of requests arriving at once waits for its first byte. Run with a checkout's code on PYTHONPATH, so that
# --before measures the other checkout's server the same way. The model time is long, so that no run
# streams while the others are created; garbage collection is left on, as in the server.
CREATION = r"""
import asyncio, json, sys, tempfile, time
from pathlib import Path
from runner.server.app import Settings, create_app
from runner.server.engine import RunSettings
from runner.server.models import Backend

protocol, count, key, path, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
body = payload.encode()
headers = [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer " + key.encode()),
           (b"openai-beta", b"assistants=v2"), (b"content-type", b"application/json"),
           (b"content-length", str(len(body)).encode())]

async def create(app):
    first = asyncio.get_running_loop().create_future()
    read = []
    async def receive():
        if not read:
            read.append(1)
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Future()
    async def send(message):
        if message["type"] == "http.response.body" and message.get("body") and not first.done():
            first.set_result(None)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1" + path, "raw_path": ("/v1" + path).encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 9), "server": ("127.0.0.1", 80),
             "state": {}}
    task = asyncio.ensure_future(app(scope, receive, send))
    await first
    return task

async def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        backend = Backend(db, RunSettings(model_time=3600.0))
        app = create_app(Settings(db_path=db, api_key=key), backend)
        async def lifespan_receive():
            return {"type": "lifespan.startup"}
        async def lifespan_send(message):
            raise asyncio.CancelledError  # started: leave the lifespan task waiting
        asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                  lifespan_receive, lifespan_send))
        if protocol == "assistants":
            made = backend.assistants.create_assistant({"model": "gpt-4o", "instructions": "Be brief."})
            global body
            body = body.replace(b"ASSISTANT", made["id"].encode())
            headers[-1] = (b"content-length", str(len(body)).encode())
        tasks = [await create(app) for _ in range(20)]  # warm: statements prepared, validators built
        started = time.process_time()
        for _ in range(count):
            tasks.append(await create(app))
        print((time.process_time() - started) * 1e6 / count)
        for task in tasks:
            task.cancel()
        sys.stdout.flush()
        import os
        os._exit(0)  # the runs are left queued: nothing to wait for

asyncio.run(main())
"""


def creation_cpu(checkout: Path, protocol: str, count: int) -> float:
    """CPU microseconds per streamed creation of `protocol` by `checkout`'s server code, in-process."""
    path, payload = _payload(protocol, "ASSISTANT")
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", CREATION, protocol, str(count), API_KEY, path, json.dumps(payload)]
    with tempfile.TemporaryDirectory() as tmp:
        found = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, check=True)
    return float(found.stdout.split()[-1])


def creations(checkouts: dict[str, Path], protocols: tuple[str, ...], rounds: int, count: int) -> None:
    """Prints each checkout's CPU per creation: min and median over `rounds`, alternating checkouts."""
    found: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for protocol in protocols:
            for label, checkout in checkouts.items():
                found.setdefault((label, protocol), []).append(creation_cpu(checkout, protocol, count))
    for protocol in protocols:
        shown = []
        for label in checkouts:
            cpu = found[(label, protocol)]
            shown.append(f"{label} min {min(cpu):.0f} / median {statistics.median(cpu):.0f} us")
        print(f"CPU per streamed {protocol} creation, in-process ({count} x {rounds}): " + "; ".join(shown))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="concurrent streamed runs")
    parser.add_argument("--model-time", type=float, default=1.0, help="simulated model time per step")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each checkout, alternating")
    parser.add_argument("--alone", type=int, default=10, help="runs measured one at a time, per round")
    parser.add_argument("--protocol", choices=PROTOCOLS, action="append", help="only these (repeatable)")
    parser.add_argument("--before", type=Path, help="a checkout whose server to measure beside this one")
    parser.add_argument("--rates", action="store_true", help="also print plain requests per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each --rates measurement")
    parser.add_argument(
        "--creation", type=int, default=0, metavar="ROUNDS", help="only the CPU per creation, in-process"
    )
    args = parser.parse_args()
    protocols = tuple(args.protocol or PROTOCOLS)
    if args.creation:
        checkouts = {"now": ROOT} if args.before is None else {"before": args.before, "now": ROOT}
        creations(checkouts, protocols, args.creation, args.runs)
        return 0
    print(f"model time {args.model_time:g} s, {args.runs} at once, {args.rounds} round(s); {load()} at start")
    found = rows(args.runs, args.model_time, args.rounds, args.before, protocols, args.alone, show=print)
    for row in found:
        print(f"{row.what}: goal {row.goal}: {row.measured} -> {'met' if row.met else 'not met'}")
    if args.rates:
        rates(args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
