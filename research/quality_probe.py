"""Quality probe: LightGBM on tg features, daily cross-sectional RankIC on a frozen protocol.

Protocol (cn_daily, the 250 stocks, horizon 5):
  train       dates <= 2021-12-31, the last 5 dates purged (their labels reach into validation)
  validation  2022-01-01 .. 2023-12-31 (early stopping and every choice), last 5 dates purged
  evaluation  2024-01-02 .. 2025-10-31 (reported once per frozen choice: --eval)

Usage:  .venv/bin/python research/quality_probe.py --features ranked --target rank [--eval] [--seeds 1 2 3]
        (--target blend: a rank regressor and a 3-class classifier, their per-date ranks averaged)
Prints one JSON line per run (also appended to /tmp/probe_runs.jsonl).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tg.models.features import FeatureSet, compute_features, cross_sectional_rank  # noqa: E402
from tg.models.labels import forward_excess_return, make_labels, purge_mask  # noqa: E402
from tg.models.panel import load_panel  # noqa: E402

DATA = Path("/work/shared/data/cn_daily")
HORIZON = 5
TRAIN_START = date(2011, 1, 1)  # after the 120-day warm-up of the longest feature windows
VAL_START, EVAL_START, EVAL_END = date(2022, 1, 1), date(2024, 1, 1), date(2025, 10, 31)


def daily_rank_ic(pred: np.ndarray, realised: np.ndarray, min_names: int = 20) -> np.ndarray:
    """Spearman correlation across symbols, one per date (columns); NaN where too few names."""
    both = np.isfinite(pred) & np.isfinite(realised)
    a = cross_sectional_rank(np.where(both, pred, np.nan))
    b = cross_sectional_rank(np.where(both, realised, np.nan))
    count = np.maximum(both.sum(0), 1)
    a = np.where(both, a - np.where(both, a, 0.0).sum(0) / count, 0.0)
    b = np.where(both, b - np.where(both, b, 0.0).sum(0) / count, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))
    ic[both.sum(0) < min_names] = np.nan
    return ic


def summary(ic: np.ndarray) -> dict[str, float]:
    ic = ic[np.isfinite(ic)]
    return {
        "rank_ic": round(float(ic.mean()), 4),
        "ic_std": round(float(ic.std()), 4),
        "icir": round(float(ic.mean() / ic.std()), 3),
        "days": int(ic.size),
    }


def date_mask(dates: np.ndarray, start: date, end: date) -> np.ndarray:
    return (dates >= np.datetime64(start, "D")) & (dates <= np.datetime64(end, "D"))


def build_matrix(fs: FeatureSet, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(rows, F) for the (symbol, date) cells selected by `rows` (N, T) restricted to date `cols`."""
    return fs.values[:, cols][rows[:, cols]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", choices=["raw", "ranked", "both"], default="ranked")
    parser.add_argument("--target", choices=["excess", "rank", "class", "blend"], default="rank")
    parser.add_argument("--leaves", type=int, default=64)
    parser.add_argument("--min-leaf", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--l2", type=float, default=10.0)
    parser.add_argument("--ff", type=float, default=0.8)
    parser.add_argument("--date-step", type=int, default=2, help="train on every k-th date (labels overlap anyway)")
    parser.add_argument("--drop", nargs="*", default=[], help="feature names to leave out")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--eval", action="store_true", help="also report the evaluation window (frozen choices only)")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    import lightgbm as lgb

    t0 = time.time()
    panel = load_panel(DATA)
    raw = compute_features(panel)
    if args.features == "raw":
        fs = raw
    elif args.features == "ranked":
        fs = raw.ranked()
    else:
        ranked = raw.ranked()
        fs = FeatureSet(raw.names + [f"cs_{n}" for n in raw.names], np.concatenate([raw.values, ranked.values], axis=2))
    if args.drop:
        keep = [i for i, n in enumerate(fs.names) if n not in args.drop]
        fs = FeatureSet([fs.names[i] for i in keep], np.ascontiguousarray(fs.values[:, :, keep]))
    labels = make_labels(panel, HORIZON)
    forward = labels.forward_return
    classes = labels.classes.astype(np.float64)
    classes[labels.classes < 0] = np.nan
    targets = {"excess": forward_excess_return(forward), "rank": cross_sectional_rank(forward), "class": classes}
    prep_s = time.time() - t0

    dates = panel.dates
    train_cols = purge_mask(dates, VAL_START, HORIZON) & (dates >= np.datetime64(TRAIN_START, "D"))
    train_cols &= np.arange(len(dates)) % args.date_step == 0
    val_cols = purge_mask(dates, EVAL_START, HORIZON) & (dates >= np.datetime64(VAL_START, "D"))
    eval_cols = date_mask(dates, EVAL_START, EVAL_END)
    val_forward = forward[:, val_cols]

    def predict_grid(model: lgb.Booster, cols: np.ndarray, iteration: int | None = None) -> np.ndarray:
        """Predictions on every tradable cell of the date columns `cols` as an (N, T_cols) grid."""
        cells = panel.tradable[:, cols]
        grid = np.full(cells.shape, np.nan)
        out = model.predict(fs.values[:, cols][cells], num_iteration=iteration)
        grid[cells] = out @ np.array([-1.0, 0.0, 1.0]) if out.ndim == 2 else out  # class: P(up) - P(down)
        return grid

    def fit_member(kind: str, seed: int) -> tuple[lgb.Booster, float]:
        """One LightGBM member on target `kind`, early-stopped on the validation RankIC."""
        target = targets[kind]
        usable = panel.tradable & np.isfinite(target)
        x_train, y_train = build_matrix(fs, usable, train_cols), target[:, train_cols][usable[:, train_cols]]
        x_val, y_val = build_matrix(fs, usable, val_cols), target[:, val_cols][usable[:, val_cols]]
        val_cells = usable[:, val_cols]

        def rank_ic_metric(preds: np.ndarray, _data: lgb.Dataset) -> tuple[str, float, bool]:
            grid = np.full(val_cells.shape, np.nan)
            if preds.ndim == 2:
                preds = preds @ np.array([-1.0, 0.0, 1.0])
            grid[val_cells] = preds
            return "rank_ic", float(np.nanmean(daily_rank_ic(grid, val_forward))), True

        params = {
            "objective": "multiclass" if kind == "class" else "regression",
            "learning_rate": args.lr,
            "num_leaves": args.leaves,
            "min_data_in_leaf": args.min_leaf,
            "feature_fraction": args.ff,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": args.l2,
            "max_bin": 127,
            "num_threads": 2,
            "verbose": -1,
            "metric": "None",
            "seed": seed,
            "bagging_seed": seed,
            "feature_fraction_seed": seed,
        }
        if kind == "class":
            params["num_class"] = 3
        t1 = time.time()
        train_set = lgb.Dataset(x_train, y_train, feature_name=fs.names, free_raw_data=False)
        val_set = lgb.Dataset(x_val, y_val, reference=train_set)
        model = lgb.train(
            params,
            train_set,
            num_boost_round=1000,
            valid_sets=[val_set],
            feval=rank_ic_metric,
            callbacks=[lgb.early_stopping(50, verbose=False)],
        )
        return model, time.time() - t1

    baselines = {}
    for name, pred in (("momentum_ret20", raw.feature("ret_20")), ("reversal_-ret5", -raw.feature("ret_5"))):
        baselines[name] = {"val": summary(daily_rank_ic(pred[:, val_cols], forward[:, val_cols]))}
        if args.eval:
            baselines[name]["eval"] = summary(daily_rank_ic(pred[:, eval_cols], forward[:, eval_cols]))

    kinds = ["rank", "class"] if args.target == "blend" else [args.target]
    for seed in args.seeds:
        members = [fit_member(kind, seed) for kind in kinds]
        train_s = sum(seconds for _, seconds in members)

        def blended(cols: np.ndarray, members: list[tuple[lgb.Booster, float]] = members) -> np.ndarray:
            """Mean of the members' per-date ranks (a single member: its raw prediction)."""
            grids = [predict_grid(m, cols, m.best_iteration) for m, _ in members]
            if len(grids) == 1:
                return grids[0]
            return np.mean([cross_sectional_rank(g) for g in grids], axis=0)

        model = members[0][0]
        result = {
            "tag": args.tag,
            "features": args.features,
            "n_features": len(fs.names),
            "target": args.target,
            "leaves": args.leaves,
            "min_leaf": args.min_leaf,
            "lr": args.lr,
            "l2": args.l2,
            "ff": args.ff,
            "date_step": args.date_step,
            "drop": args.drop,
            "seed": seed,
            "train_rows": int(build_matrix(fs, panel.tradable & np.isfinite(targets[kinds[0]]), train_cols).shape[0]),
            "best_iter": [m.best_iteration for m, _ in members],
            "prep_s": round(prep_s, 1),
            "train_s": round(train_s, 1),
            "val": summary(daily_rank_ic(blended(val_cols), forward[:, val_cols])),
        }
        if args.eval:
            result["eval"] = summary(daily_rank_ic(blended(eval_cols), forward[:, eval_cols]))
        gain = model.feature_importance("gain")
        top = np.argsort(gain)[::-1][:10]
        result["top_features"] = [fs.names[i] for i in top]
        result["baselines"] = baselines
        line = json.dumps(result)
        print(line, flush=True)
        with open("/tmp/probe_runs.jsonl", "a") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
