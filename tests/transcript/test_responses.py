"""The Responses API's output items in the transcript form, and the same turn on both protocols alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.replay.collect import TurnState
from runner.transcript import assistants, responses
from runner.transcript.form import Citation, FileLink, Placeholders, Reply
from runner.transcript.responses import (
    reply_from_output_text,
    run_from_responses,
    turn_from_responses,
    usage_from_responses,
)

from ..shared import shared_path

STORM = "corpus/harbor-light/02-the-storm.md"


def ids() -> Placeholders:
    return Placeholders({"file-storm": STORM})


def test_the_recorded_citation_keeps_its_text_and_index() -> None:
    # recordings/responses/FileSearchCallStreaming.json: the text has no marker, index 31 is right after
    # "pizza", where the Assistants API would have put its marker.
    part = {
        "type": "output_text",
        "annotations": [
            {
                "type": "file_citation",
                "file_id": "file-storm",
                "filename": "test_favorite_foods.txt",
                "index": 31,
            }
        ],
        "logprobs": [],
        "text": "Travis's favorite food is pizza.",
    }
    reply = reply_from_output_text(part, ids())
    assert reply == Reply("Travis's favorite food is pizza.", (Citation(STORM, 31),))
    assert reply.text[:31] == "Travis's favorite food is pizza"


def test_other_annotations_and_odd_indexes() -> None:
    text = "See [plot](sandbox:/mnt/data/p.png)."
    link = text.index("sandbox"), text.index(")")
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [
            {"type": "file_citation", "file_id": "file-storm", "index": 999},  # clamped to the text
            {"type": "file_citation", "file_id": "file-storm"},  # no index: the end
            {"type": "file_citation", "filename": "x.txt", "index": 1},  # no file id: not listed
            {
                "type": "container_file_citation",
                "container_id": "cntr_1",
                "file_id": "cfile_1",
                "start_index": link[0],
                "end_index": link[1],
                "filename": "p.png",
            },
            {"type": "file_path", "file_id": "file-made", "index": 3},
            {"type": "url_citation", "url": "https://example.org", "start_index": 0, "end_index": 3},
        ],
    }
    reply = reply_from_output_text(part, ids())
    assert reply.citations == (Citation(STORM, len(text)), Citation(STORM, len(text)))
    assert reply.files == (FileLink("file_2", 3, 3), FileLink("file_1", *link))
    message = {
        "type": "message",
        "role": "assistant",
        "content": [part, {"type": "refusal", "refusal": "no"}],
    }
    assert responses.reply_from_message(message, Placeholders({})).text == text
    assert responses.reply_from_message({"content": []}, Placeholders({})) == Reply("")


def _assistants_turn() -> TurnState:
    state = TurnState()
    state.see_run({"id": "run_A", "thread_id": "thread_1", "status": "queued"})
    calls = [
        {
            "id": "call_F",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}', "output": '{"t": 21}'},
        },
        {
            "id": "call_S",
            "type": "file_search",
            "file_search": {
                "results": [
                    {
                        "file_id": "file-storm",
                        "file_name": "arun~novel-guide~368969b59932~02-the-storm.md",
                        "score": 0.481234,
                        "content": [{"type": "text", "text": "Odile turned the lens by hand."}],
                    }
                ]
            },
        },
        {
            "id": "call_C",
            "type": "code_interpreter",
            "code_interpreter": {
                "input": "print(21)",
                "outputs": [
                    {"type": "logs", "logs": "21\n"},
                    {"type": "image", "image": {"file_id": "file-img"}},
                ],
            },
        },
    ]
    state.see_step(
        {"id": "step_1", "status": "completed", "step_details": {"type": "tool_calls", "tool_calls": calls}}
    )
    marker = "【4:0†arun~novel-guide~368969b59932~02-the-storm.md】"
    value = f"Sunny, 21 degrees, and Odile turned the lens by hand{marker}."
    state.see_message(
        {
            "id": "msg_1",
            "role": "assistant",
            "content": [
                {
                    "type": "text",
                    "text": {
                        "value": value,
                        "annotations": [
                            {
                                "type": "file_citation",
                                "text": marker,
                                "start_index": value.index(marker),
                                "end_index": value.index(marker) + len(marker),
                                "file_citation": {"file_id": "file-storm"},
                            }
                        ],
                    },
                }
            ],
        }
    )
    state.see_step(
        {
            "id": "step_2",
            "status": "completed",
            "step_details": {"type": "message_creation", "message_creation": {"message_id": "msg_1"}},
        }
    )
    state.see_run(
        {
            "id": "run_A",
            "thread_id": "thread_1",
            "status": "completed",
            "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
        }
    )
    return state


def _responses_turn() -> tuple[list[dict[str, Any]], dict[str, str]]:
    text = "Sunny, 21 degrees, and Odile turned the lens by hand."
    first = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": []},
            {
                "id": "fc_1",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"city":"Lisbon"}',
                "call_id": "call_F",
                "name": "get_weather",
            },
            {
                "id": "fs_1",
                "type": "file_search_call",
                "status": "completed",
                "queries": ["lens"],
                "results": [
                    {
                        "file_id": "file-storm",
                        "filename": "arun~novel-guide~368969b59932~02-the-storm.md",
                        "score": 0.481234,
                        "text": "Odile turned the lens by hand.",
                        "attributes": {},
                    }
                ],
            },
            {
                "id": "ci_1",
                "type": "code_interpreter_call",
                "status": "completed",
                "code": "print(21)",
                "container_id": "cntr_1",
                "outputs": [
                    {"type": "logs", "logs": "21\n"},
                    {"type": "image", "url": "https://x/cfile_1.png"},
                ],
            },
        ],
        "usage": {"input_tokens": 20, "output_tokens": 8, "total_tokens": 28},
    }
    second = {
        "id": "resp_2",
        "object": "response",
        "status": "completed",
        "output": [
            {
                "id": "msg_1",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": text,
                        "logprobs": [],
                        "annotations": [
                            {
                                "type": "file_citation",
                                "file_id": "file-storm",
                                "filename": "arun~novel-guide~368969b59932~02-the-storm.md",
                                "index": len(text) - 1,
                            }
                        ],
                    }
                ],
            }
        ],
        "usage": {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14},
    }
    return [first, second], {"call_F": '{"t": 21}'}


def test_one_turn_on_both_protocols_writes_the_same_transcript_data() -> None:
    state = _assistants_turn()
    on_assistants = ids()
    expected_steps = assistants.steps(state, on_assistants)
    expected_reply, expected_cited = assistants.replies(state, on_assistants)
    expected_run = assistants.run_section(state, {"temperature": 0}, on_assistants)

    items, outputs = _responses_turn()
    on_responses = ids()
    turn = turn_from_responses(items, outputs, on_responses)
    assert turn.steps == expected_steps
    assert turn.reply == expected_reply
    assert turn.cited == expected_cited == [STORM]
    assert turn.uses == assistants.tool_uses(state)
    assert run_from_responses(items, {"temperature": 0}, on_responses) == expected_run
    assert usage_from_responses(items) == state.usage
    # And what that data is, spelled out once:
    assert turn.steps == [
        {
            "type": "tool_calls",
            "status": "completed",
            "calls": [
                {
                    "type": "function",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Lisbon"},
                    "output": {"t": 21},
                },
                {
                    "type": "file_search",
                    "id": "call_2",
                    "results": [
                        {"file": STORM, "score": 0.4812, "content": "Odile turned the lens by hand."}
                    ],
                },
                {
                    "type": "code_interpreter",
                    "id": "call_3",
                    "input": "print(21)",
                    "outputs": [{"logs": "21\n"}, {"image": "file_1"}],
                },
            ],
        },
        {"type": "message_creation", "status": "completed", "message": 1},
    ]
    assert turn.reply == [
        {
            "text": "Sunny, 21 degrees, and Odile turned the lens by hand.",
            "citations": [{"file": STORM, "index": 52}],
        }
    ]
    assert expected_run == {"id": "run_1", "settings": {"temperature": 0}, "status": "completed"}


def test_statuses_reasons_and_a_call_not_answered() -> None:
    call = {
        "type": "function_call",
        "status": "in_progress",
        "call_id": "call_X",
        "name": "f",
        "arguments": "{",
    }
    search = {"type": "file_search_call", "id": "fs_1", "status": "searching", "queries": [], "results": None}
    message = {"type": "message", "role": "assistant", "status": "incomplete", "content": []}
    failed = {
        "id": "resp_9",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [call, search, message],
    }
    turn = turn_from_responses([failed], {}, Placeholders({}))
    assert turn.steps == [
        {
            "type": "tool_calls",
            "status": "in_progress",
            "calls": [
                {"type": "function", "id": "call_1", "name": "f", "arguments": "{"},
                {"type": "file_search", "id": "call_2", "results": []},
            ],
        },
        {"type": "message_creation", "status": "incomplete", "message": 1},
    ]
    assert turn.uses == [("function", "f", "{"), ("file_search", "file_search", None)]
    assert run_from_responses([failed], {}, Placeholders({})) == {
        "id": "run_1",
        "status": "incomplete",
        "reason": "max_output_tokens",
    }
    error = {"id": "resp_8", "status": "failed", "error": {"code": "server_error", "message": "boom"}}
    assert run_from_responses([error], {}, Placeholders({}))["reason"] == "server_error: boom"
    assert run_from_responses([], {}, Placeholders({})) == {"status": "failed"}


def _recorded_responses(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["Entries"]:
            body = entry.get("ResponseBody")
            if isinstance(body, dict) and body.get("object") == "response":
                found.append(body)
            elif isinstance(body, list):
                for line in body:
                    if line.startswith("data: {") and '"type":"response.completed"' in line:
                        found.append(json.loads(line[len("data: ") :])["response"])
    return found


def test_every_recorded_response_maps() -> None:
    folder = shared_path("recordings", "responses")
    recorded = _recorded_responses(folder)
    kinds = {item["type"] for response in recorded for item in response.get("output") or []}
    assert {"message", "function_call", "file_search_call", "code_interpreter_call"} <= kinds
    cited = 0
    for response in recorded:
        turn = turn_from_responses([response], {}, Placeholders({}))
        assert len(turn.steps) >= len([i for i in response["output"] if i["type"] == "message"])
        for reply in turn.reply:
            assert "【" not in reply["text"]
            for citation in reply.get("citations", []):
                assert 0 <= citation["index"] <= len(reply["text"])
                cited += 1
        assert run_from_responses([response], {}, Placeholders({}))["status"] == response["status"]
    assert cited
