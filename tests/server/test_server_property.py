"""Property: no request a client can send gets a 500, and after it every list endpoint still answers 200.

Hypothesis starts from a valid body for each operation with a body and changes it: one value anywhere in
it replaced by any JSON value (NaN and infinities, lone surrogates, huge integers, deep nesting, empty and
long strings, nulls, wrong types), a key removed or added, or the whole body replaced. Requests go over
real HTTP to a real server; the example count is kept small so that the suite stays quick.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import API_KEY, BETA, paths_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runs_support import start_server

from runner.server.embedded import EmbeddedServer

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json", **BETA}
FUNCTION = {
    "type": "function",
    "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}},
}


def _operations(ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    file, asst, thread, msg, vs = ids["file"], ids["asst"], ids["thread"], ids["msg"], ids["vs"]
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "What is 2 + 2?"}],
        "attachments": [{"file_id": file, "tools": [{"type": "file_search"}]}],
        "metadata": {"k": "v"},
    }
    return [
        (
            "/assistants",
            {
                "model": "gpt-4o",
                "name": "a",
                "instructions": "Be brief.",
                "tools": [FUNCTION, {"type": "code_interpreter"}],
                "tool_resources": {"code_interpreter": {"file_ids": [file]}},
                "metadata": {"k": "v"},
                "temperature": 1,
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            },
        ),
        (f"/assistants/{asst}", {"name": "b", "metadata": {"k": "w"}, "tools": [FUNCTION]}),
        ("/threads", {"messages": [message], "tool_resources": {"file_search": {"vector_store_ids": [vs]}}}),
        (f"/threads/{thread}", {"metadata": {"k": "v"}}),
        (f"/threads/{thread}/messages", message),
        (f"/threads/{thread}/messages/{msg}", {"metadata": {"k": "v"}}),
        (
            "/threads/runs",
            {
                "assistant_id": asst,
                "thread": {"messages": [message]},
                "tool_choice": "auto",
                "truncation_strategy": {"type": "last_messages", "last_messages": 2},
                "max_completion_tokens": 300,
                "temperature": 0.5,
            },
        ),
        (
            "/vector_stores",
            {
                "name": "v",
                "file_ids": [file],
                "expires_after": {"anchor": "last_active_at", "days": 1},
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 10},
                },
                "metadata": {"k": "v"},
            },
        ),
        (f"/vector_stores/{vs}", {"name": "w", "expires_after": None}),
        (f"/vector_stores/{vs}/files", {"file_id": file, "attributes": {"a": "b", "n": 1}}),
        (f"/vector_stores/{vs}/file_batches", {"file_ids": [file]}),
        (
            f"/vector_stores/{vs}/search",
            {"query": "words", "max_num_results": 3, "filters": {"type": "eq", "key": "a", "value": "b"}},
        ),
    ]


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "a\udfffb", "", "x" * 600, "1" * 30, "²", "gpt-4o", "user", "function"]),
)
# The values that broke servers before, drawn often: a uniform draw over all JSON would rarely reach them.
TROUBLE = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        "\ud800",
        "x\udfffy",
        10**30,
        "",
        None,
        {},
        [{}],
        [None],
        "²",
        -1,
        0,
        2**63,
    ]
)
VALUES = (
    TROUBLE
    | st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )
    | st.integers(min_value=1, max_value=200).map(lambda depth: json.loads("[" * depth + "]" * depth))
)


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> Any:
    changed: Any = copy.deepcopy(body)
    place = draw(st.sampled_from(paths_in(changed)))
    action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
    if not place:
        return draw(VALUES) if action == "replace" else changed
    parent = changed
    for part in place[:-1]:
        parent = parent[part]
    last = place[-1]
    if action == "replace":
        parent[last] = draw(VALUES)
    elif action == "remove":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][draw(st.text(max_size=6))] = draw(VALUES)
    else:
        parent[last] = [parent[last], draw(VALUES)]
    return changed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedServer, dict[str, str]]]:
    server = start_server(Path(tmp_path_factory.mktemp("property")) / "p.db")
    auth = {"Authorization": f"Bearer {API_KEY}", **BETA}
    with httpx2.Client(base_url=server.base_url, headers=auth, trust_env=False) as http:
        file = http.post("/files", files={"file": ("w.txt", b"some words")}, data={"purpose": "assistants"})
        file = file.json()["id"]
        asst = http.post("/assistants", json={"model": "gpt-4o", "instructions": "Hi."}).json()["id"]
        thread = http.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}).json()["id"]
        msg = http.get(f"/threads/{thread}/messages").json()["data"][0]["id"]
        vs = http.post("/vector_stores", json={"file_ids": [file]}).json()["id"]
    ids = {"file": file, "asst": asst, "thread": thread, "msg": msg, "vs": vs}
    yield server, ids
    server.stop()


@st.composite
def requests(draw: st.DrawFn, ids: dict[str, str]) -> tuple[str, bytes]:
    path, body = draw(st.sampled_from(_operations(ids)))
    sent = draw(mutated(body))
    return path, json.dumps(sent, allow_nan=True).encode()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_request_gets_a_500_and_every_list_still_answers(
    world: tuple[EmbeddedServer, dict[str, str]], data: st.DataObject
) -> None:
    server, ids = world
    path, raw = data.draw(requests(ids))
    with httpx2.Client(base_url=server.base_url, headers=HEADERS, trust_env=False, timeout=30) as http:
        response = http.post(path, content=raw)
        assert response.status_code < 500, (path, raw[:300], response.text)
        assert set(response.json()) != {"error"} or set(response.json()["error"]) == {
            "message",
            "type",
            "param",
            "code",
        }
        thread, vs = ids["thread"], ids["vs"]
        for listing in (
            "/assistants",
            "/files",
            "/vector_stores",
            f"/vector_stores/{vs}/files",
            f"/threads/{thread}/messages",
            f"/threads/{thread}/runs",
            "/models",
        ):
            assert http.get(listing).status_code == 200, (listing, path, raw[:300])
