from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from conftest import Contract, make_async_client

from runner.server.embedded import EmbeddedServer


def test_thread_with_messages_and_tool_resources(client: openai.OpenAI) -> None:
    file = client.files.create(file=("facts.txt", b"The sky is blue."), purpose="assistants")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}],
        metadata={"scenario": "greeting"},
        tool_resources={
            "code_interpreter": {"file_ids": [file.id]},
            "file_search": {"vector_stores": [{"file_ids": [file.id]}]},
        },
    )
    assert thread.id.startswith("thread_") and len(thread.id) == 31
    assert thread.metadata == {"scenario": "greeting"}
    assert thread.tool_resources is not None and thread.tool_resources.code_interpreter is not None
    assert thread.tool_resources.code_interpreter.file_ids == [file.id]
    assert thread.tool_resources.file_search is not None
    assert len(thread.tool_resources.file_search.vector_store_ids or []) == 1
    messages = client.beta.threads.messages.list(thread.id, order="asc")
    assert [(m.role, m.content[0].text.value) for m in messages.data] == [  # type: ignore[union-attr]
        ("user", "Hello"),
        ("assistant", "Hi"),
    ]
    assert client.beta.threads.retrieve(thread.id) == thread


def test_thread_modify_and_delete(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    assert client.beta.threads.update(thread.id, metadata={"a": "b"}).metadata == {"a": "b"}
    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.object, deleted.deleted) == ("thread.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.retrieve(thread.id)
    assert caught.value.body["message"] == f"No thread found with id '{thread.id}'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.update(thread.id, metadata={})
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.delete(thread.id)


def test_message_lifecycle(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    text = client.beta.threads.messages.create(thread.id, role="user", content="What is 2+2?")
    raw = text.model_dump(exclude_unset=True)
    assert text.id.startswith("msg_") and len(text.id) == 28
    # Non-streamed messages have no status fields in the real API.
    assert set(raw) == {
        "id",
        "object",
        "created_at",
        "assistant_id",
        "thread_id",
        "run_id",
        "role",
        "content",
        "attachments",
        "metadata",
    }
    assert raw["content"] == [{"type": "text", "text": {"value": "What is 2+2?", "annotations": []}}]
    parts = client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": "Look:"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}},
        ],
    )
    assert [c.type for c in parts.content] == ["text", "image_url"]
    assert parts.model_dump()["content"][1]["image_url"] == {
        "url": "https://example.invalid/a.png",
        "detail": "auto",
    }
    assert client.beta.threads.messages.retrieve(text.id, thread_id=thread.id) == text
    modified = client.beta.threads.messages.update(text.id, thread_id=thread.id, metadata={"turn": "1"})
    assert modified.metadata == {"turn": "1"}
    listed = client.beta.threads.messages.list(thread.id)
    assert [m.id for m in listed.data] == [parts.id, text.id]
    assert client.beta.threads.messages.list(thread.id, run_id="run_none").data == []
    deleted = client.beta.threads.messages.delete(text.id, thread_id=thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (text.id, "thread.message.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.messages.retrieve(text.id, thread_id=thread.id)
    assert caught.value.body["message"] == f"No message found with id '{text.id}'."  # type: ignore[index]


def test_message_belongs_to_its_thread(client: openai.OpenAI) -> None:
    one, other = client.beta.threads.create(), client.beta.threads.create()
    message = client.beta.threads.messages.create(one.id, role="user", content="hi")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=other.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.create("thread_missing", role="user", content="hi")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list("thread_missing")


def test_message_attachment_must_exist(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.messages.create(
            thread.id, role="user", content="see file", attachments=[{"file_id": "file-nope", "tools": []}]
        )
    assert caught.value.body["param"] == "attachments[0].file_id"  # type: ignore[index]


def test_async_client_drives_every_kind_of_object(server: EmbeddedServer, contract: Contract) -> None:
    async def scenario() -> None:
        async with make_async_client(server, contract) as sdk:
            assistant = await sdk.beta.assistants.create(model="gpt-4o", name="async")
            assert (await sdk.beta.assistants.retrieve(assistant.id)).name == "async"
            thread = await sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            await sdk.beta.threads.messages.create(thread.id, role="user", content="again")
            listed = [m.id async for m in sdk.beta.threads.messages.list(thread.id, limit=1)]
            assert len(listed) == 2
            file = await sdk.files.create(file=("a.txt", b"async cats purr"), purpose="assistants")
            store = await sdk.vector_stores.create(file_ids=[file.id])
            found = await sdk.vector_stores.search(store.id, query="cats")
            assert [r.file_id for r in found.data] == [file.id]
            with pytest.raises(openai.NotFoundError):
                await sdk.beta.threads.retrieve("thread_missing")
            await sdk.beta.assistants.delete(assistant.id)

    asyncio.run(scenario())
    contract.assert_clean()
    assert contract.checked >= 10


def test_empty_message_content_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.create(messages=[{"role": "user", "content": ""}])
    assert caught.value.body["param"] == "messages[0].content"  # type: ignore[index]


def test_concurrent_async_writes_all_land_in_one_order(server: EmbeddedServer, contract: Contract) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with make_async_client(server, contract) as sdk:
            thread = await sdk.beta.threads.create()
            made = await asyncio.gather(
                *(
                    sdk.beta.threads.messages.create(thread.id, role="user", content=f"m{i}")
                    for i in range(40)
                )
            )
            listed = [m.id async for m in sdk.beta.threads.messages.list(thread.id, order="asc", limit=7)]
            return [m.id for m in made], listed

    made, listed = asyncio.run(scenario())
    assert sorted(listed) == sorted(made) and len(set(listed)) == 40
    contract.assert_clean()


def test_async_auto_pagination_and_upload_and_poll(
    server: EmbeddedServer, contract: Contract, tmp_path: Path
) -> None:
    docs = []
    for i in range(3):
        path = tmp_path / f"doc{i}.txt"
        path.write_text(
            f"document number {i} mentions walruses" if i == 1 else f"document {i}", encoding="utf-8"
        )
        docs.append(path)

    async def scenario() -> None:
        async with make_async_client(server, contract) as sdk:
            made = [(await sdk.vector_stores.create(name=f"s{i}")).id for i in range(103)]
            listed = [v.id async for v in sdk.vector_stores.list(limit=100, order="asc")]
            assert listed == made
            batch = await sdk.vector_stores.file_batches.upload_and_poll(made[0], files=docs)
            assert (batch.status, batch.file_counts.completed) == ("completed", 3)
            found = await sdk.vector_stores.search(made[0], query="walruses")
            assert [r.filename for r in found.data] == ["doc1.txt"]

    asyncio.run(scenario())
