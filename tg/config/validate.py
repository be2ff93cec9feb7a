"""Value rules the schema's types cannot express (ranges, allowed names, allow-listed targets)."""

from __future__ import annotations

from typing import Any

from tg.config.schema import DOCTOR_SECTIONS, NETWORK_MODES, READINESS_CONTROLS, SOURCE_NAMES, AppConfig
from tg.errors import ConfigError

TARGET_PREFIX = "tg."


def check_targets(container: Any, where: str = "") -> None:
    """Refuse `_target_` values outside the `tg.` package before anything is instantiated."""
    if isinstance(container, dict):
        for key, value in container.items():
            path = f"{where}.{key}" if where else str(key)
            if key == "_target_" and not (isinstance(value, str) and value.startswith(TARGET_PREFIX)):
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
    need(not net.proxy_url or "://" in net.proxy_url, "network.proxy_url", "must look like http://host:port")
    for key in ("timeout_s", "probe_timeout_s", "breaker_reset_s"):
        need(getattr(net, key) > 0, f"network.{key}", "must be > 0")
    need(0 <= net.retries <= 10, "network.retries", "must be in 0..10")
    need(net.backoff_s >= 0, "network.backoff_s", "must be >= 0")
    need(net.breaker_failures >= 1, "network.breaker_failures", "must be >= 1")
    src = cfg.source
    need(bool(src.order), "source.order", "must name at least one source")
    for name in [*src.order, *([src.primary] if src.primary else [])]:
        need(
            name in SOURCE_NAMES,
            "source.order" if name in src.order else "source.primary",
            f"unknown source {name!r} (known: {', '.join(SOURCE_NAMES)})",
        )
    need(src.adjustment in ("none", "qfq", "hfq"), "source.adjustment", "must be none, qfq or hfq")
    need(cfg.cache.backend in ("memory", "redis"), "cache.backend", "must be memory or redis")
    need(cfg.cache.memory_max_mb >= 1, "cache.memory_max_mb", "must be >= 1")
    need(cfg.cache.ttl_s > 0, "cache.ttl_s", "must be > 0")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"invalid configuration: {problems[0]}{more}")
