"""Requests per second of the local server for a retrieve and for a list page, through the real SDK, and
the wall time of many concurrent streamed runs, and of as many concurrent streamed responses (the
Responses API), against the ideal (one run's or response's own simulated model time).

Usage: python bench/server.py [--seconds S] [--runs N] [--model-time S]
Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import openai

from runner.server.embedded import EmbeddedServer

API_KEY = "sk-bench-made-up-key"


def rate(label: str, seconds: float, call: Callable[[], object]) -> float:
    call()  # warm the connection and the statement cache
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call()
        done += 1
    per_second = done / elapsed
    print(f"{label:<44} {per_second:8.0f} req/s  ({done} requests in {elapsed:.1f} s)")
    return per_second


async def streamed_runs(base_url: str, assistant_id: str, runs: int) -> tuple[float, int]:
    """Starts `runs` streamed create-thread-and-run requests at once and reads each to its end."""
    sdk = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url, max_retries=0)

    async def one() -> int:
        events = 0
        thread = {"messages": [{"role": "user", "content": "Hello! What can you tell me about streams?"}]}
        stream = await sdk.beta.threads.create_and_run(assistant_id=assistant_id, thread=thread, stream=True)
        async for event in stream:
            events += 1 if event.event else 0
        return events

    started = time.perf_counter()
    counts = await asyncio.gather(*(one() for _ in range(runs)))
    elapsed = time.perf_counter() - started
    await sdk.close()
    return elapsed, sum(counts)


async def streamed_responses(base_url: str, responses: int) -> tuple[float, int]:
    """Starts `responses` streamed `POST /responses` at once and reads each to its end."""
    sdk = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url, max_retries=0)

    async def one() -> int:
        events = 0
        stream = await sdk.responses.create(
            model="gpt-4o",
            instructions="Address the user as Captain.",
            input="Hello! What can you tell me about streams?",
            stream=True,
        )
        async for _ in stream:
            events += 1
        return events

    started = time.perf_counter()
    counts = await asyncio.gather(*(one() for _ in range(responses)))
    elapsed = time.perf_counter() - started
    await sdk.close()
    return elapsed, sum(counts)


def concurrency(runs: int, model_time: float) -> None:
    """The server runs in its own process here (`arun serve`), as it does for real: in this process the
    client's parsing of thousands of events would share one interpreter lock with the server's work."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "runner", "serve", "--port", "0", "--db", str(Path(tmp) / "runs.db")]
        command += ["--api-key", API_KEY, "--model-time", str(model_time)]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().split()[3]  # "arun local server: URL (state in ...)"
            sdk = openai.OpenAI(api_key=API_KEY, base_url=base_url, max_retries=0)
            assistant = sdk.beta.assistants.create(
                model="gpt-4o", instructions="Address the user as Captain."
            )
            # A run without tools is one model step, after a tenth of one in `queued`.
            ideal = model_time * 1.1
            single, _ = asyncio.run(streamed_runs(base_url, assistant.id, 1))
            wall, events = asyncio.run(streamed_runs(base_url, assistant.id, runs))
            # A response without tools is one model step, with no queued wait.
            r_single, _ = asyncio.run(streamed_responses(base_url, 1))
            r_wall, r_events = asyncio.run(streamed_responses(base_url, runs))
        finally:
            server.terminate()
            server.wait()
    print(
        f"{runs} concurrent streamed runs, model time {model_time:g} s: wall {wall:.2f} s, ideal {ideal:.2f} s "
        f"({wall / ideal:.2f}x; one run alone {single:.2f} s; {events} events, {events / wall:.0f} events/s)"
    )
    print(
        f"{runs} concurrent streamed responses, model time {model_time:g} s: wall {r_wall:.2f} s, ideal "
        f"{model_time:.2f} s ({r_wall / model_time:.2f}x; one response alone {r_single:.2f} s; {r_events} events, "
        f"{r_events / r_wall:.0f} events/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each measurement")
    parser.add_argument("--runs", type=int, default=200, help="concurrent streamed runs")
    parser.add_argument("--model-time", type=float, default=1.0, help="simulated model time per step")
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(Path(tmp) / "bench.db", API_KEY) as server:
        sdk = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        assistants = [sdk.beta.assistants.create(model="gpt-4o", name=f"bench {i}") for i in range(200)]
        one = assistants[100].id
        rate("GET /v1/assistants/{id} (retrieve)", args.seconds, lambda: sdk.beta.assistants.retrieve(one))
        rate(
            "GET /v1/assistants?limit=20 (list page)",
            args.seconds,
            lambda: sdk.beta.assistants.list(limit=20),
        )
        rate(
            "GET /v1/assistants?limit=100 (list page)",
            args.seconds,
            lambda: sdk.beta.assistants.list(limit=100),
        )
        # A write, so that a transport stall on request bodies (Nagle, delayed ACK) shows up here.
        rate("POST /v1/threads (create)", args.seconds, lambda: sdk.beta.threads.create())
    concurrency(args.runs, args.model_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
