"""What arun enforces before a request reaches the upstream: the prompt budget (`max_prompt_tokens`, the
oldest messages dropped to fit), message attachments told to the model, and the HTTP client closed when
the server stops."""

from __future__ import annotations

from pathlib import Path

import openai

from runner.server.embedded import EmbeddedServer
from runner.sim.tokens import count_tokens
from runner.upstream.client import UpstreamClient, UpstreamSettings
from runner.upstream.model import UpstreamModel
from runner.upstream.recording import Recorder
from tests.upstream.scripted import Answer, ScriptedUpstream, text_chunks
from tests.upstream.test_upstream_runs import CODE, FRONT, KEY, fronting

LONG = " ".join(f"word{n}" for n in range(120))


def _thread_run(sdk: openai.OpenAI, texts: list[str], **run: object) -> object:
    assistant = sdk.beta.assistants.create(model="gpt-4o", instructions="Be useful.")
    return sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": t} for t in texts]},
        poll_interval_ms=20,
        **run,  # type: ignore[arg-type]
    )


def test_max_prompt_tokens_drops_the_oldest_messages_before_the_request(tmp_path: Path) -> None:
    budget = count_tokens("Be useful.") + count_tokens(LONG) + count_tokens("And now?") + 5
    assert count_tokens(LONG) * 2 > budget  # both long messages do not fit
    with fronting(tmp_path, [Answer(chunks=text_chunks("Ok."))]) as (sdk, up):
        run = _thread_run(sdk, ["first " + LONG, "second " + LONG, "And now?"], max_prompt_tokens=budget)
    assert run.status == "completed", run.incomplete_details  # type: ignore[attr-defined]
    sent = [m["content"] for m in up.requests[0]["messages"]]
    assert sent[0] == "Be useful." and sent[-1] == "And now?"
    assert not any(s.startswith("first ") for s in sent)  # the oldest went first


def test_a_prompt_that_cannot_fit_its_budget_is_never_sent(tmp_path: Path) -> None:
    with fronting(tmp_path, [Answer(chunks=text_chunks("Ok."))]) as (sdk, up):
        run = _thread_run(sdk, [LONG], max_prompt_tokens=10)
    assert run.status == "incomplete"  # type: ignore[attr-defined]
    assert run.incomplete_details.reason == "max_prompt_tokens"  # type: ignore[attr-defined]
    assert up.requests == []


def test_attached_files_are_named_to_the_model_with_the_tool_that_reads_them(tmp_path: Path) -> None:
    with fronting(tmp_path, [Answer(chunks=text_chunks("Ok."))]) as (sdk, up):
        data = sdk.files.create(file=("sales.csv", b"month,total\njan,3\n"), purpose="assistants")
        other = sdk.files.create(file=("notes.txt", b"nothing\n"), purpose="assistants")
        assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[CODE])
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={
                "messages": [
                    {
                        "role": "user",
                        "content": "Sum the totals.",
                        "attachments": [
                            {"file_id": data.id, "tools": [{"type": "code_interpreter"}]},
                            {"file_id": other.id, "tools": [{"type": "file_search"}]},
                        ],
                    }
                ]
            },
            poll_interval_ms=20,
        )
    assert run.status == "completed"
    user = up.requests[0]["messages"][-1]["content"]
    assert user.startswith("Sum the totals.\n\n[Files attached to this message:")
    assert f"- sales.csv ({data.id}): at /mnt/data/sales.csv for arun_code_interpreter" in user
    # file_search is not offered in this run: the file is named, without a tool.
    assert user.endswith(f"- notes.txt ({other.id})]")


def test_the_upstream_client_is_closed_when_the_server_stops(tmp_path: Path) -> None:
    with ScriptedUpstream([Answer(chunks=text_chunks("Hi."))]) as up:
        client = UpstreamClient(UpstreamSettings(up.base_url, None, timeout=5, backoff=0.01))
        model = UpstreamModel(Recorder(client, tmp_path / "exchanges"))
        with EmbeddedServer(tmp_path / "front.db", KEY, runs=FRONT, model=model) as server:
            sdk = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
            assert _thread_run(sdk, ["Hello"]).status == "completed"  # type: ignore[attr-defined]
            sdk.close()
            assert not client.closed
        assert client.closed
