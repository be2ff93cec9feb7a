"""`CheckContext`: the state one health/doctor run inspects, each piece looked at once and shared."""

from __future__ import annotations

from functools import cached_property

from tg.checks.audit import check_audit
from tg.checks.base import CheckResult
from tg.checks.models import ModelInspection, inspect_model
from tg.config.loader import LoadedConfig


class CheckContext:
    """The loaded config plus lazily computed inspections shared by checks and controls."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self._models: ModelInspection | None = None

    def models(self, checksums: bool) -> ModelInspection:
        """The models directory inspected once; a checksummed inspection also answers a sizes-only ask."""
        if self._models is None or (checksums and not self._models.checksums):
            self._models = inspect_model(self.loaded.path("models"), checksums)
        return self._models

    @cached_property
    def audit(self) -> CheckResult:
        cfg = self.loaded.cfg.audit
        return check_audit(self.loaded.path("audit"), cfg.file, cfg.enabled, self.loaded.path("models"))
