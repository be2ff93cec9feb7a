"""`tg train`: fit the configured ensemble, evaluate it on the held-out dates beside baselines, save
it atomically as the new current model, and record it in the audit log."""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tg import __version__
from tg.config.loader import LoadedConfig
from tg.config.typed import to_plain
from tg.errors import ArtifactError, TgError
from tg.models.universe import data_root, data_universe, parse_day
from tg.ops.audit import AuditLog
from tg.render.progress import training_progress
from tg.render.scorer_table import scorer_table

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    version: str
    seconds: float
    meta: dict[str, Any]
    saved_in: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "saved_in": str(self.saved_in),
            "seconds": round(self.seconds, 1),
            "data": self.meta["data"],
            "splits": self.meta["splits"],
            "rows": self.meta["training"]["rows"],
            "members": self.meta["training"]["members"],
            "weights": self.meta["training"]["weights"],
            "calib_rank_ic": self.meta["training"]["calib_rank_ic"],
            "holdout": self.meta["metrics"],
        }

    def table(self) -> Any:
        from rich.text import Text

        holdout = self.meta["metrics"]
        title = (
            f"model {self.version} trained in {self.seconds:.0f} s on {self.meta['data']['symbols']} symbols\n"
            f"saved in {self.saved_in}"
        )
        if not holdout:  # (a rich Table without columns prints nothing, not even its title)
            return Text(f"{title}\nno held-out dates after train.calib_end: nothing to evaluate")
        window = holdout["window"]
        title += f"\nheld-out {window[0]} .. {window[1]} ({holdout['rows']} rows), beside baselines"
        return scorer_table(title, holdout["warning"], holdout["table"])


def run_train(loaded: LoadedConfig, show_progress: bool) -> TrainResult:
    """Train and save; the run is recorded as a `train` operation (success or the failure)."""
    from tg.ops.metrics import process_metrics
    from tg.ops.recovery import get_recovery_metrics

    began = time.perf_counter()
    try:
        result = _train(loaded, show_progress, began)
    except TgError as exc:
        process_metrics().record_operation(
            get_recovery_metrics(), "train", False, time.perf_counter() - began, error=str(exc)
        )
        raise
    process_metrics().record_operation(get_recovery_metrics(), "train", True, result.seconds)
    return result


def _train(loaded: LoadedConfig, show_progress: bool, began: float) -> TrainResult:
    """Compose → data → features → fit → hold-out evaluation → save → audit."""
    from tg.data.extension import extension_of
    from tg.models.artifacts import save_model
    from tg.models.evaluation import SURVIVORSHIP, evaluate
    from tg.models.inputs import build_inputs
    from tg.models.labels import class_shares_until
    from tg.models.panel import load_panel
    from tg.models.training import build_members, train_ensemble

    cfg = loaded.cfg
    ensure_writable(loaded.path("models"))  # before minutes of training, not after
    build_members(cfg.model)  # a member node its class refuses fails now, not after loading the data
    root = data_root(cfg.data.root, loaded.root)
    panel = load_panel(
        root,
        data_universe(root, cfg.data),
        parse_day(cfg.data.start),
        parse_day(cfg.data.end),
        extension=extension_of(loaded, root),
    )
    inputs = build_inputs(panel, cfg.model)
    with training_progress(show_progress, list(cfg.model.members)) as progress:
        trained = train_ensemble(inputs, cfg.model, cfg.train, progress)
    shares = class_shares_until(inputs.labels, panel.dates, np.datetime64(cfg.train.train_end, "D"))
    holdout: dict[str, Any] = {}
    first_held = np.datetime64(cfg.train.calib_end, "D") + np.timedelta64(1, "D")
    if np.any(panel.dates >= first_held) and np.any(inputs.labels.classes[:, panel.dates >= first_held] >= 0):
        result = evaluate(trained.ensemble, inputs, first_held, panel.dates[-1], cfg.eval, shares)
        holdout = {
            "window": list(result.window),
            "rows": result.rows,
            "table": result.table(),
            "coverage": result.coverage,
            "warning": SURVIVORSHIP,
        }
    fingerprint = panel.fingerprint()
    meta: dict[str, Any] = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {k: to_plain(getattr(cfg, k)) for k in ("data", "model", "train")},
        "data": {
            "root": "embedded" if not cfg.data.root else str(root),
            "symbols": len(panel.symbols),
            "universe": panel.symbols,
            "first_date": str(panel.dates[0]),
            "last_date": str(panel.dates[-1]),
            "fingerprint": fingerprint,
        },
        "features": inputs.features.names,
        "class_shares": shares,
        "splits": {
            "train": [str(panel.dates[0]), cfg.train.train_end],
            "valid": [cfg.train.train_end, cfg.train.valid_end],
            "calib": [cfg.train.valid_end, cfg.train.calib_end],
            "purge_days": max(inputs.labels.horizon, inputs.target_reach),
        },
        "training": trained.info,
        "metrics": holdout,
        "versions": _versions(),
    }

    def audited(version_dir: Path) -> tuple[int, str] | None:
        """The audit entry of the switch, written before it: a model never becomes current unaudited."""
        if not cfg.audit.enabled:
            return None
        entry = AuditLog(loaded.path("audit") / cfg.audit.file).append(
            "model.train",
            {"version": version_dir.name, "members": list(cfg.model.members), "fingerprint": fingerprint},
        )
        return int(entry["seq"]), str(entry["hash"])

    version_dir = save_model(
        loaded.path("models"), trained.ensemble, meta, before_switch=audited, keep_versions=cfg.train.keep_versions
    )
    seconds = time.perf_counter() - began
    members = ", ".join(f"{name} {m['seconds']} s" for name, m in meta["training"]["members"].items())
    log.info("model %s saved in %s after %.1f s (members: %s)", version_dir.name, version_dir, seconds, members)
    return TrainResult(version_dir.name, seconds, meta, version_dir)


def ensure_writable(models: Path) -> None:
    """ArtifactError unless a new model could be saved in `models`."""
    try:
        models.mkdir(parents=True, exist_ok=True)
        probe = models / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ArtifactError(f"cannot save a model in {models}: {exc.strerror or exc}") from exc


def _versions() -> dict[str, str]:
    import lightgbm

    versions = {"tg": __version__, "python": platform.python_version(), "numpy": np.__version__}
    versions["lightgbm"] = lightgbm.__version__
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:
        pass
    return versions
