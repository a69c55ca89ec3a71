"""A deadline for a request's body: gunicorn bounds neither the time a body takes to arrive nor
its thread's wait for it, so a client sending one a byte at a time holds a connection and a
worker's thread as long as it likes (the image contract's slow-body check;
xorbitsai/inference#5213)."""

import contextlib
import io
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

# Far longer than any client of this service takes to send its small JSON bodies.
BODY_TIMEOUT_SECONDS = 10
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyDeadline:
    """WSGI middleware: the whole body (CONTENT_LENGTH bytes) within ``seconds`` of the head,
    else 408 and the connection closed; the app then reads it from memory. At the deadline it
    shuts gunicorn's socket (``gunicorn.socket``) for reading: a read blocked on it ends."""

    def __init__(self, app: App, seconds: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        sock = environ.get("gunicorn.socket")
        if not length or sock is None:
            return self.app(environ, start_response)
        # Django's own cap on a body it reads into memory (None: no cap).
        cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if cap is not None and length > cap:
            return refuse(start_response, "413 Content Too Large", b"the request body is too large")
        timer = threading.Timer(self.seconds, shut_for_reading, (sock,))
        timer.start()
        try:
            body = environ["wsgi.input"].read(length)
        except OSError:
            body = b""
        finally:
            timer.cancel()
        if len(body) < length:
            return refuse(start_response, "408 Request Timeout", b"the body did not arrive in time")
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def shut_for_reading(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to end
        sock.shutdown(socket.SHUT_RD)


def refuse(start_response: Callable[..., Any], status: str, detail: bytes) -> list[bytes]:
    """A JSON error; Connection: close makes gunicorn close the connection once it is sent."""
    headers = [("Content-Type", "application/json"), ("Connection", "close")]
    start_response(status, headers)
    return [b'{"detail": "%s"}' % detail]
