"""The CodeRunner behind code_interpreter: Python in a child process, behind a boundary where Linux gives one.

Two ways to run the code, chosen per call by where the code came from (`origin`):

- The boundary (`runner.sim.boundary`, bubblewrap): new namespaces, no network, an empty environment, a
  filesystem with only the system's read-only folders, the interpreter and the working folder `/mnt/data`
  (a size-bounded tmpfs holding the run's files), a process limit, and everything killed at the end.
- The guard: the same limits on the process itself, but as the server's user on the server's filesystem, in a
  fresh temporary directory. It keeps mistakes and runaway code in check; it is not a security boundary.

Code from the simulator (`origin="simulator"`, built by its rules from arithmetic, never text a user wrote)
runs behind the boundary where there is one and under the guard elsewhere, so every machine replays the
examples. Code from a real model (`origin="model"`) runs only behind the boundary, unless the operator chose
`unsafe_code_execution` (`arun serve --unsafe-code-execution`); otherwise it is refused with a note saying why.

In both, the child is `python -I -S -u -X utf8` (no PYTHON* variables, no site packages, unbuffered) and
lowers its own limits with `resource.setrlimit` before the code runs: CPU seconds, address space, size of
files it writes, open files, no core dumps (and, behind the boundary, the number of processes). The parent
waits at most `wall_seconds`, then kills the child's process group. stdout and stderr go together to a file
outside the code's reach; only the first `max_output` characters are kept. As in a notebook cell, the value of
a final expression is printed. The run's files (`SandboxFile`) are placed in the working folder under their
names, each also reachable under its file id: see `folder_names`."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runner.sim import boundary
from runner.sim.types import CodeResult

Origin = Literal["simulator", "model"]
Isolation = Literal["auto", "guard"]

# Runs in the child. argv: cpu seconds, memory bytes, file bytes, processes (0: not limited), code path.
_BOOTSTRAP = """
import ast, os, resource, sys, traceback
cpu, memory, fsize, nproc = (int(a) for a in sys.argv[1:5])
limits = [(resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, fsize),
          (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_CORE, 0)]
if nproc:
    limits.append((resource.RLIMIT_NPROC, nproc))
for limit, value in limits:
    # a hard CPU limit one second above the soft one: SIGXCPU first, rather than an unexplained SIGKILL
    resource.setrlimit(limit, (value, value + 1 if limit == resource.RLIMIT_CPU else value))
os.environ.clear()  # Python's C-locale coercion may have added LC_CTYPE to the empty environment
source = open(sys.argv[5], encoding="utf-8").read()
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

DISABLED = "Code execution is disabled on this server."


@dataclass(frozen=True)
class SandboxFile:
    """A file of the run (code_interpreter file ids of the assistant, the thread, message attachments)."""

    file_id: str
    filename: str
    content: bytes


