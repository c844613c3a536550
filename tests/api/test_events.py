from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest

from runner.api.events import Decoder, EventStream
from runner.api.session import Api
from runner.errors import ApiError

KEY = "test-key-events"


def test_decoder_joins_events_split_across_chunks() -> None:
    decoder = Decoder()
    assert decoder.feed(b"event: thread.run.created\nda") == []
    assert decoder.feed(b'ta: {"id": "run_1"}\n') == []
    events = decoder.feed(b'\nevent: thread.message.delta\ndata: {"delta": 1}\n\n: a comment\n\n')
    assert [(e.name, e.json()) for e in events] == [
        ("thread.run.created", {"id": "run_1"}),
        ("thread.message.delta", {"delta": 1}),
    ]


def test_decoder_reads_crlf_lines_data_without_space_and_several_data_lines() -> None:
    events = Decoder().feed(b'event:x\r\ndata:{"a":\r\ndata: 1}\r\n\r\ndata: [DONE]\r\n\r\n')
    assert [(e.name, e.data) for e in events] == [("x", b'{"a":\n1}'), (None, b"[DONE]")]
    assert events[0].json() == {"a": 1}


class _Body:
    """What the test server answers to a POST: these bytes, then a clean end or a cut; or, with `status`
    set, that status with `error` as its JSON body. Each request is kept in `seen`."""

    chunks: tuple[bytes, ...] = ()
    cut = False
    status = 200
    error: bytes = b""
    ports: list[int]  # the client's port of each request: one connection, one port
    seen: list[tuple[str, dict[str, str], bytes]]  # each request's path and query, headers and body


def _handler(body: type[_Body]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            sent = self.rfile.read(int(self.headers.get("content-length") or 0))
            body.ports.append(self.client_address[1])
            body.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, sent))
            if body.status != 200:
                self.send_response(body.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body.error)))
                self.send_header("retry-after", "7")
                self.end_headers()
                self.wfile.write(body.error)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for chunk in body.chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            if body.cut:
                self.close_connection = True
                return  # the chunked body never ends: the client sees a broken connection
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that drops its connection mid-stream (as some tests do on purpose)


@pytest.fixture
def sse_server() -> Iterator[tuple[Api, type[_Body]]]:
    class Body(_Body):
        ports: list[int] = []  # noqa: RUF012 - one class per test
        seen: list[tuple[str, dict[str, str], bytes]] = []  # noqa: RUF012

    server = _Quiet(("127.0.0.1", 0), _handler(Body))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    api = Api(None, f"http://127.0.0.1:{server.server_port}/v1", api_key=KEY, attempts=1)
    try:
        yield api, Body
    finally:
        api.close()
        server.shutdown()
        server.server_close()


def _open(api: Api, last: frozenset[str] = frozenset()) -> EventStream:
    return api.stream("responses", {"model": "m", "input": "hi"}, last=last)


def test_stream_yields_raw_events_until_done(sse_server: tuple[Api, type[_Body]]) -> None:
    client, body = sse_server
    body.chunks = (
        b'event: response.created\ndata: {"response": {"id": "resp_1"}}\n\n',
        b'event: response.output_text.delta\ndata: {"delta": "not json',  # never decoded
        b"\n\ndata: [DONE]\n\n",
        b'event: after\ndata: {"never": "seen"}\n\n',
    )
    events = list(_open(client))
    assert [e.name for e in events] == ["response.created", "response.output_text.delta"]
    assert events[0].json() == {"response": {"id": "resp_1"}}


def test_an_event_carrying_an_error_raises_the_sdk_api_error(
    sse_server: tuple[Api, type[_Body]],
) -> None:
    client, body = sse_server
    body.chunks = (b'event: error\ndata: {"error": {"message": "the model fell over"}}\n\n',)
    with pytest.raises(openai.APIError, match="the model fell over") as raised:
        list(_open(client))
    assert type(raised.value) is openai.APIError
    assert raised.value.body == {"message": "the model fell over"}


def test_assistants_events_are_objects_and_never_raise(sse_server: tuple[Api, type[_Body]]) -> None:
    client, body = sse_server
    # A failed run's object has an `error`-like field inside; `thread.*` events are never read as errors.
    body.chunks = (b'event: thread.run.failed\ndata: {"id": "run_1", "error": {"message": "x"}}\n\n',)
    assert [e.json()["id"] for e in _open(client)] == ["run_1"]


def test_a_cut_stream_raises_the_sdk_connection_error(sse_server: tuple[Api, type[_Body]]) -> None:
    client, body = sse_server
    body.chunks, body.cut = (b'event: response.created\ndata: {"response": {"id": "resp_1"}}\n\n',), True
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for event in _open(client):
            seen.append(event.name)
    assert seen == ["response.created"]


def test_a_stream_read_to_its_end_leaves_its_connection_for_the_next_request(
    sse_server: tuple[Api, type[_Body]],
) -> None:
    client, body = sse_server
    body.chunks = (
        b'event: thread.run.completed\ndata: {"id": "run_1"}\n\n',
        b"event: done\ndata: [DONE]\n\n",
    )
    assert [e.name for e in _open(client)] == ["thread.run.completed"]
    assert [e.name for e in _open(client)] == ["thread.run.completed"]
    # A protocol without [DONE] names its last event; the reader may stop there (as the engines do).
    body.chunks = (b'event: response.completed\ndata: {"response": {"id": "resp_1"}}\n\n',)
    for event in _open(client, frozenset({"response.completed"})):
        assert event.name == "response.completed"
        break
    assert len(body.ports) == 3 and len(set(body.ports)) == 1


