"""code_interpreter's files, through the real SDK over HTTP: the assistant's, the thread's and a message's
attachment on a run, the container's `file_ids` on a response, are in the sandbox's working folder under
their names (docs/sandbox.md), and code from a model runs only where the boundary exists, on both protocols.

The model is a scripted stand-in at the engine's model seam (the code a real model would write), so the
engine treats its code as a model's (`code_origin = "model"`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
from responses_support import ResponsesContract
from runs_support import RunContract, sdk, start_server

from runner.server.embedded import EmbeddedServer
from runner.sim import (
    CodeInterpreterCall,
    MessageStep,
    ModelInput,
    SimulatedModel,
    Simulator,
    ToolCallsStep,
    boundary,
)
from runner.sim.types import ModelStep, Usage

CODE = """
import csv, os
rows = list(csv.DictReader(open('/mnt/data/sales.csv' if os.path.isdir('/mnt/data') else 'sales.csv')))
print(sorted(os.listdir('.')))
print(sum(int(r['amount']) for r in rows))
print(open('notes.txt').read(), open('extra.txt').read())
"""


class WritesCode(Simulator):
    """First step: the code above; then a message that quotes what the code printed."""

    def step(self, inp: ModelInput) -> ModelStep:
        if not inp.steps:
            return ToolCallsStep((CodeInterpreterCall(CODE),), Usage(10, 10))
        logs = inp.steps[-1].calls[0]
        assert isinstance(logs, CodeInterpreterCall)
        return MessageStep(f"logs: {logs.logs}", usage=Usage(10, 10))


@contextmanager
def _server(tmp_path: Path, **settings: bool) -> Iterator[EmbeddedServer]:
    server = start_server(tmp_path / "code.db", model_time=0.0, **settings)
    try:
        engine = server.backend.engine
        engine.model = SimulatedModel(0.0, WritesCode())
        engine.code_origin = "model"
        responses = server.backend.response_engine
        responses.model, responses.code_origin = engine.model, "model"
        yield server
    finally:
        server.stop()


def _run(client: openai.OpenAI) -> str:
    up = client.files.create
    sales = up(file=("sales.csv", b"region,amount\nnorth,3\nsouth,4\n"), purpose="assistants")
    notes = up(file=("notes.txt", b"from the thread"), purpose="assistants")
    extra = up(file=("extra.txt", b"attached"), purpose="assistants")
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [sales.id]}},
    )
    thread = client.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [notes.id]}},
        messages=[
            {
                "role": "user",
                "content": "Sum the amounts.",
                "attachments": [{"file_id": extra.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ],
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    [tools] = [s for s in steps if s.type == "tool_calls"]
    call = tools.step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.code_interpreter.input == CODE
    logs = call.code_interpreter.outputs[0].logs
    message = client.beta.threads.messages.list(thread_id=thread.id, limit=1).data[0]
    assert message.content[0].text.value == f"logs: {logs}"  # type: ignore[union-attr]
    ids = sorted([sales.id, notes.id, extra.id])
    names = sorted(["extra.txt", "notes.txt", "sales.csv", *ids])
    return logs.replace(repr(names), "NAMES")


def _respond(client: openai.OpenAI) -> str:
    up = client.files.create
    files = [
        up(file=("sales.csv", b"region,amount\nnorth,3\nsouth,4\n"), purpose="assistants"),
        up(file=("notes.txt", b"from the container"), purpose="assistants"),
        up(file=("extra.txt", b"too"), purpose="assistants"),
    ]
    response = client.responses.create(
        model="gpt-4o",
        input="Sum the amounts.",
        tools=[
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": [f.id for f in files]}}
        ],
        include=["code_interpreter_call.outputs"],
    )
    assert response.status == "completed"
    call, message = response.output
    assert call.type == "code_interpreter_call" and call.code == CODE and call.outputs
    logs = call.outputs[0].logs  # type: ignore[union-attr]
    assert message.type == "message" and message.content[0].text == f"logs: {logs}"  # type: ignore[union-attr]
    names = sorted(["extra.txt", "notes.txt", "sales.csv", *(f.id for f in files)])
    return str(logs).replace(repr(names), "NAMES")


# Per protocol: the request that makes the model's code run, the contract its answers are held to, and the
# logs the code prints where it runs (the names of the files it finds, the sum, two files' text).
PROTOCOLS: dict[str, tuple[Callable[[openai.OpenAI], str], Callable[[], RunContract], str]] = {
    "assistants": (_run, RunContract, "NAMES\n7\nfrom the thread attached\n"),
    "responses": (_respond, ResponsesContract, "NAMES\n7\nfrom the container too\n"),
}


@pytest.mark.skipif(not boundary.probe().available, reason=boundary.probe().reason)
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_code_from_a_model_reads_its_files_behind_the_boundary(tmp_path: Path, protocol: str) -> None:
    ask, contract_of, logs = PROTOCOLS[protocol]
    contract = contract_of()
    with _server(tmp_path) as server, sdk(server, contract) as client:
        assert ask(client) == logs
    contract.assert_clean()


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_without_the_boundary_a_models_code_is_refused_unless_allowed(
    tmp_path: Path, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask, contract_of, logs = PROTOCOLS[protocol]
    contract = contract_of()
    monkeypatch.setattr(boundary, "probe", lambda: boundary.Probe(False, "bwrap was not found"))
    with _server(tmp_path) as server, sdk(server, contract) as client:
        assert ask(client).startswith("Code from the model was not run: this server has no sandbox boundary")
    with _server(tmp_path, unsafe_code_execution=True) as server, sdk(server, contract) as client:
        assert ask(client) == logs
    contract.assert_clean()


def test_an_upstream_models_responses_engine_treats_its_code_as_a_models(tmp_path: Path) -> None:
    class Upstream:  # any model that is not the simulator, as the upstream adapter is
        async def stream(self, inp: ModelInput) -> object:
            raise AssertionError("not called")

    server = EmbeddedServer(tmp_path / "up.db", "k", model=Upstream())
    with server:
        assert server.backend.engine.code_origin == server.backend.response_engine.code_origin == "model"
    with EmbeddedServer(tmp_path / "sim.db", "k") as server:
        assert server.backend.response_engine.code_origin == "simulator"
