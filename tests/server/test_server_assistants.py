from __future__ import annotations

import openai
import pytest


def test_assistant_create_applies_the_real_apis_defaults(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o")
    raw = created.model_dump()
    assert created.id.startswith("asst_") and len(created.id) == 29
    assert raw["object"] == "assistant"
    assert (raw["tools"], raw["tool_resources"], raw["metadata"]) == (
        [],
        {"code_interpreter": None, "file_search": None},
        {},
    )
    assert (created.top_p, created.temperature, created.response_format) == (1.0, 1.0, "auto")
    assert created.name is None and created.instructions is None and created.reasoning_effort is None


def test_assistant_tools_are_normalised_like_the_recordings(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(
        model="gpt-4o",
        tools=[
            {"type": "function", "function": {"name": "get_weather", "description": "Weather"}},
            {
                "type": "file_search",
                "file_search": {"max_num_results": 2, "ranking_options": {"score_threshold": 0.5}},
            },
            {"type": "code_interpreter"},
        ],
    )
    function, search, code = (t.model_dump(exclude_unset=True) for t in created.tools)
    assert function == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        },
    }
    assert search["file_search"] == {
        "max_num_results": 2,
        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.5, "hybrid_search": None},
    }
    assert code == {"type": "code_interpreter"}
    assert created.tool_resources is not None and created.tool_resources.code_interpreter is not None
    assert created.tool_resources.code_interpreter.file_ids == []


def test_assistant_get_modify_delete(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o", metadata={"owner": "arun"})
    assert client.beta.assistants.retrieve(created.id) == created
    modified = client.beta.assistants.update(
        created.id, name="tutor", instructions="Be brief.", metadata={"owner": "me"}, temperature=0.2
    )
    assert (modified.name, modified.instructions, modified.metadata, modified.temperature) == (
        "tutor",
        "Be brief.",
        {"owner": "me"},
        0.2,
    )
    assert modified.created_at == created.created_at
    assert client.beta.assistants.retrieve(created.id).name == "tutor"
    deleted = client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.assistants.retrieve(created.id)
    assert caught.value.body == {
        "message": f"No assistant found with id '{created.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.update(created.id, name="x")


def test_assistant_with_inline_vector_store_creates_it(client: openai.OpenAI) -> None:
    file = client.files.create(file=("notes.txt", b"Filip likes cake."), purpose="assistants")
    created = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [file.id]}]}},
    )
    assert created.tool_resources is not None and created.tool_resources.file_search is not None
    (vs_id,) = created.tool_resources.file_search.vector_store_ids or []
    assert vs_id.startswith("vs_") and len(vs_id) == 35
    assert client.vector_stores.retrieve(vs_id).file_counts.completed == 1


def test_assistant_refuses_unknown_vector_store(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"vector_store_ids": ["vs_missing"]}}
        )
    assert caught.value.body["param"] == "tool_resources.file_search.vector_store_ids[0]"  # type: ignore[index]


def test_assistant_metadata_limits(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(model="gpt-4o", metadata={f"k{i}": "v" for i in range(17)})
    assert caught.value.body["param"] == "metadata"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(model="gpt-4o", metadata={"k": "v" * 513})
    assert caught.value.body["param"] == "metadata.k"  # type: ignore[index]


def test_assistant_modify_replaces_tools_and_keeps_resources(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    modified = client.beta.assistants.update(
        created.id, tools=[{"type": "file_search"}], response_format=None
    )
    assert [t.type for t in modified.tools] == ["file_search"]
    assert modified.model_dump()["tool_resources"] == {
        "code_interpreter": {"file_ids": []},
        "file_search": None,
    }
    assert modified.response_format == "auto"
    cleared = client.beta.assistants.update(created.id, tool_resources={})
    assert cleared.model_dump()["tool_resources"] == {"code_interpreter": None, "file_search": None}
