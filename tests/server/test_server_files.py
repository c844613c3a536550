from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import API_KEY, BETA, Contract

from runner.server.embedded import EmbeddedServer


def test_upload_list_retrieve_delete(client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=("notes.txt", b"hello world"), purpose="assistants")
    raw = uploaded.model_dump(exclude_unset=True)
    assert uploaded.id.startswith("file-") and len(uploaded.id) == 27
    assert raw == {
        "object": "file",
        "id": uploaded.id,
        "purpose": "assistants",
        "filename": "notes.txt",
        "bytes": 11,
        "created_at": uploaded.created_at,
        "expires_at": None,
        "status": "processed",
        "status_details": None,
    }
    data = client.files.create(file=("data.jsonl", b"{}\n"), purpose="user_data")
    assert [f.id for f in client.files.list()] == [data.id, uploaded.id]
    assert [f.id for f in client.files.list(purpose="user_data")] == [data.id]
    assert client.files.retrieve(uploaded.id) == uploaded
    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (uploaded.id, "file", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve(uploaded.id)
    assert caught.value.body["message"] == f"No such File object: {uploaded.id}"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.files.delete(uploaded.id)


def test_content_is_served_except_for_assistants_files(client: openai.OpenAI) -> None:
    data = client.files.create(file=("data.bin", bytes(range(256))), purpose="user_data")
    assert client.files.content(data.id).read() == bytes(range(256))
    private = client.files.create(file=("a.txt", b"secret"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.content(private.id)
    assert caught.value.body["message"] == "Not allowed to download files of purpose: assistants"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-missing")


def test_identical_uploads_share_content_and_survive_each_others_deletion(client: openai.OpenAI) -> None:
    one = client.files.create(file=("a.txt", b"same bytes"), purpose="user_data")
    two = client.files.create(file=("b.txt", b"same bytes"), purpose="user_data")
    client.files.delete(one.id)
    assert client.files.content(two.id).read() == b"same bytes"


def test_upload_names_never_become_paths(client: openai.OpenAI, tmp_path: Path) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    evil = client.files.create(file=("../../evil.txt", b"x"), purpose="user_data")
    assert evil.filename == "../../evil.txt"
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert [p for p in after if p not in before and not p.name.startswith("local.db")] == []
    assert not (tmp_path.parent / "evil.txt").exists()


def test_upload_validation(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("a.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert caught.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/files", body={"purpose": "assistants"}, cast_to=object)
    assert caught.value.status_code == 400


def test_upload_without_file_part(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(
            "/files",
            body={"purpose": "assistants"},
            files=[("other", ("x.txt", b"x"))],
            options={"headers": {"Content-Type": "multipart/form-data"}},
            cast_to=object,
        )
    assert caught.value.body["param"] == "file"  # type: ignore[index]


def test_expiring_upload(client: openai.OpenAI) -> None:
    file = client.files.create(
        file=("a.txt", b"x"), purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert file.expires_at == file.created_at + 3600


def test_oversized_upload_is_413(small_client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        small_client.files.create(file=("big.txt", b"x" * 100_000), purpose="assistants")
    assert caught.value.status_code == 413
    assert caught.value.body["code"] == "request_too_large"  # type: ignore[index]
    # Just over the file limit but inside the multipart allowance: refused by the file check itself.
    with pytest.raises(openai.APIStatusError) as caught:
        small_client.files.create(file=("big.txt", b"x" * 3000), purpose="assistants")
    assert caught.value.status_code == 413
    assert caught.value.body["message"].startswith("File too large")  # type: ignore[index]
    assert small_client.files.create(file=("ok.txt", b"x" * 2000), purpose="assistants").bytes == 2000


def test_oversized_json_body_is_413(small_client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        small_client.beta.assistants.create(model="gpt-4o", instructions="x" * 10_000)
    assert caught.value.status_code == 413
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_expiry_must_be_a_number_of_seconds(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(
            file=("a.txt", b"x"),
            purpose="user_data",
            expires_after={"anchor": "created_at", "seconds": "soon"},  # type: ignore[typeddict-item]
        )
    assert caught.value.body["param"] == "expires_after.seconds"  # type: ignore[index]


def test_chunked_body_without_length_is_cut_off_at_the_limit(
    small_server: EmbeddedServer, contract: Contract
) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "instructions": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json", **BETA}
    with openai.DefaultHttpx2Client(event_hooks={"response": [contract.sync_hook]}, trust_env=False) as http:
        response = http.post(f"{small_server.base_url}/assistants", content=body(), headers=headers)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
