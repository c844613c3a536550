"""A JSON-schema response_format on an assistant or a run: the run's message is JSON valid against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from jsonschema import Draft202012Validator
from runs_support import RunContract, sdk, start_server

SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "number"},
        "explanation": {"type": "string"},
        "steps": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["answer", "explanation", "steps"],
    "additionalProperties": False,
}
FORMAT = {"type": "json_schema", "json_schema": {"name": "math_answer", "strict": True, "schema": SCHEMA}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[openai.OpenAI]:
    contract = RunContract()
    server = start_server(tmp_path / "runs.db")
    client = sdk(server, contract)
    yield client
    client.close()
    server.stop()
    contract.assert_clean()


def _reply(api: openai.OpenAI, thread_id: str) -> str:
    message = api.beta.threads.messages.list(thread_id, order="desc").data[0]
    return message.content[0].text.value  # type: ignore[union-attr]


def test_an_assistants_json_schema_format_makes_the_answer_json(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o", response_format=FORMAT)  # type: ignore[arg-type]
    run = api.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "What is 12 * 12?"}]}
    )
    assert run.status == "completed"
    data = json.loads(_reply(api, run.thread_id))
    assert list(Draft202012Validator(SCHEMA).iter_errors(data)) == []
    assert data["answer"] == 144


def test_a_runs_format_replaces_the_assistants_and_streams_the_json(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    with api.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        response_format={"type": "json_object"},
    ) as stream:
        streamed = "".join(stream.text_deltas)
    assert json.loads(streamed) == {"answer": "Hello! How can I help?"}
    assert _reply(api, thread.id) == streamed
