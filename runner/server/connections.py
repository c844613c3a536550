"""The HTTP protocol the server runs under uvicorn: httptools (uvicorn's C parser, the one it picks itself
when it is installed; h11 where it is not), plus a deadline for a request's headers.

Why httptools: a streamed run is some forty writes of a few hundred bytes, and h11 builds an event object
and runs its state machine for each; httptools frames a chunk with one join. Side by side on 200 concurrent
streamed runs it cut the server's CPU per run by 15-25% (docs/performance.md, "Server").

uvicorn closes idle keep-alive connections, but a client that opens a connection and sends half of its
headers (or trickles them a byte at a time) is kept forever, one file descriptor each. Here every connection
must finish its headers within `seconds` of opening (or of its previous answer); a half-sent body is the
app's business (Guard answers 408, runner/server/app.py).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Protocol
except ImportError:  # pragma: no cover - httptools is a dependency; a platform without a wheel falls back
    Protocol = H11Protocol  # type: ignore[assignment,misc]


def header_timeout_protocol(seconds: float) -> type[Protocol]:
    class HeaderDeadline(Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            # A request under way (its headers complete) is the app's; otherwise the headers never came.
            idle = self.cycle is None or self.cycle.response_complete
            if idle and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
