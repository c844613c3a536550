"""arun's own HTTP/1.1 for streamed turns (runner/api/wire.py), against a loopback server that answers with
exactly the bytes a test gives: framings, encodings, broken answers, kept-alive and closed connections."""

from __future__ import annotations

import contextlib
import gzip
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from runner.api import wire
from runner.api.session import Api
from runner.errors import ApiError

KEY = "test-key-wire"
EVENTS = (
    b'event: response.created\ndata: {"response": {"id": "resp_1", "status": "in_progress"}}\n\n'
    b'event: response.output_text.delta\ndata: {"delta": "H\xc3\xa9"}\n\n'
    b'event: response.completed\ndata: {"response": {"id": "resp_1", "status": "completed"}}\n\n'
)
NAMES = ["response.created", "response.output_text.delta", "response.completed"]


def chunked(data: bytes, sizes: list[int], trailer: bytes = b"") -> bytes:
    out, at = [], 0
    for size in sizes:
        piece = data[at : at + size]
        at += len(piece)
        if piece:
            out.append(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
    if at < len(data):
        out.append(b"%x\r\n%s\r\n" % (len(data) - at, data[at:]))
    return b"".join(out) + b"0\r\n" + trailer + b"\r\n"


class Scripted:
    """A loopback server: each request (read to the end of its Content-Length body) is answered with the
    next script of `answers`: a list of byte pieces written with a short pause between them, then the
    connection is closed when the script says so. It keeps what it was sent and the connections it saw."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answers: list[tuple[list[bytes], bool]] = []  # (pieces, close after)
        self.requests: list[bytes] = []
        self.connections = 0
        self.stalls = threading.Event()
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        self.threads[0].start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.threads.append(threading.Thread(target=self._one, args=(conn,), daemon=True))
            self.threads[-1].start()

    def _one(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buffer[:length])
                buffer = buffer[length:]
                if not self.answers:
                    return
                pieces, close = self.answers.pop(0)
                try:
                    for piece in pieces:
                        if piece == b"STALL":
                            self.stalls.wait(10)
                            continue
                        conn.sendall(piece)
                        time.sleep(0.002)
                except OSError:
                    return
                if close:
                    return

    def close(self) -> None:
        """Stop, and wait for every thread: a test after this one may count the threads (diff's fork)."""
        self.stalls.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        self.sock.close()
        for thread in self.threads:
            thread.join(10)


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, Api]]:
    server = Scripted()
    api = Api(None, server.base_url, api_key=KEY, attempts=1)
    try:
        yield server, api
    finally:
        api.close()
        server.close()


def names(api: Api, last: frozenset[str] = frozenset()) -> list[str]:
    return [e.name or "" for e in api.stream("responses", {"model": "m", "input": "hi"}, last=last)]


