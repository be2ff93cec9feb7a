"""A real, throw-away `redis-server` on a free loopback port: the `redis_server` fixture (a pytest plugin).

The Redis cache tests and the market-data tests use it; `.ci/run` installs redis-server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

PASSWORD = "s3cr3t-pw"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def spawn_redis(binary: str, port: int) -> subprocess.Popen[bytes]:
    """A throw-away redis-server on loopback: no persistence, password required."""
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return subprocess.Popen([*argv, "--requirepass", PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
            reply = b""
            while b"PONG" not in reply:
                chunk = sock.recv(64)
                if not chunk:
                    return False
                reply += chunk
            return True
    except OSError:
        return False


@pytest.fixture
def redis_server() -> Iterator[Server]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH: install it (apt-get install redis-server) to run the Redis cache tests"
        )
    port = _free_port()
    process = spawn_redis(binary, port)
    running = Server(process, port)
    deadline = time.monotonic() + 10
    while not answers_ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"redis-server on port {port} did not answer PING within 10 s")
        time.sleep(0.02)
    yield running
    running.stop()
