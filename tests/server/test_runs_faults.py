"""Injected faults (`arun serve --fault K=P --seed N`): each kind through the real SDK, seeded sources,
the scope (run operations only), and the serve command's options."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from runs_support import WEATHER, RunContract, sdk, start_server

from runner.commands.serve import ServeOptions, run_serve
from runner.errors import ConfigError
from runner.server.engine import RunSettings
from runner.server.faults import Faults, parse_fault
from runner.server.models import Backend


@pytest.fixture
def rc() -> Iterator[RunContract]:
    checking = RunContract()
    yield checking
    checking.assert_clean()


def _server(tmp_path: Path, rc: RunContract, *faults: str) -> tuple[object, openai.OpenAI]:
    server = start_server(tmp_path / "faults.db", faults=faults, seed=7)
    return server, sdk(server, rc)


def test_rate_limit_answers_429_with_retry_after_and_leaves_other_operations_alone(
    tmp_path: Path, rc: RunContract
) -> None:
    server, api = _server(tmp_path, rc, "rate_limit=1")
    try:
        assistant = api.beta.assistants.create(model="gpt-4o")
        thread = api.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as limited:
            api.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        assert limited.value.response.headers["retry-after"] == "1"
        assert limited.value.body == {  # type: ignore[comparison-overlap]
            "message": limited.value.body["message"],  # type: ignore[index]
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        # Refused before doing anything: the thread has no run.
        assert api.beta.threads.messages.create(thread.id, role="user", content="still free").role == "user"
    finally:
        api.close()
        server.stop()  # type: ignore[attr-defined]


def test_server_error_answers_500(tmp_path: Path, rc: RunContract) -> None:
    server, api = _server(tmp_path, rc, "server_error=1")
    try:
        thread = api.beta.threads.create()
        with pytest.raises(openai.InternalServerError):
            api.beta.threads.runs.list(thread.id)
    finally:
        api.close()
        server.stop()  # type: ignore[attr-defined]


def test_a_failed_run_carries_its_error_code(tmp_path: Path, rc: RunContract) -> None:
    server, api = _server(tmp_path, rc, "run_failed=1")
    try:
        assistant = api.beta.assistants.create(model="gpt-4o")
        run = api.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "failed" and run.failed_at is not None and run.last_error is not None
        assert run.last_error.code in ("server_error", "rate_limit_exceeded")
    finally:
        api.close()
        server.stop()  # type: ignore[attr-defined]


def test_a_dropped_stream_breaks_the_connection_and_the_run_still_ends(
    tmp_path: Path, rc: RunContract
) -> None:
    server, api = _server(tmp_path, rc, "drop_stream=1")
    try:
        assistant = api.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
        thread = api.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
        seen = []
        # The SDK reports the broken chunked body (httpx's RemoteProtocolError) as a connection error.
        with pytest.raises(openai.APIConnectionError) as broken:
            for event in api.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=assistant.id, stream=True
            ):
                seen.append(event)
        assert isinstance(broken.value.__cause__, httpx2.RemoteProtocolError)
        assert 1 <= len(seen) <= 3
        run = api.beta.threads.runs.poll(seen[0].data.id, thread_id=thread.id)  # type: ignore[union-attr]
        assert run.status == "completed"
    finally:
        api.close()
        server.stop()  # type: ignore[attr-defined]


def test_fault_sources_are_seeded_and_independent() -> None:
    first = Faults({"rate_limit": 0.5, "drop_stream": 0.5}, seed=3)
    again = Faults({"rate_limit": 0.5}, seed=3)
    assert [first.fires("rate_limit") for _ in range(50)] == [again.fires("rate_limit") for _ in range(50)]
    other = Faults({"rate_limit": 0.5}, seed=4)
    assert [other.fires("rate_limit") for _ in range(50)] != [again.fires("rate_limit") for _ in range(50)]
    off = Faults()
    assert off.request_fault() is None and off.stream_cut() is None and off.run_failure() is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("rate_limit", "expected KIND=P"),
        ("storm=0.1", "expected KIND=P"),
        ("rate_limit=x", "P must be"),
        ("run_failed=2", "P must be"),
    ],
)
def test_bad_fault_options_are_refused(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_fault(spec)


def test_serve_wires_model_time_faults_and_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[RunSettings] = []

    class Recording(Backend):
        def __init__(
            self, db_path: Path, run_settings: RunSettings | None = None, model: object = None
        ) -> None:
            assert run_settings is not None and model is None  # no --upstream: the simulator
            seen.append(run_settings)
            super().__init__(db_path, run_settings)

    monkeypatch.setattr("runner.server.models.Backend", Recording)
    options = ServeOptions(
        port=0, db=Path("s.db"), model_time=0.05, faults=("drop_stream=0.25",), seed=9, code_execution=False
    )
    assert run_serve(options, tmp_path, out=io.StringIO(), environ={}, runner=lambda app, sock: None) == 0
    assert seen[0].model_time == 0.05 and seen[0].poll_after_ms == 10
    assert seen[0].faults.rates == {"drop_stream": 0.25} and seen[0].faults.seed == 9
    assert seen[0].code_execution is False
    with pytest.raises(ConfigError, match="--model-time"):
        run_serve(ServeOptions(model_time=-1), tmp_path, environ={}, runner=lambda app, sock: None)


def test_serve_help_names_the_run_options() -> None:
    from click.testing import CliRunner

    from runner.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for option in (
        "--model-time",
        "--fault KIND=P",
        "--seed",
        "drop_stream, run_failed",
        "--no-code-execution",
    ):
        assert option in result.output
