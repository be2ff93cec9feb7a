"""RedisCache against a real redis-server: round trips, TTL, and the memory fallback when it dies."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tg.data.memory_cache import MemoryCache
from tg.data.redis_cache import RedisCache

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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _spawn(binary: str, port: int) -> subprocess.Popen[bytes]:
    """A throw-away redis-server on loopback: no persistence, password required."""
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return subprocess.Popen([*argv, "--requirepass", PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
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
def server() -> Iterator[Server]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH: install it (apt-get install redis-server) to run the Redis cache tests"
        )
    port = _free_port()
    process = _spawn(binary, port)
    running = Server(process, port)
    deadline = time.monotonic() + 10
    while not _answers_ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"redis-server on port {port} did not answer PING within 10 s")
        time.sleep(0.02)
    yield running
    running.stop()


def _cache(server: Server, clock: Clock | None = None) -> RedisCache:
    fallback = MemoryCache(max_bytes=1_000_000, default_ttl=60)
    return RedisCache(server.url, default_ttl=60, fallback=fallback, socket_timeout=0.5, clock=clock or Clock())


def test_set_get_delete_and_stats(server: Server) -> None:
    cache = _cache(server)
    assert cache.get("bars:600519") is None
    cache.set("bars:600519", b"\x00payload\xff")
    assert cache.get("bars:600519") == b"\x00payload\xff"
    cache.delete("bars:600519")
    assert cache.get("bars:600519") is None
    stats = cache.stats()
    assert stats["backend"] == "redis"
    assert (stats["hits"], stats["misses"], stats["fallbacks"]) == (1, 2, 0)
    assert stats["hit_ratio"] == pytest.approx(1 / 3, abs=1e-3)
    assert stats["fallback"]["entries"] == 0  # nothing went to memory while Redis was up
    cache.close()


def test_keys_are_prefixed_and_ttl_is_set_on_the_server(server: Server) -> None:
    import redis

    cache = _cache(server)
    cache.set("k", b"v", ttl=30)
    direct = redis.Redis.from_url(server.url)
    assert direct.get("tg:k") == b"v" and direct.get("k") is None
    assert 29_000 < direct.pttl("tg:k") <= 30_000
    cache.set("short", b"v", ttl=0.2)
    time.sleep(0.3)  # expiry happens on the server's own clock
    assert cache.get("short") is None
    direct.close()
    cache.close()


def test_dead_server_falls_back_to_memory_warns_once_and_never_leaks_password(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tg.data.redis_cache")
    clock = Clock()
    cache = _cache(server, clock)
    cache.set("before", b"in-redis")
    assert cache.get("before") == b"in-redis"

    server.stop()
    started = time.monotonic()
    assert cache.get("before") is None  # Redis is gone; memory never had it
    cache.set("during", b"in-memory")
    assert cache.get("during") == b"in-memory"
    cache.delete("nothing")
    clock.now += 6  # past the backoff: Redis is tried again, and fails again
    assert cache.get("during") == b"in-memory"
    assert time.monotonic() - started < 3, "a dead Redis must not stall calls"

    stats = cache.stats()
    assert stats["backend"] == "redis->memory"
    assert stats["fallbacks"] == 5
    assert (stats["hits"], stats["misses"]) == (3, 1)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "in-memory cache" in warnings[0].getMessage()
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the retry after the backoff
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(stats)
    assert stats["url"] == f"redis://:***@127.0.0.1:{server.port}/0"
    cache.close()


def test_backoff_skips_redis_until_it_expires_then_recovers(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tg.data.redis_cache")
    clock = Clock()
    cache = _cache(server, clock)
    port = server.port
    server.stop()
    cache.set("k", b"memory")  # fails, starts the backoff
    assert cache.degraded
    # Restart Redis on the same port: within the backoff the cache must not look at it yet.
    process = _spawn("redis-server", port)
    server.process = process
    deadline = time.monotonic() + 10
    while not _answers_ping(port):
        assert time.monotonic() < deadline, "restarted redis-server did not answer"
        time.sleep(0.02)
    assert cache.get("k") == b"memory" and cache.degraded
    clock.now += 5
    cache.set("k", b"redis")
    assert not cache.degraded and cache.stats()["backend"] == "redis"
    assert cache.get("k") == b"redis"
    assert cache.fallback.get("k") is None  # the stale memory copy was dropped
    assert "reachable again" in caplog.text and PASSWORD not in caplog.text
    cache.close()
