"""`/readyz`: the model loaded and verified, the data fresh enough for the profile, the config valid.

Each check is computed from the state on disk (through `ModelWatch`, `tg.checks.data` — the same
freshness check as `tg health` — and a re-composition of the config tree), at most once per
`serve.readiness_interval_s`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.checks.base import CheckResult, Verdict
from tg.errors import ConfigError
from tg.server.model_watch import ModelWatch


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: list[CheckResult]

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        checks = {
            c.name: ({"ok": c.ok, "detail": c.detail, **c.data} if verbose else {"ok": c.ok, "detail": c.detail})
            for c in self.checks
        }
        return {"status": "ready" if self.ready else "not ready", "checks": checks}


def check_model(watch: ModelWatch) -> CheckResult:
    inspection = watch.refresh()
    if not inspection.ready or inspection.manifest is None:
        return CheckResult("model", Verdict.fail, inspection.refused or "no usable model")
    if watch.predictor is None:
        return CheckResult(
            "model", Verdict.fail, f"model {inspection.manifest.version} verified but not loaded: {watch.load_error}"
        )
    version = inspection.manifest.version
    return CheckResult(
        "model",
        Verdict.ok,
        f"model {version} loaded, {len(inspection.manifest.files)} files verified",
        {"version": version, "trained_at": inspection.manifest.trained_at},
    )


class ConfigWatch:
    """Whether the installed config tree still composes with the server's overrides: re-composed
    when a file of the tree (or `.env`) changes, known by its stat signature otherwise."""

    def __init__(self, compose: Callable[[], Any], files: Callable[[], list[Path]]) -> None:
        self._compose = compose
        self._files = files
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._result = CheckResult("config", Verdict.ok, "composed and validated at start")

    def check(self) -> CheckResult:
        with self._lock:
            signature = tuple(_stat_or_none(path) for path in self._files())
            if signature == self._signature:
                return self._result
            self._signature = signature
            try:
                self._compose()
                self._result = CheckResult("config", Verdict.ok, "composes and validates")
            except ConfigError as exc:
                self._result = CheckResult("config", Verdict.fail, str(exc))
            return self._result


def _stat_or_none(path: Path) -> tuple[Any, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def readiness(model: CheckResult, data: CheckResult, config: CheckResult) -> Readiness:
    checks = [model, data, config]
    return Readiness(all(c.ok for c in checks), checks)
