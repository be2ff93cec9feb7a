"""`tg metrics export`: the recovery metrics (summary, health, hourly trend, top failures) as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.config.loader import LoadedConfig
from tg.ops.recovery import configured


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


def run_metrics_export(loaded: LoadedConfig, output: str | None) -> ExportResult:
    path = Path(output) if output else loaded.path("logs") / "recovery" / "export.json"
    export = configured(loaded.cfg.recovery, loaded.path("logs")).export_metrics(path)
    return ExportResult(path, export)
