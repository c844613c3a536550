from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.errors import ValidationFailed
from runner.project.load import load_project, require_project

from ..conftest import write


def validate(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-C", str(root), "validate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_examples_are_valid(example_project: Path) -> None:
    assert validate(example_project) == (0, "", "9 files valid.\n")


def test_json_report(example_project: Path) -> None:
    write(example_project, "scenarios/x.yaml", "assistant: math-tutr\nturns:\n  - user: hi\n")
    code, out, _ = validate(example_project, "--json")
    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "files": 10,
        "errors": [
            {
                "path": "scenarios/x.yaml",
                "line": 1,
                "column": 12,
                "where": "assistant",
                "message": "no assistant 'math-tutr' (did you mean 'math-tutor'?): assistants are the files under assistants/",
            }
        ],
        "warnings": [],
    }


def test_errors_are_sorted_by_file_and_line(example_project: Path) -> None:
    write(
        example_project,
        "scenarios/b.yaml",
        "assistant: math-tutor\nturns:\n  - user: hi\n    expect: [{statuss: x}]\n",
    )
    write(example_project, "assistants/a.yaml", "nmae: x\nmodel: 1\n")
    code, out, err = validate(example_project)
    assert code == 1
    assert out == (
        "assistants/a.yaml:1:1: (root): unknown key 'nmae' (did you mean 'name'?)\n"
        "assistants/a.yaml:2:8: model: expected a string, got an integer (1); quote it\n"
        "scenarios/b.yaml:4:15: turns[0].expect[0]: 'statuss' is not a known expectation (did you mean 'status'?)\n"
    )
    assert err == "3 errors in 11 files.\n"


def test_paths_select_files_and_folders(example_project: Path) -> None:
    write(example_project, "assistants/bad.yaml", "model: 1\n")
    assert validate(example_project, "scenarios/math-tutor") == (0, "", "3 files valid.\n")
    assert validate(example_project, "scenarios/novel-guide/storm-night.yaml") == (0, "", "1 file valid.\n")
    assert validate(example_project, "assistants/bad.yaml")[0] == 1


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nowhere.yaml", "nowhere.yaml: no such file or folder"),
        ("corpus", "corpus: not inside assistants/ or scenarios/ of the project"),
        ("assistants/../corpus/harbor-light/01-the-keeper.md", "not inside assistants/ or scenarios/"),
    ],
)
def test_bad_paths_are_user_errors(example_project: Path, given: str, message: str) -> None:
    code, out, err = validate(example_project, given)
    assert (code, out) == (1, "")
    assert err.startswith("Error: ") and message in err


def test_non_yaml_file_is_refused(example_project: Path) -> None:
    write(example_project, "scenarios/notes.txt", "hello")
    code, _, err = validate(example_project, "scenarios/notes.txt")
    assert code == 1
    assert err == "Error: scenarios/notes.txt: not a YAML file (expected .yaml or .yml)\n"


def test_no_project_folders(tmp_path: Path) -> None:
    code, _, err = validate(tmp_path)
    assert code == 1
    assert err == (
        f"Error: no assistants/ or scenarios/ folder in {tmp_path.resolve()}: run arun inside a project "
        "(it looks upward from the current folder), pass -C DIR, or start one with `arun init`\n"
    )


