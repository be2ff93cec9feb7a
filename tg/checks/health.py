"""The health report (`tg health`, `/api/v1/health`): a fast verdict, every field computed from real state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tg.checks.base import CheckResult, Verdict, overall_status
from tg.checks.context import CheckContext
from tg.checks.data import check_data
from tg.checks.models import check_models
from tg.checks.paths import PATH_NAMES, check_paths
from tg.config.loader import LoadedConfig
from tg.errors import EXIT_FAILED, EXIT_OK, ConfigError


@dataclass
class HealthReport:
    status: str
    analysis_ready: bool
    note: str
    mode: str
    profile: str
    checks: list[CheckResult]
    fail_on_degraded: bool
    execution_enabled: bool = False  # tg has no execution engine: nothing can place an order
    can_trade: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.status == "unhealthy" or (self.status == "degraded" and self.fail_on_degraded):
            return EXIT_FAILED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "execution_enabled": self.execution_enabled,
            "can_trade": self.can_trade,
            "analysis_ready": self.analysis_ready,
            "note": self.note,
            "mode": self.mode,
            "profile": self.profile,
            "checks": {c.name: c.to_dict() for c in self.checks},
        }

    def table(self) -> Any:
        from rich.table import Table

        colour = {"healthy": "green", "degraded": "yellow", "unhealthy": "red"}[self.status]
        table = Table(title=f"tg health: [{colour}]{self.status}[/] — {self.note}", title_justify="left")
        table.add_column("check")
        table.add_column("verdict")
        table.add_column("detail")
        style = {Verdict.ok: "green", Verdict.warn: "yellow", Verdict.fail: "red"}
        for c in self.checks:
            table.add_row(c.name, f"[{style[c.verdict]}]{c.verdict.value}[/]", c.detail)
        return table


def config_check(error: ConfigError | None) -> CheckResult:
    if error is None:
        return CheckResult("config", Verdict.ok, "composed and validated")
    return CheckResult("config", Verdict.fail, str(error))


def restore_check(loaded: LoadedConfig) -> CheckResult:
    """warn while a restore is staged or half-swapped (a kill interrupted it); any `tg snapshot` command
    completes it. A directory glob only: the snapshot modules (tarfile, gzip) are not imported here."""
    pending = sorted(
        p.name for p in loaded.root.glob(".tg-restore-*") if p.is_dir()
    )  # tg.ops.snapshot_restore's prefix
    if not pending:
        return CheckResult("restore", Verdict.ok, "no restore pending")
    return CheckResult(
        "restore", Verdict.warn, f"a restore was interrupted ({pending[0]}): any `tg snapshot` command completes it"
    )


def execution_check(loaded: LoadedConfig) -> CheckResult:
    if loaded.cfg.execution_enabled:
        return CheckResult(
            "execution", Verdict.fail, "execution_enabled=true but tg has no execution engine: set it false"
        )
    return CheckResult("execution", Verdict.ok, "analysis only: no execution engine, can_trade=false")


def run_health(loaded: LoadedConfig, config_error: ConfigError | None = None) -> HealthReport:
    """Run the fast checks; `config_error` set means `loaded` holds schema defaults."""
    cfg = loaded.cfg
    ctx = CheckContext(loaded)
    inspection = ctx.models(checksums=cfg.profile.verify_checksums)
    models = check_models(inspection)
    checks = [
        config_check(config_error),
        check_paths({name: loaded.path(name) for name in PATH_NAMES}),
        models,
        check_data(loaded, inspection.manifest, loaded.path("models")),
        ctx.audit,
        restore_check(loaded),
        execution_check(loaded),
    ]
    analysis_ready = config_error is None and inspection.ready
    status = overall_status(checks)
    if analysis_ready:
        note = f"Trading execution disabled; analysis ready with model {models.data.get('current')}"
    else:
        first = next(c for c in checks if c.name in ("config", "models") and c.verdict is not Verdict.ok)
        note = f"Trading execution disabled; analysis not ready: {first.detail}"
    return HealthReport(
        status, analysis_ready, note, cfg.mode.value, cfg.profile.name, checks, cfg.profile.fail_on_degraded
    )
