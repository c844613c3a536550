"""A user's clone has no ../shared: the suite must collect and pass there too (skips say why)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

TESTS = REPO / "tests"
# A path literal naming the shared folder, anywhere but in the one helper.
NAMES_SHARED = re.compile(r"""["']shared["']|["'](\.\./)+shared""")


def _pytest(args: list[str], shared: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARUN_TEST_SHARED": str(shared)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _readers() -> list[Path]:
    here = Path(__file__).resolve()
    return sorted(
        p for p in TESTS.rglob("test_*.py") if p != here and "shared_path" in p.read_text(encoding="utf-8")
    )


def test_only_the_helper_names_the_shared_folder() -> None:
    offenders = [
        str(p.relative_to(REPO))
        for p in TESTS.rglob("*.py")
        if p.name != "shared.py" and NAMES_SHARED.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_whole_suite_collects_without_shared(tmp_path: Path) -> None:
    done = _pytest(["--collect-only"], tmp_path / "no-shared")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.splitlines()[-1]


def test_the_tests_that_read_shared_skip_with_the_reason_without_it(tmp_path: Path) -> None:
    readers = _readers()
    assert len(readers) >= 5
    done = _pytest(["-rs", *[str(p.relative_to(REPO)) for p in readers]], tmp_path / "no-shared")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.splitlines()[-1]
    assert "failed" not in summary and "error" not in summary and "skipped" in summary
    assert "is absent: the spec and recordings in ../shared sit beside the development checkout only" in (
        done.stdout
    )
