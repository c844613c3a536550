"""Time `arun diff` over 1,000 transcript pairs: identical sets, and sets where every scenario changed.

Prints figures; asserts nothing (machines here are shared and noisy). Run: .venv/bin/python bench/diff.py
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.transcript.compare import Options, compare_sets
from runner.transcript.io import write_transcript

PAIRS = 1000


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


def timed(golden: Path, new: Path, options: Options) -> tuple[float, int]:
    start = time.perf_counter()
    result = compare_sets(golden, new, options)
    return time.perf_counter() - start, result.count("changed")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        golden, same, changed = Path(tmp) / "golden", Path(tmp) / "same", Path(tmp) / "changed"
        for index in range(PAIRS):
            data = sample(index)
            write_transcript(golden / f"s{index:04d}.yaml", data)
            write_transcript(same / f"s{index:04d}.yaml", data)
            other = copy.deepcopy(data)
            other["turns"][1]["reply"][0]["text"] = other["turns"][1]["reply"][0]["text"].replace(
                "answer", "result"
            )
            write_transcript(changed / f"s{index:04d}.yaml", other)
        for label, new, options in (
            ("identical sets", same, Options()),
            ("every scenario changed", changed, Options()),
            ("changed, --text-similarity 0.8", changed, Options(text_similarity=0.8)),
        ):
            seconds, count = timed(golden, new, options)
            print(
                f"{label:32s} {PAIRS} pairs in {seconds:6.2f} s ({PAIRS / seconds:7.1f} pairs/s, {count} changed)"
            )


if __name__ == "__main__":
    main()
