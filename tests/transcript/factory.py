"""Transcript data for tests, shaped like what replay writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.transcript.io import TranscriptInvalid, read_transcript


def transcript(
    name: str = "math-tutor/seed", reply: str = "Hello Jane Doe! x = 1.", **changes: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transcript": 2,
        "scenario": name,
        "description": "사용자에게 인사하기",
        "api": "assistants",
        "assistant": {"key": "math-tutor", "spec_hash": "sha256:abc", "model": "gpt-4o"},
        "result": "passed",
        "turns": [
            {
                "turn": 1,
                "user": "I need to solve the equation `3x + 11 = 14`. Can you help me?",
                "run": {
                    "id": "run_1",
                    "settings": {"instructions": "Address the user as Jane Doe."},
                    "status": "completed",
                },
                "steps": [
                    {
                        "type": "tool_calls",
                        "status": "completed",
                        "calls": [
                            {
                                "type": "function",
                                "id": "call_1",
                                "name": "solve",
                                "arguments": {"equation": "3x+11=14"},
                                "output": "x = 1",
                            },
                            {
                                "type": "code_interpreter",
                                "id": "call_2",
                                "input": "print((14 - 11) / 3)\n",
                                "outputs": [{"logs": "1.0\n"}],
                            },
                        ],
                    },
                    {"type": "message_creation", "status": "completed", "message": 1},
                ],
                "reply": [{"text": reply, "citations": [{"file": "corpus/notes.md", "index": 5}]}],
                "expectations": [{"check": "contains", "expected": "Jane Doe", "passed": True}],
            },
            {
                "turn": 2,
                "user": "검산도 해 주세요.",
                "run": {"id": "run_2", "status": "completed"},
                "reply": [{"text": "검산: 3 × 1 + 11 = 14.\n맞습니다."}],
                "expectations": [],
            },
        ],
        "usage": {
            "turns": [{"turn": 1, "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}],
            "total": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    }
    data.update(changes)
    return data


def read_as_file(text: str, folder: Path) -> Any:
    """What arun's careful reader makes of `text` written to a file: the data, or the TranscriptInvalid."""
    path = folder / "read.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        return read_transcript(path, path.name)
    except TranscriptInvalid as exc:
        return exc
