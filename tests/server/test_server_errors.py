from __future__ import annotations

import openai
import pytest
from conftest import API_KEY, BETA, Contract, make_client

from runner.server.embedded import EmbeddedServer
from runner.server.exceptions import RateLimited


def test_wrong_key_is_refused_without_echoing_it(server: EmbeddedServer, contract: Contract) -> None:
    wrong = "test-wrong-key-0123456789"
    with pytest.raises(openai.AuthenticationError) as caught:
        make_client(server, contract, api_key=wrong).beta.assistants.list()
    body = caught.value.body
    assert body["code"] == "invalid_api_key" and body["type"] == "invalid_request_error"  # type: ignore[index]
    assert body["message"] == "Incorrect API key provided: tes******************6789."  # type: ignore[index]
    assert wrong not in str(body)
    contract.assert_clean()


def test_missing_key_is_refused(server: EmbeddedServer, contract: Contract) -> None:
    sdk = make_client(server, contract)
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk.get("/assistants", options={"headers": {"Authorization": ""}}, cast_to=object)
    assert caught.value.body["message"].startswith("You didn't provide an API key.")  # type: ignore[index]
    contract.assert_clean()


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "model", "missing_required_parameter"),
        ({"model": 4}, "model", "invalid_type"),
        ({"model": "gpt-4o", "tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        (
            {"model": "gpt-4o", "tools": [{"type": "function", "function": {}}]},
            "tools[0].function.name",
            "missing_required_parameter",
        ),
        ({"model": "gpt-4o", "temperature": 3}, "temperature", "invalid_value"),
        ({"model": "gpt-4o", "surprise": True}, None, "unknown_parameter"),
        ({"model": "gpt-4o", "tools": "all"}, "tools", "invalid_type"),
    ],
)
def test_invalid_bodies_name_the_param(
    client: openai.OpenAI, body: dict[str, object], param: str | None, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/assistants", body=body, cast_to=object)
    assert (caught.value.body["param"], caught.value.body["code"]) == (param, code)  # type: ignore[index]
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_nested_message_errors_carry_their_path(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.create(messages=[{"role": "user", "content": [{"type": "text"}]}])  # type: ignore[list-item]
    assert caught.value.body["param"] == "messages[0].content[0].text"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.create(messages=[{"role": "robot", "content": "x"}])  # type: ignore[typeddict-item]
    assert (
        caught.value.body["message"]
        == "Invalid value: 'robot'. Supported values are: 'user' and 'assistant'."
    )  # type: ignore[index]


def test_body_that_is_not_json(client: openai.OpenAI) -> None:
    for content in (b"{not json", b"[1, 2]"):
        with pytest.raises(openai.BadRequestError) as caught:
            client.post(
                "/assistants",
                body=content,
                options={"headers": {"Content-Type": "application/json"}},
                cast_to=object,
            )
        assert caught.value.status_code == 400


def test_unknown_routes_and_methods(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.get("/nothing/here", cast_to=object)
    assert caught.value.body["message"] == "Invalid URL (GET /v1/nothing/here)"  # type: ignore[index]
    with pytest.raises(openai.APIStatusError) as caught_method:
        client.delete("/files", cast_to=object)
    assert caught_method.value.status_code == 405


def test_unexpected_failure_is_a_500_with_the_real_apis_body(
    server: EmbeddedServer, client: openai.OpenAI
) -> None:
    # Closing the database under the running server is a real fault: nothing in the request is wrong.
    server.backend.store.close()
    with pytest.raises(openai.InternalServerError) as caught:
        client.beta.assistants.list()
    assert caught.value.body["type"] == "server_error"  # type: ignore[index]
    assert caught.value.body["message"].startswith("The server had an error")  # type: ignore[index]


def test_key_is_compared_exactly(server: EmbeddedServer, contract: Contract) -> None:
    with pytest.raises(openai.AuthenticationError):
        make_client(server, contract, api_key=API_KEY + "x").files.list()
    with pytest.raises(openai.AuthenticationError):
        make_client(server, contract, api_key=API_KEY[:-1]).files.list()


def test_unknown_nested_parameter(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(
            f"/vector_stores/{store.id}/search",
            body={"query": "x", "ranking_options": {"boost": 2}},
            cast_to=object,
        )
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "message": "Unknown parameter: 'ranking_options.boost'.",
        "type": "invalid_request_error",
        "param": "ranking_options.boost",
        "code": "unknown_parameter",
    }


def test_answers_carry_the_real_apis_request_headers(client: openai.OpenAI) -> None:
    raw = client.beta.assistants.with_raw_response.list()
    assert raw.headers["openai-version"] == "2020-10-01"
    assert raw.headers["x-request-id"].startswith("req_") and len(raw.headers["x-request-id"]) == 36
    assert raw.parse().data == []


def test_malformed_multipart_is_a_400(server: EmbeddedServer, contract: Contract) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "multipart/form-data; boundary=x"}
    with openai.DefaultHttpx2Client(event_hooks={"response": [contract.sync_hook]}, trust_env=False) as http:
        response = http.post(f"{server.base_url}/files", content=b"--y\r\nbroken", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    contract.assert_clean()


def test_rate_limit_error_tells_when_to_retry() -> None:
    limited = RateLimited("Rate limit reached for requests.", retry_after=1.5)
    assert (limited.status, limited.headers()) == (429, {"retry-after": "1.5"})
    assert limited.body()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("path", "body", "param", "message"),
    [
        (
            "/threads",
            {"messages": [{"role": "user", "content": [{"type": "image_file", "image_file": {}}]}]},
            "messages[0].content[0].image_file.file_id",
            "Missing required parameter: 'messages[0].content[0].image_file.file_id'.",
        ),
        (
            "/threads",
            {"messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "Invalid type for 'messages[0].content': expected a string or an array, "
            "but got an integer instead.",
        ),
        (
            "/assistants",
            {"model": "gpt-4o", "response_format": {"type": "yaml"}},
            "response_format.type",
            "Invalid value: 'yaml'. Supported values are: 'text', 'json_object', and 'json_schema'.",
        ),
        (
            "/threads",
            {"tool_resources": {"file_search": {"vector_store_ids": [], "vector_stores": []}}},
            "tool_resources.file_search",
            "Invalid 'tool_resources.file_search': send only one of 'vector_store_ids' and 'vector_stores'.",
        ),
        (
            "/vector_stores",
            {"chunking_strategy": {"type": "static"}},
            "chunking_strategy.static",
            "Missing required parameter: 'chunking_strategy.static'.",
        ),
    ],
)
def test_unions_are_judged_by_their_tag_or_type(
    client: openai.OpenAI, path: str, body: dict[str, object], param: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(path, body=body, cast_to=object)
    assert (caught.value.body["param"], caught.value.body["message"]) == (param, message)  # type: ignore[index]


def test_the_bearer_scheme_is_case_insensitive_and_others_are_refused(server: EmbeddedServer) -> None:
    with openai.DefaultHttpx2Client(trust_env=False) as http:
        url = f"{server.base_url}/assistants"
        assert http.get(url, headers={"Authorization": f"bearer {API_KEY}", **BETA}).status_code == 200
        basic = http.get(url, headers={"Authorization": f"Basic {API_KEY}"})
        assert basic.status_code == 401 and basic.json()["error"]["message"].startswith("You didn't provide")
