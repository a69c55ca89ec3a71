"""The server around the app: uvicorn's HTTP protocol with bounds on what a client may hold,
a listening socket for both IP versions, and bounded logs when file descriptors run out.

uvicorn closes idle keep-alive connections, but a client that sends a request head slowly,
a head without end, or a body slowly holds a connection (and its memory) as long as it likes.
Here, on either of uvicorn's HTTP protocols (httptools' or h11's):

- a new connection must deliver its first request head within HEAD_TIMEOUT_SECONDS, and every
  later head within HEAD_TIMEOUT_SECONDS of its first byte; between requests, the connection is
  idle, and uvicorn's keep-alive timeout alone applies;
- a head over ``max_header_bytes`` is answered 431 and its connection closed, the parser given
  no more of it than that (httptools has no limit of its own), or one socket read (256 KiB)
  more where the head came in the read that ended a body;
- a body must arrive within ``body_timeout_seconds`` of its head, or its connection is closed.
"""

import asyncio
import errno
import ipaddress
import json
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from .settings import Settings

HEAD_TIMEOUT_SECONDS = 5.0
# An episode of resource errors ends after this long without one: its count is logged then.
EPISODE_QUIET_SECONDS = 2.0
# What asyncio's accept loop meets when the process or system runs out of descriptors/memory.
RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

log = logging.getLogger(__package__)


def head_too_large(max_bytes: int) -> bytes:
    """The whole 431 answer to a head over ``max_bytes``, in the API's error shape."""
    body = json.dumps(
        {"detail": f"request head larger than {max_bytes} bytes"}, separators=(",", ":")
    ).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"content-length: %d\r\n"
        b"connection: close\r\n\r\n%s" % (len(body), body)
    )


def bounded(base: type[Any], max_header_bytes: int, body_timeout_seconds: float) -> type[Any]:
    """uvicorn's protocol ``base`` with the bounds this module's docstring names.

    It sees uvicorn's request cycles (``self.cycle``: a new one once a head is parsed, with
    ``more_body`` until its body is in, ``response_complete`` once answered) and feeds the
    parser no more than ``max_header_bytes`` of a head.
    """
    refusal = head_too_large(max_header_bytes)

    class Bounded(base):
        _timer: asyncio.TimerHandle | None = None
        _timing: str | None = None  # "head" or "body": what _timer waits for
        _head_bytes = 0  # of the head being read, fed to the parser
        _last_cycle: object = None  # the cycle of the last head parsed
        _begun_after: object = object()  # httptools: self.cycle when a message last began

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start("head")

        def data_received(self, data: bytes) -> None:
            while data and not self.transport.is_closing():
                if not self._reading_head():
                    super().data_received(data)
                    self._sync()
                    return
                if self._timing != "head":
                    self._start("head")  # a new request's first byte
                room = max_header_bytes - self._head_bytes
                if room <= 0:
                    self._refuse_head()
                    return
                # Fed in two pieces where the head may end within the limit: the parser never
                # holds more of a head than the limit, and what follows a head is not counted.
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
                super().data_received(piece)
                self._sync()

        def on_message_begin(self) -> None:
            # httptools' parser calls this on a request's first byte; h11's never does.
            super().on_message_begin()
            self._begun_after = self.cycle

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            self._sync()  # h11 parses a request that was waiting (pipelined) only now
            if self._timing == "body":
                return
            # Idle until the next request's first byte, under uvicorn's keep-alive timeout;
            # unless that byte is already in.
            self._stop()
            if self._next_head_begun():
                self._start("head")

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop()
            super().connection_lost(exc)

        def _reading_head(self) -> bool:
            """Whether what arrives now is a request head: no request yet, or the last one's
            body is in, or it was answered without it (the unread rest then counts as head)."""
            cycle = self.cycle
            return cycle is None or not cycle.more_body or cycle.response_complete

        def _next_head_begun(self) -> bool:
            if self._begun_after is self.cycle:  # httptools: began since the last head parsed
                return True
            # h11 keeps what arrived after a complete request unparsed until it is answered.
            conn = getattr(self, "conn", None)
            return conn is not None and bool(conn.trailing_data[0])

        def _sync(self) -> None:
            """Catch up with the parser: a new head parsed starts its body's deadline, if it
            has a body to come; a body complete ends it."""
            cycle = self.cycle
            if cycle is self._last_cycle:
                if self._timing == "body" and not cycle.more_body:
                    self._stop()
                return
            self._last_cycle = cycle
            self._head_bytes = 0
            self._stop()
            if cycle.more_body and not cycle.response_complete:
                self._start("body")

        def _start(self, timing: str) -> None:
            self._stop()
            seconds = HEAD_TIMEOUT_SECONDS if timing == "head" else body_timeout_seconds
            self._timing = timing
            self._timer = self.loop.call_later(seconds, self._overdue, timing, self.cycle)

        def _stop(self) -> None:
            if self._timer:
                self._timer.cancel()
            self._timer = self._timing = None

        def _overdue(self, timing: str, cycle: object) -> None:
            self._timer = self._timing = None
            current = self.cycle
            if current is not cycle:
                return  # a head was parsed meanwhile
            if timing == "head" and current is not None and not current.response_complete:
                return  # still answering the last request: on_response_complete restarts it
            if timing == "body" and (not current.more_body or current.response_complete):
                return
            if not self.transport.is_closing():
                self.transport.close()

        def _refuse_head(self) -> None:
            log.warning("request head over %d bytes: answered 431, closed", max_header_bytes)
            cycle = self.cycle
            # Unless an answer is still being written, or the head may be the unread rest of
            # a body: then the connection is only closed.
            if cycle is None or (cycle.response_complete and not cycle.more_body):
                self.transport.write(refusal)
            self.transport.close()

    Bounded.__name__ = f"Bounded{base.__name__}"
    return Bounded


def protocol(max_header_bytes: int, body_timeout_seconds: float) -> type[asyncio.Protocol]:
    """httptools' protocol where it is installed (faster parsing), else h11's; bounded."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return bounded(H11Protocol, max_header_bytes, body_timeout_seconds)
    return bounded(HttpToolsProtocol, max_header_bytes, body_timeout_seconds)


def uvicorn_options(settings: "Settings") -> dict[str, Any]:
    """The ``uvicorn.Config`` options the settings decide: the protocol and its bounds."""
    return {
        "http": protocol(settings.max_header_bytes, settings.body_timeout_seconds),
        # h11's own limit on a head (16 KiB by default) made the same: one limit, whichever.
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }


def dual_stack_socket(host: str, port: int) -> socket.socket | None:
    """For the IPv6 wildcard ``::``, a bound socket that takes IPv6 and IPv4 connections
    (asyncio's own sets IPV6_V6ONLY, which leaves IPv4 clients unanswered); None for any other
    host, which uvicorn binds itself. Without IPv6 in the kernel: IPv4 only, said in one line."""
    try:
        if ipaddress.ip_address(host) != ipaddress.IPv6Address("::"):
            return None
    except ValueError:
        return None
    # Protocol TCP named, not 0: asyncio turns Nagle off only on sockets that say TCP, and
    # without that a response written in two parts waits ~40 ms for the client's delayed ACK.
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as error:
        log.warning("IPv6 is not available (%s): listening on IPv4 only", error.strerror)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
