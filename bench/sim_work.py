"""The simulator's work per message: its own step, and the sandbox running the code it writes, for the
costliest questions it accepts next to an ordinary one. Prints seconds side by side; asserts nothing.
Run: .venv/bin/python bench/sim_work.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.sim import CodeInterpreterCall, Message, ModelInput, Sandbox, Simulator, ToolCallsStep

QUESTIONS = [
    "What is 12 * 7?",
    "Is 97 prime?",
    "Is 999999999989 prime?",  # the largest prime below 10**12, the bound of prime questions
    "What is 2 ** 64 * 3 ** 40?",
]


def main() -> None:
    print(f"{'question':<32} {'simulator s':>12} {'sandbox s':>10}")
    for question in QUESTIONS:
        inp = ModelInput(messages=(Message("user", question),), tools=({"type": "code_interpreter"},))
        started = time.perf_counter()
        step = Simulator().step(inp)
        thought = time.perf_counter() - started
        ran = 0.0
        if isinstance(step, ToolCallsStep) and isinstance(step.calls[0], CodeInterpreterCall):
            started = time.perf_counter()
            Sandbox().run(step.calls[0].input)
            ran = time.perf_counter() - started
        print(f"{question:<32} {thought:>12.3f} {ran:>10.3f}")


if __name__ == "__main__":
    main()
