from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from runner.api.events import Decoder, EventStream

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
    """What the test server answers to POST /v1/responses: these bytes, then a clean end or a cut."""

    chunks: tuple[bytes, ...] = ()
    cut = False
    ports: list[int]  # the client's port of each request: one connection, one port


def _handler(body: type[_Body]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body.ports.append(self.client_address[1])
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


@pytest.fixture
def sse_server() -> Iterator[tuple[openai.OpenAI, type[_Body]]]:
    class Body(_Body):
        ports: list[int] = []  # noqa: RUF012 - one class per test

    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Body))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key=KEY, max_retries=0)
    try:
        yield client, Body
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def _open(client: openai.OpenAI, last: frozenset[str] = frozenset()) -> EventStream:
    return EventStream.open(
        client.responses.with_streaming_response.create(model="m", input="hi", stream=True), last
    )


def test_stream_yields_raw_events_until_done(sse_server: tuple[openai.OpenAI, type[_Body]]) -> None:
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
    sse_server: tuple[openai.OpenAI, type[_Body]],
) -> None:
    client, body = sse_server
    body.chunks = (b'event: error\ndata: {"error": {"message": "the model fell over"}}\n\n',)
    with pytest.raises(openai.APIError, match="the model fell over") as raised:
        list(_open(client))
    assert type(raised.value) is openai.APIError
    assert raised.value.body == {"message": "the model fell over"}


def test_assistants_events_are_objects_and_never_raise(sse_server: tuple[openai.OpenAI, type[_Body]]) -> None:
    client, body = sse_server
    # A failed run's object has an `error`-like field inside; `thread.*` events are never read as errors.
    body.chunks = (b'event: thread.run.failed\ndata: {"id": "run_1", "error": {"message": "x"}}\n\n',)
    assert [e.json()["id"] for e in _open(client)] == ["run_1"]


def test_a_cut_stream_raises_the_sdk_connection_error(sse_server: tuple[openai.OpenAI, type[_Body]]) -> None:
    client, body = sse_server
    body.chunks, body.cut = (b'event: response.created\ndata: {"response": {"id": "resp_1"}}\n\n',), True
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for event in _open(client):
            seen.append(event.name)
    assert seen == ["response.created"]


def test_a_stream_read_to_its_end_leaves_its_connection_for_the_next_request(
    sse_server: tuple[openai.OpenAI, type[_Body]],
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
    sse_server: tuple[openai.OpenAI, type[_Body]],
) -> None:
    client, body = sse_server
    body.chunks = (b'event: response.completed\ndata: {"response": {"id": "resp_1"}}\n\n',)
    for _event in _open(client):  # no `last`: the end was never read
        break
    list(_open(client, frozenset({"response.completed"})))
    assert len(set(body.ports)) == 2
