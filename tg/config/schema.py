"""Typed schema of every config node; Hydra validates YAML and overrides against it.

These dataclasses are registered in Hydra's ConfigStore (see `tg.config.compose`), so an unknown
key or a wrong type fails composition. Value rules that a type cannot express live in
`tg.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """Operating mode label. Neither mode can trade: execution does not exist in tg."""

    simulation = "simulation"
    live = "live"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@dataclass
class PathsConfig:
    """Runtime directories; relative values are relative to `root` (itself relative to the cwd)."""

    root: str = "."
    data: str = "data_storage"
    models: str = "models_saved"
    logs: str = "logs"
    cache: str = "cache"
    audit: str = "audit"
    backups: str = "backups"


@dataclass
class LoggingConfig:
    level: LogLevel = LogLevel.INFO
    file: str = "trading.log"
    max_bytes: int = 10 * 1024 * 1024
    backup_count: int = 7
    retention_days: int = 30


@dataclass
class AuditConfig:
    enabled: bool = True
    file: str = "audit.jsonl"


@dataclass
class ServeConfig:
    """The `tg serve` metrics/dashboard server. `api_key` is a secret: never printed."""

    metrics_enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str = ""


@dataclass
class ProfileConfig:
    """Health gates and readiness controls (`profile=default|strict|quick`)."""

    name: str = "default"
    # degraded health exits 1 when true
    fail_on_degraded: bool = False
    # doctor sections whose failure fails the doctor (exit 1)
    doctor_required: list[str] = field(default_factory=lambda: ["dependencies", "config", "paths"])
    # institutional-readiness controls that must pass for `institutional_readiness.pass`
    readiness_required: list[str] = field(default_factory=list)
    # recompute sha256 of every model artifact (false: presence and manifest shape only)
    verify_checksums: bool = True
    # newest snapshot in backups/ must be younger than this (control recent_snapshot)
    snapshot_max_age_hours: float = 168.0
    required_packages: list[str] = field(default_factory=list)
    optional_packages: list[str] = field(default_factory=list)


@dataclass
class AppConfig:
    """The root node composed from `conf/config.yaml`."""

    mode: Mode = Mode.simulation
    # tg contains no execution engine; setting this true only fails the readiness control
    execution_enabled: bool = False
    paths: PathsConfig = field(default_factory=PathsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)


# Names a profile may list; the checks in `tg.checks` implement exactly these.
DOCTOR_SECTIONS = ("dependencies", "config", "paths", "models", "institutional_readiness")
READINESS_CONTROLS = (
    "execution_disabled",
    "audit_log",
    "model_checksums",
    "log_rotation",
    "metrics_exposure",
    "no_credentials_in_config",
    "recent_snapshot",
)
