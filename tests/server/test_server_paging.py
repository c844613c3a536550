from __future__ import annotations

import openai
import pytest


def _assistants(client: openai.OpenAI, n: int) -> list[str]:
    # Created well within one second: only the sequence keeps them apart.
    return [client.beta.assistants.create(model="gpt-4o", name=f"a{i}").id for i in range(n)]


def test_auto_pagination_across_more_than_100_objects(client: openai.OpenAI) -> None:
    ids = _assistants(client, 105)
    newest_first = list(reversed(ids))
    assert [a.id for a in client.beta.assistants.list(limit=100)] == newest_first
    assert [a.id for a in client.beta.assistants.list(limit=7, order="asc")] == ids
    first = client.beta.assistants.list()
    assert len(first.data) == 20 and first.has_more
    assert (first.first_id, first.last_id) == (newest_first[0], newest_first[19])


def test_after_before_and_order(client: openai.OpenAI) -> None:
    ids = _assistants(client, 6)  # a0..a5
    after = client.beta.assistants.list(order="asc", after=ids[1], limit=2)
    assert ([a.id for a in after.data], after.has_more) == ([ids[2], ids[3]], True)
    last = client.beta.assistants.list(order="asc", after=ids[3], limit=2)
    assert ([a.id for a in last.data], last.has_more) == ([ids[4], ids[5]], False)
    before = client.beta.assistants.list(order="asc", before=ids[4], limit=2)
    assert ([a.id for a in before.data], before.has_more) == ([ids[2], ids[3]], True)
    before_desc = client.beta.assistants.list(order="desc", before=ids[1], limit=10)
    assert ([a.id for a in before_desc.data], before_desc.has_more) == (
        [ids[5], ids[4], ids[3], ids[2]],
        False,
    )
    between = client.beta.assistants.list(order="asc", after=ids[0], before=ids[3])
    assert [a.id for a in between.data] == [ids[1], ids[2]]
    assert client.beta.assistants.list(after="asst_unknown").data == []


def test_a_deleted_cursor_keeps_its_place(client: openai.OpenAI) -> None:
    ids = _assistants(client, 5)
    client.beta.assistants.delete(ids[2])
    page = client.beta.assistants.list(order="asc", after=ids[2])
    assert [a.id for a in page.data] == [ids[3], ids[4]]


def test_pruning_while_paging_visits_everything(client: openai.OpenAI) -> None:
    ids = _assistants(client, 25)
    seen = []
    for assistant in client.beta.assistants.list(limit=10):
        seen.append(assistant.id)
        client.beta.assistants.delete(assistant.id)
    assert seen == list(reversed(ids))
    assert client.beta.assistants.list().data == []


def test_message_and_file_lists_page_too(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    made = [client.beta.threads.messages.create(thread.id, role="user", content=str(i)).id for i in range(5)]
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=2, order="asc")] == made
    files = [client.files.create(file=(f"{i}.txt", b"x"), purpose="user_data").id for i in range(3)]
    page = client.files.list(limit=2, order="asc")
    assert ([f.id for f in page.data], page.has_more) == (files[:2], True)
    assert [f.id for f in client.files.list(limit=1)] == list(reversed(files))


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ({"limit": 0}, "limit", "integer_below_min_value"),
        ({"limit": 101}, "limit", "integer_above_max_value"),
        ({"limit": "many"}, "limit", "invalid_type"),
        ({"order": "sideways"}, "order", "invalid_value"),
    ],
)
def test_bad_paging_parameters(
    client: openai.OpenAI, query: dict[str, object], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.get("/assistants", options={"params": query}, cast_to=object)
    assert (caught.value.body["param"], caught.value.body["code"]) == (param, code)  # type: ignore[index]