def test_the_root_is_found_upward_from_a_sub_folder(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(example_project, "scenarios/math-tutor/bad.yaml", "assistant: nobody\nturns: [{user: hi}]\n")
    monkeypatch.chdir(example_project / "scenarios" / "math-tutor")
    result = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
    assert (result.exit_code, result.stdout) == (
        1,
        "scenarios/math-tutor/bad.yaml:1:12: assistant: no assistant 'nobody': "
        "assistants are the files under assistants/\n",
    )
    # Paths on the command line start from the current folder, as with git.
    result = CliRunner().invoke(cli, ["validate", "seed-jane-doe.yaml"], catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (0, "1 file valid.\n")
    # -C still wins, and then paths start from DIR.
    elsewhere = example_project.parent / "other"
    write(elsewhere, "assistants/solo.yaml", "model: m\n")
    args = ["-C", str(elsewhere), "validate", "assistants/solo.yaml"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (0, "1 file valid.\n")


def test_outside_any_project_the_message_says_where_arun_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no assistants/ or scenarios/ folder in {tmp_path.resolve()}: run arun inside a project "
        "(it looks upward from the current folder), pass -C DIR, or start one with `arun init`\n"
    )


def test_a_broken_assistant_does_not_cascade_into_its_scenarios(example_project: Path) -> None:
    write(example_project, "assistants/math-tutor.yaml", "model: 3\n")
    code, out, _ = validate(example_project)
    assert code == 1
    assert out == "assistants/math-tutor.yaml:1:8: model: expected a string, got an integer (3); quote it\n"


def test_assistant_keys_are_unique_across_folders(example_project: Path) -> None:
    write(example_project, "assistants/team/math-tutor.yml", "model: m\n")
    code, out, _ = validate(example_project)
    assert code == 1
    assert out == (
        "assistants/math-tutor.yaml:1:1: (file): assistant key 'math-tutor' is also defined by "
        "assistants/team/math-tutor.yml: keys (file stems) must be unique\n"
        "assistants/team/math-tutor.yml:1:1: (file): assistant key 'math-tutor' is also defined by "
        "assistants/math-tutor.yaml: keys (file stems) must be unique\n"
    )


def test_warnings_are_shown_but_do_not_fail(example_project: Path) -> None:
    path = example_project / "scenarios/travel-helper/weather-lookup.yaml"
    path.write_text(path.read_text().replace("turns:\n", "run: {tool_choice: none}\nturns:\n", 1))
    code, out, err = validate(example_project)
    assert (code, err) == (0, "9 files valid (1 warning).\n")
    assert out == (
        "scenarios/travel-helper/weather-lookup.yaml:8:7: turns[0].tool_outputs.get_weather: warning: "
        "the turn's tool_choice is 'none', so the model calls no tool: this output is never used\n"
    )
    code, out, _ = validate(example_project, "--json")
    report = json.loads(out)
    assert (code, report["valid"], report["errors"], len(report["warnings"])) == (0, True, [], 1)
    text = path.read_text().replace(
        "run: {tool_choice: none}", "run: {tool_choice: {type: function, function: {name: get_weather}}}"
    )
    path.write_text(text)
    assert validate(example_project)[:2] == (0, "")
    write(
        example_project,
        "scenarios/forced.yaml",
        text.replace("travel-helper", "math-tutor", 1).replace(
            "tool_choice: {type: function, function: {name: get_weather}}",
            "tool_choice: {type: code_interpreter}",
        ),
    )
    code, out, _ = validate(example_project, "scenarios/forced.yaml")
    assert code == 1  # math-tutor has no get_weather: the output is an error there, not a warning


def test_symlink_out_of_the_project_is_refused(example_project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    os.symlink(outside, example_project / "corpus" / "link.md")
    write(
        example_project,
        "assistants/leaky.yaml",
        "model: m\ntools: [{type: file_search}]\nfiles: {file_search: [corpus/link.md]}\n",
    )
    code, out, _ = validate(example_project, "assistants/leaky.yaml")
    assert code == 1
    assert out == (
        "assistants/leaky.yaml:3:23: files.file_search[0]: 'corpus/link.md' resolves outside the project "
        "(through a symbolic link)\n"
    )


def test_instructions_file_limits_and_encoding(example_project: Path) -> None:
    write(example_project, "prompts/long.md", "x" * 256_001)
    (example_project / "prompts" / "latin1.md").write_bytes(b"caf\xe9")
    write(example_project, "assistants/a.yaml", "model: m\ninstructions_file: prompts/long.md\n")
    write(example_project, "assistants/b.yaml", "model: m\ninstructions_file: prompts/latin1.md\n")
    write(example_project, "assistants/c.yaml", "model: m\ninstructions_file: 'prompts/*.md'\n")
    code, out, _ = validate(example_project, "assistants/a.yaml", "assistants/b.yaml", "assistants/c.yaml")
    assert code == 1
    assert out == (
        "assistants/a.yaml:2:20: instructions_file: prompts/long.md holds 256,001 characters; "
        "instructions are limited to 256,000\n"
        "assistants/b.yaml:2:20: instructions_file: file is not UTF-8 text (byte 0xe9); save it as UTF-8\n"
        "assistants/c.yaml:2:20: instructions_file: 'prompts/*.md': name one file here, not a glob pattern\n"
    )


def test_anchors_and_merge_keys_are_allowed(example_project: Path) -> None:
    write(
        example_project,
        "scenarios/anchors.yaml",
        "assistant: math-tutor\n"
        "x-defaults: &done\n  - status: completed\n"
        "turns:\n  - user: one\n    expect: *done\n  - user: two\n    expect: *done\n",
    )
    code, out, _ = validate(example_project, "scenarios/anchors.yaml")
    assert (code, out) == (1, "scenarios/anchors.yaml:2:1: (root): unknown key 'x-defaults'\n")
    write(
        example_project,
        "scenarios/anchors.yaml",
        "assistant: math-tutor\nrun: &r {model: gpt-4o}\n"
        "turns:\n  - user: one\n    run:\n      <<: *r\n      temperature: 0.5\n",
    )
    result = load_project(example_project, [example_project / "scenarios/anchors.yaml"])
    assert result.ok
    assert result.project.scenarios["anchors"].turns[0].run == {"model": "gpt-4o", "temperature": 0.5}


def test_require_project_lists_every_problem(example_project: Path) -> None:
    assert set(require_project(example_project).assistants) == {"math-tutor", "novel-guide", "travel-helper"}
    write(example_project, "assistants/a.yaml", "model: 1\n")
    with pytest.raises(ValidationFailed) as caught:
        require_project(example_project)
    assert str(caught.value) == (
        "the project has 1 problem(s):\nassistants/a.yaml:1:8: model: expected a string, got an integer (1); quote it"
    )


def test_models_carry_resolved_values(example_project: Path) -> None:
    project = load_project(example_project).project
    guide = project.assistants["novel-guide"]
    assert guide.instructions == (example_project / "prompts/novel-guide.md").read_text()
    assert guide.api_fields()["tools"] == [{"type": "file_search", "file_search": {"max_num_results": 5}}]
    assert guide.api_fields()["temperature"] == 0.2
    helper = project.assistants["travel-helper"]
    assert helper.function_names == ("get_weather",)
    scenario = project.scenarios["math-tutor/follow-up"]
    last = scenario.turns[2]
    assert scenario.run_settings(last) == {
        "additional_instructions": "Answer with yes or no first, then explain.",
    }
    assert [e.kind for e in last.expect] == ["regex"]
    assert last.expect[0].ignore_case is True
    assert str(last.expect[0].source) == "scenarios/math-tutor/follow-up.yaml:18:9"
