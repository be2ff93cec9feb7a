"""The requests that come by the thousand, answered before FastAPI: probes, `/metrics` and cached
predictions.

Why: measured on the 2-core dev machine (benchmarks/serve.py), FastAPI's routing, dependency and
parameter handling cost ~100 µs a request, about what uvicorn itself costs; at 64 connections that
alone put `/healthz` p99 near 50 ms. Liveness (a constant), a cached prediction (bytes rendered once)
and a fresh-enough exposition need none of it. Everything else (cache misses, errors, the API with
query validation, the OpenAPI document) goes to the FastAPI app, which also declares these routes
so the OpenAPI document lists them.

`/metrics` is rendered at most once per `serve.metrics_cache_s` (1 s by default): a render walks
every collector (~2 ms), and Prometheus scrapes every 15 s or more, so a burst of scrapers (several
Prometheus replicas, a dashboard) costs one render a second instead of one each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tg.server.auth import key_matches, loopback
from tg.server.state import ServerState

ALIVE = b'{"status":"ok"}'
PREDICT = "/api/v1/predict/"
JSON = b"application/json"


@dataclass(frozen=True)
class Route:
    """What the request metrics label a hot request with (the same template FastAPI would)."""

    path: str


ROUTES = {p: Route(p) for p in ("/healthz", "/livez", "/metrics", "/api/v1/predict/{symbol}")}


class HotPaths:
    """ASGI app answering the hot requests itself and passing every other one to `app`."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state
        serve = state.loaded.cfg.serve
        self.api_key = serve.api_key
        self.metrics_ttl = serve.metrics_cache_s
        self._exposition = b""
        self._rendered_at = float("-inf")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path in ("/healthz", "/livez"):
                scope["route"] = ROUTES[path]
                await _reply(send, 200, JSON, ALIVE)
                return
            if path == "/metrics" and (not self.api_key or _local_or_keyed(scope, self.api_key)):
                scope["route"] = ROUTES[path]
                await _reply(send, 200, CONTENT_TYPE_LATEST.encode(), self._metrics())
                return
            if path.startswith(PREDICT) and "/" not in path[len(PREDICT) :]:
                body = self._cached_prediction(scope, path[len(PREDICT) :])
                if body is not None:
                    scope["route"] = ROUTES["/api/v1/predict/{symbol}"]
                    await _reply(send, 200, JSON, body)
                    return
        await self.app(scope, receive, send)

    def _metrics(self) -> bytes:
        now = time.monotonic()
        if now - self._rendered_at >= self.metrics_ttl:
            self._exposition, self._rendered_at = generate_latest(self.state.metrics.registry), now
        return self._exposition

    def _cached_prediction(self, scope: dict[str, Any], symbol: str) -> bytes | None:
        if self.api_key and not key_matches(_headers(scope), self.api_key):
            return None  # FastAPI answers 401
        as_of = None
        if scope.get("query_string"):
            query = parse_qs(scope["query_string"].decode("latin-1"))
            if set(query) - {"as_of"} or len(query.get("as_of", ())) > 1:
                return None
            as_of = query["as_of"][0] if query else None
        return self.state.cached_answer(symbol, as_of)


def _local_or_keyed(scope: dict[str, Any], api_key: str) -> bool:
    client = scope.get("client")
    return loopback(client[0] if client else "") or key_matches(_headers(scope), api_key)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


async def _reply(send: Any, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
