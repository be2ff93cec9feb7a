"""RedisCache against a real redis-server: round trips, TTL, and the memory fallback when it dies."""

from __future__ import annotations

import logging
import time

import pytest

from tests.redis_server import PASSWORD, Server, answers_ping, spawn_redis
from tg.data.memory_cache import MemoryCache
from tg.data.redis_cache import RedisCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server(redis_server: Server) -> Server:
    return redis_server


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
    process = spawn_redis("redis-server", port)
    server.process = process
    deadline = time.monotonic() + 10
    while not answers_ping(port):
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
