"""arun replay --api responses against the real local server, counted in its access log."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runner.server.faults import Faults
from runner.transcript.io import read_transcript

from ..conftest import copy_examples, write
from .conftest import TEST_KEY, Server, interrupt_replay
from .test_replay import arun, serving

STATES = ("conversation", "previous-response", "stateless")


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path, "transcripts")


def _expected_requests(golden: Path) -> tuple[int, int]:
    """From the goldens (recorded on Assistants): (turns, tool rounds that needed arun's outputs). Each model
    step of function calls is one round, answered in one request."""
    turns = rounds = 0
    for path in sorted(golden.rglob("*.yaml")):
        data = read_transcript(path, path.name)
        for turn in data["turns"]:
            turns += 1
            for step in turn["steps"]:
                calls = step.get("calls") or []
                rounds += int(any(c["type"] == "function" for c in calls))
    return turns, rounds


def _not_terminal(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT json_extract(data, '$.status') FROM responses").fetchall()
    return [s for (s,) in rows if s not in ("completed", "failed", "cancelled", "incomplete")]


@pytest.mark.parametrize("state", STATES)
def test_examples_green_on_responses_and_same_as_the_assistants_goldens(
    examples: Path, tmp_path: Path, state: str
) -> None:
    with serving(tmp_path, f"resp-{state}") as live:
        assert arun(examples, live, "apply", "--api", "responses", "--yes")[0] == 0
        mark = live.mark()
        code, out, err = arun(
            examples, live, "replay", "--api", "responses", "--state", state, "--compare", "transcripts/"
        )
        assert code == 0, out + err
        assert "6 scenarios: 6 same; no differences." in out
        requests = live.since(mark)
        turns, rounds = _expected_requests(examples / "transcripts")
        assert turns == 10 and rounds == 1  # the examples: 10 turns, one function round (weather-lookup)
        posts = [p for m, p in requests if m == "POST" and p == "/v1/responses"]
        assert len(posts) == turns + rounds
        conversations = [p for m, p in requests if m == "POST" and p == "/v1/conversations"]
        assert len(conversations) == (6 if state == "conversation" else 0)
        # No polls, no reads of what was streamed; nothing but the listing replay makes of the managed files.
        assert not [p for m, p in requests if p.startswith("/v1/responses/") or "/runs" in p]
        assert not [p for m, p in requests if p.startswith("/v1/assistants") and m != "GET"]
        data = read_transcript(examples / ".arun/transcripts/travel-helper/weather-lookup.yaml", "t")
        assert data["api"] == "responses"
        assert _not_terminal(tmp_path / f"resp-{state}.db") == []
    if state == "stateless":  # store: false: the server kept no response and no conversation
        with sqlite3.connect(tmp_path / f"resp-{state}.db") as conn:
            assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 0


def test_stale_files_are_refused_on_a_server_and_applied_on_the_embedded_one(
    examples: Path, live: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = arun(examples, live, "replay", "--api", "responses", "novel-guide/storm-night")
    assert code != 0
    assert "differ from the YAML" in err and "arun apply --api responses" in err
    assert not [p for m, p in live.since(0) if m == "POST"]  # nothing was written
    assert arun(examples, live, "apply", "--api", "responses", "--yes")[0] == 0
    chapter = examples / "corpus/harbor-light/02-the-storm.md"
    chapter.write_text(chapter.read_text() + "\nThe keeper wrote one more line.\n")
    code, _, err = arun(examples, live, "replay", "--api", "responses", "novel-guide/storm-night")
    assert code != 0 and "novel-guide" in err and "differ from the YAML" in err
    # The embedded local server (no --base-url): replay applies the files first.
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ARUN_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    from click.testing import CliRunner

    from runner.cli import cli

    result = CliRunner().invoke(
        cli, ["-C", str(examples), "replay", "--api", "responses", "novel-guide/"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "applying them (files and vector stores only) to the embedded local server first" in result.stderr


def test_state_and_poll_belong_to_their_protocol(examples: Path, live: Server) -> None:
    code, _, err = arun(examples, live, "replay", "--state", "stateless")
    assert code != 0 and "--state stateless is for --api responses" in err
    code, _, err = arun(examples, live, "replay", "--api", "responses", "--poll")
    assert code != 0 and "always streams" in err


def test_timeout_ends_every_response_and_records_the_cut(examples: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "slow", model_time=3.0) as live:
        arun(examples, live, "apply", "--api", "responses", "--yes")
        code, _, _ = arun(
            examples, live, "replay", "--api", "responses", "math-tutor/seed-jane-doe", "--timeout", "1"
        )
        assert code == 1
        data = read_transcript(examples / ".arun/transcripts/math-tutor/seed-jane-doe.yaml", "t")
        assert data["result"] == "interrupted"
        assert data["turns"][0]["run"]["cancelled_by_arun"] == "timeout"
        assert _not_terminal(tmp_path / "slow.db") == []


def test_a_file_search_attachment_has_no_responses_form(examples: Path, live: Server) -> None:
    write(
        examples,
        "scenarios/attached.yaml",
        "assistant: novel-guide\nturns:\n  - user:\n      text: Read this.\n"
        "      attachments: [{file: corpus/harbor-light/01-the-keeper.md, tools: [file_search]}]\n",
    )
    assert arun(examples, live, "apply", "--api", "responses", "--yes")[0] == 0
    mark = live.mark()
    code, _, err = arun(examples, live, "replay", "--api", "responses", "attached")
    assert code == 2  # replay could not run it (README "Exit codes")
    assert "scenario attached, turn 1 attaches corpus/harbor-light/01-the-keeper.md for file_search" in err
    assert live.since(mark) == []  # refused before any request


@pytest.mark.parametrize("state", ["conversation", "stateless"])
def test_many_scenarios_under_injected_faults(examples: Path, tmp_path: Path, state: str) -> None:
    (examples / "scenarios/load").mkdir()
    for index in range(20):
        for name in ("math-tutor/seed-jane-doe", "travel-helper/weather-lookup", "novel-guide/storm-night"):
            shutil.copyfile(
                examples / f"scenarios/{name}.yaml",
                examples / f"scenarios/load/{name.split('/')[1]}-{index:02d}.yaml",
            )
    faults = Faults.parse(
        ["rate_limit=0.1", "server_error=0.05", "drop_stream=0.1", "run_failed=0.05"], seed=11
    )
    with serving(tmp_path, f"faults-{state}", faults=faults) as live:
        assert arun(examples, live, "apply", "--api", "responses", "--yes")[0] == 0
        env = {**os.environ, "OPENAI_BASE_URL": live.base_url, "OPENAI_API_KEY": TEST_KEY}
        command = ["replay", "--api", "responses", "--state", state, "load/", "-j", "8"]
        done = subprocess.run(
            [sys.executable, "-m", "runner", "-C", str(examples), *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = done.stdout.splitlines()
        assert lines[-1].startswith("60 scenarios:"), done.stderr
        results = [read_transcript(p, p.name) for p in (examples / ".arun/transcripts/load").glob("*.yaml")]
        assert len(results) == 60
        problems = [r for r in results if r["result"] != "passed"]
        for data in problems:  # every scenario that did not pass says why: a run that failed twice
            assert data["result"] in ("failed", "error"), data.get("error")
            assert any(t["run"].get("reason") for t in data["turns"]), json.dumps(data)[:3000]
        assert len(problems) < 10
        assert done.returncode == (1 if problems else 0)
        statuses = [json.loads(line)["status"] for line in live.log.read_text().splitlines()]
        assert 429 in statuses and 500 in statuses  # the faults really fired, and were retried through
        assert _not_terminal(tmp_path / f"faults-{state}.db") == []


def test_ctrl_c_ends_every_response_and_exits_130(examples: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "ctrlc", model_time=3.0) as live:
        arun(examples, live, "apply", "--api", "responses", "--yes")
        db = tmp_path / "ctrlc.db"
        code, out, err = interrupt_replay(examples, live, db, "responses", 6, "--api", "responses", "-j", "6")
        assert code == 130, err
        assert (
            "STOPPED math-tutor/seed-jane-doe (1 turn): turn 1: run cancelled by arun (interrupted (Ctrl-C))"
            in out
        )
        assert _not_terminal(tmp_path / "ctrlc.db") == []
        data = read_transcript(examples / ".arun/transcripts/math-tutor/follow-up.yaml", "t")
        assert data["result"] == "interrupted"


def test_a_stateless_response_whose_stream_always_breaks_says_why(examples: Path, tmp_path: Path) -> None:
    """store: false keeps nothing to look up: after its tries the turn fails and its transcript says why."""
    with serving(tmp_path, "always-dropped", faults=Faults.parse(["drop_stream=1"], seed=3)) as live:
        assert arun(examples, live, "apply", "--api", "responses", "--yes")[0] == 0
        mark = live.mark()
        code, out, _ = arun(
            examples, live, "replay", "--api", "responses", "--state", "stateless", "math-tutor/seed-jane-doe"
        )
        assert code == 1, out
        sent = [r for r in live.since(mark) if r == ("POST", "/v1/responses")]
        assert len(sent) == 3  # the first turn's request, sent three times, and no turn after it
        path = examples / ".arun/transcripts/math-tutor/seed-jane-doe.yaml"
        data = read_transcript(path, path.name)
        run = data["turns"][0]["run"]
        assert run["status"] not in ("completed", "failed", "cancelled", "incomplete")
        assert run["reason"] == (
            "the stream broke before the response ended, 3 times; a response sent with store: false is not "
            "kept, so it cannot be looked up"
        )
        assert f"({run['reason']})" in out
