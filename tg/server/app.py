"""The HTTP app of `tg serve` (FastAPI): probes, metrics, the JSON API and the dashboard page.

| route | what | auth |
| --- | --- | --- |
| `/healthz`, `/livez` | the process answers (no dependency checks) | open |
| `/readyz[?verbose]` | model loaded and verified, data fresh enough, config valid; 503 otherwise | open |
| `/metrics` | Prometheus exposition | open on loopback; the API key from other hosts |
| `/api/v1/health` | the `tg health --json` report (503 when unhealthy) | API key |
| `/api/v1/dashboard` | process, model, readiness, sources, caches, recovery, recent predictions | API key |
| `/api/v1/predict/{symbol}` | the `tg predict --json` answer from the warm predictor | API key |
| `/api/v1/bars/{symbol}` | daily bars through cache → bar store → source chain | API key |
| `/` | the dashboard page (static: its script calls the API, with a key from `#key=…`) | open |
| `/openapi.json` | the OpenAPI document | open |

"API key" applies only when `serve.api_key` is set; it is compared in constant time, from the
`X-API-Key` header or `Authorization: Bearer`.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from tg import __version__
from tg.errors import ArtifactError, DataError, NoBars, TgError, UnknownSymbol, UsageError
from tg.ops.json_safe import strict_json
from tg.server.auth import key_matches, loopback
from tg.server.hot import HotPaths
from tg.server.middleware import ServedRequests
from tg.server.state import ServerState

ALIVE = b'{"status":"ok"}'  # also answered by `HotPaths`, before this app


class StrictJSON(JSONResponse):
    """JSON without NaN or Infinity (they are not JSON): non-finite numbers become null."""

    def render(self, content: Any) -> bytes:
        return strict_json(content)


def build_app(state: ServerState) -> Any:
    """The ASGI app serving `state` (wrapped in the request-metrics middleware)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(state.start)
        # Everything loaded so far (libraries, the model) lives as long as the process: keep it out
        # of the garbage collector's full passes, which otherwise stall every request for ~50 ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = FastAPI(
        title="tg serve",
        version=__version__,
        description="Trading Graph ops server: probes, Prometheus metrics, the analysis API (no trading).",
        docs_url=None,  # the interactive docs load their scripts from a CDN, which this machine cannot reach
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=StrictJSON,
    )
    api_key = state.loaded.cfg.serve.api_key
    keyed = Depends(_key_check(api_key))

    @app.get("/healthz", response_class=Response, summary="Liveness: the process answers", tags=["probes"])
    @app.get("/livez", response_class=Response, summary="Liveness (alias of /healthz)", tags=["probes"])
    async def alive() -> Response:
        return Response(ALIVE, media_type="application/json")

    @app.get(
        "/readyz",
        summary="Readiness: model loaded and verified, data fresh enough, config valid",
        responses={503: {"description": "not ready; the body names each failed check"}},
        tags=["probes"],
    )
    async def ready(request: Request) -> Response:
        verdict = state.ready
        status = 200 if verdict.ready else 503
        if "verbose" in request.query_params:
            lines = [
                f"[{'+' if c.ok else '-'}]{c.name} {'ok' if c.ok else 'failed'}: {c.detail}" for c in verdict.checks
            ]
            lines.append(f"readyz check {'passed' if verdict.ready else 'failed'}")
            return PlainTextResponse("\n".join(lines) + "\n", status_code=status)
        return StrictJSON(verdict.to_dict(), status_code=status)

    @app.get("/metrics", response_class=Response, summary="Prometheus metrics", tags=["probes"])
    async def metrics(request: Request) -> Response:
        client = request.client.host if request.client else ""
        if api_key and not loopback(client) and not key_matches(request.headers, api_key):
            raise HTTPException(401, "an API key is required for /metrics from other hosts")
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/api/v1/health",
        summary="The `tg health --json` report",
        responses={503: {"description": "unhealthy"}},
        dependencies=[keyed],
        tags=["api"],
    )
    async def health() -> Response:
        from tg.checks.health import run_health

        report = await run_in_threadpool(run_health, state.loaded)
        return StrictJSON(report.to_dict(), status_code=503 if report.status == "unhealthy" else 200)

    @app.get("/api/v1/dashboard", summary="Dashboard data", dependencies=[keyed], tags=["api"])
    async def dashboard() -> Response:
        return StrictJSON(await run_in_threadpool(state.dashboard))

    @app.get(
        "/api/v1/predict/{symbol}",
        summary="Calibrated up/flat/down probabilities and the q10/q50/q90 forecast band (analysis only)",
        responses={
            400: {"description": "not a symbol or not a date"},
            404: {"description": "no data for this symbol"},
            422: {"description": "an index, or too little history"},
            503: {"description": "the model cannot answer and no earlier answer is cached"},
        },
        dependencies=[keyed],
        tags=["api"],
    )
    async def predict(
        symbol: str, as_of: str | None = Query(None, description="YYYY-MM-DD; default the data's last day")
    ) -> Response:
        import asyncio

        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(state.predict_pool, state.predict, symbol, as_of)
        except TgError as exc:
            return _error(exc, {ArtifactError: 503, UnknownSymbol: 404, DataError: 422})
        return Response(body, media_type="application/json")

    @app.get(
        "/api/v1/bars/{symbol}",
        summary="Validated daily bars through the cache, the bar store and the source chain",
        responses={
            400: {"description": "not a symbol or not a date"},
            404: {"description": "no source has bars for this request"},
            502: {"description": "every source failed"},
        },
        dependencies=[keyed],
        tags=["api"],
    )
    async def bars(
        symbol: str,
        start: str | None = Query(None, description="first date, YYYY-MM-DD"),
        end: str | None = Query(None, description="last date, YYYY-MM-DD"),
        limit: int = Query(250, ge=1, le=5000, description="the last N bars"),
    ) -> Response:
        try:
            return StrictJSON(await run_in_threadpool(state.bars, symbol, start, end, limit))
        except TgError as exc:
            return _error(exc, {NoBars: 404, DataError: 502})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page())

    return ServedRequests(HotPaths(app, state), state.metrics, state.loaded.cfg.serve.max_header_bytes)


def _error(exc: TgError, statuses: dict[type[TgError], int]) -> Response:
    """The JSON error for `exc`: the first matching class in `statuses`, 400 for usage errors."""
    status = (
        400
        if isinstance(exc, UsageError)
        else next((code for kind, code in statuses.items() if isinstance(exc, kind)), 500)
    )
    return StrictJSON({"error": str(exc)}, status_code=status)


def _key_check(api_key: str) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        if api_key and not key_matches(request.headers, api_key):
            raise HTTPException(401, "missing or wrong API key (X-API-Key header or Authorization: Bearer)")

    return check


@functools.cache
def _page() -> str:
    return resources.files("tg.server").joinpath("dashboard.html").read_text(encoding="utf-8")
