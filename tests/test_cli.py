from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from runner import cli as cli_module
from runner.cli import cli, main
from runner.errors import RunnerError

from .conftest import REPO


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def boom_command() -> object:
    """A throwaway command that raises whatever the test asks for."""
    raised: dict[str, BaseException] = {}

    @cli.command("boom", hidden=True)
    def boom() -> None:
        raise raised["exc"]

    yield raised
    cli.commands.pop("boom")


def test_every_command_has_help_with_an_example() -> None:
    for name, command in cli.commands.items():
        code, out, _ = invoke(name, "--help")
        assert code == 0, name
        assert "Example:" in out, f"{name} --help has no example"
        assert command.help


def test_usage_mistakes_exit_1_not_2() -> None:
    code, _, err = invoke("validate", "--no-such-option")
    assert code == 1
    assert "Error: No such option '--no-such-option'." in err
    assert invoke("no-such-command")[0] == 1


def test_runner_error_is_one_line_and_exit_1(boom_command: dict[str, BaseException]) -> None:
    boom_command["exc"] = RunnerError("the thing is wrong; do this instead")
    assert invoke("boom") == (1, "", "Error: the thing is wrong; do this instead\n")


def test_unexpected_error_exits_3_without_traceback(boom_command: dict[str, BaseException]) -> None:
    boom_command["exc"] = ZeroDivisionError("division by zero")
    code, _, err = invoke("boom")
    assert code == 3
    assert err == (
        "Internal error: ZeroDivisionError: division by zero\n"
        "This is a bug in arun. Run again with --debug for the traceback, and report it.\n"
    )


def test_debug_shows_the_traceback(boom_command: dict[str, BaseException]) -> None:
    boom_command["exc"] = ZeroDivisionError("division by zero")
    code, _, err = invoke("--debug", "boom")
    assert code == 3
    assert err.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in err


def test_ctrl_c_exits_130(boom_command: dict[str, BaseException]) -> None:
    boom_command["exc"] = KeyboardInterrupt()
    assert invoke("boom") == (130, "", "Interrupted.\n")
    boom_command["exc"] = click.exceptions.Abort()
    assert invoke("boom")[0] == 130


def test_main_exits_with_the_command_code(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 0
    (example_project / "assistants" / "math-tutor.yaml").write_text("model: 1\n")
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 1


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert (code, out) == (0, f"arun, version {cli_module.__version__}\n")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate"],
        ["validate", "--help"],
        ["diff", "--help"],
        ["diff", "a", "b"],
        ["init", "--help"],
    ],
)
def test_commands_without_an_api_do_not_import_openai(args: list[str]) -> None:
    probe = (
        "import sys\n"
        "from runner.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'httpx', 'starlette', 'uvicorn'))\n"
        "sys.stderr.write('IMPORTED:' + ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stderr.rsplit("IMPORTED:", 1)[1] == ""


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "Usage: arun" in done.stdout
