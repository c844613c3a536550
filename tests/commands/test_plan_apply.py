from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli

from ..conftest import write
from .conftest import Server


def arun(root: Path, server: Server, *args: str) -> tuple[int, str, str]:
    command, *rest = args
    result = CliRunner().invoke(
        cli, ["-C", str(root), command, *server.cli_args(), *rest], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def inventory(server: Server) -> dict[str, list[str]]:
    """What is on the server, to check for duplicates and orphans."""
    client = server.client
    return {
        "assistants": sorted(
            (a.metadata or {}).get("arun_key", "(hand-made)") for a in client.beta.assistants.list(limit=100)
        ),
        "vector_stores": sorted(
            (v.metadata or {}).get("arun_key", "?") for v in client.vector_stores.list(limit=100)
        ),
        "files": sorted(f.filename for f in client.files.list()),
    }


def test_empty_server_plan_apply_plan(project: Path, server: Server) -> None:
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert out.splitlines()[0] == "+ assistant math-tutor"
    assert out.splitlines()[-1] == "Plan: 3 to create, 0 to update, 0 to delete. 3 API requests."
    code, out, _ = arun(project, server, "apply", "--yes")
    assert code == 0
    assert out.splitlines()[-1].startswith("Applied: 3 created, 0 updated, 0 deleted.")
    mark = server.mark()
    assert arun(project, server, "plan") == (
        0,
        "No changes. 0 to create, 0 to update, 0 to delete. 4 API requests.\n",
        "",
    )
    assert len(server.since(mark)) == 4
    mark = server.mark()
    code, out, _ = arun(project, server, "apply", "--yes")
    assert code == 0
    assert server.writes_since(mark) == []
    state = inventory(server)
    assert state["assistants"] == ["math-tutor", "novel-guide", "travel-helper"]
    assert state["vector_stores"] == ["novel-guide"]
    assert sorted(f.split("~")[3] for f in state["files"]) == [
        "01-the-keeper.md",
        "02-the-storm.md",
        "03-the-letter.md",
    ]


def test_applied_assistant_matches_the_yaml(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    by_key = {a.metadata["arun_key"]: a for a in server.client.beta.assistants.list()}
    guide = by_key["novel-guide"]
    assert guide.instructions == (project / "prompts/novel-guide.md").read_text()
    assert guide.temperature == 0.2
    assert guide.metadata["arun_managed"] == "true"
    assert guide.metadata["arun_spec_hash"].startswith("sha256:")
    (store_id,) = guide.tool_resources.file_search.vector_store_ids
    files = list(server.client.vector_stores.files.list(store_id))
    assert sorted(f.attributes["arun_path"] for f in files) == [
        "corpus/harbor-light/01-the-keeper.md",
        "corpus/harbor-light/02-the-storm.md",
        "corpus/harbor-light/03-the-letter.md",
    ]
    assert by_key["math-tutor"].metadata["team"] == "education"
    assert [t.function.name for t in by_key["travel-helper"].tools] == ["get_weather"]


def test_one_edited_instruction_is_one_update(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    path = project / "assistants/math-tutor.yaml"
    path.write_text(path.read_text().replace("Write and run code", "Write and run Python code"))
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert out == (
        "~ assistant math-tutor ({id}): changed\n"
        "    ~ instructions:\n"
        "        --- remote\n"
        "        +++ desired\n"
        "        @@ -1 +1 @@\n"
        "        -You are a personal math tutor. Write and run code to answer math questions.\n"
        "        +You are a personal math tutor. Write and run Python code to answer math questions.\n"
        "Plan: 0 to create, 1 to update, 0 to delete. 4 API requests.\n"
    ).format(
        id=next(a.id for a in server.client.beta.assistants.list() if a.metadata["arun_key"] == "math-tutor")
    )
    mark = server.mark()
    assert arun(project, server, "apply", "--yes")[0] == 0
    assert [w for w in server.writes_since(mark)] == [
        ("POST", f"/v1/assistants/{out.split('(')[1].split(')')[0]}")
    ]


def test_long_instructions_change_shows_a_unified_diff(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    prompt = project / "prompts/novel-guide.md"
    prompt.write_text(prompt.read_text().replace("three sentences", "two sentences"))
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert "    ~ instructions:\n        --- remote\n        +++ desired\n" in out
    assert (
        "        -Keep answers to three sentences or fewer.\n        +Keep answers to two sentences or fewer.\n"
        in out
    )


def test_one_edited_file_is_one_upload_and_one_delete(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    chapter = project / "corpus/harbor-light/02-the-storm.md"
    chapter.write_text(chapter.read_text() + "\nThe storm ended on the third morning.\n")
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert "    + file corpus/harbor-light/02-the-storm.md (file_search, upload)\n" in out
    assert "    - file corpus/harbor-light/02-the-storm.md (file_search, delete file-" in out
    mark = server.mark()
    assert arun(project, server, "apply", "--yes")[0] == 0
    writes = server.writes_since(mark)
    assert [w for w in writes if w[1] == "/v1/files"] == [("POST", "/v1/files")]
    assert len([w for w in writes if w[0] == "DELETE" and w[1].startswith("/v1/files/")]) == 1
    assert len(inventory(server)["files"]) == 3


def test_unchanged_content_under_a_new_name_is_not_uploaded_again(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    path = project / "assistants/novel-guide.yaml"
    path.write_text(path.read_text().replace("temperature: 0.2", "temperature: 0.3"))
    mark = server.mark()
    assert arun(project, server, "apply", "--yes")[0] == 0
    assert not [w for w in server.writes_since(mark) if "/files" in w[1]]


def test_prune_deletes_the_assistant_its_store_and_files_but_not_hand_made_ones(
    project: Path, server: Server
) -> None:
    arun(project, server, "apply", "--yes")
    hand = server.client.beta.assistants.create(model="gpt-4o", name="made by hand")
    (project / "assistants/novel-guide.yaml").unlink()
    code, out, _ = arun(project, server, "plan")
    assert (code, out) == (
        0,
        "! assistant novel-guide: its YAML is gone; `arun apply --prune` deletes it with its files\n"
        "No changes. 0 to create, 0 to update, 0 to delete. 4 API requests.\n",
    )
    code, out, _ = arun(project, server, "plan", "--prune")
    assert code == 2
    assert out.splitlines()[-1] == "Plan: 0 to create, 0 to update, 5 to delete. 4 API requests."
    assert arun(project, server, "apply", "--yes", "--prune")[0] == 0
    state = inventory(server)
    assert state == {
        "assistants": ["(hand-made)", "math-tutor", "travel-helper"],
        "vector_stores": [],
        "files": [],
    }
    assert server.client.beta.assistants.retrieve(hand.id).name == "made by hand"


def test_drift_is_shown_and_put_back(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    tutor = next(a for a in server.client.beta.assistants.list() if a.metadata["arun_key"] == "math-tutor")
    server.client.beta.assistants.update(tutor.id, temperature=0.1, name="Renamed by hand")
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert out.splitlines()[:3] == [
        f"~ assistant math-tutor ({tutor.id}): drift",
        '    ~ name: "Renamed by hand" -> "Math Tutor"',
        "    ~ temperature: 0.1 -> 1.0",
    ]
    assert arun(project, server, "apply", "--yes")[0] == 0
    assert server.client.beta.assistants.retrieve(tutor.id).name == "Math Tutor"


def test_code_interpreter_files(project: Path, server: Server) -> None:
    write(project, "data/prices.csv", "item,price\ntea,3\n")
    write(project, "data/stock.csv", "item,count\ntea,9\n")
    path = project / "assistants/math-tutor.yaml"
    path.write_text(path.read_text() + "files:\n  code_interpreter: [data/prices.csv, data/stock.csv]\n")
    arun(project, server, "apply", "--yes")
    tutor = next(a for a in server.client.beta.assistants.list() if a.metadata["arun_key"] == "math-tutor")
    ids = tutor.tool_resources.code_interpreter.file_ids
    assert len(ids) == 2
    write(project, "data/stock.csv", "item,count\ntea,8\n")
    code, out, _ = arun(project, server, "plan")
    assert code == 2
    assert f"    - file {ids[1]} (code_interpreter, delete {ids[1]})" in out
    assert arun(project, server, "apply", "--yes")[0] == 0
    after = server.client.beta.assistants.retrieve(tutor.id).tool_resources.code_interpreter.file_ids
    assert after[0] == ids[0] and after[1] != ids[1]
    assert arun(project, server, "plan")[0] == 0
    assert len([f for f in inventory(server)["files"] if "~math-tutor~" in f]) == 2


def test_metadata_keys_can_be_removed(project: Path, server: Server) -> None:
    arun(project, server, "apply", "--yes")
    path = project / "assistants/math-tutor.yaml"
    path.write_text(path.read_text().replace("metadata:\n  team: education\n", "metadata:\n  owner: maths\n"))
    assert arun(project, server, "apply", "--yes")[0] == 0
    tutor = next(a for a in server.client.beta.assistants.list() if a.metadata["arun_key"] == "math-tutor")
    assert {k: v for k, v in tutor.metadata.items() if not k.startswith("arun_")} == {"owner": "maths"}


def test_json_plan(project: Path, server: Server) -> None:
    code, out, _ = arun(project, server, "plan", "--json")
    assert code == 2
    report = json.loads(out)
    assert report["counts"] == {"create": 3, "update": 0, "delete": 0}
    assert report["requests"] == 3
    guide = next(c for c in report["changes"] if c["key"] == "novel-guide")
    assert [f["path"] for f in guide["files"]] == [
        "corpus/harbor-light/01-the-keeper.md",
        "corpus/harbor-light/02-the-storm.md",
        "corpus/harbor-light/03-the-letter.md",
    ]
    code, out, _ = arun(project, server, "apply", "--yes", "--json")
    assert code == 0
    assert json.loads(out)["applied"] is True


def test_apply_without_a_terminal_needs_yes(project: Path, server: Server) -> None:
    code, _, err = arun(project, server, "apply")
    assert code == 1
    assert err == "Error: apply changes the API and there is no terminal to ask for confirmation: add --yes\n"
    assert inventory(server)["assistants"] == []


def test_a_broken_project_never_reaches_the_api(project: Path, server: Server) -> None:
    write(project, "assistants/bad.yaml", "model: 1\n")
    mark = server.mark()
    code, _, err = arun(project, server, "plan")
    assert code == 1
    assert err.startswith("Error: the assistants have 1 problem(s):\nassistants/bad.yaml:1:8: model:")
    assert server.since(mark) == []


def test_a_broken_scenario_does_not_block_plan_and_apply(project: Path, server: Server) -> None:
    write(project, "scenarios/bad.yaml", "assistant: nobody\nturns: [{user: hi}]\n")
    note = (
        "Note: the scenarios have 1 problem(s) (`arun validate` lists them); "
        "plan and apply need only the assistants, replay refuses them.\n"
    )
    code, out, err = arun(project, server, "plan")
    assert (code, out.splitlines()[0], err) == (2, "+ assistant math-tutor", note)
    code, out, err = arun(project, server, "apply", "--yes")
    assert (code, err) == (0, note)
    assert inventory(server)["assistants"] == ["math-tutor", "novel-guide", "travel-helper"]
    result = CliRunner().invoke(
        cli, ["-C", str(project), "replay", *server.cli_args()], catch_exceptions=False
    )
    assert result.exit_code == 2  # replay could not run: the project does not load
    assert result.stderr.startswith("Error: the project has 1 problem(s):\nscenarios/bad.yaml:1:12:")


def test_api_key_without_base_url_says_the_hosted_api_is_gone(project: Path) -> None:
    result = CliRunner().invoke(
        cli, ["-C", str(project), "plan", "--api-key", "sk-abc"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: OpenAI shut down its hosted Assistants API on 2026-08-26")
    assert "sk-abc" not in result.output


def test_unreachable_server_is_a_clear_error(project: Path) -> None:
    args = ["-C", str(project), "plan", "--base-url", "http://127.0.0.1:9/v1", "--api-key", "k"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: listing assistants: cannot reach http://127.0.0.1:9/v1")


def test_wrong_key_is_a_clear_error(project: Path, server: Server) -> None:
    args = ["-C", str(project), "plan", "--base-url", server.base_url, "--api-key", "wrong"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: listing assistants: the server refused the API key (401")


@pytest.mark.parametrize("local_flag", [True, False])
def test_embedded_default(project: Path, local_flag: bool) -> None:
    args = ["-C", str(project), "apply", "--yes"] + (["--local"] if local_flag else [])
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0
    assert (
        result.stderr
        == f"arun: using the embedded local server (state in {project / '.arun' / 'local.db'})\n"
    )
    result = CliRunner().invoke(cli, ["-C", str(project), "plan"], catch_exceptions=False)
    assert result.exit_code == 0


PROBE = (
    "import sys\n"
    "from runner.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "sys.stderr.write(f'EXIT:{code} IMPORTED:' + ','.join(sorted({m.split('.')[0] for m in sys.modules} & {'openai', 'pydantic'})))\n"
)


@pytest.mark.parametrize("where", ["embedded", "arun serve"])
def test_a_no_op_plan_reads_over_plain_http_without_loading_the_sdk(
    project: Path, server: Server, where: str
) -> None:
    """The SDK costs about a second to load (docs/performance.md, "Apply"); a plan with nothing to do
    never needs it. Checked in a fresh process: the SDK is loaded there for anything that writes."""
    remote = [] if where == "embedded" else server.cli_args()
    assert CliRunner().invoke(cli, ["-C", str(project), "apply", "--yes", *remote]).exit_code == 0
    for command in ("plan", "apply"):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, "-C", str(project), command, *remote],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.stdout.startswith("No changes.")
        assert done.stderr.endswith("EXIT:0 IMPORTED:")
    # Once there is something to write, the SDK does the writing.
    write(
        project,
        "assistants/math-tutor.yaml",
        (project / "assistants/math-tutor.yaml").read_text() + "temperature: 0.5\n",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "-C", str(project), "apply", "--yes", *remote],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stderr.endswith("EXIT:0 IMPORTED:openai,pydantic")
