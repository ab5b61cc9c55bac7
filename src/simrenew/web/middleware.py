"""The application's ASGI middleware: body limits, the last-resort 500, request metrics.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer bodies and hide the
route from the metrics.
"""

from __future__ import annotations

import logging
import time

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simrenew import errors
from simrenew.web.api import problem_response
from simrenew.web.deps import request_language

logger = logging.getLogger("simrenew.web")


class _TrackedSend:
    """`send`, remembering whether the response has started (after that no other can be sent)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class _BodyTooLarge(StarletteHTTPException):
    """Raised while reading: inside a route FastAPI lets HTTPException through to the handler."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimitMiddleware:
    """Refuse bodies above the limit: by Content-Length at once, by counting when streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = errors.PayloadTooLarge(f"The limit is {self.max_bytes} bytes.")
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            language = request_language(Request(scope))
            await problem_response(too_large, language)(scope, receive, send)
            return
        received = 0
        tracked_send = _TrackedSend(send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _BodyTooLarge:
            if tracked_send.started:
                raise
            language = request_language(Request(scope))
            await problem_response(too_large, language)(scope, receive, send)


def _route_label(scope: Scope) -> str:
    """The route's path template: bounded label values, and no phone numbers in logs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class UnexpectedErrorMiddleware:
    """Any exception nothing else handled: log it, answer a 500 problem that reveals nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked_send = _TrackedSend(send)
        try:
            await self.app(scope, receive, tracked_send)
        except Exception:
            logger.exception("unexpected error on %s %s", scope["method"], _route_label(scope))
            if tracked_send.started:
                raise
            language = request_language(Request(scope))
            await problem_response(errors.InternalError(), language)(scope, receive, send)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Count requests by route, method and status, and time them, into the app's registry."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "simrenew_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "simrenew_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app dies before answering
        started_at = time.perf_counter()

        async def tracked_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            route = _route_label(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.requests.labels(route, method, str(status)).inc()
            self.latency.labels(route, method).observe(time.perf_counter() - started_at)
