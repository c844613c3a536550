from __future__ import annotations

from pathlib import Path

import openai
import pytest

DOCS = {
    "cakes.txt": b"Filip's favourite food is cake. Chocolate cake with cream is the best cake.",
    "tea.txt": b"Alice drinks green tea every morning. Tea keeps her awake.",
    "cars.txt": b"The red car is fast. Cars need fuel and tyres.",
}


def _upload(client: openai.OpenAI) -> dict[str, str]:
    return {
        name: client.files.create(file=(name, body), purpose="assistants").id for name, body in DOCS.items()
    }


def test_vector_store_crud(client: openai.OpenAI) -> None:
    created = client.vector_stores.create(
        name="docs",
        description="handbook",
        metadata={"k": "v"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert created.id.startswith("vs_") and len(created.id) == 35
    assert (created.name, created.status, created.usage_bytes) == ("docs", "completed", 0)
    assert created.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "total": 0,
    }
    assert created.expires_at == created.last_active_at + 7 * 86400
    assert client.vector_stores.retrieve(created.id) == created
    modified = client.vector_stores.update(
        created.id, name="renamed", metadata={"k": "w"}, expires_after={"anchor": "last_active_at", "days": 1}
    )
    assert (modified.name, modified.metadata) == ("renamed", {"k": "w"})
    assert modified.expires_at == modified.last_active_at + 86400
    other = client.vector_stores.create()
    assert other.name is None
    assert [v.id for v in client.vector_stores.list()] == [other.id, created.id]
    deleted = client.vector_stores.delete(created.id)
    assert (deleted.object, deleted.deleted) == ("vector_store.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.vector_stores.retrieve(created.id)
    assert caught.value.body["message"] == f"No vector store found with id '{created.id}'."  # type: ignore[index]


def test_vector_store_files(client: openai.OpenAI) -> None:
    ids = _upload(client)
    store = client.vector_stores.create(file_ids=[ids["cakes.txt"]])
    assert store.file_counts.completed == 1 and store.usage_bytes == len(DOCS["cakes.txt"])
    added = client.vector_stores.files.create(
        vector_store_id=store.id,
        file_id=ids["tea.txt"],
        attributes={"topic": "drinks", "year": 2024},
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
        },
    )
    assert (added.id, added.object, added.status, added.last_error) == (
        ids["tea.txt"],
        "vector_store.file",
        "completed",
        None,
    )
    assert added.attributes == {"topic": "drinks", "year": 2024}
    assert added.chunking_strategy.model_dump() == {  # type: ignore[union-attr]
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
    }
    first = client.vector_stores.files.retrieve(ids["cakes.txt"], vector_store_id=store.id)
    assert first.chunking_strategy.model_dump() == {  # type: ignore[union-attr]
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [ids["tea.txt"], ids["cakes.txt"]]
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="failed")] == []
    updated = client.vector_stores.files.update(
        ids["tea.txt"], vector_store_id=store.id, attributes={"topic": "tea"}
    )
    assert updated.attributes == {"topic": "tea"}
    content = client.vector_stores.files.content(ids["tea.txt"], vector_store_id=store.id)
    assert [(c.type, c.text) for c in content] == [("text", DOCS["tea.txt"].decode())]
    deleted = client.vector_stores.files.delete(ids["tea.txt"], vector_store_id=store.id)
    assert (deleted.object, deleted.deleted) == ("vector_store.file.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(ids["tea.txt"], vector_store_id=store.id)
    assert client.vector_stores.retrieve(store.id).file_counts.total == 1
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")


def test_binary_file_fails_to_index(client: openai.OpenAI) -> None:
    blob = client.files.create(file=("img.png", b"\x89PNG\xff\xfe\x00"), purpose="assistants")
    store = client.vector_stores.create()
    added = client.vector_stores.files.create(vector_store_id=store.id, file_id=blob.id)
    assert added.status == "failed"
    assert added.last_error is not None and added.last_error.code == "unsupported_file"
    assert client.vector_stores.retrieve(store.id).file_counts.failed == 1
    assert list(client.vector_stores.files.content(blob.id, vector_store_id=store.id)) == []


def test_chunk_overlap_must_not_exceed_half(client: openai.OpenAI) -> None:
    file = client.files.create(file=("a.txt", b"text"), purpose="assistants")
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=file.id,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 60},
            },
        )
    assert caught.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]


