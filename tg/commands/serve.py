"""`tg serve`: the long-running server (probes, /metrics, the API and the dashboard page)."""

from __future__ import annotations

from tg.checks.readiness import is_loopback
from tg.config.loader import LoadedConfig
from tg.errors import ConfigError


def run_serve(loaded: LoadedConfig, overrides: list[str]) -> None:
    """Refuse an unsafe or disabled configuration, then serve in the foreground until a signal."""
    from prometheus_client import CollectorRegistry

    from tg.commands.metrics import recovery_metrics
    from tg.ops.metrics import TgMetrics, use_process_metrics
    from tg.ops.recovery import use_recovery_metrics
    from tg.server.app import build_app
    from tg.server.run import bind, run
    from tg.server.state import ServerState

    serve = loaded.cfg.serve
    if not serve.metrics_enabled:
        raise ConfigError(
            "the server is disabled (serve.metrics_enabled=false): set TRADING_METRICS_ENABLED=1 "
            "or pass serve.metrics_enabled=true"
        )
    if not is_loopback(serve.host) and not serve.api_key:
        raise ConfigError(
            f"refusing to bind {serve.host} without an API key: set TRADING_METRICS_API_KEY, or bind 127.0.0.1"
        )
    sock = bind(serve.host, serve.port)
    metrics = TgMetrics(CollectorRegistry(auto_describe=True))
    use_process_metrics(metrics)  # anything recording "for this process" lands in what /metrics shows
    recovery = recovery_metrics(loaded)  # batched writes: flushed every recovery.flush_interval_s and at exit
    use_recovery_metrics(recovery)
    state = ServerState(loaded, overrides, metrics, recovery)
    run(
        build_app(state),
        sock,
        access_log=serve.access_log,
        max_connections=serve.max_connections,
        graceful_timeout_s=serve.graceful_timeout_s,
    )
