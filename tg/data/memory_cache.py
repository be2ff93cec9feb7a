"""`MemoryCache`: an in-process LRU of bytes with per-entry TTL and a total byte cap.

The fallback behind `RedisCache`, and the cache of choice when no Redis is configured. Safe to
share between threads: one lock guards every operation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class MemoryCache:
    """LRU cache of `bytes` keyed by `str`; at most `max_bytes` of values, each living `ttl` seconds."""

    def __init__(self, max_bytes: int, default_ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        _check_ttl(default_ttl)
        self.max_bytes = max_bytes
        self.default_ttl = default_ttl
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (value, expires_at); order is recency, least recently used first
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._expired = 0

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            value, expires_at = entry
            if self._clock() >= expires_at:
                self._remove(key)
                self._expired += 1
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` for `ttl` seconds (default_ttl when None); a value over `max_bytes` is not stored."""
        ttl = self.default_ttl if ttl is None else ttl
        _check_ttl(ttl)
        with self._lock:
            if key in self._entries:
                self._remove(key)
            if len(value) > self.max_bytes:
                # Storing it would evict everything else and still break the cap.
                return
            self._entries[key] = (bytes(value), self._clock() + ttl)
            self._bytes += len(value)
            self._evict_over_cap()

    def delete(self, key: str) -> None:
        """Forget `key` (no error when absent)."""
        with self._lock:
            if key in self._entries:
                self._remove(key)

    def clear(self) -> None:
        """Forget every entry; the counters are kept."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> dict[str, Any]:
        """Counters and sizes for `tg health` / metrics."""
        with self._lock:
            lookups = self._hits + self._misses
            return {
                "backend": "memory",
                "hits": self._hits,
                "misses": self._misses,
                "evictions": self._evictions,
                "expired": self._expired,
                "entries": len(self._entries),
                "bytes": self._bytes,
                "max_bytes": self.max_bytes,
                "hit_ratio": round(self._hits / lookups, 4) if lookups else None,
            }

    def _remove(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._bytes -= len(value)

    def _evict_over_cap(self) -> None:
        while self._bytes > self.max_bytes:
            _, (value, _) = self._entries.popitem(last=False)
            self._bytes -= len(value)
            self._evictions += 1


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise ValueError(f"cache ttl must be positive seconds, got {ttl}")
