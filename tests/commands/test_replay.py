"""arun replay against the real local server, counted in its access log."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.server.faults import Faults
from runner.transcript.io import read_transcript

from ..conftest import REPO, write
from .conftest import TEST_KEY, Server, active_runs, arun, interrupt_replay, serving


def test_examples_replay_green_and_write_identical_bytes_twice(examples: Path, live: Server) -> None:
    assert arun(examples, live, "apply", "--yes")[0] == 0
    code, out, _ = arun(examples, live, "replay", "-j", "4")
    assert code == 0, out
    assert out.splitlines()[-1].startswith("6 scenarios: 6 passed.")
    first = {
        p.relative_to(examples): p.read_bytes() for p in (examples / ".arun/transcripts").rglob("*.yaml")
    }
    assert len(first) == 6
    for rel in first:
        read_transcript(examples / rel, str(rel))  # valid against the transcript schema
    assert arun(examples, live, "replay", "-j", "2")[0] == 0
    second = {
        p.relative_to(examples): p.read_bytes() for p in (examples / ".arun/transcripts").rglob("*.yaml")
    }
    assert first == second
    korean = (examples / ".arun/transcripts/math-tutor/korean-equation.yaml").read_text(encoding="utf-8")
    assert "방정식" in korean


def test_one_request_per_turn_and_one_per_tool_round(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    mark = live.mark()
    assert arun(examples, live, "replay", "math-tutor/seed-jane-doe")[0] == 0
    assert live.since(mark) == [("GET", "/v1/assistants"), ("POST", "/v1/threads/runs")]
    mark = live.mark()
    assert arun(examples, live, "replay", "math-tutor/follow-up")[0] == 0  # additional_instructions, 3 turns
    calls = live.since(mark)
    assert calls[:2] == [("GET", "/v1/assistants"), ("POST", "/v1/threads/runs")]
    assert len(calls) == 4 and all(m == "POST" and p.endswith("/runs") for m, p in calls[2:])
    mark = live.mark()
    assert arun(examples, live, "replay", "travel-helper/weather-lookup")[0] == 0
    calls = live.since(mark)
    assert calls[0] == ("GET", "/v1/assistants")
    turn_one, submit, turn_two = calls[1:]
    assert turn_one == ("POST", "/v1/threads/runs")
    assert submit[0] == "POST" and submit[1].endswith("/submit_tool_outputs")
    thread = submit[1].split("/")[3]
    assert turn_two == ("POST", f"/v1/threads/{thread}/runs")


def test_poll_mode_polls(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    mark = live.mark()
    assert arun(examples, live, "replay", "--poll", "math-tutor/seed-jane-doe")[0] == 0
    calls = live.since(mark)
    assert ("POST", "/v1/threads") in calls
    assert any(m == "GET" and "/runs/" in p for m, p in calls)
    assert any(p.endswith("/messages") for _, p in calls)


def test_a_failing_expectation(examples: Path, live: Server, tmp_path: Path) -> None:
    path = examples / "scenarios/math-tutor/seed-jane-doe.yaml"
    path.write_text(path.read_text().replace("contains: Jane Doe", "contains: John Smith"))
    arun(examples, live, "apply", "--yes")
    junit = tmp_path / "junit.xml"
    code, out, _ = arun(examples, live, "replay", "math-tutor/", "--junit", str(junit))
    assert code == 1
    line = next(x for x in out.splitlines() if "seed-jane-doe" in x)
    assert line.startswith(
        'FAIL    math-tutor/seed-jane-doe (1 turn): turn 1: contains "John Smith": "John Smith" not found in the reply'
    )
    failure = next(
        c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name") == "math-tutor/seed-jane-doe"
    ).find("failure")
    assert failure is not None and "John Smith" in (failure.get("message") or "")
    data = read_transcript(examples / ".arun/transcripts/math-tutor/seed-jane-doe.yaml", "t")
    assert data["result"] == "failed"
    assert {k: v for k, v in data["turns"][0]["expectations"][1].items() if k != "detail"} == {
        "check": "contains",
        "expected": "John Smith",
        "passed": False,
    }


def test_missing_tool_output_is_an_explicit_error_output(examples: Path, live: Server) -> None:
    path = examples / "scenarios/travel-helper/weather-lookup.yaml"
    text = path.read_text()
    path.write_text(
        text.replace(
            "    tool_outputs:\n      get_weather: {city: Lisbon, temperature: 21, unit: celsius, conditions: sunny}\n",
            "",
        )
    )
    arun(examples, live, "apply", "--yes")
    code, _, _ = arun(examples, live, "replay", "travel-helper/")
    assert code == 1
    data = read_transcript(examples / ".arun/transcripts/travel-helper/weather-lookup.yaml", "t")
    call = data["turns"][0]["steps"][0]["calls"][0]
    assert call["output"] == {"error": "arun: the scenario gives no output for the function 'get_weather'"}
    assert data["turns"][0]["run"]["status"] == "completed"
    assert {k: v for k, v in data["turns"][0]["expectations"][0].items() if k != "detail"} == {
        "check": "tool_outputs",
        "expected": "get_weather",
        "passed": False,
    }


def test_incomplete_and_failed_runs_are_recorded_with_their_reason(examples: Path, tmp_path: Path) -> None:
    write(
        examples,
        "scenarios/limits.yaml",
        "assistant: novel-guide\nrun: {max_prompt_tokens: 256}\nturns:\n  - user: How did Odile keep the light working?\n    expect: [{status: incomplete}]\n",
    )
    with serving(tmp_path, "failing", faults=Faults.parse(["run_failed=1.0"], seed=1)) as live:
        client = live.client
        arun(examples, live, "apply", "--yes")
        code, _, _ = arun(examples, live, "replay", "math-tutor/seed-jane-doe")
        assert code == 1
        data = read_transcript(examples / ".arun/transcripts/math-tutor/seed-jane-doe.yaml", "t")
        run = data["turns"][0]["run"]
        assert run["status"] == "failed" and run["retried"] == 1
        assert run["reason"].split(":")[0] in ("server_error", "rate_limit_exceeded")
        assert active_runs(tmp_path / "failing.db", client) == []
    with serving(tmp_path, "limits") as live:
        client = live.client
        arun(examples, live, "apply", "--yes")
        assert arun(examples, live, "replay", "limits")[0] == 0
        data = read_transcript(examples / ".arun/transcripts/limits.yaml", "t")
        assert data["turns"][0]["run"]["status"] == "incomplete"
        assert data["turns"][0]["run"]["reason"] == "max_prompt_tokens"


def test_timeout_cancels_the_run(examples: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "slow", model_time=5.0) as live:
        client = live.client
        arun(examples, live, "apply", "--yes")
        code, _out, _ = arun(examples, live, "replay", "math-tutor/seed-jane-doe", "--timeout", "1")
        assert code == 1
        data = read_transcript(examples / ".arun/transcripts/math-tutor/seed-jane-doe.yaml", "t")
        assert data["result"] == "interrupted"
        assert data["turns"][0]["run"]["status"] == "cancelled"
        assert data["turns"][0]["run"]["cancelled_by_arun"] == "timeout"
        assert active_runs(tmp_path / "slow.db", client) == []


def test_ctrl_c_cancels_every_run_and_exits_130(examples: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "ctrlc", model_time=5.0) as live:
        client = live.client
        arun(examples, live, "apply", "--yes")
        code, out, err = interrupt_replay(examples, live, tmp_path / "ctrlc.db", "runs", 6, "-j", "6")
        assert code == 130, err
        assert "Stopping: cancelling the active runs" in err and "Interrupted." in err
        assert (
            "STOPPED math-tutor/seed-jane-doe (1 turn): turn 1: run cancelled by arun (interrupted (Ctrl-C))"
            in out
        )
        assert active_runs(tmp_path / "ctrlc.db", client) == []
        data = read_transcript(examples / ".arun/transcripts/math-tutor/follow-up.yaml", "t")
        assert data["result"] == "interrupted"


def test_unknown_scenario_exits_5_and_an_unapplied_assistant_elsewhere_exits_2(
    examples: Path, live: Server
) -> None:
    code, _, err = arun(examples, live, "replay", "nope/missing")
    assert code == 5 and "no scenario 'nope/missing'" in err
    code, _, err = arun(examples, live, "replay")
    assert code == 2
    assert "assistants math-tutor, novel-guide, travel-helper not on the API on " in err
    assert "Run `arun apply` against the same API first" in err
    assert not (examples / ".arun/transcripts").exists()  # nothing ran, nothing was replaced


def test_json_and_summary(
    examples: Path, live: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arun(examples, live, "apply", "--yes")
    step_summary = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    code, out, _ = arun(
        examples, live, "replay", "-k", "korean", "--json", "--summary", str(tmp_path / "s.md")
    )
    assert code == 0
    report = json.loads(out)
    assert report["passed"] is True
    assert [s["name"] for s in report["scenarios"]] == [
        "math-tutor/korean-equation",
        "novel-guide/korean-question",
    ]
    assert (tmp_path / "s.md").read_text().startswith("### arun replay\n")
    assert step_summary.read_text() == (tmp_path / "s.md").read_text()


def test_two_hundred_scenarios_under_injected_faults(examples: Path, tmp_path: Path) -> None:
    (examples / "scenarios/load").mkdir()
    for index in range(100):
        shutil.copyfile(
            examples / "scenarios/math-tutor/seed-jane-doe.yaml",
            examples / f"scenarios/load/seed-{index:03d}.yaml",
        )
        shutil.copyfile(
            examples / "scenarios/travel-helper/weather-lookup.yaml",
            examples / f"scenarios/load/weather-{index:03d}.yaml",
        )
    faults = Faults.parse(
        ["rate_limit=0.1", "server_error=0.05", "drop_stream=0.02", "run_failed=0.05"], seed=7
    )
    with serving(tmp_path, "faults", faults=faults) as live:
        assert arun(examples, live, "apply", "--yes")[0] == 0
        # In a process of its own: 16 replay threads beside the server's would all share one GIL here.
        env = {**os.environ, "OPENAI_BASE_URL": live.base_url, "OPENAI_API_KEY": TEST_KEY}
        done = subprocess.run(
            [sys.executable, "-m", "runner", "-C", str(examples), "replay", "load/", "-j", "16"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        code, lines = done.returncode, done.stdout.splitlines()
        assert lines[-1].startswith("200 scenarios:"), done.stderr
        results = [read_transcript(p, p.name) for p in (examples / ".arun/transcripts/load").glob("*.yaml")]
        assert len(results) == 200
        problems = [r for r in results if r["result"] != "passed"]
        for data in problems:  # every scenario that did not pass says why
            # A run that failed again after its retry is a turn with no answer: an error, said so.
            assert data["result"] == "failed" or data["error"].startswith("turn "), data.get("error")
            assert any(t["run"].get("reason") for t in data["turns"])
        assert code == (1 if problems else 0)
        statuses = [json.loads(line)["status"] for line in live.log.read_text().splitlines()]
        assert 429 in statuses and 500 in statuses  # the faults really fired, and were retried through
        assert active_runs(tmp_path / "faults.db") == []  # the database: the API is injecting faults


def test_the_committed_goldens_match_a_fresh_replay(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    code, out, _ = arun(examples, live, "replay", "--compare", str(REPO / "transcripts"))
    assert code == 0, out
    assert out.splitlines()[-1] == "6 scenarios: 6 same; no differences."


def test_repeat_shard_and_pattern(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    code, out, _ = arun(examples, live, "replay", "-k", "seed", "--repeat", "2")
    assert code == 0
    assert sorted(p.name for p in (examples / ".arun/transcripts/math-tutor").iterdir()) == [
        "seed-jane-doe@1.yaml",
        "seed-jane-doe@2.yaml",
    ]
    code, _, err = arun(examples, live, "replay", "--repeat", "2", "--compare", "transcripts")
    assert code == 2 and "--repeat writes one transcript per repetition" in err
    names: list[str] = []
    for index in (1, 2, 3):
        code, out, _ = arun(examples, live, "replay", "--shard", f"{index}/3", "--json", "-o", f"out{index}")
        assert code == 0
        names += [s["name"] for s in json.loads(out)["scenarios"]]
    assert sorted(names) == sorted(
        p.relative_to(examples / "scenarios").with_suffix("").as_posix()
        for p in (examples / "scenarios").rglob("*.yaml")
    )


def test_update_golden_refuses_in_ci_and_writes_otherwise(
    examples: Path, live: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    arun(examples, live, "apply", "--yes")
    write(examples, "transcripts/gone/old.yaml", "transcript: 1\n")
    monkeypatch.setenv("CI", "true")
    code, _, err = arun(examples, live, "replay", "--update-golden")
    assert code == 2 and "refusing to update golden transcripts in CI" in err
    assert (examples / "transcripts/gone/old.yaml").exists()
    monkeypatch.delenv("CI")
    code, _, err = arun(examples, live, "replay", "--update-golden")
    assert code == 0
    assert err.splitlines()[-1] == "golden transcripts: 6 written, 1 removed, 0 unchanged"
    assert not (examples / "transcripts/gone").exists()
    written = {
        p.relative_to(examples / "transcripts"): p.read_bytes()
        for p in (examples / "transcripts").rglob("*.yaml")
    }
    assert written == {
        p.relative_to(REPO / "transcripts"): p.read_bytes() for p in (REPO / "transcripts").rglob("*.yaml")
    }


def test_attachments_are_uploaded_for_the_replay_and_deleted_after(examples: Path, live: Server) -> None:
    write(examples, "notes/tide.md", "# Tides\nThe spring tide at Gull Point reaches four metres.\n")
    write(
        examples,
        "scenarios/attached.yaml",
        "assistant: novel-guide\nturns:\n  - user:\n      text: How high is the spring tide at Gull Point?\n"
        "      attachments: [{file: notes/tide.md, tools: [file_search]}]\n    expect: [{status: completed}]\n",
    )
    arun(examples, live, "apply", "--yes")
    before = {f.id for f in live.client.files.list()}
    code, out, _ = arun(examples, live, "replay", "attached")
    assert code == 0, out
    data = read_transcript(examples / ".arun/transcripts/attached.yaml", "t")
    assert data["turns"][0]["user"] == {
        "text": "How high is the spring tide at Gull Point?",
        "attachments": [{"file": "notes/tide.md", "tools": ["file_search"]}],
    }
    assert {f.id for f in live.client.files.list()} == before


def test_python_handlers_run_only_when_allowed(examples: Path, live: Server) -> None:
    write(
        examples,
        "handlers/weather.py",
        "def get_weather(arguments):\n"
        "    return {'city': arguments['city'], 'temperature': 21, 'unit': 'celsius'}\n\n"
        "def broken(arguments):\n    raise RuntimeError('no forecast today')\n",
    )
    path = examples / "scenarios/travel-helper/weather-lookup.yaml"
    text = path.read_text().replace(
        "get_weather: {city: Lisbon, temperature: 21, unit: celsius, conditions: sunny}",
        "get_weather: {python: handlers.weather:get_weather}",
    )
    path.write_text(text)
    arun(examples, live, "apply", "--yes")
    code, out, _ = arun(examples, live, "replay", "travel-helper/")
    assert code == 1
    assert "run with --allow-python-handlers" in out
    code, out, _ = arun(examples, live, "replay", "travel-helper/", "--allow-python-handlers")
    assert code == 0, out
    data = read_transcript(examples / ".arun/transcripts/travel-helper/weather-lookup.yaml", "t")
    assert data["turns"][0]["steps"][0]["calls"][0]["output"] == {
        "city": "Lisbon",
        "temperature": 21,
        "unit": "celsius",
    }
    path.write_text(text.replace("handlers.weather:get_weather", "handlers.weather:broken"))
    code, out, _ = arun(examples, live, "replay", "travel-helper/", "--allow-python-handlers")
    assert code == 1
    assert "the Python handler handlers.weather:broken raised RuntimeError: no forecast today" in out


def test_python_handlers_take_the_arguments_as_keywords_when_their_signature_asks(
    examples: Path, live: Server
) -> None:
    write(
        examples,
        "handlers/weather.py",
        "def by_name(city, unit='celsius'):\n"
        "    return {'city': city, 'temperature': 21, 'unit': unit}\n\n"
        "def city_only(city):\n    return city\n",
    )
    path = examples / "scenarios/travel-helper/weather-lookup.yaml"
    text = path.read_text().replace(
        "get_weather: {city: Lisbon, temperature: 21, unit: celsius, conditions: sunny}",
        "get_weather: {python: handlers.weather:by_name}",
    )
    path.write_text(text)
    arun(examples, live, "apply", "--yes")
    code, out, _ = arun(examples, live, "replay", "travel-helper/", "--allow-python-handlers")
    assert code == 0, out
    data = read_transcript(examples / ".arun/transcripts/travel-helper/weather-lookup.yaml", "t")
    assert data["turns"][0]["steps"][0]["calls"][0]["output"] == {
        "city": "Lisbon",
        "temperature": 21,
        "unit": "celsius",
    }
    # A handler that would fail on an argument the function declares is refused before any run.
    path.write_text(text.replace("handlers.weather:by_name", "handlers.weather:city_only"))
    result = CliRunner().invoke(cli, ["-C", str(examples), "validate"], catch_exceptions=False)
    assert (result.exit_code, result.stdout) == (
        1,
        "scenarios/travel-helper/weather-lookup.yaml:7:29: turns[0].tool_outputs.get_weather.python: "
        "city_only takes no parameter 'unit', an argument of the function tool: add it (with a default if "
        "it is optional), or **kwargs for the rest\n",
    )


def test_scenario_level_expectations_see_the_whole_conversation(examples: Path, live: Server) -> None:
    path = examples / "scenarios/math-tutor/follow-up.yaml"
    path.write_text(path.read_text() + "  - contains: '84'\n  - no_tool_called: code_interpreter\n")
    arun(examples, live, "apply", "--yes")
    code, out, _ = arun(examples, live, "replay", "math-tutor/follow-up")
    assert code == 1
    assert out.splitlines()[0] == (
        'FAIL    math-tutor/follow-up (3 turns): scenario: no_tool_called "code_interpreter": '
        "'code_interpreter' was called"
    )
    data = read_transcript(examples / ".arun/transcripts/math-tutor/follow-up.yaml", "t")
    assert [(e["check"], e["passed"]) for e in data["expectations"]] == [
        ("tool_called", True),
        ("not_contains", True),
        ("contains", True),  # "84" is in turn 1's reply, checked over all replies
        ("no_tool_called", False),
    ]
