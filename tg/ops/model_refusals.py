"""A model that `tg predict`, `tg evaluate` or `tg serve` refuses to load (tampered, partial) is logged and
recorded in the audit log as `model.load_refused`; the outcome counts in the recovery metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tg.config.loader import LoadedConfig
from tg.errors import ArtifactError, NoModel
from tg.ops.audit import AuditLog

log = logging.getLogger(__name__)


@contextmanager
def refusals_audited(loaded: LoadedConfig) -> Iterator[None]:
    """A model refused as tampered or partial is logged and recorded in the audit log (`model.load_refused`),
    where the count of model load errors is kept; a missing model is not an error of this kind."""
    began = time.perf_counter()
    try:
        yield
    except ArtifactError as exc:  # no predictor to record it: the prediction failed here
        from tg.ops.metrics import process_metrics
        from tg.ops.recovery import get_recovery_metrics

        process_metrics().record_operation(
            get_recovery_metrics(), "predict", False, time.perf_counter() - began, error=str(exc)
        )
        if isinstance(exc, NoModel):
            raise
        log.info("model load refused: %s", exc)  # stderr gets the one error line from the CLI
        if loaded.cfg.audit.enabled:
            AuditLog(loaded.path("audit") / loaded.cfg.audit.file).append("model.load_refused", {"reason": str(exc)})
        raise
