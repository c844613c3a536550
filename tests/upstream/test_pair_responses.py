"""The Responses API through `arun serve --upstream` pointed at a second `arun serve` (the simulator's
Chat Completions): plain, streamed, a function call round trip, file_search and code_interpreter, each
answered as the same front server answers it directly with the simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

from runner.server.embedded import EmbeddedServer
from tests.conftest import REPO
from tests.upstream.test_pair import FRONT, KEY, adapter, front, upstream_server

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CHAPTER = REPO / "corpus" / "harbor-light" / "02-the-storm.md"


@contextmanager
def both(tmp_path: Path) -> Iterator[tuple[openai.OpenAI, openai.OpenAI]]:
    """(through the adapter, direct): the same front server, once over the upstream pair, once alone."""
    with upstream_server(tmp_path) as up:
        model, _ = adapter(up)
        with (
            front(tmp_path, model) as paired,
            EmbeddedServer(tmp_path / "direct.db", KEY, runs=FRONT) as alone,
        ):
            a = openai.OpenAI(base_url=paired.base_url, api_key=KEY, max_retries=0)
            b = openai.OpenAI(base_url=alone.base_url, api_key=KEY, max_retries=0)
            yield a, b
            a.close()
            b.close()


def _shape(response: Any) -> list[tuple[str, str]]:
    return [(o.type, getattr(o, "status", "") or "") for o in response.output]


def _same(tmp_path: Path, ask: Callable[[openai.OpenAI], Any]) -> tuple[Any, Any]:
    with both(tmp_path) as (paired, alone):
        through, direct = ask(paired), ask(alone)
    assert through.status == "completed", through.error
    assert _shape(through) == _shape(direct)
    assert through.output_text == direct.output_text
    return through, direct


def test_a_plain_response(tmp_path: Path) -> None:
    through, _ = _same(tmp_path, lambda c: c.responses.create(model="gpt-4o", input="Hello"))
    assert through.output_text and through.usage.output_tokens > 0


def test_a_streamed_response_adds_up(tmp_path: Path) -> None:
    with both(tmp_path) as (paired, _), paired.responses.stream(model="gpt-4o", input="Hello") as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert final.status == "completed" and deltas == final.output_text
    assert events[-1].type == "response.completed"


def test_a_function_call_round_trip(tmp_path: Path) -> None:
    def ask(client: openai.OpenAI) -> Any:
        first = client.responses.create(
            model="gpt-4o",
            input="What is the weather in Lisbon?",
            tools=[WEATHER],  # type: ignore[list-item]
        )
        assert _shape(first) == [("function_call", "completed")]
        call = first.output[0]
        assert call.name == "get_weather" and "Lisbon" in call.arguments
        return client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            tools=[WEATHER],  # type: ignore[list-item]
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 24 C"}],
        )

    through, _ = _same(tmp_path, ask)
    assert "24" in through.output_text


def test_file_search_cites_the_front_servers_file(tmp_path: Path) -> None:
    question = "How did Odile keep the light working when the clockwork jammed?"

    def ask(client: openai.OpenAI) -> Any:
        uploaded = client.files.create(file=(CHAPTER.name, CHAPTER.read_bytes()), purpose="assistants")
        store = client.vector_stores.create(file_ids=[uploaded.id])
        tool = {"type": "file_search", "vector_store_ids": [store.id]}
        response = client.responses.create(model="gpt-4o", input=question, tools=[tool])  # type: ignore[list-item]
        response._uploaded = uploaded.id  # type: ignore[attr-defined]
        return response

    through, _ = _same(tmp_path, ask)
    assert [o.type for o in through.output] == ["file_search_call", "message"]
    annotations = through.output[1].content[0].annotations
    assert annotations and all(a.file_id == through._uploaded for a in annotations)


def test_code_interpreter_runs_in_the_front_server(tmp_path: Path) -> None:
    tool = {"type": "code_interpreter", "container": {"type": "auto"}}
    through, _ = _same(
        tmp_path,
        lambda c: c.responses.create(model="gpt-4o", input="What is 12 * 7?", tools=[tool]),  # type: ignore[list-item]
    )
    assert [o.type for o in through.output] == ["code_interpreter_call", "message"]
    assert "84" in through.output_text
