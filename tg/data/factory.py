"""Build the configured sources and their failover chain from a loaded config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tg.config.loader import LoadedConfig
from tg.config.parts import build_part
from tg.data.chain import SourceChain
from tg.data.market import MarketData
from tg.data.memory_cache import MemoryCache
from tg.data.network import http_client, resolve_mode
from tg.data.source import Source, SourceContext

if TYPE_CHECKING:
    from tg.data.redis_cache import RedisCache
    from tg.ops.metrics import TgMetrics
    from tg.ops.recovery import RecoveryMetrics


def source_order(loaded: LoadedConfig) -> list[str]:
    """`source.order` with `source.primary` (TRADING_PRIMARY_SOURCE) moved to the front."""
    order = list(loaded.cfg.source.order)
    primary = loaded.cfg.source.primary
    if primary:
        order = [primary, *[name for name in order if name != primary]]
    return order


def remote_client(loaded: LoadedConfig) -> Any:
    """The HTTP client the remote sources share, for the network mode (probed once in auto mode)."""
    ep = loaded.cfg.source.endpoints
    mode = resolve_mode(loaded.cfg.network, ep.tencent_quote, loaded.path("cache"))
    return http_client(loaded.cfg.network, mode)


def source_context(loaded: LoadedConfig, client: Any = None) -> SourceContext:
    """What the sources are built with; `client` when given, else the remote client made when a source asks."""
    return SourceContext(loaded.root, loaded.cfg.network, lambda: remote_client(loaded), made=client)


def build_sources(loaded: LoadedConfig, client: Any = None, context: SourceContext | None = None) -> list[Source]:
    """The sources of `source.order`, each built from its `source.parts.<name>` node (tg.config.parts)."""
    context = context or source_context(loaded, client)
    parts = loaded.cfg.source.parts
    return [
        build_part(parts[name], f"source.parts.{name}", factory="configured", context=context)
        for name in source_order(loaded)
    ]


def build_cache(loaded: LoadedConfig) -> MemoryCache | RedisCache:
    """The configured bytes cache: memory, or Redis with a memory fallback."""
    node = loaded.cfg.cache
    memory = MemoryCache(node.memory_max_mb * 1024 * 1024, node.ttl_s)
    if node.backend == "redis":
        from tg.data.redis_cache import RedisCache

        return RedisCache(node.redis_url, node.ttl_s, fallback=memory)
    return memory


def build_market(
    loaded: LoadedConfig,
    client: Any | None = None,
    metrics: TgMetrics | None = None,
    recovery: RecoveryMetrics | None = None,
) -> MarketData:
    """Cache → bar store (`<data>/bars`) → failover chain, as configured (metrics and recovery
    metrics: this process's unless given)."""
    store_root = loaded.path("data") / "bars"
    chain = build_chain(loaded, client, metrics)
    return MarketData(chain, build_cache(loaded), source_order(loaded), store_root, chain.metrics, recovery)


def build_chain(loaded: LoadedConfig, client: Any | None = None, metrics: TgMetrics | None = None) -> SourceChain:
    from tg.data.network import proxy_of

    net = loaded.cfg.network
    context = source_context(loaded, client)
    sources = build_sources(loaded, context=context)
    proxy = proxy_of(context.made) if context.made is not None else None
    return SourceChain(
        sources,
        retries=net.retries,
        backoff_s=net.backoff_s,
        breaker_failures=net.breaker_failures,
        breaker_reset_s=net.breaker_reset_s,
        metrics=metrics,
        deadline_s=net.deadline_s,
        notice_after_s=net.notice_after_s,
        route=f"through the proxy {proxy}" if proxy else "",
    )
