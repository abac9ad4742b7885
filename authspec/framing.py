"""Request bodies framed the way Connexion expects, and refused with 413 past the size limit.

Counted as they stream in, not only by ``Content-Length``; chunked bodies get a ``Content-Length``,
bodies sent without a type a JSON ``Content-Type``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.errors import BadRequest, PayloadTooLarge

_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class RequestBodyMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, whether announced or streamed, and frame
    the others the way Connexion expects.

    Connexion reads a body only when ``Content-Length`` announces one, so a chunked body would be
    taken as missing (a wrong 400, or silently ignored). Chunked bodies are therefore buffered here,
    up to the limit, and passed on with their ``Content-Length``. A body sent without
    ``Content-Type`` is validated by Connexion as JSON (every operation's one media type) but then
    handed to the handler as raw bytes (an empty one as ``b""`` instead of the schema's default);
    requests that may carry a body are labelled ``application/json`` when they name no type, so
    handlers always receive the parsed body or its default, once for the service and the mock.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if b"content-type" not in headers and scope["method"] not in _BODILESS:
            scope = {**scope, "headers": [*scope["headers"], (b"content-type", b"application/json")]}
        if b"content-length" in headers:
            try:
                announced = int(headers[b"content-length"])
            except ValueError:
                raise BadRequest("Content-Length is not a number", code="malformed_request") from None
            if announced > self.max_bytes:
                raise self._too_large()
            await self.app(scope, self._counting(receive), send)
        elif b"transfer-encoding" in headers:
            scope, receive = await self._buffered(scope, receive)
            await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        return counting_receive

    async def _buffered(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        kept = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"]
        scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return scope, replay

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes")
