"""Plan's plain-HTTP listings behave like the SDK path they replace: the same requests, the same retries and
request counts, the same error messages; and the vector stores' file listings overlap, a few at a time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from runner.api.session import Api
from runner.apply.listing import WORKERS, Lister, store_files_path
from runner.apply.remote import read_references, read_remote
from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions
from runner.errors import ApiError, ApiNotFound
from runner.server.embedded import EmbeddedServer

from ..commands.conftest import TEST_KEY

Reply = tuple[int, dict[str, str], bytes]
EMPTY: Reply = (200, {}, b'{"object": "list", "data": [], "has_more": false}')


class Scripted:
    """A loopback HTTP server that answers from a script (path -> replies, the last one repeated) and
    records what it was sent: for the answers our own server never gives (429, 5xx, non-JSON bodies)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with scripted._lock:
                    scripted.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    scripted.in_flight += 1
                    scripted.most_in_flight = max(scripted.most_in_flight, scripted.in_flight)
                    replies = scripted.script.get(self.path.split("?")[0], [EMPTY])
                    status, headers, body = replies.pop(0) if len(replies) > 1 else replies[0]
                time.sleep(delay)
                with scripted._lock:
                    scripted.in_flight -= 1
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Scripted:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with Scripted() as server:
        yield server


def _api(base_url: str, key: str = TEST_KEY) -> Api:
    return Api(None, base_url, api_key=key, backoff=0.0, sleep=lambda _s: None)


def _sdk_error(base_url: str) -> str:
    api = _api(base_url)
    try:
        api.list_all("listing assistants", api.client.beta.assistants.list)
    except ApiError as exc:
        return f"{type(exc).__name__}: {exc} ({api.counter.requests} requests)"
    finally:
        api.close()
    raise AssertionError("the SDK path did not fail")


def _plain_error(base_url: str) -> str:
    api = _api(base_url)
    try:
        with Lister(api) as lister:
            lister.list_all("listing assistants", "assistants")
    except ApiError as exc:
        return f"{type(exc).__name__}: {exc} ({api.counter.requests} requests)"
    raise AssertionError("the plain path did not fail")


