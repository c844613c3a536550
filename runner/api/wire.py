"""The HTTP/1.1 of a turn's one streamed request: a POST on a kept-alive connection, its answer's body read
as it arrives, beneath `Api.stream` (runner/api/session.py) and `EventStream` (runner/api/events.py).

Why not the SDK's HTTP client (httpx, httpcore, h11) for this one request: a streamed run's text deltas
arrive one by one, about 30 ms apart, so reading a run's body wakes its thread some 35 times, and each
wake-up went through about a dozen Python layers (the response's byte iterators, httpcore's connection
stream, h11's state machine and chunk reader) for one small chunk. That was most of what a turn cost the
replay at -j 200 (docs/performance.md, "A streamed turn's own request"). Here a wake-up is one `recv`, the
chunked framing taken off in one pass over what arrived, and the data handed to the event decoder.

What it does: `http` and `https` (TLS with the SDK's own certificate settings, `SSL_CERT_FILE` and
`SSL_CERT_DIR` included), connections kept alive and reused per pool (one pool per SDK client, so per lane
of replay's threads), an idle connection that the server has closed or written to is dropped before use
(as httpcore does), `Content-Length`, chunked and close-delimited bodies, `gzip` and `deflate` encodings,
interim 1xx answers skipped, the SDK's timeouts (connect, and each read). What it leaves to the SDK's
client: a proxy (`Api.stream` sends through httpx whenever the environment names one) and redirects (a
3xx is answered as the API's error, with where it points).

Errors: an OS error, a refused or cut connection and a malformed answer raise `Broken`, a timeout
`TimedOut`; `EventStream` turns them into the SDK's `APIConnectionError` and `APITimeoutError`."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

MAX_HEAD = 64 * 1024  # bytes of status line and headers
MAX_ERROR_BODY = 1 << 20  # bytes of a refused request's body kept for its error
READ = 16384  # bytes per read: a turn's events arrive a few hundred bytes at a time


class Broken(OSError):
    """The connection failed or the answer is not HTTP/1.1 that this reader can follow."""


class TimedOut(Broken):
    """Connecting, or a read, took longer than the timeout."""


class Pool:
    """Kept-alive connections to one server (the scheme, host and port of a base URL), shared by threads."""

    def __init__(
        self, base_url: str, *, connect_timeout: float | None, read_timeout: float | None, tls: Any = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        default = 443 if parts.scheme == "https" else 80
        self.port = parts.port or default
        self.base_path = parts.path.rstrip("/") + "/"
        named = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = named if self.port == default else f"{named}:{self.port}"
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._tls = tls  # an ssl.SSLContext for https, made once by the caller
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def target(self, path: str, query: dict[str, Any] | None = None) -> str:
        target = self.base_path + path
        return target + "?" + urlencode(query, doseq=True) if query else target

    def post(self, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """Send the request and read the answer's status line and headers."""
        lines = [f"POST {target} HTTP/1.1", f"Host: {self.host_header}"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                # As httpx refuses it (an API key read with its line end, say); the value is never shown.
                raise Broken(f"the header {name!r} holds a line break, which HTTP does not allow")
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        connection = self._take() or Connection.open(self)
        try:
            connection.send(request)
            return connection.read_head(self)
        except BaseException:
            connection.close()
            raise

    def _take(self) -> Connection | None:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.still_idle():
                    return connection
                connection.close()
        return None

    def give_back(self, connection: Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""  # what was read and not yet parsed
        # Reads land in this one buffer and are copied out at their size: `recv(n)` allocates n bytes and
        # shrinks them to what arrived, which at 200 connections left the heap fragmented (peak RSS of a
        # 3,000-scenario replay 170-185 MB that way, against 148 MB on the SDK's client).
        self._space = memoryview(bytearray(READ))

    @classmethod
    def open(cls, pool: Pool) -> Connection:
        try:
            sock = socket.create_connection((pool.host, pool.port), timeout=pool.connect_timeout)
        except TimeoutError as exc:
            raise TimedOut(f"connecting to {pool.host}:{pool.port} timed out") from exc
        except OSError as exc:
            raise Broken(f"cannot connect to {pool.host}:{pool.port}: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if pool.scheme == "https":
                sock = pool._tls.wrap_socket(sock, server_hostname=pool.host)
            sock.settimeout(pool.read_timeout)
        except TimeoutError as exc:
            sock.close()
            raise TimedOut(f"the TLS handshake with {pool.host}:{pool.port} timed out") from exc
        except OSError as exc:
            sock.close()
            raise Broken(f"TLS with {pool.host}:{pool.port} failed: {exc}") from exc
        return cls(sock)

    def still_idle(self) -> bool:
        """An idle kept-alive connection is usable while the server has neither closed it nor written on it."""
        try:
            if hasattr(select, "poll"):  # not select() where poll() exists: no limit of 1024 descriptors
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                ready = bool(poller.poll(0))
            else:
                ready = bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False
        return not ready and not self.buffer

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise TimedOut("sending the request timed out") from exc
        except OSError as exc:
            raise Broken(f"sending the request failed: {exc}") from exc

    def recv(self) -> bytes:
        try:
            size = self.sock.recv_into(self._space)
            return self._space[:size].tobytes()
        except TimeoutError as exc:
            raise TimedOut("reading the answer timed out") from exc
        except OSError as exc:
            raise Broken(f"reading the answer failed: {exc}") from exc

    def read_head(self, pool: Pool) -> Answer:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise Broken("the answer's headers are too long")
                data = self.recv()
                if not data:
                    raise Broken("the server closed the connection without an answer")
                self.buffer += data
                end = self.buffer.find(b"\r\n\r\n")
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            lines = head.decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/1.") or not (code.isascii() and code.isdigit()) or len(code) != 3:
                raise Broken(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
            headers: list[tuple[str, str]] = []
            for line in lines[1:]:
                name, colon, value = line.partition(":")
                if not colon or not name or name != name.strip():
                    raise Broken(f"a malformed header line: {line[:80]!r}")
                headers.append((name, value.strip()))
            status = int(code)
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            return Answer(self, pool, status, reason, headers, version == "HTTP/1.0")

    def close(self) -> None:
        """Close, from any thread: a read in progress in another thread ends (with `Broken`)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Answer:
    """A status line and headers, and the body to read: `chunks()` once, then the connection goes back to its
    pool when the body ended as framed and both sides keep it alive; `close()` anywhere before drops it."""

    def __init__(
        self,
        connection: Connection,
        pool: Pool,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        old: bool,
    ) -> None:
        self.connection: Connection | None = connection
        self.pool = pool
        self.status = status
        self.reason = reason
        self.headers = headers
        fields: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        self.fields = fields
        codings = [c.strip().lower() for c in fields.get("transfer-encoding", "").split(",") if c.strip()]
        self.chunked = codings == ["chunked"]
        if (
            codings and not self.chunked
        ):  # a transfer coding beside chunked (gzip, chunked): h11 refuses it too
            self._framing_error = (
                f"a transfer-encoding this reader cannot follow: {fields['transfer-encoding']}"
            )
        else:
            self._framing_error = ""
        length = fields.get("content-length")
        self.length: int | None = None
        if status in (204, 304):
            self.chunked, self.length = False, 0  # an answer that never has a body
        elif not self.chunked and length is not None:
            if not (length.isascii() and length.isdigit()):
                raise Broken(f"a malformed content-length: {length!r}")
            self.length = int(length)
        tokens = {t.strip().lower() for t in fields.get("connection", "").split(",")}
        # Both a chunked body and a Content-Length: read as chunked, and the connection not trusted after it.
        both = self.chunked and length is not None
        framed = self.chunked or self.length is not None
        self.reusable = not old and not both and "close" not in tokens and framed
        encoding = fields.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate: Any = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told by the header
        elif encoding in ("identity", ""):
            self._inflate = None
        else:
            self._framing_error = f"a content-encoding this reader cannot decode: {encoding}"

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes as they arrive (decoded, unframed), one piece per read at most."""
        connection = self.connection
        if connection is None:
            raise Broken("the answer was closed")
        if self._framing_error:
            raise Broken(self._framing_error)
        framing = _chunked(connection) if self.chunked else _sized(connection, self.length)
        try:
            for piece in framing:
                if self._inflate is not None:
                    piece = self._inflate.decompress(piece)
                if piece:
                    yield piece
            if self._inflate is not None:
                tail = self._inflate.flush()
                if tail:
                    yield tail
        except zlib.error as exc:
            raise Broken(f"the body does not decode as its content-encoding says: {exc}") from None
        # The body ended where its framing said: the connection can carry the next request.
        self.connection = None
        if self.reusable and not connection.buffer:
            self.pool.give_back(connection)
        else:
            connection.close()

    def read(self, limit: int = MAX_ERROR_BODY) -> bytes:
        """The whole body (up to `limit` bytes; the rest is not read and the connection dropped)."""
        kept: list[bytes] = []
        size = 0
        try:
            for piece in self.chunks():
                kept.append(piece)
                size += len(piece)
                if size > limit:
                    break
        finally:
            self.close()
        return b"".join(kept)[:limit]

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


def _sized(connection: Connection, length: int | None) -> Iterator[bytes]:
    """A body of `length` bytes, or (None) one that ends when the server closes the connection."""
    left = length
    if connection.buffer:
        piece = connection.buffer if left is None else connection.buffer[:left]
        connection.buffer = connection.buffer[len(piece) :]
        if left is not None:
            left -= len(piece)
        yield piece
    while left is None or left > 0:
        data = connection.recv()
        if not data:
            if left is None:
                return
            raise Broken(f"the server closed the connection {left} bytes before the body's end")
        if left is not None:
            if len(data) > left:
                connection.buffer, data = data[left:], data[:left]
            left -= len(data)
        yield data


def _chunked(connection: Connection) -> Iterator[bytes]:
    """A chunked body: each read's complete and partial chunk data joined into one piece, the framing (sizes,
    extensions, line ends, trailers) taken off."""
    buffer = connection.buffer
    connection.buffer = b""
    left = 0  # bytes of the current chunk's data still to come, then its CRLF
    while True:
        out: list[bytes] = []
        while True:
            if left > 0:
                piece = buffer[:left]
                out.append(piece)
                left -= len(piece)
                buffer = buffer[len(piece) :]
                if left > 0:
                    break  # the chunk goes on in the next read
                left = -2  # its CRLF
            if left == -2:
                if len(buffer) < 2:
                    break
                if buffer[:2] != b"\r\n":
                    raise Broken("a chunk does not end with a line break")
                buffer = buffer[2:]
                left = 0
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > 4096:
                    raise Broken("a chunk's size line is too long")
                break
            size_text = buffer[:line_end].split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):  # int() would take -2 or 0x30
                raise Broken(f"a malformed chunk size: {size_text[:20]!r}")
            size = int(size_text, 16)
            buffer = buffer[line_end + 2 :]
            if size == 0:
                if out:
                    yield b"".join(out)
                connection.buffer = _trailers(connection, buffer)
                return
            left = size
        if out:
            joined = b"".join(out)
            if joined:
                yield joined
        data = connection.recv()
        if not data:
            raise Broken("the server closed the connection inside a chunked body")
        buffer += data


def _trailers(connection: Connection, buffer: bytes) -> bytes:
    """Read past the trailer fields and the blank line that end a chunked body; what follows stays."""
    while True:
        end = buffer.find(b"\r\n")
        if end == 0:
            return buffer[2:]
        if end > 0:
            buffer = buffer[end + 2 :]  # a trailer field: not used
            continue
        if len(buffer) > MAX_HEAD:
            raise Broken("the chunked body's trailers are too long")
        data = connection.recv()
        if not data:
            raise Broken("the server closed the connection inside a chunked body's trailers")
        buffer += data
