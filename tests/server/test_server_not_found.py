"""Every operation that names an object answers 404 through the SDK's NotFoundError when it does not exist,
and every operation with a body answers 400 through BadRequestError naming the offending param."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

Call = Callable[[openai.OpenAI, dict[str, str]], Any]

# The objects that do exist, for the operations whose other ids must be real to reach the missing one.
NOT_FOUND: dict[str, Call] = {
    "get_assistant": lambda c, ids: c.beta.assistants.retrieve("asst_missing"),
    "modify_assistant": lambda c, ids: c.beta.assistants.update("asst_missing", name="x"),
    "delete_assistant": lambda c, ids: c.beta.assistants.delete("asst_missing"),
    "get_thread": lambda c, ids: c.beta.threads.retrieve("thread_missing"),
    "modify_thread": lambda c, ids: c.beta.threads.update("thread_missing", metadata={}),
    "delete_thread": lambda c, ids: c.beta.threads.delete("thread_missing"),
    "create_message": lambda c, ids: c.beta.threads.messages.create(
        "thread_missing", role="user", content="x"
    ),
    "list_messages": lambda c, ids: c.beta.threads.messages.list("thread_missing"),
    "get_message": lambda c, ids: c.beta.threads.messages.retrieve("msg_missing", thread_id=ids["thread"]),
    "modify_message": lambda c, ids: c.beta.threads.messages.update(
        "msg_missing", thread_id=ids["thread"], metadata={}
    ),
    "delete_message": lambda c, ids: c.beta.threads.messages.delete("msg_missing", thread_id=ids["thread"]),
    "retrieve_file": lambda c, ids: c.files.retrieve("file-missing"),
    "delete_file": lambda c, ids: c.files.delete("file-missing"),
    "download_file": lambda c, ids: c.files.content("file-missing"),
    "get_vector_store": lambda c, ids: c.vector_stores.retrieve("vs_missing"),
    "modify_vector_store": lambda c, ids: c.vector_stores.update("vs_missing", name="x"),
    "delete_vector_store": lambda c, ids: c.vector_stores.delete("vs_missing"),
    "create_vector_store_file": lambda c, ids: c.vector_stores.files.create(
        vector_store_id="vs_missing", file_id=ids["file"]
    ),
    "list_vector_store_files": lambda c, ids: c.vector_stores.files.list("vs_missing"),
    "get_vector_store_file": lambda c, ids: c.vector_stores.files.retrieve(
        ids["file"], vector_store_id=ids["vs"]
    ),
    "update_vector_store_file_attributes": lambda c, ids: c.vector_stores.files.update(
        ids["file"], vector_store_id=ids["vs"], attributes={}
    ),
    "delete_vector_store_file": lambda c, ids: c.vector_stores.files.delete(
        ids["file"], vector_store_id=ids["vs"]
    ),
    "retrieve_vector_store_file_content": lambda c, ids: c.vector_stores.files.content(
        ids["file"], vector_store_id=ids["vs"]
    ),
    "create_vector_store_file_batch": lambda c, ids: c.vector_stores.file_batches.create(
        vector_store_id="vs_missing", file_ids=[ids["file"]]
    ),
    "get_vector_store_file_batch": lambda c, ids: c.vector_stores.file_batches.retrieve(
        "vsfb_missing", vector_store_id=ids["vs"]
    ),
    "cancel_vector_store_file_batch": lambda c, ids: c.vector_stores.file_batches.cancel(
        "vsfb_missing", vector_store_id=ids["vs"]
    ),
    "list_files_in_vector_store_batch": lambda c, ids: c.vector_stores.file_batches.list_files(
        "vsfb_missing", vector_store_id=ids["vs"]
    ),
    "search_vector_store": lambda c, ids: c.vector_stores.search("vs_missing", query="x"),
}

INVALID: dict[str, tuple[str, dict[str, Any], str]] = {
    "create_assistant": ("/assistants", {"model": "gpt-4o", "name": 1}, "name"),
    "modify_assistant": ("/assistants/{assistant}", {"top_p": "high"}, "top_p"),
    "create_thread": ("/threads", {"metadata": {"k": 1}}, "metadata.k"),
    "modify_thread": ("/threads/{thread}", {"metadata": []}, "metadata"),
    "create_message": ("/threads/{thread}/messages", {"role": "user"}, "content"),
    "modify_message": ("/threads/{thread}/messages/{message}", {"metadata": "x"}, "metadata"),
    "create_vector_store": ("/vector_stores", {"file_ids": "file-x"}, "file_ids"),
    "modify_vector_store": ("/vector_stores/{vs}", {"name": ["x"]}, "name"),
    "create_vector_store_file": ("/vector_stores/{vs}/files", {}, "file_id"),
    "update_vector_store_file_attributes": ("/vector_stores/{vs}/files/{file}", {}, "attributes"),
    "create_vector_store_file_batch": ("/vector_stores/{vs}/file_batches", {"file_ids": []}, "file_ids"),
    "search_vector_store": (
        "/vector_stores/{vs}/search",
        {"query": "x", "max_num_results": 51},
        "max_num_results",
    ),
}


@pytest.fixture
def ids(client: openai.OpenAI) -> dict[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="x")
    file = client.files.create(file=("f.txt", b"words"), purpose="assistants")
    store = client.vector_stores.create()
    return {
        "assistant": assistant.id,
        "thread": thread.id,
        "message": message.id,
        "file": file.id,
        "vs": store.id,
    }


@pytest.mark.parametrize("operation", sorted(NOT_FOUND))
def test_unknown_ids_are_404(client: openai.OpenAI, ids: dict[str, str], operation: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        NOT_FOUND[operation](client, ids)
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert "missing" in caught.value.body["message"] or ids["file"] in caught.value.body["message"]  # type: ignore[index]


@pytest.mark.parametrize("operation", sorted(INVALID))
def test_invalid_bodies_are_400_with_param(
    client: openai.OpenAI, ids: dict[str, str], operation: str
) -> None:
    path, body, param = INVALID[operation]
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(path.format(**ids), body=body, cast_to=object)
    assert caught.value.body["param"] == param  # type: ignore[index]
