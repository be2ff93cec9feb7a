"""`tg doctor`: the full diagnostic report; the profile decides which sections gate the exit code."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tg import __version__
from tg.checks.base import CheckResult
from tg.checks.config import check_config
from tg.checks.context import CheckContext
from tg.checks.data import check_data
from tg.checks.dependencies import check_dependencies
from tg.checks.leftovers import check_leftovers
from tg.checks.models import check_models
from tg.checks.paths import PATH_NAMES, check_paths, create_missing
from tg.checks.readiness import Control, check_readiness, evaluate_controls
from tg.config.loader import LoadedConfig
from tg.errors import EXIT_FAILED, EXIT_OK, ConfigError


@dataclass
class DoctorReport:
    profile: str
    sections: dict[str, CheckResult]
    controls: list[Control]
    config_errors: list[str]
    required: list[str]
    fixed: list[str] = field(default_factory=list)
    timestamp: str = field(default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds"))

    @property
    def failed(self) -> list[str]:
        return [name for name in self.required if not self.sections[name].ok]

    @property
    def warnings(self) -> list[str]:
        return [name for name, result in self.sections.items() if not result.ok and name not in self.required]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        models, data = self.sections["models"], self.sections["data"]
        return {
            "timestamp": self.timestamp,
            "tg_version": __version__,
            "python": platform.python_version(),
            "profile": self.profile,
            "dependencies": self.sections["dependencies"].data["packages"],
            "paths": self.sections["paths"].data["paths"],
            "models": {
                "ensembles": models.data.get("ensemble", 0),
                "forecasters": models.data.get("forecaster", 0),
                "scalers": models.data.get("scaler", 0),
                "ok": models.ok,
                "detail": models.detail,
                **{k: v for k, v in models.data.items() if k not in ("ensemble", "forecaster", "scaler")},
            },
            "data": {"ok": data.ok, "detail": data.detail, **data.data},
            "leftovers": {"ok": self.sections["leftovers"].ok, **self.sections["leftovers"].data},
            "config": {"valid": not self.config_errors, "errors": self.config_errors},
            "institutional_readiness": {
                "pass": self.sections["institutional_readiness"].ok,
                "controls": [c.to_dict() for c in self.controls],
            },
            "checks": {
                name: {"ok": r.ok, "required": name in self.required, "detail": r.detail}
                for name, r in self.sections.items()
            },
            "fixed": self.fixed,
            "summary": {"pass": not self.failed, "failed": self.failed, "warnings": self.warnings},
        }

    def table(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        verdict = "[green]PASS[/]" if not self.failed else "[red]FAIL[/] (" + ", ".join(self.failed) + ")"
        sections = Table(title=f"tg doctor — profile {self.profile}: {verdict}", title_justify="left")
        for column in ("section", "required", "result", "detail"):
            sections.add_column(column)
        for name, r in self.sections.items():
            mark = "[green]ok[/]" if r.ok else ("[red]FAIL[/]" if name in self.required else "[yellow]warn[/]")
            sections.add_row(name, "yes" if name in self.required else "no", mark, r.detail)
        controls = Table(title="institutional readiness", title_justify="left")
        for column in ("control", "required", "ok", "actual"):
            controls.add_column(column)
        for c in self.controls:
            mark = "[dim]–[/]" if c.ok is None else ("[green]yes[/]" if c.ok else "[red]no[/]")
            controls.add_row(c.id, "yes" if c.required else "no", mark, c.actual or c.message)
        parts: list[Any] = [sections, controls]
        if self.fixed:
            parts.append("created: " + ", ".join(self.fixed))
        return Group(*parts)


def run_doctor(loaded: LoadedConfig, config_error: ConfigError | None = None, fix: bool = False) -> DoctorReport:
    """Diagnose everything; with `fix`, create missing directories first (and report them)."""
    cfg = loaded.cfg
    paths = {name: loaded.path(name) for name in PATH_NAMES}
    fixed = create_missing(paths) if fix else []
    ctx = CheckContext(loaded)
    controls = evaluate_controls(ctx)
    errors = [str(config_error)] if config_error else []
    sections = {
        "dependencies": check_dependencies(cfg.profile.required_packages, cfg.profile.optional_packages),
        "config": check_config(loaded, config_error),
        "paths": check_paths(paths),
        "models": check_models(ctx.models(checksums=cfg.profile.verify_checksums)),
        "data": check_data(loaded, ctx.models(checksums=cfg.profile.verify_checksums).manifest, paths["models"]),
        "leftovers": check_leftovers(paths["models"], paths["data"]),
        "institutional_readiness": check_readiness(controls),
    }
    required = list(cfg.profile.doctor_required)
    if config_error is not None and "config" not in required:
        required.append("config")  # a broken config always fails the doctor
    return DoctorReport(cfg.profile.name, sections, controls, errors, required, fixed)