def safe_name(filename: str) -> str | None:
    """The last part of an uploaded file's name, if it can be a file name in a folder at all."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    if name in ("", ".", "..") or len(name.encode("utf-8")) > 255:
        return None
    return name


def folder_names(files: Sequence[SandboxFile]) -> list[tuple[SandboxFile, str, str | None]]:
    """Where each file goes: (file, name holding its bytes, name of a link to it or None). A file is stored
    under its own name and linked under its id, as the real API shows both (`/mnt/data/file-abc` in the
    Assistants recordings); the first file of a name wins the name, later ones get only their id. A file id
    seen twice is placed once."""
    ids = {f.file_id for f in files}
    taken: set[str] = set()
    placed: list[tuple[SandboxFile, str, str | None]] = []
    for f in files:
        if f.file_id in taken:
            continue
        taken.add(f.file_id)
        name = safe_name(f.filename)
        if name is None or name in taken or name in ids:
            placed.append((f, f.file_id, None))
        else:
            taken.add(name)
            placed.append((f, name, f.file_id))
    return placed


@dataclass(frozen=True)
class Sandbox:
    enabled: bool = True
    unsafe_code_execution: bool = False  # run a real model's code under the guard where there is no boundary
    isolation: Isolation = "auto"  # "guard": never the boundary (a machine without one, as seen in tests)
    cpu_seconds: int = 5
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 16 * 1024 * 1024
    wall_seconds: float = 10.0
    max_output: int = 20_000
    processes: int = 32  # behind the boundary: processes and threads the code may have at once
    folder_bytes: int = 128 * 1024 * 1024  # behind the boundary: what the code may write into /mnt/data

    def boundary(self) -> boundary.Probe:
        if self.isolation == "guard":
            return boundary.Probe(False, "isolation is set to 'guard'")
        return boundary.probe()

    def mode(self, origin: Origin) -> Literal["boundary", "guard", "refused", "disabled"]:
        if not self.enabled:
            return "disabled"
        if self.boundary().available:
            return "boundary"
        if origin == "simulator" or self.unsafe_code_execution:
            return "guard"
        return "refused"

    def bound(self, *, origin: Origin, files: Sequence[SandboxFile] = ()) -> BoundSandbox:
        """A CodeRunner for one run: its code's origin and its files fixed."""
        return BoundSandbox(self, origin, tuple(files))

    def run(
        self, code: str, *, origin: Origin = "simulator", files: Sequence[SandboxFile] = ()
    ) -> CodeResult:
        mode = self.mode(origin)
        if mode == "disabled":
            return CodeResult("disabled", DISABLED)
        if mode == "refused":
            return CodeResult(
                "disabled",
                "Code from the model was not run: this server has no sandbox boundary "
                f"({self.boundary().reason}). Install bubblewrap, or start the server with "
                "--unsafe-code-execution to run such code under the weaker guard.",
            )
        with tempfile.TemporaryDirectory(prefix="arun-code-") as tmp:
            root = Path(tmp)
            (root / "ctl").mkdir()
            cell = root / "ctl" / "cell.py"
            cell.write_text(code, encoding="utf-8")
            with open(root / "ctl" / "output", "wb") as out, ExitStack() as stack:
                if mode == "boundary":
                    command, fds = self._boundary_command(root, cell, files, stack)
                    cwd = Path("/")  # nothing of the host's paths in bwrap's own environment
                else:
                    command, fds = self._guard_command(root, cell, files), ()
                    cwd = root / "work"
                proc = subprocess.Popen(
                    command,
                    cwd=cwd,
                    env={},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    start_new_session=True,  # its own process group, so a kill reaches its children too
                )
                for fd in fds:
                    os.close(fd)
                stack.callback(_kill_group, proc.pid)  # also after a normal exit: nothing is left running
                try:
                    status = proc.wait(timeout=self.wall_seconds)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    _kill_group(proc.pid)
                    status = proc.wait()
                    timed_out = True
            raw = (root / "ctl" / "output").read_bytes()
        if mode == "boundary" and status > 128:
            status = -(status - 128)  # bwrap reports a child killed by signal N as 128 + N
        return self._result(raw, status, timed_out)

    def _limits(self, processes: int) -> list[str]:
        return [str(self.cpu_seconds), str(self.memory_bytes), str(self.file_bytes), str(processes)]

    def _guard_command(self, root: Path, cell: Path, files: Sequence[SandboxFile]) -> list[str]:
        work = root / "work"
        work.mkdir()
        for f, name, link in folder_names(files):
            (work / name).write_bytes(f.content)
            if link is not None:
                (work / link).symlink_to(name)
        python = boundary.interpreter()
        return [python, "-I", "-S", "-u", "-X", "utf8", "-c", _BOOTSTRAP, *self._limits(0), str(cell)]

    def _boundary_command(
        self, root: Path, cell: Path, files: Sequence[SandboxFile], stack: ExitStack
    ) -> tuple[list[str], tuple[int, ...]]:
        bwrap = boundary.find_bwrap()
        assert bwrap is not None  # the probe found it
        placed = folder_names(files)
        fds: list[int] = []
        copies: list[tuple[int, str]] = []
        for n, (f, name, _) in enumerate(placed):
            host = root / "ctl" / f"file-{n}"
            host.write_bytes(f.content)
            fd = os.open(host, os.O_RDONLY)
            fds.append(fd)
            copies.append((fd, name))
        links = [(name, link) for _, name, link in placed if link is not None]
        size = self.folder_bytes + sum(len(f.content) for f, _, _ in placed)
        command = boundary.bwrap_command(bwrap, cell, copies, links, size)
        python = boundary.interpreter()
        command += [python, "-I", "-S", "-u", "-X", "utf8", "-c", _BOOTSTRAP]
        root_server = boundary.needs_cgroup()
        command += [*self._limits(0 if root_server else self.processes), boundary.CELL]
        if root_server:
            # The kernel does not apply RLIMIT_NPROC to uid 0: a pids cgroup counts instead.
            procs = stack.enter_context(boundary.pids_cgroup(self.processes + 2))  # + bwrap's two
            command = boundary.join_cgroup_then(procs, command)
        return command, tuple(fds)

    def _result(self, raw: bytes, status: int, timed_out: bool) -> CodeResult:
        text = raw.decode("utf-8", errors="replace")
        if len(text) > self.max_output:
            text = text[: self.max_output] + f"\n[output truncated to {self.max_output} characters]"
        if timed_out:
            return CodeResult("timeout", text + f"\n[stopped: no result within {self.wall_seconds:g} s]")
        if status < 0:
            reason = "CPU time limit reached" if -status == signal.SIGXCPU else f"signal {-status}"
            return CodeResult("killed", text + f"\n[stopped: {reason}]")
        return CodeResult("ok" if status == 0 else "error", text)


@dataclass(frozen=True)
class BoundSandbox:
    """The sandbox with one run's origin and files: what the engine hands to the tool executor."""

    sandbox: Sandbox
    origin: Origin
    files: tuple[SandboxFile, ...] = field(default=())

    def run(self, code: str) -> CodeResult:
        return self.sandbox.run(code, origin=self.origin, files=self.files)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