ERRORS: dict[str, list[Reply]] = {
    "json error, not retried": [(400, {}, b'{"error": {"message": "bad limit", "type": "invalid"}}')],
    "404 with a message": [(404, {}, b'{"error": {"message": "No such thing"}}')],
    "401": [(401, {}, b'{"error": {"message": "Incorrect API key"}}')],
    "500 text body, retried to the end": [(500, {}, b"upstream fell over")],
    "502 json without a message": [(502, {}, b'{"error": {"code": "x"}}')],
    "error that is a string": [(403, {}, b'{"error": "forbidden"}')],
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_read_as_the_sdk_path_reads_them(name: str) -> None:
    messages = []
    for read in (_sdk_error, _plain_error):
        with Scripted() as server:
            server.script["/v1/assistants"] = list(ERRORS[name])
            messages.append(read(server.base_url))
    assert messages[0] == messages[1]
    assert "listing assistants" in messages[1]


def test_an_unreachable_server_reads_as_the_sdk_path_reads_it() -> None:
    assert _plain_error("http://127.0.0.1:9/v1") == _sdk_error("http://127.0.0.1:9/v1")


def test_a_rate_limit_is_retried_after_what_the_server_asks_and_every_attempt_counts(
    scripted: Scripted,
) -> None:
    page = b'{"object": "list", "data": [{"id": "asst_1"}], "has_more": false}'
    scripted.script["/v1/assistants"] = [(429, {"Retry-After": "1.5"}, b"{}"), (200, {}, page)]
    waits: list[float] = []
    api = Api(None, scripted.base_url, api_key=TEST_KEY, sleep=waits.append)
    with Lister(api) as lister:
        assert lister.list_all("listing assistants", "assistants") == [{"id": "asst_1"}]
    assert waits == [1.5]
    assert api.counter.requests == 2 and api.counter.writes == 0


def test_the_requests_carry_what_the_sdk_sends(scripted: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-test")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-test")
    api = _api(scripted.base_url)
    for kind, path, params in (
        ("assistants", "assistants", {}),
        ("vector_stores", "vector_stores", {}),
        ("files", "files", {"purpose": "assistants", "limit": 10_000}),
    ):
        sdk_list = {
            "assistants": api.client.beta.assistants.list,
            "vector_stores": api.client.vector_stores.list,
            "files": api.client.files.list,
        }[kind]
        api.list_all(kind, sdk_list, **params)
        with Lister(api) as lister:
            lister.list_all(kind, path, beta=kind != "files", **params)
    api.close()
    compared = ("authorization", "openai-beta", "openai-organization", "openai-project")
    pairs = [scripted.seen[i : i + 2] for i in range(0, len(scripted.seen), 2)]
    assert len(pairs) == 3
    for (sdk_path, sdk_headers), (plain_path, plain_headers) in pairs:
        assert sorted(sdk_path.split("?")[1].split("&")) == sorted(plain_path.split("?")[1].split("&"))
        assert {k: sdk_headers.get(k) for k in compared} == {k: plain_headers.get(k) for k in compared}
    assert pairs[0][1][1]["openai-beta"] == "assistants=v2"
    assert "openai-beta" not in pairs[2][1][1]
    assert pairs[0][1][1]["authorization"] == f"Bearer {TEST_KEY}"


def test_pages_are_followed_by_cursor(scripted: Scripted) -> None:
    first = {"data": [{"id": "a1"}, {"id": "a2"}], "has_more": True}
    second = {"data": [{"id": "a3"}], "has_more": False}
    scripted.script["/v1/assistants"] = [
        (200, {}, json.dumps(first).encode()),
        (200, {}, json.dumps(second).encode()),
    ]
    api = _api(scripted.base_url)
    with Lister(api) as lister:
        items = lister.list_all("listing assistants", "assistants", limit=2)
    assert [i["id"] for i in items] == ["a1", "a2", "a3"]
    assert "after=a2" in scripted.seen[1][0] and "limit=2" in scripted.seen[1][0]
    assert api.counter.requests == 2


def test_a_body_that_is_not_a_list_page_is_a_clear_error(scripted: Scripted) -> None:
    scripted.script["/v1/assistants"] = [(200, {"Content-Type": "text/html"}, b"<html>hello</html>")]
    with Lister(_api(scripted.base_url)) as lister, pytest.raises(ApiError) as caught:
        lister.list_all("listing assistants", "assistants")
    assert str(caught.value) == (
        f"listing assistants: {scripted.base_url} answered 200 with something that is not a list page "
        "(JSON with a `data` list); is it an Assistants API?"
    )


def test_store_listings_overlap_a_few_at_a_time_and_keep_their_order() -> None:
    with Scripted(delay=0.05) as server:
        ids = [f"vs_{n:02d}" for n in range(3 * WORKERS)]
        for n, store in enumerate(ids):
            page = {"data": [{"id": f"file_{n}"}], "has_more": False}
            server.script[f"/v1/{store_files_path(store)}"] = [(200, {}, json.dumps(page).encode())]
        server.script[f"/v1/{store_files_path(ids[5])}"] = [(404, {}, b'{"error": {"message": "gone"}}')]
        api = _api(server.base_url)
        with Lister(api) as lister:
            listed = lister.list_each("listing vector store files", [store_files_path(s) for s in ids])
    assert listed[5] is None
    assert [items[0]["id"] if items else None for items in listed] == [
        None if n == 5 else f"file_{n}" for n in range(len(ids))
    ]
    assert 1 < server.most_in_flight <= WORKERS
    assert api.counter.requests == len(ids)


def test_the_first_failing_store_listing_is_the_error(scripted: Scripted) -> None:
    scripted.script[f"/v1/{store_files_path('vs_b')}"] = [(400, {}, b'{"error": {"message": "no b"}}')]
    scripted.script[f"/v1/{store_files_path('vs_c')}"] = [(400, {}, b'{"error": {"message": "no c"}}')]
    with Lister(_api(scripted.base_url)) as lister, pytest.raises(ApiError) as caught:
        lister.list_each(
            "listing vector store files", [store_files_path(s) for s in ("vs_a", "vs_b", "vs_c")]
        )
    assert str(caught.value) == "listing vector store files: the API answered 400: no b"
    assert not isinstance(caught.value, ApiNotFound)


def test_the_state_read_over_plain_http_is_the_one_the_sdk_reads(tmp_path: Path) -> None:
    """read_remote and read_references against the real server: what the SDK's own listings show."""
    root = tmp_path / "project"
    (root / "assistants").mkdir(parents=True)
    (root / "docs").mkdir()
    for key in ("a", "b", "c"):
        (root / "docs" / f"{key}.md").write_text(f"notes {key}\n")
        (root / "assistants" / f"{key}.yaml").write_text(
            f"model: gpt-4o\nname: {key}\ntools: [{{type: file_search}}, {{type: code_interpreter}}]\n"
            f"files:\n  file_search: [docs/{key}.md]\n  code_interpreter: [docs/{key}.md]\n"
        )
    with EmbeddedServer(tmp_path / "server.db", TEST_KEY) as server:
        assert run_apply(root, ApiOptions(server.base_url, TEST_KEY), yes=True) == 0
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        api = Api(client, server.base_url)
        state = read_remote(api)
        refs = read_references(api)
        stores = list(client.vector_stores.list(limit=100))
        assistants = list(client.beta.assistants.list(limit=100))
        files = list(client.files.list(purpose="assistants"))
        client.close()
    assert sorted(state.assistants) == ["a", "b", "c"]
    for copies in state.assistants.values():
        sdk = next(a for a in assistants if a.id == copies[0].id)
        assert copies[0].raw == sdk.model_dump(mode="json", exclude_unset=True)
    assert state.store_ids == {s.id for s in stores} == set(state.stores)
    assert state.file_ids == {f.id for f in files} == set(state.files)
    assert {f.path for s in state.stores.values() for f in s.files} == {"docs/a.md", "docs/b.md", "docs/c.md"}
    assert refs.stores == set(state.store_ids)
    assert refs.code_files == {i for copies in state.assistants.values() for i in copies[0].code_file_ids}
    assert set(refs.store_files) == set(state.stores)
    # read_remote: 3 list pages and 3 store-file listings; read_references: 2 list pages and 3 again.
    assert api.counter.requests == (3 + 3) + (2 + 3)
