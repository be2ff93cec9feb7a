"""`RedisCache`: the shared cache on a Redis server, degrading to a `MemoryCache` when Redis is down.

An unreachable Redis never fails a command: the call is served by the in-process fallback, the
first failure of an outage is a WARNING (later ones DEBUG, so a dead Redis does not flood the log),
and Redis is not tried again until `retry_after` seconds have passed, so a dead server costs one
connection attempt per backoff period instead of one per call. The URL is only ever shown redacted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tg.data.memory_cache import MemoryCache
from tg.ops.redact import redact_url

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "tg:"


class RedisCache:
    """Same interface as `MemoryCache` (get/set/delete/stats), values kept on a Redis server."""

    def __init__(
        self,
        url: str,
        default_ttl: float,
        fallback: MemoryCache,
        socket_timeout: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        retry_after: float = 5.0,
    ) -> None:
        # Imported here, not at module top: `tg` must start fast and work without redis installed.
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if not default_ttl > 0:
            raise ValueError(f"cache ttl must be positive seconds, got {default_ttl}")
        self.url = redact_url(url)
        self.default_ttl = default_ttl
        self.fallback = fallback
        self._clock = clock
        self._retry_after = retry_after
        # No client-side retries: the fallback is our retry, and redis-py's default backoff would
        # stall every call for seconds while the server is down.
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout, retry=Retry(NoBackoff(), 0)
        )
        self._errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError,)
        self._down_until: float | None = None  # set while degraded: no Redis call before this time
        self._outage_logged = False
        self._hits = 0
        self._misses = 0
        self._fallbacks = 0

    @property
    def degraded(self) -> bool:
        """True while calls are being served by the memory fallback."""
        return self._down_until is not None

    def get(self, key: str) -> bytes | None:
        """The value under `key` from Redis (or the fallback while Redis is down); None when absent."""
        value: bytes | None
        if self._redis_usable():
            try:
                value = self._client.get(KEY_PREFIX + key)  # type: ignore[assignment]
                self._recovered()
            except self._errors as exc:
                self._failed("get", exc)
                value = self.fallback.get(key)
        else:
            self._fallbacks += 1
            value = self.fallback.get(key)
        if value is None:
            self._misses += 1
        else:
            self._hits += 1
        return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` for `ttl` seconds (default_ttl when None)."""
        ttl = self.default_ttl if ttl is None else ttl
        if not ttl > 0:
            raise ValueError(f"cache ttl must be positive seconds, got {ttl}")
        if self._redis_usable():
            try:
                # PX keeps sub-second TTLs; Redis rejects 0, hence the floor of 1 ms.
                self._client.set(KEY_PREFIX + key, value, px=max(int(ttl * 1000), 1))
                self._recovered()
                # A copy written during an earlier outage is now stale.
                self.fallback.delete(key)
                return
            except self._errors as exc:
                self._failed("set", exc)
        else:
            self._fallbacks += 1
        self.fallback.set(key, value, ttl)

    def delete(self, key: str) -> None:
        """Forget `key` in Redis and in the fallback."""
        self.fallback.delete(key)
        if self._redis_usable():
            try:
                self._client.delete(KEY_PREFIX + key)
                self._recovered()
            except self._errors as exc:
                self._failed("delete", exc)
        else:
            self._fallbacks += 1

    def stats(self) -> dict[str, Any]:
        """Counters for `tg health` / metrics; the URL has any password masked."""
        lookups = self._hits + self._misses
        return {
            "backend": "redis->memory" if self.degraded else "redis",
            "hits": self._hits,
            "misses": self._misses,
            "fallbacks": self._fallbacks,
            "hit_ratio": round(self._hits / lookups, 4) if lookups else None,
            "url": self.url,
            "fallback": self.fallback.stats(),
        }

    def close(self) -> None:
        """Close the connections to Redis."""
        self._client.close()

    def _redis_usable(self) -> bool:
        return self._down_until is None or self._clock() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        self._fallbacks += 1
        self._down_until = self._clock() + self._retry_after
        # redact: a redis error message may echo the URL it was given
        message = "redis cache %s at %s failed (%s); using the in-memory cache, retrying redis in %.0fs"
        args = (operation, self.url, redact_url(str(exc)), self._retry_after)
        if self._outage_logged:
            log.debug(message, *args)
        else:
            log.warning(message, *args)
            self._outage_logged = True

    def _recovered(self) -> None:
        if self._down_until is not None:
            log.info("redis cache at %s is reachable again", self.url)
            self._down_until = None
            self._outage_logged = False
