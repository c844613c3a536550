"""The isolation boundary around code_interpreter code: bubblewrap namespaces, a process limit, a probe.

`bwrap` (the Debian/Fedora package `bubblewrap`) starts the child in new user, mount, pid, network, ipc, uts
and cgroup namespaces. Its filesystem is built from nothing: the system's read-only folders (`/usr` and the
`/lib*`, `/bin`, `/sbin` beside it), the Python installation read-only, a fresh `/proc` of its own pid
namespace, a minimal `/dev`, and the working folder `/mnt/data`, a size-bounded tmpfs that holds the run's
files. No `/etc`, `/home`, `/tmp`, `/run` or `/sys`: nothing of the host's that is not listed here exists.
The network namespace has only a loopback device that is down; all capabilities are dropped.

The process limit is `RLIMIT_NPROC`, which the kernel ignores for uid 0: when the server runs as root, each
run gets a cgroup of its own under the `pids` controller instead, and without a writable one there is no
boundary. Everything in the pid namespace dies with its first process, so killing the process group kills
every process the code started, also those that left the group with `setsid`.

`probe()` says, once per process, whether the boundary can be had here and, if not, why."""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

WORK = "/mnt/data"  # the working folder the code sees, as in OpenAI's code interpreter
CELL = "/run/arun/cell.py"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Probe:
    available: bool
    reason: str  # why not, or what is used


def python_dirs() -> list[str]:
    """The folders the interpreter needs beyond /usr: its installation prefix (pyenv, /opt, a home)."""
    exe = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    dirs = {os.path.dirname(os.path.dirname(exe)), sys.base_prefix, sys.base_exec_prefix}
    return sorted(d for d in dirs if d not in ("/", "") and not _under(d, ("/usr",)))


def interpreter() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def _system_args() -> list[str]:
    args: list[str] = []
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]  # merged /usr: /lib -> usr/lib
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for d in python_dirs():
        args += ["--ro-bind", d, d]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]  # where shared libraries are
    return args


def bwrap_command(
    bwrap: str, cell: Path, files: list[tuple[int, str]], links: list[tuple[str, str]], folder_bytes: int
) -> list[str]:
    """The bwrap invocation up to the interpreter: `files` are (open file descriptor, name in /mnt/data),
    copied by bwrap into the tmpfs as plain files the code may change or delete; `links` are (target, name)
    symlinks in /mnt/data."""
    args = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        *_system_args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(folder_bytes),
        "--tmpfs",
        WORK,
        "--ro-bind",
        str(cell),
        CELL,
    ]
    for fd, name in files:
        args += ["--perms", "0644", "--file", str(fd), f"{WORK}/{name}"]
    for target, name in links:
        args += ["--symlink", target, f"{WORK}/{name}"]
    # the root bwrap builds is a tmpfs of its own: read-only too, so /mnt/data is the only place to write
    return [*args, "--remount-ro", "/", "--chdir", WORK, "--"]


def find_bwrap() -> str | None:
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.access(p, os.X_OK)), None
    )


# -- the pids cgroup, for a server that runs as root --------------------------------------------------


def _own_pids_cgroup() -> Path | None:
    """The folder of this process's cgroup that has `pids.max` for its children (v1 or v2), if any."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = Path("/sys/fs/cgroup/pids")
            return base / path.lstrip("/")
        if controllers == "":
            unified = Path("/sys/fs/cgroup") / path.lstrip("/")
            try:
                enabled = (unified / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if "pids" in enabled:
                return unified
    return None


@contextmanager
def pids_cgroup(limit: int) -> Iterator[Path]:
    """A fresh cgroup with `pids.max = limit`; yields its `cgroup.procs`. Raises OSError where none can be
    made. On exit every process left in it is killed and the cgroup removed."""
    parent = _own_pids_cgroup()
    if parent is None:
        raise OSError("no pids cgroup controller is mounted for this process")
    group = parent / f"arun-sandbox-{secrets.token_hex(6)}"
    group.mkdir()
    try:
        (group / "pids.max").write_text(str(limit))
        yield group / "cgroup.procs"
    finally:
        _remove_cgroup(group)


def _remove_cgroup(group: Path) -> None:
    deadline = time.monotonic() + 5.0
    while True:
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                with suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # left for the operator to see; it holds no process that can run on
            time.sleep(0.02)


def join_cgroup_then(procs: Path, command: list[str]) -> list[str]:
    """`command`, started by a shell that first moves itself into the cgroup, so every process of the
    sandbox (bwrap's too) is counted from the start."""
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *command]


def needs_cgroup() -> bool:
    return os.geteuid() == 0


# -- the probe ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    """Whether code can run behind the boundary here: bwrap exists, can make its namespaces, and the
    process limit can be enforced. Tried for real, with the interpreter the sandbox uses."""
    if not sys.platform.startswith("linux"):
        return Probe(False, "the boundary needs Linux namespaces")
    bwrap = find_bwrap()
    if bwrap is None:
        return Probe(False, "bwrap was not found (install the 'bubblewrap' package)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="arun-probe-") as tmp:
        cell = Path(tmp) / "cell.py"
        cell.write_text("", encoding="utf-8")
        command = [*bwrap_command(bwrap, cell, [], [], 1024 * 1024), interpreter(), "-I", "-S", "-c", "pass"]
        try:
            if needs_cgroup():
                try:
                    with pids_cgroup(16) as procs:
                        done = _try(join_cgroup_then(procs, command))
                except OSError as exc:
                    return Probe(False, f"running as root and no pids cgroup can be made ({exc})")
            else:
                done = _try(command)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Probe(False, f"bwrap could not start: {exc}")
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return Probe(
            False, f"bwrap cannot make its namespaces here: {detail[-1] if detail else done.returncode}"
        )
    return Probe(True, f"bubblewrap ({bwrap})")


def _try(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, env={}, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
