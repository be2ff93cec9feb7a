"""`tg health`: a fast verdict on the installation (the report is built in `tg.checks.health`)."""

from __future__ import annotations

from tg.checks.health import HealthReport, run_health

__all__ = ["HealthReport", "run_health"]
