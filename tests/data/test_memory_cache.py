"""MemoryCache: LRU order, TTL with an injected clock, byte cap, counters, thread safety."""

from __future__ import annotations

import threading

import pytest

from tg.data.memory_cache import MemoryCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_get_set_delete_clear() -> None:
    cache = MemoryCache(max_bytes=100, default_ttl=60)
    assert cache.get("a") is None
    cache.set("a", b"123")
    assert cache.get("a") == b"123"
    cache.set("a", b"45")
    assert cache.get("a") == b"45" and cache.stats()["bytes"] == 2
    cache.delete("a")
    cache.delete("never-there")
    assert cache.get("a") is None
    cache.set("b", b"x")
    cache.clear()
    assert cache.get("b") is None and cache.stats()["entries"] == 0 and cache.stats()["bytes"] == 0


def test_least_recently_used_is_evicted_first() -> None:
    cache = MemoryCache(max_bytes=30, default_ttl=60)
    cache.set("a", b"a" * 10)
    cache.set("b", b"b" * 10)
    cache.set("c", b"c" * 10)
    assert cache.get("a") is not None  # a is now the most recently used; b the least
    cache.set("d", b"d" * 10)
    assert cache.get("b") is None
    assert [cache.get(k) is not None for k in "acd"] == [True, True, True]
    assert cache.stats()["evictions"] == 1


def test_byte_cap_evicts_until_under_the_cap() -> None:
    cache = MemoryCache(max_bytes=100, default_ttl=60)
    for key in "abcde":
        cache.set(key, b"x" * 20)
    cache.set("big", b"y" * 70)
    stats = cache.stats()
    assert stats["bytes"] <= 100 and stats["evictions"] == 4
    assert cache.get("e") == b"x" * 20 and cache.get("big") == b"y" * 70


def test_value_bigger_than_the_cap_is_not_stored_and_evicts_nothing() -> None:
    cache = MemoryCache(max_bytes=50, default_ttl=60)
    cache.set("small", b"s" * 10)
    cache.set("huge", b"h" * 51)
    assert cache.get("huge") is None
    assert cache.get("small") == b"s" * 10
    assert cache.stats()["evictions"] == 0
    cache.set("small", b"h" * 51)  # replacing with an oversize value drops the old one
    assert cache.get("small") is None


def test_ttl_expiry_with_injected_clock() -> None:
    clock = Clock()
    cache = MemoryCache(max_bytes=1000, default_ttl=10, clock=clock)
    cache.set("default", b"1")
    cache.set("short", b"2", ttl=2)
    cache.set("long", b"3", ttl=100)
    clock.now += 1.9
    assert cache.get("short") == b"2"
    clock.now += 0.1
    assert cache.get("short") is None
    clock.now += 8
    assert cache.get("default") is None
    assert cache.get("long") == b"3"
    stats = cache.stats()
    assert stats["expired"] == 2 and stats["entries"] == 1 and stats["bytes"] == 1


def test_counters_and_hit_ratio() -> None:
    cache = MemoryCache(max_bytes=1000, default_ttl=10)
    assert cache.stats()["hit_ratio"] is None
    cache.set("a", b"1")
    cache.get("a")
    cache.get("a")
    cache.get("a")
    cache.get("missing")
    stats = cache.stats()
    assert stats == {
        "backend": "memory",
        "hits": 3,
        "misses": 1,
        "evictions": 0,
        "expired": 0,
        "entries": 1,
        "bytes": 1,
        "max_bytes": 1000,
        "hit_ratio": 0.75,
    }


@pytest.mark.parametrize("ttl", [0, -1])
def test_non_positive_ttl_is_refused(ttl: float) -> None:
    cache = MemoryCache(max_bytes=10, default_ttl=1)
    with pytest.raises(ValueError):
        cache.set("a", b"1", ttl=ttl)


def test_thread_safety_smoke() -> None:
    cache = MemoryCache(max_bytes=5_000, default_ttl=60)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(2_000):
                key = f"k{(worker * 7 + i) % 300}"
                cache.set(key, key.encode() * 5)
                value = cache.get(key)
                assert value is None or value == key.encode() * 5
                if i % 50 == 0:
                    cache.delete(key)
        except BaseException as exc:  # collected and re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = cache.stats()
    assert stats["bytes"] <= 5_000
    assert stats["hits"] + stats["misses"] == 8 * 2_000
