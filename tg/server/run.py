"""Run the app in the foreground until SIGTERM or SIGINT, on Granian (default) or uvicorn.

Both stop gracefully: no new connections, in-flight requests finish (up to
`serve.graceful_timeout_s`), then the app's shutdown runs (recovery records flushed). SIGTERM is a
planned stop (exit 0); Ctrl-C an interrupt (exit 130).

Why Granian by default (`serve.http_server=granian`): its HTTP layer is Rust (hyper) on its own
thread, so Python only runs the app. `python benchmarks/serve.py` measures both on the same app in
the same run; on the 2-core dev machine, /healthz at 64 connections: Granian ~14.6k requests/s,
p99 ~9 ms; uvicorn (uvloop, httptools) ~8.4k/s, p99 ~14 ms. `serve.http_server=uvicorn` stays
available (Granian's in-process server is marked experimental by its authors).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from typing import Any

from tg.errors import EXIT_INTERRUPTED, EXIT_OK, TgError

log = logging.getLogger(__name__)

# How long a thread holding the GIL runs before another may take it (Python's default: 5 ms). The
# HTTP threads, the readiness monitor and the prediction thread hand the GIL back and forth; at
# 5 ms each handoff can hold a request up to that long (measured: p99 of cached predictions at 16
# connections 3–7 ms at the default, see benchmarks/serve.py).
SWITCH_INTERVAL_S = 0.0005


def check_port(host: str, port: int) -> None:
    """TgError (one line) when host:port cannot be listened on; the server binds it right after."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise TgError(f"cannot listen on {host}:{port}: {why}") from exc


def serve_forever(app: Any, serve: Any) -> int:
    """Serve until a signal; the exit code: 0 after SIGTERM, 130 after SIGINT."""
    check_port(serve.host, serve.port)
    host = f"[{serve.host}]" if ":" in serve.host else serve.host
    sys.stderr.write(f"tg serve: listening on http://{host}:{serve.port} (SIGTERM or Ctrl-C stops)\n")
    sys.stderr.flush()
    log.info("serving on %s:%s with %s", serve.host, serve.port, serve.http_server)
    stops: list[int] = []
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    runner = _granian if serve.http_server == "granian" else _uvicorn
    _loop_run(runner(app, serve, stops))
    log.info("server stopped")
    return EXIT_INTERRUPTED if signal.SIGINT in stops else EXIT_OK


async def _granian(app: Any, serve: Any, stops: list[int]) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server.embed import Server

    server = Server(
        app,
        address=serve.host,
        port=serve.port,
        interface=Interfaces.ASGI,  # with lifespan: the app's startup and shutdown run
        http=HTTPModes.http1,
        websockets=False,
        backlog=2048,
        backpressure=serve.max_connections,
        http1_settings=HTTP1Settings(header_read_timeout=10_000, max_buffer_size=max(serve.max_header_bytes, 8192)),
        log_enabled=False,
    )
    server.workers_kill_timeout = max(1, round(serve.graceful_timeout_s))

    def stop(signum: int) -> None:
        stops.append(signum)
        server.stop()

    _on_signals(stop)
    try:
        await server.serve()
    except RuntimeError as exc:  # raised by the Rust side, with a backtrace after the first line
        raise TgError(f"tg serve: {str(exc).splitlines()[0]}") from exc


async def _uvicorn(app: Any, serve: Any, stops: list[int]) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=serve.host,
        port=serve.port,
        log_config=None,  # tg's logging (logs/trading.log; warnings on stderr) stays in charge
        access_log=serve.access_log,
        limit_concurrency=serve.max_connections,
        timeout_graceful_shutdown=max(1, round(serve.graceful_timeout_s)),  # whole seconds
        h11_max_incomplete_event_size=serve.max_header_bytes,
        server_header=False,
        lifespan="on",
        backlog=2048,
    )

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the loop's handlers below stop it (uvicorn's would re-raise the signal at exit)

    server = Server(config)

    def stop(signum: int) -> None:
        stops.append(signum)
        server.should_exit = True

    _on_signals(stop)
    await server.serve()


def _on_signals(handler: Any) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handler, signum)


def _loop_run(main: Any) -> None:
    """Run `main` on uvloop when installed (faster sockets and timers), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
