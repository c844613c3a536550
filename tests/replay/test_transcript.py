from __future__ import annotations

from runner.replay.collect import TurnState
from runner.transcript.assistants import replies, run_section, steps, tool_uses
from runner.transcript.form import Placeholders


def state() -> TurnState:
    s = TurnState()
    s.see_event("thread.created", {"id": "thread_abc"})
    s.see_event("thread.run.created", {"id": "run_X", "thread_id": "thread_abc", "status": "queued"})
    s.see_event(
        "thread.run.step.created",
        {"id": "step_1", "status": "in_progress", "step_details": {"type": "tool_calls", "tool_calls": []}},
    )
    s.see_event(
        "thread.run.step.completed",
        {
            "id": "step_1",
            "status": "completed",
            "step_details": {
                "type": "tool_calls",
                "tool_calls": [
                    {
                        "id": "call_Q",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"unit":"c","city":"Lisbon"}',
                            "output": '{"t": 21}',
                        },
                    },
                    {
                        "id": "call_R",
                        "type": "code_interpreter",
                        "code_interpreter": {
                            "input": "print(1)",
                            "outputs": [
                                {"type": "logs", "logs": "1\n"},
                                {"type": "image", "image": {"file_id": "file-img"}},
                            ],
                        },
                    },
                    {
                        "id": "call_S",
                        "type": "file_search",
                        "file_search": {
                            "results": [
                                {
                                    "file_id": "file-known",
                                    "file_name": "x",
                                    "score": 0.812345,
                                    "content": [{"type": "text", "text": "The storm"}],
                                }
                            ]
                        },
                    },
                ],
            },
        },
    )
    s.see_event("thread.message.delta", {"id": "msg_1"})
    s.see_event(
        "thread.message.completed",
        {
            "id": "msg_1",
            "role": "assistant",
            "content": [
                {
                    "type": "text",
                    "text": {
                        "value": "By hand【4:0†source】.",
                        "annotations": [
                            {
                                "type": "file_citation",
                                "text": "【4:0†source】",
                                "file_citation": {"file_id": "file-known"},
                            }
                        ],
                    },
                }
            ],
        },
    )
    s.see_event(
        "thread.run.step.completed",
        {
            "id": "step_2",
            "status": "completed",
            "step_details": {"type": "message_creation", "message_creation": {"message_id": "msg_1"}},
        },
    )
    s.see_event(
        "thread.run.completed",
        {
            "id": "run_X",
            "thread_id": "thread_abc",
            "status": "completed",
            "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
        },
    )
    return s


def test_events_fill_the_turn_state() -> None:
    s = state()
    assert (s.thread_id, s.run_id, s.status, s.reason) == ("thread_abc", "run_X", "completed", None)
    assert s.usage == {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
    assert list(s.steps) == ["step_1", "step_2"]
    assert tool_uses(s) == [
        ("function", "get_weather", {"city": "Lisbon", "unit": "c"}),
        ("code_interpreter", "code_interpreter", None),
        ("file_search", "file_search", None),
    ]


def test_transcript_parts_use_placeholders_and_project_paths() -> None:
    ids = Placeholders({"file-known": "corpus/harbor-light/02-the-storm.md"})
    s = state()
    assert run_section(s, {"temperature": 0, "instructions": "x"}, ids) == {
        "id": "run_1",
        "settings": {"instructions": "x", "temperature": 0},
        "status": "completed",
    }
    assert steps(s, ids) == [
        {
            "type": "tool_calls",
            "status": "completed",
            "calls": [
                {
                    "type": "function",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Lisbon", "unit": "c"},
                    "output": {"t": 21},
                },
                {
                    "type": "code_interpreter",
                    "id": "call_2",
                    "input": "print(1)",
                    "outputs": [{"logs": "1\n"}, {"image": "file_1"}],
                },
                {
                    "type": "file_search",
                    "id": "call_3",
                    "results": [
                        {
                            "file": "corpus/harbor-light/02-the-storm.md",
                            "score": 0.8123,
                            "content": "The storm",
                        }
                    ],
                },
            ],
        },
        {"type": "message_creation", "status": "completed", "message": 1},
    ]
    text, cited = replies(s, ids)
    assert text == [
        {"text": "By hand.", "citations": [{"file": "corpus/harbor-light/02-the-storm.md", "index": 7}]}
    ]
    assert cited == ["corpus/harbor-light/02-the-storm.md"]


def test_failed_and_incomplete_reasons() -> None:
    s = TurnState()
    s.see_run({"id": "r", "status": "failed", "last_error": {"code": "server_error", "message": "boom"}})
    assert s.reason == "server_error: boom"
    s.see_run({"id": "r2", "status": "incomplete", "incomplete_details": {"reason": "max_completion_tokens"}})
    assert s.reason == "max_completion_tokens"
    assert run_section(s, {}, Placeholders({})) == {
        "id": "run_1",
        "status": "incomplete",
        "reason": "max_completion_tokens",
    }
    s.see_event("error", {"message": "bad"})
    assert s.error == "bad"


def test_additional_instructions_fold_into_instructions_for_create_thread_and_run() -> None:
    from runner.replay.engines.assistants import fold_additional

    assert fold_additional({"temperature": 0}, "Be kind.") == {"temperature": 0}
    assert fold_additional({"additional_instructions": "Show steps."}, "Be kind.") == {
        "instructions": "Be kind.\n\nShow steps."
    }
    assert fold_additional({"additional_instructions": "B", "instructions": "A"}, "ignored") == {
        "instructions": "A\n\nB"
    }
    assert fold_additional({"additional_instructions": "B"}, None) == {"instructions": "B"}
