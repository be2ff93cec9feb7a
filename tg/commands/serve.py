"""`tg serve`: the long-running server (probes, /metrics, the API and the dashboard page)."""

from __future__ import annotations

from tg.checks.readiness import is_loopback
from tg.config.loader import LoadedConfig
from tg.errors import ConfigError


def run_serve(loaded: LoadedConfig, overrides: list[str]) -> int:
    """Refuse an unsafe or disabled configuration, then serve in the foreground until a signal;
    the exit code (0 after SIGTERM, 130 after Ctrl-C)."""
    from prometheus_client import CollectorRegistry

    from tg.ops.metrics import TgMetrics, use_process_metrics
    from tg.ops.recovery import configured, use_recovery_metrics
    from tg.server.app import build_app
    from tg.server.run import check_port, serve_forever
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
    check_port(serve.host, serve.port)  # one clear line before seconds of model loading
    metrics = TgMetrics(CollectorRegistry(auto_describe=True))
    use_process_metrics(metrics)  # anything recording "for this process" lands in what /metrics shows
    # batched writes: flushed every recovery.flush_interval_s and at exit
    recovery = configured(loaded.cfg.recovery, loaded.path("logs"))
    use_recovery_metrics(recovery)
    state = ServerState(loaded, overrides, metrics, recovery)
    return serve_forever(build_app(state), serve)