def test_file_batches(client: openai.OpenAI) -> None:
    ids = _upload(client)
    store = client.vector_stores.create()
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=list(ids.values()))
    assert batch.id.startswith("vsfb_") and len(batch.id) == 37
    assert (batch.object, batch.status, batch.file_counts.completed) == (
        "vector_store.file_batch",
        "completed",
        3,
    )
    assert client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id) == batch
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, limit=2)
    assert [f.id for f in listed.data] == [ids["cars.txt"], ids["tea.txt"]] and listed.has_more
    assert "usage_bytes" not in listed.data[0].model_dump(exclude_unset=True)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.retrieve("vsfb_missing", vector_store_id=store.id)
    per_file = client.vector_stores.file_batches.create(
        vector_store_id=store.id, files=[{"file_id": ids["tea.txt"], "attributes": {"lang": "en"}}]
    )
    assert per_file.file_counts.total == 1
    assert client.vector_stores.files.retrieve(ids["tea.txt"], vector_store_id=store.id).attributes == {
        "lang": "en"
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.file_batches.create(vector_store_id=store.id)
    assert caught.value.status_code == 400


def test_upload_and_poll(client: openai.OpenAI, tmp_path: Path) -> None:
    store = client.vector_stores.create(name="uploads")
    paths = []
    for name, body in DOCS.items():
        path = tmp_path / name
        path.write_bytes(body)
        paths.append(path)
    batch = client.vector_stores.file_batches.upload_and_poll(store.id, files=paths)
    assert (batch.status, batch.file_counts.completed, batch.file_counts.total) == ("completed", 3, 3)
    names = {client.files.retrieve(f.id).filename for f in client.vector_stores.files.list(store.id)}
    assert names == set(DOCS)


def test_search_ranks_filters_and_limits(client: openai.OpenAI) -> None:
    ids = _upload(client)
    store = client.vector_stores.create()
    for name, file_id in ids.items():
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=file_id, attributes={"name": name, "size": len(DOCS[name])}
        )
    page = client.vector_stores.search(store.id, query="which cake is the best?")
    assert page.search_query == ["which cake is the best?"]
    assert [r.filename for r in page.data] == ["cakes.txt", "cars.txt"]
    assert 0 < page.data[1].score < page.data[0].score <= 1
    assert page.data[0].content[0].text == DOCS["cakes.txt"].decode()
    assert page.data[0].attributes == {"name": "cakes.txt", "size": len(DOCS["cakes.txt"])}
    tea = client.vector_stores.search(store.id, query=["tea", "morning"], max_num_results=1)
    assert [r.file_id for r in tea.data] == [ids["tea.txt"]]
    filtered = client.vector_stores.search(
        store.id, query="the", filters={"type": "eq", "key": "name", "value": "cars.txt"}
    )
    assert [r.filename for r in filtered.data] == ["cars.txt"]
    compound = client.vector_stores.search(
        store.id,
        query="the",
        filters={
            "type": "or",
            "filters": [
                {"type": "eq", "key": "name", "value": "tea.txt"},
                {"type": "gt", "key": "size", "value": 70},
            ],
        },
    )
    assert sorted(r.filename for r in compound.data) == ["cakes.txt"]
    strict = client.vector_stores.search(
        store.id, query="cake tyres", ranking_options={"score_threshold": 0.99}
    )
    assert strict.data == []
    assert client.vector_stores.search(store.id, query="zebra").data == []
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_missing", query="x")


def test_single_file_upload_and_poll_and_batch_create_and_poll(client: openai.OpenAI, tmp_path: Path) -> None:
    store = client.vector_stores.create()
    path = tmp_path / "one.txt"
    path.write_text("a single uploaded document about penguins", encoding="utf-8")
    added = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=path)
    assert added.status == "completed"
    other = client.files.create(file=("two.txt", b"and one about otters"), purpose="assistants")
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[other.id])
    assert batch.status == "completed"
    found = client.vector_stores.search(store.id, query="otters penguins", max_num_results=5)
    assert {r.file_id for r in found.data} == {added.id, other.id}
