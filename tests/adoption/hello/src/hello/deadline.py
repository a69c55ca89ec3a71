"""A deadline for a request's body: uvicorn bounds the time to receive a head, never a body's,
so a client sending one a byte at a time holds its connection as long as it likes (the image
contract's slow-body check; xorbitsai/inference#5213)."""

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
# Far longer than any client of this service takes to send its small JSON bodies.
BODY_TIMEOUT_SECONDS = 10


class BodyDeadline:
    """ASGI middleware: the whole body within ``seconds`` of the head, else 408 and the
    connection closed; the app then gets the body as one message, already in memory."""

    def __init__(self, app: ASGIApp, seconds: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.seconds):
                while (message := await receive())["type"] == "http.request":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        break
                else:
                    return None  # the client went away
        except TimeoutError:
            # Connection: close makes the server close it once this answer is sent.
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            body = b'{"detail": "the request body did not arrive in time"}'
            return await send({"type": "http.response.body", "body": body})
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)
