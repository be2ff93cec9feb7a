"""Build the configured sources and their failover chain from a loaded config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tg.config.loader import LoadedConfig
from tg.data.chain import SourceChain
from tg.data.local import LocalSource
from tg.data.market import MarketData
from tg.data.memory_cache import MemoryCache
from tg.data.network import http_client, resolve_mode
from tg.data.source import Source

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


def local_root(loaded: LoadedConfig) -> Path | None:
    root = loaded.cfg.source.local_root
    if not root:
        return None
    path = Path(root)
    return path if path.is_absolute() else loaded.root / path


def remote_client(loaded: LoadedConfig) -> Any:
    """The HTTP client the remote sources share, for the network mode (probed once in auto mode); None when
    no configured source needs one (akshare makes its own requests)."""
    if set(source_order(loaded)) <= {"local", "akshare"}:
        return None
    ep = loaded.cfg.source.endpoints
    mode = resolve_mode(loaded.cfg.network, ep.tencent_quote, loaded.path("cache"))
    return http_client(loaded.cfg.network, mode)


def build_sources(loaded: LoadedConfig, client: Any = None) -> list[Source]:
    """Instantiate the sources in order; remote ones share one HTTP client for the network mode."""
    if all(name == "local" for name in source_order(loaded)):
        return [LocalSource(local_root(loaded))]
    order = source_order(loaded)
    ep = loaded.cfg.source.endpoints
    if client is None:
        client = remote_client(loaded)
    sources: list[Source] = []
    for name in order:
        if name == "local":
            sources.append(LocalSource(local_root(loaded)))
        elif name == "tencent":
            from tg.data.tencent import TencentEndpoints, TencentSource

            sources.append(TencentSource(client, TencentEndpoints(quote=ep.tencent_quote, kline=ep.tencent_kline)))
        elif name == "sina":
            from tg.data.sina import SinaEndpoints, SinaSource

            sources.append(SinaSource(client, SinaEndpoints(quote=ep.sina_quote, kline=ep.sina_kline)))
        elif name == "eastmoney":
            from tg.data.eastmoney import EastmoneyEndpoints, EastmoneySource

            sources.append(
                EastmoneySource(client, EastmoneyEndpoints(quote=ep.eastmoney_quote, kline=ep.eastmoney_kline))
            )
        elif name == "akshare":
            from tg.data.akshare_source import AkshareSource

            sources.append(AkshareSource.for_network(loaded.cfg.network))
    return sources


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
    if client is None and not all(name == "local" for name in source_order(loaded)):
        client = remote_client(loaded)
    proxy = proxy_of(client) if client is not None else None
    sources = build_sources(loaded, client)
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
