"""`tg evaluate`: the trained model on eval.start..eval.end beside baselines; writes the report JSON,
the per-date predictions (CSV) and two PNG plots under `<paths.root>/<eval.output>/<run>/`."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tg.commands.predict import prediction_data_dir, refusals_audited
from tg.commands.scorer_table import scorer_table
from tg.config.loader import LoadedConfig
from tg.errors import ArtifactError, DataError
from tg.ops.atomic import atomic_write_bytes, atomic_write_text


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


def run_evaluate(loaded: LoadedConfig, model_dir: str | None) -> EvaluateResult:
    from tg.models.artifacts import load_model
    from tg.models.evaluation import SURVIVORSHIP, evaluate
    from tg.models.inputs import build_inputs
    from tg.models.panel import load_panel
    from tg.models.universe import parse_day

    cfg = loaded.cfg
    models = Path(model_dir) if model_dir else loaded.path("models")
    with refusals_audited(loaded):
        ensemble, meta, version = load_model(models)
    root = prediction_data_dir(loaded, meta["data"]["root"])
    start, end = np.datetime64(cfg.eval.start, "D"), np.datetime64(cfg.eval.end, "D")
    began = time.perf_counter()
    panel = load_panel(root, list(meta["data"]["universe"]), parse_day(cfg.data.start), None)
    model_cfg = _model_config(meta)
    inputs = build_inputs(panel, model_cfg)
    if inputs.features.names != meta["features"]:
        raise ArtifactError(f"model {version} was trained with other features than this tg computes: retrain")
    if not np.any((panel.dates >= start) & (panel.dates <= end)):
        raise DataError(f"no trading dates between {start} and {end} in {root}")
    result = evaluate(ensemble, inputs, start, end, cfg.eval, list(meta["class_shares"]))
    seconds = time.perf_counter() - began
    warnings = [SURVIVORSHIP]
    calib_end = np.datetime64(meta["splits"]["calib"][1], "D")
    if start <= calib_end:
        warnings.insert(0, f"the window starts before {calib_end}: those dates were used in training/calibration")
    report = {
        "model": {"version": version, "trained_at": meta["trained_at"], "members": list(ensemble.members)},
        "trained_on": meta["splits"],
        "data": {"root": meta["data"]["root"], "fingerprint_at_training": meta["data"]["fingerprint"]},
        "window": list(result.window),
        "horizon": ensemble.horizon,
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
        "warnings": warnings,
    }
    out = loaded.root / cfg.eval.output / f"{version}_{result.window[0]}_{result.window[1]}"
    out.mkdir(parents=True, exist_ok=True)
    _write_predictions(out / "predictions.csv", result)
    _plot(out, result, panel.benchmark)
    atomic_write_text(out / "report.json", json.dumps(_finite(report), indent=1))
    return EvaluateResult(report, out)


def _model_config(meta: dict[str, Any]) -> Any:
    from tg.config.schema import ModelConfig
    from tg.config.typed import build

    return build(ModelConfig, meta["config"]["model"])


def _write_predictions(path: Path, result: Any) -> None:
    p = result.prediction
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "symbol", "p_up", "p_flat", "p_down", "expected_return", "q10", "q50", "q90"])
    last = p.quantiles[:, -1, :]
    for i in range(len(result.symbols)):
        writer.writerow(
            [
                str(result.dates[i]),
                result.symbols[i],
                f"{p.probs[i, 2]:.5f}",
                f"{p.probs[i, 1]:.5f}",
                f"{p.probs[i, 0]:.5f}",
                f"{p.expected_return[i]:.6f}",
                f"{last[i, 0]:.6f}",
                f"{last[i, 1]:.6f}",
                f"{last[i, 2]:.6f}",
            ]
        )
    atomic_write_text(path, buffer.getvalue())


def _plot(out: Path, result: Any, benchmark: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, bt in result.backtests.items():
        ax.plot(np.cumprod(1 + bt.daily_return), label=f"top-k by {name} (after costs)")
    ax.plot(np.cumprod(1 + next(iter(result.backtests.values())).benchmark_return), label=benchmark, color="black")
    ax.set_title(f"Top-k equity {result.window[0]} .. {result.window[1]} (survivorship-biased universe)")
    ax.set_xlabel("trading days")
    ax.legend()
    _save(fig, out / "equity.png")
    fig, ax = plt.subplots(figsize=(5, 5))
    points = result.reliability
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    ax.plot([p["predicted"] for p in points], [p["observed"] for p in points], marker="o", label="ensemble P(up)")
    ax.set_xlabel("predicted P(up)")
    ax.set_ylabel("observed frequency of up")
    ax.set_title("Calibration")
    ax.legend()
    _save(fig, out / "calibration.png")
    plt.close("all")


def _save(fig: Any, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def _finite(value: Any) -> Any:
    """NaN/inf → None, so the report is strict JSON."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.floating | np.integer):
        return _finite(value.item())
    return value
