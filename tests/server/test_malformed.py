"""Malformed requests over raw sockets: bad paths, oversized headers, garbage, a slow client. Each is
answered (or dropped) without harm: the server keeps answering everyone else."""

from __future__ import annotations

import socket
import time

from tests.server.conftest import Served


def raw(served: Served, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data` on a new connection and return what comes back until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and not data.endswith(b"keep"):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def still_fine(served: Served) -> None:
    began = time.perf_counter()
    assert served.get("/healthz").status_code == 200
    assert served.get("/api/v1/predict/600519").status_code == 200
    assert time.perf_counter() - began < 2.0


def test_bad_paths_are_404_or_400(served: Served) -> None:
    for path in (b"/%zz", b"/../../etc/passwd", b"/api/v1/predict/%00", b"/api/v1/predict/" + b"9" * 2000):
        code = status(raw(served, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert code in (400, 404, 422), (path[:40], code)
    assert status(raw(served, b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) == 405
    still_fine(served)


def test_oversized_headers_are_refused(served: Served) -> None:
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"
    answer = raw(served, big)
    assert answer == b"" or status(answer) in (400, 431), answer[:80]
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(300))
    answer = raw(served, many + b"\r\n")
    assert answer == b"" or status(answer) in (400, 431), answer[:80]
    still_fine(served)


def test_garbage_is_a_400_and_nothing_else(served: Served) -> None:
    for junk in (b"\x00\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n", b"HELLO / SMTP/9\r\n\r\n"):
        answer = raw(served, junk)
        assert answer == b"" or status(answer) == 400, answer[:80]
    still_fine(served)


def test_a_slow_client_does_not_hold_up_anyone_else(served: Served) -> None:
    slow = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(50)]
    try:
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")  # ... and the rest of the header only much later
        for _ in range(20):
            still_fine(served)
        slow.sendall(b"Host: x\r\n\r\n")
        assert slow.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        slow.close()
        for sock in idle:
            sock.close()
    still_fine(served)
