"""Prediction answers shared by `tg serve` replicas: with `cache=redis`, an answer one replica computed is
served by the others from Redis for `serve.predict_cache_s`, keyed by model version, symbol and as-of date, so
replicas behind one balancer compute each answer once. Each replica still keeps its own in-process answer cache
(looked up first, without I/O) and exports its own /metrics; with `cache=memory` nothing is shared. When Redis is
down the cache falls back to memory (tg.data.redis_cache): the replicas then compute for themselves.
"""

from __future__ import annotations

from typing import Any

from tg.config.loader import LoadedConfig

KEY_VERSION = "answer:v1"


class SharedAnswers:
    """Rendered answers in the configured byte cache (get/set with a ttl)."""

    def __init__(self, cache: Any, ttl_s: float) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    @classmethod
    def configured(cls, loaded: LoadedConfig) -> SharedAnswers | None:
        """The shared answers of this config: None unless `cache=redis` and answers are cached at all."""
        ttl = loaded.cfg.serve.predict_cache_s
        if loaded.cfg.cache.backend != "redis" or ttl <= 0:
            return None
        from tg.data.factory import build_cache

        return cls(build_cache(loaded), ttl)

    def get(self, version: str, symbol: str, as_of: str | None) -> bytes | None:
        body = self.cache.get(self._key(version, symbol, as_of))
        return body if isinstance(body, bytes) else None

    def put(self, version: str, symbol: str, as_of: str | None, body: bytes) -> None:
        self.cache.set(self._key(version, symbol, as_of), body, ttl=self.ttl_s)

    @staticmethod
    def _key(version: str, symbol: str, as_of: str | None) -> str:
        return f"{KEY_VERSION}:{version}:{symbol}:{as_of or ''}"
