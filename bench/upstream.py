"""The latency the upstream adapter adds: the same streamed Chat Completions step asked of an upstream
(`arun serve`, the simulator, at a fixed model time) directly, and through `arun serve --upstream` in front
of it, alternately, side by side in one run.

Prints, per path, the median time to the first content chunk and to the end of the step, and the added
latency per step and per token (the difference divided by the step's tokens); asserts nothing.
Run: .venv/bin/python bench/upstream.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.server.embedded import EmbeddedServer
from runner.server.engine import RunSettings
from runner.upstream.client import UpstreamClient, UpstreamSettings
from runner.upstream.model import UpstreamModel

KEY = "bench-made-up-key"
MODEL_TIME = 0.2
QUESTION = "Is 97 a prime number? Please explain step by step how you would check it."


def _step(client: openai.OpenAI) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    tokens = 0
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.perf_counter() - started
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return first or 0.0, time.perf_counter() - started, tokens


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = RunSettings(model_time=MODEL_TIME)
        with EmbeddedServer(Path(tmp) / "up.db", KEY, runs=settings) as up:
            model = UpstreamModel(UpstreamClient(UpstreamSettings(up.base_url, KEY)))
            with EmbeddedServer(Path(tmp) / "front.db", KEY, runs=settings, model=model) as front:
                direct = openai.OpenAI(base_url=up.base_url, api_key=KEY, max_retries=0)
                through = openai.OpenAI(base_url=front.base_url, api_key=KEY, max_retries=0)
                _step(direct), _step(through)  # warm-up: connections, imports
                results: dict[str, list[tuple[float, float, int]]] = {"direct": [], "adapter": []}
                for _ in range(rounds):
                    results["direct"].append(_step(direct))
                    results["adapter"].append(_step(through))
    medians = {
        k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), v[0][2])
        for k, v in results.items()
    }
    print(f"one streamed chat step, model time {MODEL_TIME} s, {rounds} rounds each, medians:")
    print(f"{'path':<10}{'first token':>14}{'whole step':>14}{'tokens':>8}")
    for name, (first, whole, tokens) in medians.items():
        print(f"{name:<10}{first * 1000:>11.1f} ms{whole * 1000:>11.1f} ms{tokens:>8}")
    d_first = medians["adapter"][0] - medians["direct"][0]
    d_whole = medians["adapter"][1] - medians["direct"][1]
    tokens = max(1, medians["direct"][2])
    print(
        f"added by the adapter: {d_first * 1000:.1f} ms to the first token, {d_whole * 1000:.1f} ms per step, "
        f"{d_whole * 1000 / tokens:.2f} ms per token ({medians['adapter'][1] / medians['direct'][1]:.3f}x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
