"""Requests per second of the local server for a retrieve and for a list page, through the real SDK.

Usage: python bench/server.py [--seconds S]
Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each measurement")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
