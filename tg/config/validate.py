"""Value rules the schema's types cannot express (ranges, allowed names, allow-listed targets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tg.config.parts import TARGET, TARGET_PREFIX
from tg.config.schema import (
    DOCTOR_SECTIONS,
    NETWORK_MODES,
    READINESS_CONTROLS,
    AppConfig,
)
from tg.errors import ConfigError


def check_targets(container: Any, where: str = "") -> None:
    """Refuse `_target_` values outside the `tg.` package before anything is instantiated."""
    if isinstance(container, dict):
        for key, value in container.items():
            path = f"{where}.{key}" if where else str(key)
            if key == TARGET and not (isinstance(value, str) and value.startswith(TARGET_PREFIX)):
                raise ConfigError(f"{path}: _target_ {value!r} is not allowed (only classes under 'tg.')")
            check_targets(value, path)
    elif isinstance(container, list):
        for i, value in enumerate(container):
            check_targets(value, f"{where}[{i}]")


def validate(cfg: AppConfig) -> None:
    """Raise `ConfigError` naming the first key whose value is impossible."""
    problems: list[str] = []

    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            problems.append(f"{key}: {message}")

    for name in ("root", "data", "models", "logs", "cache", "audit", "backups"):
        need(bool(getattr(cfg.paths, name).strip()), f"paths.{name}", "must not be empty")
    need(cfg.logging.max_bytes >= 0, "logging.max_bytes", "must be >= 0 (0 disables rotation)")
    need(cfg.logging.backup_count >= 0, "logging.backup_count", "must be >= 0")
    need(cfg.logging.retention_days >= 0, "logging.retention_days", "must be >= 0")
    need("/" not in cfg.logging.file and bool(cfg.logging.file), "logging.file", "must be a plain file name")
    need("/" not in cfg.audit.file and bool(cfg.audit.file), "audit.file", "must be a plain file name")
    need(1 <= cfg.serve.port <= 65535, "serve.port", f"must be in 1..65535, got {cfg.serve.port}")
    need(bool(cfg.serve.host.strip()), "serve.host", "must not be empty")
    sv = cfg.serve
    need(sv.predict_cache_s >= 0, "serve.predict_cache_s", "must be >= 0 (0 disables the answer cache)")
    need(sv.http_server in ("granian", "uvicorn"), "serve.http_server", "must be granian or uvicorn")
    need(sv.metrics_cache_s >= 0, "serve.metrics_cache_s", "must be >= 0 (0 renders on every scrape)")
    need(sv.max_connections >= 1, "serve.max_connections", "must be >= 1")
    need(sv.max_header_bytes >= 1024, "serve.max_header_bytes", "must be >= 1024")
    need(sv.graceful_timeout_s > 0, "serve.graceful_timeout_s", "must be > 0")
    need(sv.readiness_interval_s >= 0, "serve.readiness_interval_s", "must be >= 0")
    need(sv.recent_predictions >= 0, "serve.recent_predictions", "must be >= 0")
    rc = cfg.recovery
    need(rc.retention_hours > 0, "recovery.retention_hours", "must be > 0")
    need(rc.flush_interval_s >= 0, "recovery.flush_interval_s", "must be >= 0")
    need(rc.max_consecutive_failures >= 1, "recovery.max_consecutive_failures", "must be >= 1")
    need(
        0 <= rc.unhealthy_below <= rc.degraded_below <= 1,
        "recovery.degraded_below",
        "needs 0 <= unhealthy_below <= degraded_below <= 1",
    )
    dp = cfg.deploy
    need(bool(dp._target_), "deploy._target_", "must name the class that runs the server (conf/deploy/*.yaml)")
    for key in ("start_timeout_s", "stop_timeout_s", "ready_timeout_s"):
        need(getattr(dp, key) > 0, f"deploy.{key}", "must be > 0")
    need(
        "/" not in dp.pid_file and "/" not in dp.out_file,
        "deploy.pid_file",
        "pid_file and out_file are plain file names",
    )
    up = cfg.update
    need(1 <= up.concurrency <= 64, "update.concurrency", "must be in 1..64")
    need(up.rate_per_source > 0, "update.rate_per_source", "must be > 0 requests per second")
    need(up.deadline_s > 0, "update.deadline_s", "must be > 0")
    need(cfg.profile.max_data_lag_sessions >= 0, "profile.max_data_lag_sessions", "must be >= 0 (0: not gated)")
    need(cfg.profile.snapshot_max_age_hours > 0, "profile.snapshot_max_age_hours", "must be > 0")
    for section in cfg.profile.doctor_required:
        need(
            section in DOCTOR_SECTIONS,
            "profile.doctor_required",
            f"unknown section {section!r} (known: {', '.join(DOCTOR_SECTIONS)})",
        )
    for control in cfg.profile.readiness_required:
        need(
            control in READINESS_CONTROLS,
            "profile.readiness_required",
            f"unknown control {control!r} (known: {', '.join(READINESS_CONTROLS)})",
        )
    net = cfg.network
    need(net.mode in NETWORK_MODES, "network.mode", f"must be one of {', '.join(NETWORK_MODES)}, got {net.mode!r}")
    need(
        net.mode != "vpn" or bool(net.proxy_url),
        "network.proxy_url",
        "network=vpn needs a proxy URL (set TRADING_PROXY_URL)",
    )
    if net.proxy_url:
        problem = proxy_problem(net.proxy_url)
        need(problem is None, "network.proxy_url", problem or "")
    for key in ("timeout_s", "deadline_s", "notice_after_s", "probe_timeout_s", "breaker_reset_s"):
        need(getattr(net, key) > 0, f"network.{key}", "must be > 0")
    need(0 <= net.retries <= 10, "network.retries", "must be in 0..10")
    need(net.backoff_s >= 0, "network.backoff_s", "must be >= 0")
    need(net.breaker_failures >= 1, "network.breaker_failures", "must be >= 1")
    src = cfg.source
    need(bool(src.order), "source.order", "must name at least one source")
    for name in [*src.order, *([src.primary] if src.primary else [])]:
        need(
            name in src.parts,
            "source.order" if name in src.order else "source.primary",
            f"unknown source {name!r} (known: {', '.join(src.parts)}; a source is a node of conf/source/parts/)",
        )
    for name, node in src.parts.items():
        need(
            isinstance(node, dict) and isinstance(node.get(TARGET), str),
            f"source.parts.{name}",
            "must be a node with a _target_ class (conf/source/parts/*.yaml)",
        )
    need(src.adjustment in ("none", "qfq", "hfq"), "source.adjustment", "must be none, qfq or hfq")
    need(cfg.cache.backend in ("memory", "redis"), "cache.backend", "must be memory or redis")
    need(cfg.cache.memory_max_mb >= 1, "cache.memory_max_mb", "must be >= 1")
    need(cfg.cache.ttl_s > 0, "cache.ttl_s", "must be > 0")
    _model_rules(cfg, need)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"invalid configuration: {problems[0]}{more}")


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def proxy_problem(url: str) -> str | None:
    """Why httpx could not use `url` as its proxy, in words that never repeat the URL (it may hold a password);
    None when it can. socks5 needs the `socks` extra of httpx (`pip install 'httpx[socks]'`)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({'bad IPv6 host' if 'IPv6' in str(exc) else 'bad port'})"
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        shown = f"{scheme}://" if "://" in url else "no scheme"
        return f"must look like http://host:port (schemes: {', '.join(PROXY_SCHEMES)}; got {shown})"
    if not parts.hostname:
        return "names no host (http://host:port)"
    if port == 0:
        return "has port 0"
    if scheme.startswith("socks"):
        from importlib.util import find_spec

        if find_spec("socksio") is None:
            return "is a SOCKS proxy, which needs `pip install 'httpx[socks]'` (socksio is not installed)"
    return None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def _model_rules(cfg: AppConfig, need: Callable[[bool, str, str], None]) -> None:
    """data/model/train/eval: names, ranges, dates and the order of the splits."""
    universe = cfg.data.universe
    need(
        isinstance(universe, str | int) or (isinstance(universe, list) and len(universe) > 0),
        "data.universe",
        "must be all, csi300 (an instruments file) or a list of symbols like [600519, 000858]",
    )
    for key in ("data.start", "train.train_end", "train.valid_end", "train.calib_end", "eval.start", "eval.end"):
        node, name = key.split(".")
        value = getattr(getattr(cfg, node), name)
        need(_day(value) is not None, key, f"{value!r} is not a date (YYYY-MM-DD)")
    need(not cfg.data.end or _day(cfg.data.end) is not None, "data.end", "must be empty or a date (YYYY-MM-DD)")
    need(cfg.data.n_shards >= 1, "data.n_shards", f"must be at least 1, got {cfg.data.n_shards}")
    need(
        0 <= cfg.data.shard < max(cfg.data.n_shards, 1),
        "data.shard",
        f"must be in 0..{cfg.data.n_shards - 1} (data.n_shards={cfg.data.n_shards}), got {cfg.data.shard}",
    )
    m = cfg.model
    need(bool(m.members), "model.members", "must name at least one member (model/members=[gbm,linear])")
    for name, node in m.members.items():
        need(
            isinstance(node, dict) and isinstance(node.get(TARGET), str),
            f"model.members.{name}",
            "must be a node with a _target_ class (conf/model/members/*.yaml)",
        )
    need(1 <= m.horizon <= 20, "model.horizon", "must be in 1..20 trading days")
    need(0 <= m.target_lag <= 5, "model.target_lag", "must be in 0..5 sessions")
    need(0 <= m.target_horizon <= 60, "model.target_horizon", "must be in 0..60 sessions (0: model.horizon)")
    need(m.target_norm in ("rank", "zscore"), "model.target_norm", f"must be rank or zscore, not {m.target_norm!r}")
    need(m.band_k > 0, "model.band_k", "must be > 0")
    need(m.vol_window >= 5, "model.vol_window", "must be >= 5")
    t = cfg.train
    need(t.epochs >= 1, "train.epochs", "must be >= 1")
    need(t.keep_versions >= 2, "train.keep_versions", "must be >= 2 (the current and the previous model)")
    need(t.threads >= 1 and t.torch_threads >= 1, "train.threads", "threads and torch_threads must be >= 1")
    train_end, valid_end, calib_end = _day(t.train_end), _day(t.valid_end), _day(t.calib_end)
    if train_end and valid_end and calib_end:
        ordered = train_end < valid_end < calib_end
        need(ordered, "train.valid_end", "splits must be ordered: train_end < valid_end < calib_end")
    need(cfg.eval.top_k > 0, "eval.top_k", "must be a number of names (>= 1) or a fraction of the universe (< 1)")
    need(cfg.eval.drop >= 0, "eval.drop", "must be a number of names (>= 1), a fraction of top_k (< 1), or 0")
    need(0 < cfg.eval.risk_degree <= 1, "eval.risk_degree", "must be in (0, 1]")
    need(cfg.eval.limit_threshold > 0, "eval.limit_threshold", "must be > 0")
    need(cfg.eval.annual_days > 0, "eval.annual_days", "must be > 0")
    eval_start, eval_end = _day(cfg.eval.start), _day(cfg.eval.end)
    if eval_start and eval_end:
        need(eval_start <= eval_end, "eval.start", f"{eval_start} is after eval.end {eval_end}")
    need(cfg.eval.buy_cost >= 0 and cfg.eval.sell_cost >= 0, "eval.buy_cost", "costs must be >= 0")
