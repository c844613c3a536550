"""Fixtures for the local server: a real server on a loopback port 0, real SDK clients, and a contract check.

Every response the SDK clients receive passes through an httpx hook that validates its JSON body against
the spec's schema for the route (the committed subset generated from the spec), with the real-API
allowances listed in ../shared/openapi/README.md "Known quirks". A client fixture fails its test at
teardown if any body did not validate.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from jsonschema import Draft202012Validator

from runner.server.app import Limits
from runner.server.embedded import EmbeddedServer
from runner.server.validation import subset

API_KEY = "test-made-up-local-key"
BETA = {"OpenAI-Beta": "assistants=v2"}

ROUTE_SCHEMAS: list[tuple[str, str, str]] = [
    ("POST", r"/assistants", "AssistantObject"),
    ("GET", r"/assistants", "ListAssistantsResponse"),
    ("GET|POST", r"/assistants/[^/]+", "AssistantObject"),
    ("DELETE", r"/assistants/[^/]+", "DeleteAssistantResponse"),
    ("POST", r"/threads", "ThreadObject"),
    ("GET|POST", r"/threads/[^/]+", "ThreadObject"),
    ("DELETE", r"/threads/[^/]+", "DeleteThreadResponse"),
    ("POST", r"/threads/[^/]+/messages", "MessageObject"),
    ("GET", r"/threads/[^/]+/messages", "ListMessagesResponse"),
    ("GET|POST", r"/threads/[^/]+/messages/[^/]+", "MessageObject"),
    ("DELETE", r"/threads/[^/]+/messages/[^/]+", "DeleteMessageResponse"),
    ("POST", r"/files", "OpenAIFile"),
    ("GET", r"/files", "ListFilesResponse"),
    ("GET", r"/files/[^/]+", "OpenAIFile"),
    ("DELETE", r"/files/[^/]+", "DeleteFileResponse"),
    ("POST", r"/vector_stores", "VectorStoreObject"),
    ("GET", r"/vector_stores", "ListVectorStoresResponse"),
    ("GET|POST", r"/vector_stores/[^/]+", "VectorStoreObject"),
    ("DELETE", r"/vector_stores/[^/]+", "DeleteVectorStoreResponse"),
    ("POST", r"/vector_stores/[^/]+/files", "VectorStoreFileObject"),
    ("GET", r"/vector_stores/[^/]+/files", "ListVectorStoreFilesResponse"),
    ("GET|POST", r"/vector_stores/[^/]+/files/[^/]+", "VectorStoreFileObject"),
    ("DELETE", r"/vector_stores/[^/]+/files/[^/]+", "DeleteVectorStoreFileResponse"),
    ("GET", r"/vector_stores/[^/]+/files/[^/]+/content", "VectorStoreFileContentResponse"),
    ("POST", r"/vector_stores/[^/]+/file_batches", "VectorStoreFileBatchObject"),
    ("GET", r"/vector_stores/[^/]+/file_batches/[^/]+", "VectorStoreFileBatchObject"),
    ("POST", r"/vector_stores/[^/]+/file_batches/[^/]+/cancel", "VectorStoreFileBatchObject"),
    ("GET", r"/vector_stores/[^/]+/file_batches/[^/]+/files", "ListBatchFilesResponse"),
    ("POST", r"/vector_stores/[^/]+/search", "VectorStoreSearchResultsPage"),
    ("GET", r"/models", "ListModelsResponse"),
    ("GET", r"/models/.+", "Model"),
    ("POST", r"/chat/completions", "CreateChatCompletionResponse"),
]


def _allowances(schemas: dict[str, Any]) -> dict[str, Any]:
    """The documented places where the real API (and so this server) differs from the spec."""
    s = copy.deepcopy(schemas)
    s["VectorStoreFileBatchObject"]["properties"]["object"]["enum"] = ["vector_store.file_batch"]
    s["MessageObject"]["required"] = [
        r
        for r in s["MessageObject"]["required"]
        if r not in ("status", "completed_at", "incomplete_at", "incomplete_details")
    ]
    for schema, field in [
        ("OpenAIFile", "expires_at"),
        ("OpenAIFile", "status_details"),
        ("VectorStoreObject", "name"),
        ("VectorStoreObject", "expires_after"),
    ]:
        s[schema]["properties"][field] = {"anyOf": [s[schema]["properties"][field], {"type": "null"}]}
    # Not in the README's list, and no recording shows an empty page: the real API answers an empty
    # page with null first_id/last_id, and so does this server (docs/local-server.md).
    for name in [n for n in s if n.startswith("List") and n.endswith("Response")]:
        for field in ("first_id", "last_id"):
            if field not in s[name]["properties"]:
                continue  # ListModelsResponse has no cursors
            s[name]["properties"][field] = {"anyOf": [s[name]["properties"][field], {"type": "null"}]}
    in_batch = copy.deepcopy(s["VectorStoreFileObject"])
    in_batch["required"] = [r for r in in_batch["required"] if r != "usage_bytes"]
    s["VectorStoreFileInBatch"] = in_batch
    listing = copy.deepcopy(s["ListVectorStoreFilesResponse"])
    listing["properties"]["data"]["items"] = {"$ref": "#/components/schemas/VectorStoreFileInBatch"}
    s["ListBatchFilesResponse"] = listing
    return s


class Contract:
    def __init__(self) -> None:
        self.schemas = _allowances(subset()["components"]["schemas"])
        self.problems: list[str] = []
        self.checked = 0
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, name: str) -> Draft202012Validator:
        if name not in self._validators:
            root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": self.schemas}}
            self._validators[name] = Draft202012Validator(root)
        return self._validators[name]

    def schema_for(self, method: str, path: str, status: int) -> str | None:
        if status >= 400:
            return "ErrorResponse"
        route = path.split("/v1", 1)[1]
        for methods, pattern, schema in ROUTE_SCHEMAS:
            if method in methods.split("|") and re.fullmatch(pattern, route):
                return schema
        return None

    def check(self, method: str, path: str, status: int, content_type: str, content: bytes) -> None:
        if not content_type.startswith("application/json"):
            return
        schema = self.schema_for(method, path, status)
        if schema is None:
            self.problems.append(f"{method} {path}: no schema known for this route")
            return
        body = json.loads(content)
        self.checked += 1
        for error in self.validator(schema).iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path)
            self.problems.append(f"{method} {path} ({schema}) at {where or '<root>'}: {error.message}")

    def sync_hook(self, response: Any) -> None:
        response.read()
        self.check(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
        )

    async def async_hook(self, response: Any) -> None:
        await response.aread()
        self.check(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
        )

    def assert_clean(self) -> None:
        assert not self.problems, "responses that do not match the spec:\n" + "\n".join(self.problems)


@pytest.fixture(autouse=True)
def _quiet_sdk_deprecations() -> Iterator[None]:
    # The SDK marks the whole Assistants API deprecated; that is the point of this server.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "state" / "local.db", API_KEY) as running:
        yield running


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    limits = Limits(max_body_bytes=4096, max_upload_bytes=2048)
    with EmbeddedServer(tmp_path / "small.db", API_KEY, limits=limits) as running:
        yield running


@pytest.fixture
def contract() -> Iterator[Contract]:
    # Every test that talks to a server through this contract fails if any answer broke it.
    checking = Contract()
    yield checking
    checking.assert_clean()


def make_client(server: EmbeddedServer, contract: Contract, api_key: str = API_KEY) -> openai.OpenAI:
    return checked_client(server.base_url, api_key, contract)


def checked_client(base_url: str, api_key: str, contract: Contract) -> openai.OpenAI:
    http = openai.DefaultHttpx2Client(event_hooks={"response": [contract.sync_hook]}, trust_env=False)
    # The SDK's beta resources send the Assistants beta header themselves; the raw `client.post(...)` calls
    # of the tests need it too (test_server_beta.py checks what its absence gets).
    return openai.OpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, http_client=http, default_headers=BETA
    )


@pytest.fixture
def client(server: EmbeddedServer, contract: Contract) -> Iterator[openai.OpenAI]:
    sdk = make_client(server, contract)
    yield sdk
    sdk.close()
    contract.assert_clean()


@pytest.fixture
def small_client(small_server: EmbeddedServer, contract: Contract) -> Iterator[openai.OpenAI]:
    sdk = make_client(small_server, contract)
    yield sdk
    sdk.close()
    contract.assert_clean()


def make_async_client(server: EmbeddedServer, contract: Contract) -> openai.AsyncOpenAI:
    # Used inside asyncio.run(...) by the async tests, so no async test plugin is needed.
    http = openai.DefaultAsyncHttpx2Client(event_hooks={"response": [contract.async_hook]}, trust_env=False)
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0, http_client=http)


def paths_in(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as the keys and indexes that lead to it (the value itself first): where
    the request-validation and property tests mutate a body."""
    found = [at]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += paths_in(sub, (*at, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += paths_in(sub, (*at, index))
    return found
