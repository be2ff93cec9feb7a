"""Run the app on uvicorn in the foreground until SIGTERM or SIGINT.

uvicorn handles both signals gracefully: it stops accepting connections, lets in-flight requests
finish (up to `serve.graceful_timeout_s`), then runs the app's shutdown (recovery records flushed).
The socket is bound here, before uvicorn starts, so a port in use is one clear error line.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
from typing import Any

from tg.errors import TgError

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise TgError(f"cannot listen on {host}:{port}: {why}") from exc
    sock.set_inheritable(True)
    return sock


def run(app: Any, sock: socket.socket, *, access_log: bool, max_connections: int, graceful_timeout_s: float) -> None:
    """Serve `app` on `sock` until a signal stops it (blocking)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_config=None,  # tg's logging (logs/trading.log; warnings on stderr) stays in charge
        access_log=access_log,
        limit_concurrency=max_connections,
        timeout_graceful_shutdown=max(1, round(graceful_timeout_s)),  # uvicorn takes whole seconds
        server_header=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    host, port = sock.getsockname()[:2]
    sys.stderr.write(f"tg serve: listening on http://{_url_host(host)}:{port} (SIGTERM or Ctrl-C stops)\n")
    sys.stderr.flush()
    log.info("serving on %s:%s", host, port)
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; a SIGTERM that
    # lands here is a stop that went as planned (exit 0), while Ctrl-C stays an interrupt (exit 130)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: log.info("stopped by SIGTERM"))
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("server stopped")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
