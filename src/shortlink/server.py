"""The server around the app: uvicorn's HTTP protocol with a deadline for request heads, a
listening socket for both IP versions, and bounded logs when file descriptors run out.

uvicorn closes idle keep-alive connections, but a client that opens a connection and sends a
request head slowly, or never finishes it, holds a connection (and its memory) indefinitely.
Here every connection must deliver each complete request head within HEAD_TIMEOUT_SECONDS of
connecting or of its previous response, or it is closed.
"""

import asyncio
import errno
import ipaddress
import logging
import os
import socket
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT_SECONDS = 5.0
KEEP_ALIVE_SECONDS = 5
# An episode of resource errors ends after this long without one: its count is logged then.
EPISODE_QUIET_SECONDS = 2.0
# What asyncio's accept loop meets when the process or system runs out of descriptors/memory.
RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

log = logging.getLogger(__package__)


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


def dual_stack_socket(host: str, port: int) -> socket.socket | None:
    """For the IPv6 wildcard ``::``, a bound socket that takes IPv6 and IPv4 connections
    (asyncio's own sets IPV6_V6ONLY, which leaves IPv4 clients unanswered); None for any other
    host, which uvicorn binds itself. Without IPv6 in the kernel: IPv4 only, said in one line."""
    try:
        if ipaddress.ip_address(host) != ipaddress.IPv6Address("::"):
            return None
    except ValueError:
        return None
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as error:
        log.warning("IPv6 is not available (%s): listening on IPv4 only", error.strerror)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        host = "0.0.0.0"  # noqa: S104  (the wildcard was asked for)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    ipv6 = sock.family == socket.AF_INET6
    log.info("listening on %s port %d", "IPv6 and IPv4" if ipv6 else "IPv4 only", port)
    return sock


class ResourceErrors:
    """The event loop's handler for errors it cannot pass to anyone: running out of file
    descriptors is logged once when it starts and once when it ends, with a count, instead of
    once per failed accept (asyncio's accept loop logs a traceback each time: thousands a
    second). Any other error goes to asyncio's default handler."""

    def __init__(self) -> None:
        self.count = 0
        self.started = 0.0
        self.last = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop.set_exception_handler(self.handle)

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if not (isinstance(error, OSError) and error.errno in RESOURCE_ERRNOS):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        self.last = now
        self.count += 1
        if self.count == 1:
            self.started = now
            log.error(
                "%s: %s (%s); new connections wait until some close; the count follows",
                context.get("message", "out of resources"),
                os.strerror(error.errno),
                errno.errorcode.get(error.errno, error.errno),
            )
            loop.call_later(EPISODE_QUIET_SECONDS, self._episode_over, loop)

    def _episode_over(self, loop: asyncio.AbstractEventLoop) -> None:
        quiet = time.monotonic() - self.last
        if quiet < EPISODE_QUIET_SECONDS:
            loop.call_later(EPISODE_QUIET_SECONDS - quiet, self._episode_over, loop)
            return
        log.warning(
            "%d errors like the one above in %.1f s, not logged one by one; none for %.0f s",
            self.count,
            self.last - self.started,
            EPISODE_QUIET_SECONDS,
        )
        self.count = 0
