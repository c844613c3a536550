"""The one way tests reach ../shared (the spec and the real recordings beside the development checkout).

A user's clone has no ../shared, so every test that reads it goes through `shared_path`, which skips with the
reason when the file is absent. `ARUN_TEST_SHARED` points the helper at another folder (the test that proves
the suite passes without ../shared points it at a folder that does not exist).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ARUN_TEST_SHARED") or REPO.parent / "shared")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip that says why when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"{path} is absent: the spec and recordings in ../shared sit beside the development checkout only"
        )
    return path
