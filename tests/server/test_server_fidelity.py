"""Where a real client would notice a difference, the server answers as the real API (and its recordings)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from conftest import API_KEY, BETA
from runs_support import RunContract, sdk, start_server

from runner.commands.serve import ServeOptions, run_serve
from runner.errors import ConfigError
from runner.server.embedded import EmbeddedServer

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "f.db")
    yield server
    server.stop()


@pytest.fixture
def http(fast: EmbeddedServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=fast.base_url, headers={**AUTH, **BETA}, trust_env=False, timeout=30) as c:
        yield c


@pytest.fixture
def api(fast: EmbeddedServer) -> Iterator[openai.OpenAI]:
    contract = RunContract()
    client = sdk(fast, contract)
    yield client
    client.close()
    contract.assert_clean()


def test_the_v1_beta_and_no_beta_are_refused_as_the_real_api_does(fast: EmbeddedServer) -> None:
    with httpx2.Client(base_url=fast.base_url, headers=AUTH, trust_env=False) as raw:
        old = raw.get("/assistants", headers={"OpenAI-Beta": "assistants=v1"})
        assert old.status_code == 400
        assert old.json()["error"]["code"] == "invalid_beta"
        assert old.json()["error"]["message"].startswith("The v1 Assistants API has been deprecated.")
        missing = raw.post("/threads", json={})
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_beta"
        assert "'OpenAI-Beta: assistants=v2'" in missing.json()["error"]["message"]
        listed = raw.get("/assistants", headers={"OpenAI-Beta": "realtime=v1, assistants=v2"})
        assert listed.status_code == 200
        # Files, vector stores and models are not Assistants beta routes.
        for path in ("/files", "/vector_stores", "/models"):
            assert raw.get(path).status_code == 200, path


def test_null_for_an_optional_field_is_taken_as_absent(http: httpx2.Client) -> None:
    thread = http.post("/threads", json={"messages": None, "tool_resources": {"file_search": None}})
    assert thread.status_code == 200, thread.text
    assistant = http.post("/assistants", json={"model": "gpt-4o", "instructions": "Hi.", "tools": None})
    assert assistant.status_code == 200 and assistant.json()["tools"] == []
    run = http.post(
        f"/threads/{thread.json()['id']}/runs",
        json={"assistant_id": assistant.json()["id"], "tool_choice": None, "truncation_strategy": None},
    )
    assert run.status_code == 200, run.text
    assert run.json()["tool_choice"] == "auto"
    assert run.json()["truncation_strategy"] == {"type": "auto", "last_messages": None}
    store = http.post("/vector_stores", json={"name": "n", "expires_after": None})
    assert store.status_code == 200 and store.json()["expires_after"] is None
    # A required field stays required: null is not a model.
    assert http.post("/assistants", json={"model": None}).status_code == 400


def test_token_limits_below_256_are_accepted(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o")
    run = api.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hello there"}]},
        max_completion_tokens=16,
        max_prompt_tokens=16,
    )
    assert (run.max_completion_tokens, run.max_prompt_tokens) == (16, 16)
    assert run.status in ("completed", "incomplete")


def test_a_run_on_an_empty_thread_without_instructions_is_invalid_thread(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as caught:
        api.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert caught.value.code == "invalid_thread"
    assert api.beta.threads.runs.list(thread.id).data == []
    with pytest.raises(openai.BadRequestError):
        api.beta.threads.create_and_run(assistant_id=assistant.id)
    # Instructions, or a message, give the model something to answer.
    done = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, instructions="Hi"
    )
    assert done.status == "completed"


def test_streamed_runs_carry_an_empty_code_interpreter_resource(api: openai.OpenAI) -> None:
    assistant = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    with api.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        runs = [e.data for e in stream if e.event.startswith("thread.run.") and "step" not in e.event]
    # Not a field of the SDK's Run type: it comes through as the raw JSON.
    assert runs and all(r.tool_resources == {"code_interpreter": {"file_ids": []}} for r in runs)  # type: ignore[union-attr]
    # Polled, the same run carries {} as in the recordings.
    polled = api.beta.threads.runs.retrieve(runs[-1].id, thread_id=thread.id)
    assert polled.model_dump()["tool_resources"] == {}


def test_serve_reads_the_key_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("made-up-file-key\n")
    seen: list[str] = []

    def runner(app: object, sock: object) -> None:
        seen.append("ran")

    out = io.StringIO()
    options = ServeOptions(port=0, db=tmp_path / "k.db", api_key_file=Path("key"))
    assert run_serve(options, tmp_path, out=out, environ={"OPENAI_API_KEY": "env-key"}, runner=runner) == 0
    assert seen == ["ran"] and "API key" not in out.getvalue()
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="the file is empty"):
        run_serve(ServeOptions(port=0, api_key_file=tmp_path / "empty"), tmp_path, environ={}, runner=runner)
    with pytest.raises(ConfigError, match="cannot read it"):
        run_serve(ServeOptions(port=0, api_key_file=tmp_path / "nope"), tmp_path, environ={}, runner=runner)
    with pytest.raises(ConfigError, match="use one"):
        run_serve(
            ServeOptions(port=0, api_key="k", api_key_file=tmp_path / "key"),
            tmp_path,
            environ={},
            runner=runner,
        )
