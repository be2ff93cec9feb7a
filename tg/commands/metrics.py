"""`tg metrics export`: the recovery metrics (summary, health, hourly trend, top failures) as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.config.loader import LoadedConfig
from tg.ops.recovery import RecoveryMetrics


@dataclass
class ExportResult:
    path: Path
    export: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.path), **self.export}

    def text(self) -> str:
        health = self.export["health"]
        total = self.export["summary"]["total"]
        rate = total.get("success_rate")
        shown = "–" if rate is None else f"{rate * 100:.1f} %"
        return (
            f"recovery metrics written to {self.path}: {health['status']}, {total['count']} operations in the "
            f"last {self.export['summary']['window_hours']:g} h, success {shown}"
        )


def recovery_metrics(loaded: LoadedConfig, flush_interval_s: float | None = None) -> RecoveryMetrics:
    """The recovery metrics of this installation (`<logs>/recovery/`), as configured."""
    rc = loaded.cfg.recovery
    return RecoveryMetrics(
        loaded.path("logs") / "recovery",
        retention_hours=rc.retention_hours,
        flush_interval_s=rc.flush_interval_s if flush_interval_s is None else flush_interval_s,
        max_consecutive_failures=rc.max_consecutive_failures,
        degraded_below=rc.degraded_below,
        unhealthy_below=rc.unhealthy_below,
    )


def run_metrics_export(loaded: LoadedConfig, output: str | None) -> ExportResult:
    path = Path(output) if output else loaded.path("logs") / "recovery" / "export.json"
    export = recovery_metrics(loaded).export_metrics(path)
    return ExportResult(path, export)
