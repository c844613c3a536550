"""The golden workflow never loses or fakes a result: selections, the output folder, stale assistants,
exit codes and --json (issue 10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

from runner.replay.outdir import MARKER
from runner.server.faults import Faults
from runner.transcript.io import read_transcript

from ..conftest import REPO, write
from .conftest import Server, active_runs, arun, serving

SEED = "math-tutor/seed-jane-doe"


def goldens(root: Path) -> dict[str, bytes]:
    folder = root / "transcripts"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def with_goldens(root: Path) -> None:
    shutil.copytree(REPO / "transcripts", root / "transcripts")


def outputs(root: Path, out: str = ".arun/transcripts") -> list[str]:
    folder = root / out
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_update_golden_of_a_selection_touches_only_its_goldens(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    with_goldens(examples)
    write(examples, "transcripts/gone/old.yaml", "transcript: 2\n")
    seed = examples / "transcripts" / f"{SEED}.yaml"
    seed.write_text(seed.read_text().replace("result: passed", "result: failed"))
    before = goldens(examples)
    code, _, err = arun(examples, live, "replay", "travel-helper/weather-lookup", "--update-golden")
    assert code == 0
    assert err.splitlines()[-1] == "golden transcripts: 0 written, 0 removed, 1 unchanged"
    assert goldens(examples) == before  # the edited seed golden and the orphan are left alone
    code, _, err = arun(examples, live, "replay", "-k", "seed", "--update-golden")
    assert code == 0 and err.splitlines()[-1] == "golden transcripts: 1 written, 0 removed, 0 unchanged"
    assert goldens(examples)["gone/old.yaml"] == before["gone/old.yaml"]
    assert goldens(examples)[f"{SEED}.yaml"] == (REPO / "transcripts" / f"{SEED}.yaml").read_bytes()
    code, _, err = arun(examples, live, "replay", "--update-golden")  # the whole set: orphans go
    assert code == 0 and err.splitlines()[-1] == "golden transcripts: 0 written, 1 removed, 6 unchanged"
    assert "gone/old.yaml" not in goldens(examples)


def test_each_replay_replaces_its_output_folder_and_only_one_arun_wrote(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    assert arun(examples, live, "replay", "-k", "seed", "--repeat", "2")[0] == 0
    assert outputs(examples) == [MARKER, f"{SEED}@1.yaml", f"{SEED}@2.yaml"]
    assert arun(examples, live, "replay", "-k", "korean")[0] == 0
    assert outputs(examples) == [
        MARKER,
        "math-tutor/korean-equation.yaml",
        "novel-guide/korean-question.yaml",
    ]
    # A folder arun did not write is never deleted, and nothing runs.
    write(examples, "notes/keep.txt", "mine")
    code, _, err = arun(examples, live, "replay", SEED, "-o", "notes")
    assert code == 2 and "holds files that arun did not write" in err
    assert outputs(examples, "notes") == ["keep.txt"]
    # What an older arun left (transcripts, no marker) is replaced.
    write(examples, "old/x/y.yaml", (REPO / "transcripts" / f"{SEED}.yaml").read_text())
    assert arun(examples, live, "replay", SEED, "-o", "old")[0] == 0
    assert outputs(examples, "old") == [MARKER, f"{SEED}.yaml"]
    # The goldens are never an output folder.
    with_goldens(examples)
    code, _, err = arun(examples, live, "replay", SEED, "-o", "transcripts")
    assert code == 2 and "is the golden folder" in err


def test_compare_of_a_selection_compares_only_it(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    with_goldens(examples)
    code, out, _ = arun(examples, live, "replay", SEED, "--compare", "transcripts")
    assert code == 0, out
    assert out.splitlines()[-1] == "1 scenario: 1 same; no differences."


def test_an_interrupted_transcript_is_neither_promoted_nor_a_pass(examples: Path, tmp_path: Path) -> None:
    with_goldens(examples)
    before = goldens(examples)
    with serving(tmp_path, "slow", model_time=5.0) as live:
        arun(examples, live, "apply", "--yes")
        code, _, err = arun(examples, live, "replay", SEED, "--timeout", "1", "--update-golden")
        assert code == 1
        assert err.splitlines()[-1] == (
            f"golden transcripts: 0 written, 0 removed, 0 unchanged; 1 not promoted (interrupted): {SEED}"
        )
        assert goldens(examples) == before
        code, out, _ = arun(examples, live, "replay", SEED, "--timeout", "1", "--compare", "transcripts")
        assert code == 1
        assert "STOPPED " + SEED in out
        assert active_runs(tmp_path / "slow.db", live.client) == []


def test_a_stale_assistant_elsewhere_stops_with_the_command_to_run(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    path = examples / "assistants/math-tutor.yaml"
    path.write_text(path.read_text().replace("description:", "description: Edited after apply.", 1))
    mark = live.mark()
    code, _, err = arun(examples, live, "replay", SEED)
    assert code == 2
    assert f"assistant math-tutor differs from the YAML on {live.base_url}" in err
    assert "Run `arun apply` against the same API first" in err
    assert live.since(mark) == [("GET", "/v1/assistants")]  # no run started


def test_on_the_embedded_server_replay_applies_first(example_project: Path) -> None:
    from click.testing import CliRunner

    from runner.cli import cli

    def local(*args: str) -> tuple[int, str, str]:
        done = CliRunner().invoke(cli, ["-C", str(example_project), *args], catch_exceptions=False)
        return done.exit_code, done.stdout, done.stderr

    code, _, err = local("replay", SEED, "--local")  # never applied
    assert code == 0, err
    assert (
        "assistant math-tutor not on the API: applying to the embedded local server first (3 to create" in err
    )
    path = example_project / "assistants/math-tutor.yaml"
    path.write_text(path.read_text().replace("description:", "description: Edited after apply.", 1))
    code, _, err = local("replay", SEED, "--local")
    assert code == 0, err
    assert "assistant math-tutor differs from the YAML: applying to the embedded local server first" in err
    assert local("plan", "--local")[0] == 0  # replay left the API matching the YAML
    code, _, err = local("replay", SEED, "--local")
    assert code == 0 and "applying" not in err


def test_nothing_selected_exits_5_and_an_empty_shard_exits_0(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    code, _, err = arun(examples, live, "replay", "-k", "nomatch")
    assert code == 5 and "-k 'nomatch' matches no scenario" in err
    code, _, err = arun(examples, live, "replay", "math-tutor/", "-k", "storm")
    assert code == 5 and "among math-tutor/" in err
    assert arun(examples, live, "replay", "nosuch/")[0] == 5
    for other in (p for p in (examples / "scenarios").rglob("*.yaml") if p.stem != "seed-jane-doe"):
        other.unlink()
    codes = {}
    for index in (1, 2, 3, 4):
        code, out, err = arun(examples, live, "replay", "--shard", f"{index}/4", "--json")
        codes[index] = (code, [s["name"] for s in json.loads(out)["scenarios"]])
        if not codes[index][1]:
            assert "owns none of the selected scenarios" in err
    assert sorted(codes.values()) == [(0, []), (0, []), (0, []), (0, [SEED])]


def test_json_is_the_only_thing_on_stdout(examples: Path, live: Server) -> None:
    arun(examples, live, "apply", "--yes")
    with_goldens(examples)
    code, out, err = arun(examples, live, "replay", "--json", "--compare", "transcripts")
    assert code == 0, err
    report = json.loads(out)
    assert report["passed"] is True and report["compare"]["same"] is True
    assert "6 scenarios: 6 passed." in err
    code, out, err = arun(examples, live, "replay", "-k", "korean", "--json", "--update-golden")
    assert code == 0
    assert json.loads(out)["golden"] == {
        "written": [],
        "unchanged": ["math-tutor/korean-equation", "novel-guide/korean-question"],
        "removed": [],
        "not_promoted": [],
    }


def test_an_api_that_cannot_be_reached_or_refuses_the_key_exits_2(examples: Path, live: Server) -> None:
    from click.testing import CliRunner

    from runner.cli import cli

    def replay(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(cli, ["-C", str(examples), "replay", *args], catch_exceptions=False)
        return done.exit_code, done.stderr

    code, err = replay("--base-url", live.base_url, "--api-key", "not-the-key")
    assert code == 2 and "refused the API key" in err
    code, err = replay("--base-url", "http://127.0.0.1:9/v1", "--api-key", "x")
    assert code == 2 and "cannot reach http://127.0.0.1:9/v1" in err
    code, err = replay("--jobs", "0")
    assert code == 2 and "Invalid value for '-j' / '--jobs'" in err
    write(examples, "scenarios/broken.yaml", "assistant: nobody\nturns: []\n")
    assert replay("--local")[0] == 2  # a project that does not load


def test_a_turn_with_no_answer_is_a_failed_scenario_and_a_junit_error(examples: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "failing", faults=Faults.parse(["run_failed=1.0"], seed=1)) as live:
        arun(examples, live, "apply", "--yes")
        code, _, _ = arun(examples, live, "replay", SEED, "--junit", str(tmp_path / "j.xml"))
    assert code == 1
    data = read_transcript(examples / f".arun/transcripts/{SEED}.yaml", "t")
    assert data["result"] == "error"
    assert data["error"].startswith("turn 1: no answer: the run failed again after a retry (")
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("errors"), suite.get("failures")) == ("1", "0")
    case = suite.find("testcase")
    assert case is not None and case.find("error") is not None and case.find("failure") is None
