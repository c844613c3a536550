"""Nothing a client sends can break the server: what it could not serve back is refused (400 naming the
param), what is already stored comes out servable, and limits hold whatever the Content-Type says."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from conftest import API_KEY, BETA, Contract, make_client

from runner.server.app import Limits
from runner.server.embedded import EmbeddedServer
from runner.server.store import Store

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json", **BETA}
LISTS = ["/assistants", "/files", "/vector_stores", "/models"]


@pytest.fixture
def http(server: EmbeddedServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, headers=HEADERS, trust_env=False, timeout=30) as client:
        yield client


def _error(response: httpx2.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def _lists_answer(http: httpx2.Client) -> None:
    for path in LISTS:
        assert http.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "raw", "param"),
    [
        ("/assistants", b'{"model": "gpt-4o", "temperature": NaN}', "temperature"),
        ("/assistants", b'{"model": "gpt-4o", "top_p": Infinity}', "top_p"),
        ("/assistants", b'{"model": "gpt-4o", "name": "\\ud800"}', "name"),
        ("/assistants", b'{"model": "gpt-4o", "metadata": {"\\udfff": "x"}}', "metadata.\ufffd"),
        ("/vector_stores", b'{"metadata": {"k": "a\\ud800b"}}', "metadata.k"),
        ("/threads", b'{"messages": [{"role": "user", "content": "\\udfff"}]}', "messages[0].content"),
        ("/assistants", b'{"model": "gpt-4o", "temperature": 1' + b"0" * 5000 + b".5}", "temperature"),
        ("/assistants", b'{"model": "gpt-4o", "temperature": 1' + b"0" * 5000 + b"}", "temperature"),
    ],
)
def test_unservable_values_are_refused_naming_the_param_and_nothing_is_stored(
    http: httpx2.Client, path: str, raw: bytes, param: str
) -> None:
    error = _error(http.post(path, content=raw))
    assert error["param"] == param
    assert error["code"] == "invalid_value"
    assert http.get("/assistants").json()["data"] == []
    _lists_answer(http)


def test_a_run_with_a_nan_temperature_is_refused(http: httpx2.Client) -> None:
    assistant = http.post("/assistants", json={"model": "gpt-4o", "instructions": "Hi."}).json()
    thread = http.post("/threads", json={}).json()
    raw = json.dumps({"assistant_id": assistant["id"]})[:-1] + ', "temperature": NaN}'
    assert _error(http.post(f"/threads/{thread['id']}/runs", content=raw))["param"] == "temperature"
    assert http.get(f"/threads/{thread['id']}/runs").json()["data"] == []


def test_json_nested_5000_deep_is_a_400(http: httpx2.Client) -> None:
    deep = b'{"model": "gpt-4o", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    error = _error(http.post("/assistants", content=deep))
    assert "nested too deeply" in error["message"]
    medium = b'{"model": "gpt-4o", "metadata": {"k": ' + b"[" * 200 + b"]" * 200 + b"}}"
    assert "nested too deeply" in _error(http.post("/assistants", content=medium))["message"]
    _lists_answer(http)


def test_an_attachment_without_a_file_id_is_a_400(http: httpx2.Client) -> None:
    message = {"role": "user", "content": "hi", "attachments": [{}]}
    error = _error(http.post("/threads", json={"messages": [message]}))
    assert error["param"] == "messages[0].attachments[0].file_id"
    thread = http.post("/threads", json={}).json()
    error = _error(http.post(f"/threads/{thread['id']}/messages", json=message))
    assert error["param"] == "attachments[0].file_id"


def test_a_superscript_digit_in_a_multipart_field_is_a_400(server: EmbeddedServer) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as raw:
        response = raw.post(
            "/files",
            files={"file": ("a.txt", b"text")},
            data={
                "purpose": "user_data",
                "expires_after[anchor]": "created_at",
                "expires_after[seconds]": "²",
            },
        )
    assert _error(response)["param"] == "expires_after.seconds"


def test_an_empty_image_url_is_refused(http: httpx2.Client) -> None:
    content = [{"type": "image_url", "image_url": {"url": ""}}]
    error = _error(http.post("/threads", json={"messages": [{"role": "user", "content": content}]}))
    assert error["param"] == "messages[0].content[0].image_url.url"


def test_eval_files_are_served_with_a_purpose_the_schema_knows(client: openai.OpenAI) -> None:
    made = client.files.create(file=("e.jsonl", b'{"a": 1}\n'), purpose="evals")
    assert made.purpose == "user_data"
    assert [f.id for f in client.files.list(purpose="evals")] == [made.id]
    data = client.files.create(file=("u.txt", b"x"), purpose="user_data")
    assert client.files.retrieve(data.id).purpose == "user_data"


def test_one_request_creates_at_most_32_messages(http: httpx2.Client) -> None:
    many = [{"role": "user", "content": f"m{i}"} for i in range(10_000)]
    error = _error(http.post("/threads", json={"messages": many}))
    assert error["param"] == "messages"
    assert "maximum length 32" in error["message"]
    thread = http.post("/threads", json={"messages": many[:32]}).json()
    assert len(http.get(f"/threads/{thread['id']}/messages", params={"limit": 100}).json()["data"]) == 32


def test_size_limits_follow_the_body_not_the_content_type(small_server: EmbeddedServer) -> None:
    big = json.dumps({"model": "gpt-4o", "instructions": "x" * 6000}).encode()
    headers = {**HEADERS, "Content-Type": "multipart/form-data; boundary=x"}
    with httpx2.Client(base_url=small_server.base_url, trust_env=False) as raw:
        # A JSON route keeps the JSON limit, whatever the body claims to be.
        assert (
            _error(raw.post("/assistants", content=big, headers=headers), 413)["code"] == "request_too_large"
        )
        # The upload route: a body that is no real multipart upload gets no more room than JSON.
        assert _error(raw.post("/files", content=big, headers=headers), 413)["code"] == "request_too_large"
        small = raw.post("/files", content=b"--x\r\nbroken", headers=headers)
        assert _error(small)["param"] == "file"  # a small broken body is still a 400


def test_a_half_sent_body_is_answered_408_and_the_connection_closed(tmp_path: Path) -> None:
    limits = Limits(body_timeout=0.3)
    with (
        EmbeddedServer(tmp_path / "t.db", API_KEY, limits=limits) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        head = (
            f"POST /v1/assistants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
            "OpenAI-Beta: assistants=v2\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"model": ')
        received = b""
        while chunk := sock.recv(4096):  # the server closes the connection after its answer
            received += chunk
    assert received.startswith(b"HTTP/1.1 408")
    assert b'"code":"request_timeout"' in received


def test_a_connection_that_never_finishes_its_headers_is_closed(tmp_path: Path) -> None:
    limits = Limits(header_timeout=0.3)
    with EmbeddedServer(tmp_path / "h.db", API_KEY, limits=limits) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
            assert sock.recv(4096) == b""  # closed by the server, without an answer
        # A complete request on a fresh connection is answered as usual.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n\r\n".encode()
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_an_unexpected_error_is_a_500_logged_once(
    server: EmbeddedServer,
    http: httpx2.Client,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(server.backend.assistants, "list_assistants", broken)
    with caplog.at_level(logging.ERROR):
        error = _error(http.get("/assistants"), 500)
        time.sleep(0.1)
    assert error["type"] == "server_error"
    logged = [r for r in caplog.records if r.exc_info and "boom" in str(r.exc_info[1])]
    assert len(logged) == 1


def _bad_rows(db: Path) -> None:
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO assistants (id, created_at, data) VALUES (?, ?, ?)",
            (
                "asst_bad",
                1,
                '{"id": "asst_bad", "object": "assistant", "created_at": 1, "name": "\\ud800",'
                ' "description": null, "model": "gpt-4o", "instructions": null, "tools": [], "metadata": {},'
                ' "temperature": NaN, "top_p": 1.0, "response_format": "auto", "tool_resources": {}}',
            ),
        )


def test_a_migration_repairs_rows_written_by_an_older_server(tmp_path: Path, contract: Contract) -> None:
    db = tmp_path / "old.db"
    Store(db).close()
    _bad_rows(db)
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA user_version = 2")  # as a server before migration 3 left it
    Store(db).close()
    with sqlite3.connect(db) as raw:
        (text,) = raw.execute("SELECT data FROM assistants WHERE id = 'asst_bad'").fetchone()
    assert "NaN" not in text and json.loads(text)["name"] == "\ufffd"
    with EmbeddedServer(db, API_KEY) as server:
        sdk = make_client(server, contract)
        (found,) = sdk.beta.assistants.list().data
        assert (found.id, found.name, found.temperature) == ("asst_bad", "\ufffd", None)
        sdk.beta.assistants.delete("asst_bad")


def test_a_bad_stored_row_never_fails_a_page(tmp_path: Path) -> None:
    db = tmp_path / "now.db"
    Store(db).close()
    _bad_rows(db)  # after the migrations: only serialising stands between it and the client
    with EmbeddedServer(db, API_KEY) as server, httpx2.Client(headers=HEADERS, trust_env=False) as http:
        page = http.get(f"{server.base_url}/assistants")
        assert page.status_code == 200
        assert page.json()["data"][0]["temperature"] is None
        assert http.delete(f"{server.base_url}/assistants/asst_bad").json()["deleted"] is True
