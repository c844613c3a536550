from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runner.errors import ConfigError
from runner.server.store import MIGRATIONS, Store


def test_migrations_run_once_and_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    Store(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"assistants", "threads", "messages", "runs", "run_steps", "files", "chunks", "blobs"} <= tables


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite at all, just some text that fills the header page" * 10)
    with pytest.raises(ConfigError, match="is not a usable arun database"):
        Store(path)


def test_a_database_from_a_newer_arun_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigError, match="written by a newer arun"):
        Store(path)


def test_a_database_path_that_cannot_be_opened_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(ConfigError, match="cannot open the database"):
        Store(tmp_path / "folder.db")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match="cannot open the database"):
        Store(tmp_path / "plain" / "state.db")
