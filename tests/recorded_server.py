"""`recorded_server`: a real local HTTP server that replays recorded bodies and injects faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

MAX_DELAY = 5.0  # seconds: a test asking for more is a mistake, not a reason to hang the suite


@dataclass(frozen=True)
class Route:
    body: bytes
    status: int = 200
    delay: float = 0.0
    content_type: str = "application/json"
    truncate_at: int | None = None


class RecordedServer:
    """Serves routed bodies on 127.0.0.1 (OS-chosen port) from a daemon thread.

    `requests` holds the path+query of each request in arrival order; `headers` the matching request
    headers as dicts with lower-case names. Routes match on the URL path only; unrouted paths get 404.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._routes: dict[str, Route] = {}
        self._responders: dict[str, Callable[[dict[str, list[str]]], Route]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="recorded-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(
        self,
        path: str,
        body: bytes,
        status: int = 200,
        delay: float = 0.0,
        content_type: str = "text/plain; charset=GBK",
        truncate_at: int | None = None,
    ) -> None:
        """Answer GETs of `path` with `body`; `truncate_at` announces the full length but sends N bytes."""
        with self._lock:
            self._routes[path] = Route(body, status, min(delay, MAX_DELAY), content_type, truncate_at)

    def respond(self, path: str, responder: Callable[[dict[str, list[str]]], Route]) -> None:
        """Answer GETs of `path` with `responder(query)` — a body that depends on the request, built
        from recorded formats (a static `route` of the same path is replaced)."""
        with self._lock:
            self._responders[path] = responder
            self._routes.pop(path, None)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(handler.path)
            self.headers.append({name.lower(): value for name, value in handler.headers.items()})
            parts = urlsplit(handler.path)
            route = self._routes.get(parts.path)
            responder = self._responders.get(parts.path)
        if responder is not None:
            route = responder(parse_qs(parts.query))
        if route is None:
            route = Route(b"not found", 404, 0.0, "text/plain", None)
        if route.delay:
            time.sleep(route.delay)
        sent = route.body if route.truncate_at is None else route.body[: route.truncate_at]
        try:
            handler.send_response(route.status)
            handler.send_header("Content-Type", route.content_type)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(sent)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test): nothing left to answer
        handler.close_connection = True


def _handler_for(server: RecordedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # name fixed by http.server
            server._answer(self)

        def log_message(self, format: str, *args: object) -> None:  # signature of the base class
            """Silence the per-request stderr log."""

    return Handler


@pytest.fixture
def recorded_server() -> Iterator[RecordedServer]:
    """A fresh `RecordedServer`, stopped after the test."""
    server = RecordedServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    """An httpx client with a short timeout that talks to 127.0.0.1 directly, closed after the test."""
    with httpx.Client(timeout=2.0, trust_env=False) as client:  # no proxy from the environment
        yield client
