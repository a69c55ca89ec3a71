"""uvicorn's HTTP protocol with a deadline for request heads, which uvicorn itself lacks.

uvicorn closes idle keep-alive connections, but a client that opens a connection and sends a
request head slowly, or never finishes it, holds a connection (and its memory) indefinitely.
Here every connection must deliver each complete request head within HEAD_TIMEOUT_SECONDS of
connecting or of its previous response, or it is closed.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT_SECONDS = 5.0
KEEP_ALIVE_SECONDS = 5


def _with_head_timeout(base: type[Any]) -> type[asyncio.Protocol]:
    class HeadTimeoutProtocol(base):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._expect_head()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._expect_head()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_deadline:
                self._head_deadline.cancel()
            super().connection_lost(exc)

        def _expect_head(self) -> None:
            if self._head_deadline:
                self._head_deadline.cancel()
            waiting_since = self.cycle
            self._head_deadline = self.loop.call_later(
                HEAD_TIMEOUT_SECONDS, self._head_overdue, waiting_since
            )

        def _head_overdue(self, waiting_since: object) -> None:
            cycle = self.cycle
            # A new cycle, or one still answering, means a complete head did arrive in time.
            if cycle is not None and (cycle is not waiting_since or not cycle.response_complete):
                return
            if not self.transport.is_closing():
                self.transport.close()

    HeadTimeoutProtocol.__name__ = f"HeadTimeout{base.__name__}"
    return HeadTimeoutProtocol


def protocol() -> type[asyncio.Protocol]:
    """httptools' protocol where it is installed (faster parsing), else h11's."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return _with_head_timeout(H11Protocol)
    return _with_head_timeout(HttpToolsProtocol)
