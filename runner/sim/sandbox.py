"""The CodeRunner behind code_interpreter: Python in a child process with limits.

The child is `python -I -S -u -X utf8`: isolated (no PYTHON* variables, no user or site packages, no current
directory on sys.path) and unbuffered (prints and tracebacks keep their order). It starts with an empty
environment in a fresh temporary directory that is deleted afterwards. Before the code runs, the child
lowers its own limits with `resource.setrlimit`: CPU seconds, address space, size of files it writes, open
files, and no core dumps. Doing that inside the child rather than in a `preexec_fn` keeps process start-up
safe in the server's threads. The parent waits at most `wall_seconds` and then kills the child's whole
process group. Output (stdout and stderr together, as a notebook shows them) goes to a file inside the
temporary directory, so a flood of output is bounded by the file-size limit; only the first `max_output`
characters are kept.

As in a notebook cell, the value of a final expression is printed. This is a guard against mistakes and
runaway code, not a security boundary: the code still runs as the server's user and can read any file that
user can read by absolute path. Switch it off (`enabled=False`) on servers that run untrusted input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner.sim.types import CodeResult

# Runs in the child. argv: cpu seconds, memory bytes, file bytes, code path.
_BOOTSTRAP = """
import ast, os, resource, sys, traceback
cpu, memory, fsize = (int(a) for a in sys.argv[1:4])
for limit, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory),
                     (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_CORE, 0)):
    # a hard CPU limit one second above the soft one: SIGXCPU first, rather than an unexplained SIGKILL
    resource.setrlimit(limit, (value, value + 1 if limit == resource.RLIMIT_CPU else value))
os.environ.clear()  # Python's C-locale coercion may have added LC_CTYPE to the empty environment
source = open(sys.argv[4], encoding="utf-8").read()
namespace = {"__name__": "__main__"}
try:
    tree = ast.parse(source, "<code>")
    tail = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<code>", "exec"), namespace)
    if tail is not None:
        value = eval(compile(ast.Expression(tail.value), "<code>", "eval"), namespace)
        if value is not None:
            print(repr(value))
except SyntaxError as exc:
    traceback.print_exception(type(exc), exc, None)
    sys.exit(1)
except SystemExit:
    raise
except BaseException as exc:
    # the traceback from the user's code on, without this bootstrap's frame
    traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    sys.exit(1)
"""


@dataclass(frozen=True)
class Sandbox:
    enabled: bool = True
    cpu_seconds: int = 5
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 16 * 1024 * 1024
    wall_seconds: float = 10.0
    max_output: int = 20_000

    def run(self, code: str) -> CodeResult:
        if not self.enabled:
            return CodeResult("disabled", "Code execution is disabled on this server.")
        with tempfile.TemporaryDirectory(prefix="arun-code-") as tmp:
            work = Path(tmp)
            (work / "cell.py").write_text(code, encoding="utf-8")
            args = [str(self.cpu_seconds), str(self.memory_bytes), str(self.file_bytes), "cell.py"]
            with open(work / ".output", "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-u", "-X", "utf8", "-c", _BOOTSTRAP, *args],
                    cwd=work,
                    env={},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so a kill reaches its children too
                )
                try:
                    code_ = proc.wait(timeout=self.wall_seconds)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    code_ = proc.wait()
                    timed_out = True
            (work / "cell.py").unlink()
            raw = (work / ".output").read_bytes()
        text = raw.decode("utf-8", errors="replace")
        if len(text) > self.max_output:
            text = text[: self.max_output] + f"\n[output truncated to {self.max_output} characters]"
        if timed_out:
            return CodeResult("timeout", text + f"\n[stopped: no result within {self.wall_seconds:g} s]")
        if code_ < 0:
            reason = "CPU time limit reached" if -code_ == signal.SIGXCPU else f"signal {-code_}"
            return CodeResult("killed", text + f"\n[stopped: {reason}]")
        return CodeResult("ok" if code_ == 0 else "error", text)
