"""The code_interpreter sandbox: a real child process under real limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.sim import Sandbox
from runner.sim.sandbox import Isolation, SandboxFile, folder_names


def test_code_runs_and_a_final_expression_is_shown_like_a_notebook_cell(sandbox: Sandbox) -> None:
    assert sandbox.run("print('한국어')\n12 * 7").output == "한국어\n84\n"
    assert sandbox.run("x = None\nx").output == ""
    result = sandbox.run("print(6 * 7)")
    assert (result.status, result.output) == ("ok", "42\n")


def test_the_environment_is_empty(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    assert sandbox.run("import os\nprint(dict(os.environ))").output == "{}\n"


def test_files_beside_the_server_are_out_of_reach_by_relative_path(sandbox: Sandbox) -> None:
    Path("secret.txt").write_text("do not read", encoding="utf-8")  # the test's current directory
    result = sandbox.run("import os\nprint(sorted(os.listdir('.')))\nopen('secret.txt').read()")
    assert result.status == "error"
    assert result.output.startswith("[]\n")
    assert "FileNotFoundError" in result.output


def test_each_run_gets_a_fresh_directory_that_is_removed_afterwards() -> None:
    guard = Sandbox(isolation="guard")
    first = guard.run("import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd())").output.strip()
    second = guard.run("import os\nprint(os.path.exists('left.txt'), os.getcwd())").output.split()
    assert second[0] == "False"
    assert second[1] != first
    assert not Path(first).exists()
    behind = Sandbox()
    if behind.mode("simulator") == "boundary":
        behind.run("open('left.txt', 'w').write('x')")
        assert behind.run("import os\nprint(os.listdir('.'))").output == "[]\n"


def test_errors_and_exit_codes_are_reported(sandbox: Sandbox) -> None:
    failed = sandbox.run("1 / 0")
    assert failed.status == "error"
    assert failed.output == (
        'Traceback (most recent call last):\n  File "<code>", line 1, in <module>\nZeroDivisionError: division by zero\n'
    )
    syntax = sandbox.run("print(")
    assert syntax.status == "error"
    assert syntax.output.endswith("SyntaxError: '(' was never closed\n")
    assert sandbox.run("import sys\nsys.exit(3)").status == "error"


def test_a_wall_clock_timeout_stops_the_code() -> None:
    result = Sandbox(wall_seconds=0.5).run("import time\nprint('started', flush=True)\ntime.sleep(60)")
    assert result.status == "timeout"
    assert result.output == "started\n\n[stopped: no result within 0.5 s]"


def test_the_cpu_time_limit_stops_a_busy_loop() -> None:
    result = Sandbox(cpu_seconds=1, wall_seconds=60).run("while True:\n    pass")
    assert result.status == "killed"
    assert result.output.endswith("[stopped: CPU time limit reached]")


def test_the_memory_limit_refuses_large_allocations() -> None:
    result = Sandbox(memory_bytes=256 * 1024 * 1024).run("block = bytearray(1024 ** 3)")
    assert result.status == "error"
    assert result.output.endswith("MemoryError\n")


def test_output_is_capped_and_file_writes_are_limited() -> None:
    capped = Sandbox(max_output=100).run("print('a' * 5000)")
    assert capped.output == "a" * 100 + "\n[output truncated to 100 characters]"
    limited = Sandbox(file_bytes=1000).run("with open('big', 'w') as f:\n    f.write('b' * 5000)")
    assert limited.status == "error"
    assert "File too large" in limited.output


def test_a_disabled_sandbox_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = Sandbox(enabled=False).run(f"open({str(marker)!r}, 'w')")
    assert (result.status, result.output) == ("disabled", "Code execution is disabled on this server.")
    assert not marker.exists()


CSV = SandboxFile("file-abc123", "sales.csv", b"region,amount\nnorth,3\nsouth,4\n")


@pytest.mark.parametrize("isolation", ["guard", "auto"])
def test_the_runs_files_are_in_the_working_folder_under_their_names_and_ids(isolation: Isolation) -> None:
    sandbox = Sandbox(isolation=isolation)
    code = "import csv, os\nprint(sorted(os.listdir('.')))\nrows = list(csv.DictReader(open('sales.csv')))\n"
    code += (
        "print(sum(int(r['amount']) for r in rows), open('file-abc123').read() == open('sales.csv').read())"
    )
    result = sandbox.run(code, files=[CSV])
    assert result.output == "['file-abc123', 'sales.csv']\n7 True\n"


def test_file_names_are_made_safe_and_the_first_file_of_a_name_keeps_it() -> None:
    files = [
        CSV,
        SandboxFile("file-2", "../../etc/sales.csv", b""),
        SandboxFile("file-3", "C:\\Users\\me\\notes.txt", b""),
        SandboxFile("file-4", "..", b""),
        SandboxFile("file-abc123", "again.csv", b""),
    ]
    assert [(f.file_id, name, link) for f, name, link in folder_names(files)] == [
        ("file-abc123", "sales.csv", "file-abc123"),
        ("file-2", "file-2", None),
        ("file-3", "notes.txt", "file-3"),
        ("file-4", "file-4", None),
    ]


def test_code_from_a_model_is_refused_without_the_boundary_unless_the_operator_allows_it() -> None:
    no_boundary = Sandbox(isolation="guard")
    refused = no_boundary.run("print('ran')", origin="model")
    assert refused.status == "disabled"
    assert refused.output == (
        "Code from the model was not run: this server has no sandbox boundary (isolation is set to 'guard'). "
        "Install bubblewrap, or start the server with --unsafe-code-execution to run such code under the "
        "weaker guard."
    )
    assert no_boundary.run("print('ran')", origin="simulator").output == "ran\n"
    unsafe = Sandbox(isolation="guard", unsafe_code_execution=True)
    assert unsafe.bound(origin="model").run("print('ran')").output == "ran\n"
    assert Sandbox(enabled=False).mode("simulator") == "disabled"
