from __future__ import annotations

from pathlib import Path

import pytest

from runner.server.exceptions import InvalidRequest, InvalidValue
from runner.server.models import Backend


def test_server_made_output_files_can_be_downloaded(tmp_path: Path) -> None:
    backend = Backend(tmp_path / "b.db")
    try:
        chart = backend.files.create("chart.png", b"\x89PNG", "assistants_output")
        assert backend.files.content(chart["id"]) == b"\x89PNG"
        private = backend.files.create("in.txt", b"text", "assistants")
        with pytest.raises(InvalidRequest):
            backend.files.content(private["id"])
        assert backend.files.text(private["id"]) == "text"
        with pytest.raises(InvalidValue):
            backend.files.create("x", b"", "invented")
    finally:
        backend.close()
