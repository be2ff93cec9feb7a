"""ASGI middleware of `tg serve`: request metrics by route template, and a cap on header size.

Pure ASGI (not Starlette's BaseHTTPMiddleware, which costs a task per request): the probes answer
in well under a millisecond and should stay there.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tg.ops.metrics import TgMetrics

METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}


class ServedRequests:
    """Counts and times every HTTP request by route template (`/api/v1/predict/{symbol}`, never the
    symbol itself), and answers 431 to a request whose headers exceed `max_header_bytes`."""

    def __init__(self, app: Any, metrics: TgMetrics, max_header_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_header_bytes = max_header_bytes
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labelled children, looked up once

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        method = scope.get("method", "")

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if sum(len(k) + len(v) for k, v in scope.get("headers", ())) > self.max_header_bytes:
                await _reply(send_status, 431, {"error": f"request headers exceed {self.max_header_bytes} bytes"})
            else:
                await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            key = (route, method if method in METHODS else "other", status)
            series = self._series.get(key)
            if series is None:
                series = (
                    self.metrics.http_requests.labels(key[0], key[1], str(status)),
                    self.metrics.http_latency.labels(route),
                )
                self._series[key] = series
            series[0].inc()
            series[1].observe(time.perf_counter() - began)


async def _reply(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
