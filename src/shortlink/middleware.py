"""ASGI middleware: a declared oversize body refused before the app, one log line per request
that no error escapes, and the headers of trusted reverse proxies."""

import ipaddress
import json
import logging
import time
import traceback

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

access_log = logging.getLogger(f"{__package__}.access")
log = logging.getLogger(__package__)


class SafeJSONResponse(JSONResponse):
    """ASCII-only JSON: text that is not valid Unicode (a lone surrogate) still encodes."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def body_too_large(max_bytes: int) -> SafeJSONResponse:
    """The 413 of a body over ``max_bytes``, in the API's error shape, naming the limit."""
    return SafeJSONResponse({"detail": f"request body larger than {max_bytes} bytes"}, 413)


class RefuseDeclaredOversize:
    """Answer the API's 413 to a request whose Content-Length is over ``max_bytes``, before the
    app: Starlette's RequestBodyLimitMiddleware (added inside this one) counts what arrives, but
    lets a route that reads no body act first (a DELETE done, a hit counted), then replaces its
    answer with a plain-text 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _declared_length(scope) > self.max_bytes:
            await body_too_large(self.max_bytes)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    """The request's Content-Length; 0 for none or one that is not a number, whose body
    Starlette's middleware counts as it arrives (it reads the header the same way)."""
    try:
        return int(Headers(scope=scope).get("content-length", "0"))
    except ValueError:
        return 0


class RequestLog:
    """Log method, path, status and duration of every request: never headers, never bodies.

    Outermost, so that an error nothing else handled still gets a JSON 500 and one line naming
    where it happened, not a traceback carrying whatever the request held.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except Exception as error:
            # The frames say where; the exception's message, which may quote input, is left out.
            frames = "".join(traceback.format_tb(error.__traceback__))
            log.error(
                "unhandled %s in %s %s\n%s",
                type(error).__name__,
                scope["method"],
                scope["path"],
                frames,
            )
            if not status:
                status = 500
                await SafeJSONResponse({"detail": "internal error"}, status_code=500)(
                    scope, receive, send
                )
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            access_log.info(
                "%s %s %d %.1fms", scope["method"], scope["path"], status or 500, elapsed_ms
            )


class TrustedProxies:
    """What a trusted reverse proxy says of the request, and only a trusted one: the scheme
    (X-Forwarded-Proto) and client (X-Forwarded-For), by uvicorn's ProxyHeadersMiddleware, and
    the host the client asked for (X-Forwarded-Host), which uvicorn leaves alone.

    ``trusted``: addresses and networks, or "*"; an IPv4 client of a dual-stack socket
    (::ffff:10.0.0.1) counts as its IPv4 address, here and in the logs.
    """

    def __init__(self, app: ASGIApp, trusted: list[str]) -> None:
        self.anyone = "*" in trusted
        self.networks = [
            ipaddress.ip_network(item, strict=False) for item in trusted if item != "*"
        ]
        # The same list, normalized: uvicorn would take "10.0.0.1/8" for a name, not a network.
        normalized = "*" if self.anyone else [str(network) for network in self.networks]
        self.app = ProxyHeadersMiddleware(app, trusted_hosts=normalized)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[arg-type]
            return
        client = scope.get("client")
        if client:
            client = (_unmapped(client[0]), *client[1:])
            scope["client"] = client
        if client and self._trusts(client[0]):
            forwarded = [v for k, v in scope["headers"] if k == b"x-forwarded-host"]
            # The last value: what the proxy nearest to us set or appended.
            host = b",".join(forwarded).split(b",")[-1].strip() if forwarded else b""
            if host:
                others = [(k, v) for k, v in scope["headers"] if k != b"host"]
                scope["headers"] = [*others, (b"host", host)]
        await self.app(scope, receive, send)  # type: ignore[arg-type]

    def _trusts(self, host: str) -> bool:
        if self.anyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _unmapped(host: str) -> str:
    """``::ffff:10.0.0.1`` as ``10.0.0.1``; any other host as it is."""
    if host.startswith("::ffff:"):
        try:
            mapped = ipaddress.IPv6Address(host).ipv4_mapped
        except ValueError:
            return host
        return str(mapped) if mapped else host
    return host
