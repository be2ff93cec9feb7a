"""`tg evaluate`: the trained model on eval.start..eval.end beside baselines; writes the report JSON,
the per-date predictions (CSV) and two PNG plots under `<paths.root>/<eval.output>/<run>/`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tg.config.loader import LoadedConfig
from tg.errors import ArtifactError, DataError
from tg.ops.atomic import atomic_write_text
from tg.ops.json_safe import finite
from tg.ops.model_refusals import refusals_audited
from tg.render.scorer_table import scorer_table


@dataclass
class EvaluateResult:
    report: dict[str, Any]
    directory: Path

    def to_dict(self) -> dict[str, Any]:
        return {**self.report, "output": str(self.directory)}

    def table(self) -> Any:
        r = self.report
        title = (
            f"model {r['model']['version']} on {r['window'][0]} .. {r['window'][1]}: {r['rows']} rows, "
            f"{r['universe_size']} symbols, {r['seconds']:.1f} s "
            f"({r['throughput_symbol_days_per_s']:,.0f} symbol-days/s)"
        )
        return scorer_table(title, "\n".join([*r["warnings"], f"written to {self.directory}"]), r["table"])


@dataclass
class _Subject:
    """What is evaluated: the current model, or walk-forward folds trained for the window."""

    scorer: Any  # has .predict(samples, sigma) -> Prediction
    inputs: Any
    class_shares: list[float]
    model: dict[str, Any]
    trained_on: Any
    data: dict[str, Any]
    label: str
    warnings: list[str]


def run_evaluate(loaded: LoadedConfig, model_dir: str | None, show_progress: bool = False) -> EvaluateResult:
    from tg.models.evaluation import SURVIVORSHIP, evaluate
    from tg.models.report_files import plot_report, write_predictions

    cfg = loaded.cfg
    start, end = np.datetime64(cfg.eval.start, "D"), np.datetime64(cfg.eval.end, "D")
    began = time.perf_counter()
    if cfg.eval.walk_forward:
        subject = _walk_forward_subject(loaded, start, end, show_progress)
    else:
        subject = _model_subject(loaded, model_dir, start)
    panel = subject.inputs.panel
    if not np.any((panel.dates >= start) & (panel.dates <= end)):
        raise DataError(f"no trading dates between {start} and {end} in {subject.data['root']}")
    result = evaluate(subject.scorer, subject.inputs, start, end, cfg.eval, subject.class_shares)
    seconds = time.perf_counter() - began
    report = {
        "model": subject.model,
        "trained_on": subject.trained_on,
        "data": subject.data,
        "window": list(result.window),
        "horizon": subject.inputs.labels.horizon,
        "universe_size": len(panel.symbols),
        "rows": result.rows,
        "seconds": round(seconds, 2),
        "throughput_symbol_days_per_s": round(result.rows / seconds, 1),
        "table": result.table(),
        "metrics": result.metrics,
        "backtest": {name: bt.summary for name, bt in result.backtests.items()},
        "forecast_coverage": result.coverage,
        "reliability_p_up": result.reliability,
        "costs": {"buy": cfg.eval.buy_cost, "sell": cfg.eval.sell_cost},
        "warnings": [*subject.warnings, *result.warnings, SURVIVORSHIP],
    }
    out = loaded.root / cfg.eval.output / f"{subject.label}_{result.window[0]}_{result.window[1]}"
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(out / "predictions.csv", result, panel)
    plot_report(out, result, panel.benchmark)
    atomic_write_text(out / "report.json", json.dumps(finite(report), indent=1))
    return EvaluateResult(report, out)


def _model_subject(loaded: LoadedConfig, model_dir: str | None, start: np.datetime64) -> _Subject:
    from tg.data.extension import extension_of
    from tg.models.artifacts import load_model
    from tg.models.inputs import build_inputs
    from tg.models.panel import load_panel
    from tg.models.universe import configured_data_dir, data_universe, parse_day, trained_data_dir

    models = Path(model_dir) if model_dir else loaded.path("models")
    with refusals_audited(loaded):
        ensemble, meta, version = load_model(models)
    root = configured_data_dir(loaded.cfg.data.root, loaded.root) or trained_data_dir(meta)
    panel = load_panel(
        root,
        data_universe(root, loaded.cfg.data),
        parse_day(loaded.cfg.data.start),
        parse_day(loaded.cfg.data.end),
        extension=extension_of(loaded, root),
    )
    inputs = build_inputs(panel, _model_config(meta))
    if inputs.features.names != meta["features"]:
        raise ArtifactError(f"model {version} was trained with other features than this tg computes: retrain")
    warnings = []
    trained = set(meta["data"]["universe"])
    if set(panel.symbols) != trained:
        warnings.append(
            f"data.universe has {len(panel.symbols)} stocks ({len(set(panel.symbols) & trained)} of them in the "
            f"model's training universe of {len(trained)}): features are ranked across the stocks evaluated"
        )
    calib_end = np.datetime64(meta["splits"]["calib"][1], "D")
    if start <= calib_end:
        warnings.append(f"the window starts before {calib_end}: those dates were used in training/calibration")
    return _Subject(
        scorer=ensemble,
        inputs=inputs,
        class_shares=list(meta["class_shares"]),
        model={"version": version, "trained_at": meta["trained_at"], "members": list(ensemble.members)},
        trained_on=meta["splits"],
        data={"root": meta["data"]["root"], "fingerprint_at_training": meta["data"]["fingerprint"]},
        label=version,
        warnings=warnings,
    )


def _walk_forward_subject(
    loaded: LoadedConfig, start: np.datetime64, end: np.datetime64, show_progress: bool
) -> _Subject:
    from tg.data.extension import extension_of
    from tg.models.inputs import build_inputs
    from tg.models.labels import class_shares_until
    from tg.models.panel import load_panel
    from tg.models.universe import data_root, data_universe, parse_day
    from tg.models.walk_forward import walk_forward
    from tg.render.progress import training_progress

    cfg = loaded.cfg
    root = data_root(cfg.data.root, loaded.root)
    panel = load_panel(
        root,
        data_universe(root, cfg.data),
        parse_day(cfg.data.start),
        parse_day(cfg.data.end),
        extension=extension_of(loaded, root),
    )
    inputs = build_inputs(panel, cfg.model)
    first, last = (int(str(day)[:4]) for day in (start, end))
    with training_progress(show_progress, list(cfg.model.members)) as progress:
        folds = walk_forward(inputs, cfg.model, cfg.train, first, last, progress)
    first_train_end = np.datetime64(folds.folds[0].train.train_end, "D")
    return _Subject(
        scorer=folds,
        inputs=inputs,
        class_shares=class_shares_until(inputs.labels, panel.dates, first_train_end),
        model={"version": "walk-forward", "members": list(cfg.model.members), "folds": len(folds.folds)},
        trained_on=[fold.splits() for fold in folds.folds],
        data={"root": "embedded" if not cfg.data.root else str(root), "fingerprint": panel.fingerprint()},
        label="walk-forward",
        warnings=[f"walk-forward: {len(folds.folds)} folds, each retrained on data before its year"],
    )


def _model_config(meta: dict[str, Any]) -> Any:
    from tg.config.schema import ModelConfig
    from tg.config.typed import build

    return build(ModelConfig, meta["config"]["model"])