def test_a_stream_closed_before_its_end_drops_its_connection(
    sse_server: tuple[Api, type[_Body]],
) -> None:
    client, body = sse_server
    body.chunks = (b'event: response.completed\ndata: {"response": {"id": "resp_1"}}\n\n',)
    for _event in _open(client):  # no `last`: the end was never read
        break
    list(_open(client, frozenset({"response.completed"})))
    assert len(set(body.ports)) == 2


# The request `Api.stream` sends is the SDK's, and so are its errors: each is sent both ways to one server.

MESSAGE = {"role": "user", "content": "Hé, 1/2 ☃"}
SEARCH = "step_details.tool_calls[*].file_search.results[*].content"
SCHEMA = {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}


def _both(api: Api, sdk_call: Callable[[], Any], ours: Callable[[], Any], body: type[_Body]) -> list[Any]:
    """The two requests as the server saw them: path and query, the headers that matter, the JSON body."""
    with sdk_call():
        pass
    ours().close()
    kept = ("authorization", "openai-beta", "content-type", "openai-organization", "openai-project")
    return [
        (path, {k: v for k, v in headers.items() if k in kept}, json.loads(sent))
        for path, headers, sent in body.seen[-2:]
    ]


def test_the_streamed_requests_are_the_sdks(
    sse_server: tuple[Api, type[_Body]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-test")
    api, body = sse_server
    body.chunks = (b"data: [DONE]\n\n",)
    threads = api.client.beta.threads
    settings = {"temperature": 0.5, "instructions": "Be brief.", "metadata": {"k": "v"}}
    cases = [
        (
            lambda: threads.with_streaming_response.create_and_run(
                assistant_id="asst_1", thread={"messages": [MESSAGE]}, stream=True, **settings
            ),
            lambda: api.stream(
                "threads/runs",
                {"assistant_id": "asst_1", "thread": {"messages": [MESSAGE]}, **settings},
                beta=True,
            ),
        ),
        (
            lambda: threads.runs.with_streaming_response.create(
                "thread_1",
                assistant_id="asst_1",
                additional_messages=[MESSAGE],
                include=[SEARCH],
                stream=True,
            ),
            lambda: api.stream(
                "threads/thread_1/runs",
                {"assistant_id": "asst_1", "additional_messages": [MESSAGE]},
                query={"include[]": [SEARCH]},
                beta=True,
            ),
        ),
        (
            lambda: threads.runs.with_streaming_response.submit_tool_outputs(
                "run_1",
                thread_id="thread_1",
                tool_outputs=[{"tool_call_id": "call_1", "output": "4"}],
                stream=True,
            ),
            lambda: api.stream(
                "threads/thread_1/runs/run_1/submit_tool_outputs",
                {"tool_outputs": [{"tool_call_id": "call_1", "output": "4"}]},
                beta=True,
            ),
        ),
        (
            lambda: api.client.responses.with_streaming_response.create(
                model="gpt-4o",
                input=[MESSAGE],
                text={"format": SCHEMA},
                include=["reasoning.encrypted_content"],
                store=False,
                stream=True,
            ),
            lambda: api.stream(
                "responses",
                {
                    "model": "gpt-4o",
                    "input": [MESSAGE],
                    "text": {"format": SCHEMA},
                    "include": ["reasoning.encrypted_content"],
                    "store": False,
                },
            ),
        ),
    ]
    for sdk_call, ours in cases:
        theirs, mine = _both(api, sdk_call, ours, body)
        assert mine == theirs
        assert mine[1]["authorization"] == f"Bearer {KEY}" and mine[1]["openai-organization"] == "org-test"
    assert "openai-beta" not in mine[1]  # the Responses API's request carries none


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (
            404,
            b'{"error": {"message": "No thread found with id thread_1.", "type": "invalid_request_error"}}',
        ),
        (400, b'{"error": {"message": "", "param": "model"}}'),
        (429, b'{"message": "slow down"}'),
        (500, b"the upstream fell over"),
        (418, b"[1, 2]"),
    ],
)
def test_a_refused_request_raises_the_sdks_status_error(
    sse_server: tuple[Api, type[_Body]], status: int, error: bytes
) -> None:
    api, body = sse_server
    body.status, body.error = status, error
    with pytest.raises(openai.APIStatusError) as theirs:
        api.client.responses.with_streaming_response.create(model="m", input="hi", stream=True).__enter__()
    with pytest.raises(openai.APIStatusError) as mine:
        _open(api)
    assert type(mine.value) is type(theirs.value)
    assert str(mine.value) == str(theirs.value)
    assert (mine.value.status_code, mine.value.body) == (theirs.value.status_code, theirs.value.body)
    assert mine.value.response.headers["retry-after"] == "7"  # what Api.call's retries read


def test_an_unreachable_server_raises_the_sdks_connection_error() -> None:
    api = Api(None, "http://127.0.0.1:9/v1", api_key=KEY, attempts=1)
    try:
        with pytest.raises(openai.APIConnectionError):
            _open(api)
        with pytest.raises(
            ApiError, match=re.escape("create a response: cannot reach http://127.0.0.1:9/v1")
        ):
            api.call("create a response", _open, api)
    finally:
        api.close()
