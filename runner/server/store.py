"""All SQL lives here. Objects are stored as JSON documents beside the few columns that lists filter on.

Every object table has a monotonic `seq` (creation order, also for objects made within the same second) and
a `deleted` flag: deleting keeps a tombstone row without data so that a list cursor (`after`/`before`)
naming an object deleted meanwhile still marks its place, as when a client prunes while it pages.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import ConfigError
from runner.server.safejson import dumps

# Table name -> the columns, besides id/seq/created_at/data/deleted, that scope or filter a list.
TABLES: dict[str, tuple[str, ...]] = {
    "assistants": (),
    "threads": (),
    "messages": ("thread_id", "run_id", "assistant_id"),
    "runs": ("thread_id", "assistant_id", "status"),
    "run_steps": ("thread_id", "run_id"),
    "files": ("purpose",),
    "vector_stores": (),
    "vector_store_files": ("vector_store_id", "batch_id", "status"),
    "file_batches": ("vector_store_id",),
}

# Tables added by later migrations (same columns as above), so that TABLES stays migration 1's.
LATER_TABLES: dict[str, tuple[str, ...]] = {
    "responses": ("status", "conversation_id"),
    "response_items": ("response_id",),
    "conversations": (),
    "conversation_items": ("conversation_id",),
}


def _object_tables(tables: dict[str, tuple[str, ...]]) -> str:
    return "\n".join(
        f"""CREATE TABLE {table} (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            {"".join(f"{col} TEXT, " for col in cols)}data TEXT NOT NULL
        );"""
        for table, cols in tables.items()
    )


def _repair_unservable(db: sqlite3.Connection) -> None:
    """Rows written before requests were checked may hold NaN, infinities or lone surrogates, which made
    every page holding them fail; they are rewritten with null and U+FFFD in their place."""
    for table in (*TABLES, *LATER_TABLES):
        rows = db.execute(f"SELECT seq, data FROM {table} WHERE deleted = 0").fetchall()
        for seq, text in rows:
            obj = json.loads(text)
            try:
                json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (ValueError, UnicodeEncodeError):
                db.execute(f"UPDATE {table} SET data = ? WHERE seq = ?", (dumps(obj, compact=True), seq))


# Numbered migrations: the database records how many have run (PRAGMA user_version) and runs the rest.
# Never edit a released migration; append a new one. A migration is SQL, or a function over the connection.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: objects, blobs and the retrieval index.
    "\n".join(
        f"""CREATE TABLE {table} (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            {"".join(f"{col} TEXT, " for col in cols)}data TEXT NOT NULL
        );"""
        for table, cols in TABLES.items()
    )
    + """
    CREATE UNIQUE INDEX assistants_id ON assistants(id);
    CREATE UNIQUE INDEX threads_id ON threads(id);
    CREATE UNIQUE INDEX messages_id ON messages(id);
    CREATE INDEX messages_thread ON messages(thread_id, seq);
    CREATE UNIQUE INDEX runs_id ON runs(id);
    CREATE INDEX runs_thread ON runs(thread_id, seq);
    CREATE UNIQUE INDEX run_steps_id ON run_steps(id);
    CREATE INDEX run_steps_run ON run_steps(run_id, seq);
    CREATE UNIQUE INDEX files_id ON files(id);
    CREATE UNIQUE INDEX vector_stores_id ON vector_stores(id);
    CREATE UNIQUE INDEX vector_store_files_id ON vector_store_files(vector_store_id, id);
    CREATE INDEX vector_store_files_batch ON vector_store_files(batch_id, seq);
    CREATE UNIQUE INDEX file_batches_id ON file_batches(id);
    CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, content BLOB NOT NULL);
    CREATE TABLE file_blobs (file_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
    CREATE TABLE chunks (
        vector_store_id TEXT NOT NULL,
        file_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        text TEXT NOT NULL,
        terms TEXT NOT NULL,
        PRIMARY KEY (vector_store_id, file_id, idx)
    );
    """,
    # 2: the Responses and Conversations APIs. An item id is unique within its response or conversation
    # (a previous_response_id chain lists the same items in every response after it).
    _object_tables(LATER_TABLES)
    + """
    CREATE UNIQUE INDEX responses_id ON responses(id);
    CREATE INDEX responses_status ON responses(status);
    CREATE UNIQUE INDEX response_items_id ON response_items(response_id, id);
    CREATE UNIQUE INDEX conversations_id ON conversations(id);
    CREATE UNIQUE INDEX conversation_items_id ON conversation_items(conversation_id, id);
    """,
    # 3: rows that hold what no JSON answer can carry.
    _repair_unservable,
]


@dataclass(frozen=True)
class Chunk:
    vector_store_id: str
    file_id: str
    idx: int
    text: str
    terms: list[str]


class Store:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared by the server's threads, serialised by a lock: SQLite is fast enough
            # for a local server and this keeps every write ordered.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the database {path}: {exc}. Pick another --db file.") from None
        self._lock = threading.RLock()
        try:
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ConfigError(
                f"{path} is not a usable arun database ({exc}). Pick another --db file."
            ) from None

    def _migrate(self) -> None:
        with self.transaction():
            done = self._db.execute("PRAGMA user_version").fetchone()[0]
            if done > len(MIGRATIONS):
                raise ConfigError(
                    f"this database was written by a newer arun (schema {done}, this one knows "
                    f"{len(MIGRATIONS)}). Upgrade arun or use another --db file."
                )
            for number, script in enumerate(MIGRATIONS[done:], start=done + 1):
                if callable(script):
                    script(self._db)
                    self._db.execute(f"PRAGMA user_version = {number}")
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- objects ---------------------------------------------------------------------------------------

    def insert(self, table: str, obj: dict[str, Any], **cols: str | None) -> None:
        names = ["id", "created_at", "data", *cols]
        values = [obj["id"], obj["created_at"], dumps(obj, compact=True), *cols.values()]
        with self.transaction():
            if table == "vector_store_files":
                # A file added again after removal starts over, at the end of the creation order.
                self._db.execute(
                    "DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ?",
                    (cols["vector_store_id"], obj["id"]),
                )
            self._db.execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
            )

    def get(self, table: str, object_id: str, **scope: str) -> dict[str, Any] | None:
        where, args = _where({"id": object_id, **scope})
        with self._lock:
            row = self._db.execute(f"SELECT data FROM {table} WHERE deleted = 0 AND {where}", args).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def update(self, table: str, obj: dict[str, Any], **cols: str | None) -> None:
        scoped = ("vector_store_id", "response_id", "conversation_id")
        scope = {k: v for k, v in cols.items() if k in scoped and v is not None}
        where, args = _where({"id": obj["id"], **scope})
        sets = ", ".join(["data = ?", *(f"{c} = ?" for c in cols)])
        with self.transaction():
            self._db.execute(
                f"UPDATE {table} SET {sets} WHERE deleted = 0 AND {where}",
                [dumps(obj, compact=True), *cols.values(), *args],
            )

    def delete(self, table: str, object_id: str, **scope: str) -> bool:
        where, args = _where({"id": object_id, **scope})
        with self.transaction():
            cur = self._db.execute(
                f"UPDATE {table} SET deleted = 1, data = '{{}}' WHERE deleted = 0 AND {where}", args
            )
        return cur.rowcount > 0

    def all(self, table: str, **scope: str | None) -> list[dict[str, Any]]:
        where, args = _where(scope)
        with self._lock:
            rows = self._db.execute(
                f"SELECT data FROM {table} WHERE deleted = 0 AND {where} ORDER BY seq", args
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, table: str, group_by: str, **scope: str | None) -> dict[str, int]:
        where, args = _where(scope)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {group_by}, COUNT(*) FROM {table} WHERE deleted = 0 AND {where} GROUP BY {group_by}",
                args,
            ).fetchall()
        return {str(k): int(n) for k, n in rows}

    def page(
        self,
        table: str,
        scope: dict[str, str | None],
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> tuple[list[dict[str, Any]], bool]:
        where, args = _where(scope)
        # Cursors are looked up among tombstones too, so that a deleted cursor still marks its place.
        cursor_scope = {
            k: v
            for k, v in scope.items()
            if k in ("thread_id", "vector_store_id", "run_id", "response_id", "conversation_id")
        }
        clauses, extra = [f"deleted = 0 AND {where}"], list(args)
        desc = order == "desc"
        with self._lock:
            for cursor, later in ((after, True), (before, False)):
                if cursor is None:
                    continue
                cwhere, cargs = _where({"id": cursor, **cursor_scope})
                row = self._db.execute(f"SELECT MAX(seq) FROM {table} WHERE {cwhere}", cargs).fetchone()
                if row[0] is None:
                    return [], False
                clauses.append("seq < ?" if later == desc else "seq > ?")
                extra.append(row[0])
            # With only `before`, the page is the `limit` objects nearest the cursor, still shown in `order`.
            reverse = before is not None and after is None
            direction = "DESC" if desc != reverse else "ASC"
            rows = self._db.execute(
                f"SELECT data FROM {table} WHERE {' AND '.join(clauses)} ORDER BY seq {direction} LIMIT ?",
                [*extra, limit + 1],
            ).fetchall()
        items = [json.loads(r[0]) for r in rows[:limit]]
        if reverse:
            items.reverse()
        return items, len(rows) > limit

    # -- file content ------------------------------------------------------------------------------------

    def put_blob(self, file_id: str, sha256: str, content: bytes) -> None:
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?, ?)", (sha256, content))
            self._db.execute(
                "INSERT OR REPLACE INTO file_blobs (file_id, sha256) VALUES (?, ?)", (file_id, sha256)
            )

    def get_blob(self, file_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT b.content FROM file_blobs f JOIN blobs b ON b.sha256 = f.sha256 WHERE f.file_id = ?",
                (file_id,),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def drop_blob(self, file_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM file_blobs WHERE file_id = ?", (file_id,))
            # Content is shared by identical uploads; it goes when its last file goes.
            self._db.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM file_blobs)")

    # -- retrieval index ---------------------------------------------------------------------------------

    def put_chunks(self, vector_store_id: str, file_id: str, chunks: list[tuple[str, list[str]]]) -> None:
        with self.transaction():
            self.drop_chunks(vector_store_id, file_id)
            self._db.executemany(
                "INSERT INTO chunks (vector_store_id, file_id, idx, text, terms) VALUES (?, ?, ?, ?, ?)",
                [
                    (vector_store_id, file_id, i, text, json.dumps(terms))
                    for i, (text, terms) in enumerate(chunks)
                ],
            )

    def drop_chunks(self, vector_store_id: str, file_id: str | None = None) -> None:
        where, args = _where({"vector_store_id": vector_store_id, "file_id": file_id})
        with self.transaction():
            self._db.execute(f"DELETE FROM chunks WHERE {where}", args)

    def chunks(self, vector_store_ids: list[str], file_id: str | None = None) -> list[Chunk]:
        marks = ", ".join("?" * len(vector_store_ids))
        sql = (
            "SELECT vector_store_id, file_id, idx, text, terms FROM chunks "
            f"WHERE vector_store_id IN ({marks})"
        )
        args: list[Any] = list(vector_store_ids)
        if file_id is not None:
            sql += " AND file_id = ?"
            args.append(file_id)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY vector_store_id, file_id, idx", args).fetchall()
        return [Chunk(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def _where(scope: dict[str, Any]) -> tuple[str, list[Any]]:
    # Column names come from this module's callers, never from a request; values are always bound.
    clauses, args = ["1 = 1"], []
    for column, value in scope.items():
        if value is None:
            continue
        clauses.append(f"{column} = ?")
        args.append(value)
    return " AND ".join(clauses), args
