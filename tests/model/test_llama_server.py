"""What llama.cpp's server (llama-cpp-python 0.3.36, SmolLM2-135M) answers, asked directly: the facts the
adapter copes with (../shared/wheels/README.md). If a new version changes one, this says which."""

from __future__ import annotations

import json

import jsonschema

from tests.model.conftest import ALIAS, Llama

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SAY_HI = [{"role": "user", "content": "Say hi"}]


def _chunks(raw: bytes) -> list[dict[str, object]]:
    lines = [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_a_plain_answer_reports_usage_unstreamed_and_none_when_streamed(llama: Llama) -> None:
    body = {"model": ALIAS, "messages": SAY_HI, "temperature": 0, "max_tokens": 16}
    plain = json.loads(llama.post(body))
    assert set(plain["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert plain["usage"]["completion_tokens"] <= 16
    chunks = _chunks(llama.post({**body, "stream": True, "stream_options": {"include_usage": True}}))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])  # type: ignore[index]
    assert text == plain["choices"][0]["message"]["content"]  # temperature 0: the same answer both ways
    assert not any(c.get("usage") for c in chunks)  # stream_options.include_usage is ignored


def test_a_forced_tool_call_streams_with_arguments_valid_against_the_schema(llama: Llama) -> None:
    body = {
        "model": ALIAS,
        "messages": [{"role": "user", "content": "What is the weather in Lisbon?"}],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0,
    }
    chunks = _chunks(llama.post({**body, "stream": True}))
    calls = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls") or []]  # type: ignore[index]
    assert calls and calls[0]["function"]["name"] == "get_weather"
    arguments = "".join(d["function"].get("arguments") or "" for d in calls)
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])  # type: ignore[index]


def test_tool_choice_auto_cannot_stream_a_tool_call_but_answers_unstreamed(llama: Llama) -> None:
    ask = [{"role": "user", "content": "What is the weather in Oslo?"}]
    body = {"model": ALIAS, "messages": ask, "tools": [WEATHER], "tool_choice": "auto", "temperature": 0}
    # Streamed, the server cannot call a tool under auto ("Automatic streaming tool choice is not
    # supported" inside the stream, or a plain stop, depending on the prompt): never a tool call.
    assert b"tool_calls" not in llama.post({**body, "stream": True}).replace(b'"tool_calls": null', b"")
    answer = json.loads(llama.post(body))
    assert answer["choices"][0]["finish_reason"] in ("stop", "tool_calls", "length")
    assert "usage" in answer