OK_CHUNKED = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def test_a_chunked_body_split_anywhere_gives_the_same_events(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    rng = random.Random(7)
    body = EVENTS + b"data: [DONE]\n\n"
    for _ in range(12):
        sizes = [rng.randint(1, 40) for _ in range(30)]
        whole = OK_CHUNKED + chunked(body, sizes, trailer=b"x-trailer: 1\r\n" if rng.random() < 0.5 else b"")
        cuts = sorted(rng.sample(range(1, len(whole)), 25))
        pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
        server.answers.append((pieces, False))
        assert names(api) == NAMES
    assert server.connections == 1  # every answer read to its end: one kept-alive connection for all


def test_content_length_and_close_delimited_bodies(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    sized = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(EVENTS), EVENTS)
    server.answers.append(([sized[:50], sized[50:130], sized[130:]], False))
    server.answers.append(([b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", EVENTS[:90], EVENTS[90:]], True))
    server.answers.append(([b"HTTP/1.0 200 OK\r\n\r\n" + EVENTS], True))
    server.answers.append(([b"HTTP/1.1 100 Continue\r\n\r\n" + sized], False))
    for _ in range(4):
        assert names(api) == NAMES
    assert server.connections == 3  # the close-delimited bodies end their connections


def test_gzip_and_deflate_bodies_are_decoded(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    for coding, packed in (("gzip", gzip.compress(EVENTS)), ("deflate", zlib.compress(EVENTS))):
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-encoding: %s\r\ntransfer-encoding: chunked\r\n\r\n" % coding.encode()
        )
        server.answers.append(([head + chunked(packed, [7] * 40)], False))
        assert names(api) == NAMES
    assert b"accept-encoding: identity" in server.requests[0].lower()


def test_an_idle_connection_the_server_closed_is_not_used(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    sized = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(EVENTS), EVENTS)
    server.answers.append(([sized], True))  # a kept-alive answer, and then the server hangs up
    server.answers.append(([sized], False))
    assert names(api) == NAMES
    time.sleep(0.05)
    assert names(api) == NAMES
    assert server.connections == 2 and len(server.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcdeXY0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\nevent: x\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 9\r\n\r\nnot gzip!",
        b"HTTP/1.1 200 OK\r\ncontent-length: \xb2\r\n\r\n",  # a digit to str.isdigit, not to int()
        b"HTTP/1.1 \xb200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x30\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"",
    ],
)
def test_a_broken_answer_raises_the_sdks_connection_error(
    scripted: tuple[Scripted, Api], answer: bytes
) -> None:
    server, api = scripted
    server.answers.append(([answer] if answer else [], True))
    with pytest.raises(openai.APIConnectionError) as raised:
        names(api)
    assert not isinstance(raised.value, openai.APITimeoutError)
    assert isinstance(raised.value.__cause__, wire.Broken)


def test_a_read_that_takes_too_long_raises_the_sdks_timeout(scripted: tuple[Scripted, Api]) -> None:
    server, _ = scripted
    api = Api(None, server.base_url, api_key=KEY, attempts=1, timeout=0.2)
    server.answers.append(([OK_CHUNKED, b"STALL"], True))
    try:
        with pytest.raises(openai.APITimeoutError):
            names(api)
    finally:
        api.close()


def test_close_from_another_thread_ends_a_read_in_progress(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    server.answers.append(([OK_CHUNKED, chunked(EVENTS[:90], [90])[:-5], b"STALL"], True))
    stream = api.stream("responses", {"model": "m", "input": "hi"})
    seen: list[str] = []
    closer = threading.Timer(0.2, stream.close)
    closer.start()
    started = time.monotonic()
    with pytest.raises(openai.APIConnectionError):
        for event in stream:
            seen.append(event.name or "")
    closer.join()
    assert seen == ["response.created"] and time.monotonic() - started < 5


def test_a_refused_request_keeps_its_status_headers_and_body(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    error = b'{"error": {"message": "Rate limit reached", "type": "requests"}}'
    head = b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: %d\r\n\r\n" % len(error)
    server.answers.append(([head + error], False))
    with pytest.raises(openai.RateLimitError, match="Error code: 429 - Rate limit reached") as raised:
        names(api)
    assert raised.value.body == {"message": "Rate limit reached", "type": "requests"}
    assert raised.value.response.headers["retry-after"] == "3"


def test_an_unreachable_port_raises_the_sdks_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    api = Api(None, f"http://127.0.0.1:{port}/v1", api_key=KEY, attempts=1)
    try:
        with pytest.raises(openai.APIConnectionError):
            names(api)
    finally:
        api.close()


def test_with_a_proxy_in_the_environment_the_sdks_client_sends_it(
    scripted: tuple[Scripted, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = scripted
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")  # the server plays the proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = Api(None, "http://api.example.invalid/v1", api_key=KEY, attempts=1)
    server.answers.append(([OK_CHUNKED + chunked(EVENTS, [60, 60])], False))
    try:
        assert names(proxied) == NAMES
    finally:
        proxied.close()
    assert server.requests[0].startswith(b"POST http://api.example.invalid/v1/responses HTTP/1.1")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_with_the_certificate_named_by_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    requests: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                buffer = b""
                while len(requests) < 2:
                    while b"\r\n\r\n" not in buffer:
                        buffer += tls.recv(65536)
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    while len(buffer) < length:
                        buffer += tls.recv(65536)
                    buffer = buffer[length:]
                    requests.append(head)
                    tls.sendall(OK_CHUNKED + chunked(EVENTS, [50, 50, 50]))
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    api = Api(None, f"https://localhost:{port}/v1", api_key=KEY, attempts=1)
    try:
        assert names(api) == NAMES
        assert names(api) == NAMES  # on the same TLS connection
    finally:
        api.close()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(10)
    assert requests[0].startswith(b"POST /v1/responses HTTP/1.1\r\nHost: localhost:%d" % port)
    assert len(requests) == 2


def test_a_redirect_is_reported_with_where_it_points(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    head = b"HTTP/1.1 307 Temporary Redirect\r\nlocation: https://elsewhere.invalid/v1/responses\r\n"
    server.answers.append(([head + b"content-length: 0\r\n\r\n"], False))
    with pytest.raises(
        ApiError, match=r"answered 307: .*a redirect to https://elsewhere\.invalid/v1/responses"
    ):
        api.call("create a response", names, api)
    assert len(server.requests) == 1  # not followed


def test_a_header_with_a_line_break_is_refused_without_showing_it(scripted: tuple[Scripted, Api]) -> None:
    server, _ = scripted
    api = Api(None, server.base_url, api_key="sk-secret\r\nX-Injected: 1", attempts=1)
    try:
        with pytest.raises(ApiError) as raised:
            api.call("create a response", names, api)
    finally:
        api.close()
    assert "Authorization" in str(raised.value) and "sk-secret" not in str(raised.value)
    assert server.requests == []  # nothing was sent


def test_a_gzip_encoded_refusal_is_still_the_sdks_status_error(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    error = gzip.compress(b'{"error": {"message": "slow down"}}')
    head = b"HTTP/1.1 429 Too Many Requests\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(
        error
    )
    server.answers.append(([head + error], False))
    with pytest.raises(openai.RateLimitError, match="Error code: 429 - slow down"):
        names(api)


def test_the_last_event_stands_when_the_body_breaks_after_it(scripted: tuple[Scripted, Api]) -> None:
    server, api = scripted
    ends = frozenset({"response.completed"})
    # The final event, then the connection cut before the chunked body's terminator.
    server.answers.append(([OK_CHUNKED + chunked(EVENTS, [300])[:-5]], True))
    assert names(api, ends) == NAMES
    server.answers.append(([OK_CHUNKED + chunked(EVENTS + b"data: [DONE]\n\n", [400])[:-5]], True))
    assert names(api) == NAMES


def test_an_answer_both_chunked_and_sized_does_not_keep_its_connection(
    scripted: tuple[Scripted, Api],
) -> None:
    server, api = scripted
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"
    server.answers.append(([head + chunked(EVENTS, [100])], False))
    server.answers.append(([OK_CHUNKED + chunked(EVENTS, [100])], False))
    assert names(api) == NAMES
    assert names(api) == NAMES
    assert server.connections == 2


def test_no_thread_is_left_behind() -> None:
    # Diff forks a child only while the process has one thread (runner/transcript/twoway.py).
    import threading as _threading

    assert _threading.active_count() == 1, [t.name for t in _threading.enumerate()]
