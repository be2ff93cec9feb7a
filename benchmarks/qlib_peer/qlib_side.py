#!/usr/bin/env python3
"""The Qlib side of the peer benchmark; run it with the Qlib venv's python (see env.py).

  prepare  a Qlib provider directory from a Qlib-layout source (symlinked features, a future
           calendar one session longer, instruments/tg.txt = the universe)
  train    Qlib's LightGBM on Alpha158 (Qlib's example settings, no $vwap), test-segment
           predictions to CSV (date,symbol,score)
  score    any prediction CSVs (and the rev5 / mom20 baselines) with Qlib's calc_ic and Qlib's
           TopkDropout backtest with costs

Only the result goes to stdout: one JSON object on the last line. Everything else (Qlib's logging,
LightGBM, warnings) goes to stderr. Bad arguments: a one-line error and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from array import array
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
UNIVERSE = "tg"
INDEX_CODE = re.compile(r"^(SH000\d{3}|SZ399\d{3})$")
SYMBOL = re.compile(r"^(SH|SZ|BJ)\d{6}$")

# Qlib's examples/benchmarks/LightGBM/workflow_config_lightgbm_Alpha158.yaml (num_threads aside)
LGB_PARAMS = {
    "loss": "mse",
    "colsample_bytree": 0.8879,
    "learning_rate": 0.2,
    "subsample": 0.8789,
    "lambda_l1": 205.6999,
    "lambda_l2": 580.9768,
    "max_depth": 8,
    "num_leaves": 210,
}
SEGMENTS = {
    "train": ("2010-01-01", "2021-12-31"),
    "valid": ("2022-01-01", "2022-12-31"),
    "test": ("2024-01-02", "2025-10-31"),
}
LABELS = {"label5": "Ref($close, -5)/$close - 1", "label1": "Ref($close, -1)/$close - 1"}
BASELINES = {"rev5": "-1 * ($close/Ref($close, 5) - 1)", "mom20": "$close/Ref($close, 20) - 1"}


class UsageError(Exception):
    """Bad arguments or inputs: one line on stderr, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


# ----------------------------------------------------------------------------------------- helpers


def _limit_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS"):
        os.environ[var] = str(n)


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer seed: {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"seed out of range [0, 2^31): {text!r}")
    return value


def _peak_rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest child (Qlib's joblib workers), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(own, 1), round(children, 1)


def _clean(value):
    """JSON-safe: NaN/inf become null, numpy scalars plain floats."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _read_instruments(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip():
            rows.append((parts[0].strip().upper(), parts[1].strip(), parts[2].strip()))
    return rows


def _check_provider(provider: Path) -> None:
    for rel in ("calendars/day.txt", "calendars/day_future.txt", f"instruments/{UNIVERSE}.txt", "features"):
        if not (provider / rel).exists():
            raise UsageError(f"--provider {provider}: no {rel} (run `prepare` first)")


def _write_atomic(path: Path, text: str) -> None:
    if path.is_file() and not path.is_symlink() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _init_qlib(provider: Path, kernels: int, mlflow_dir: Path | None = None) -> None:
    import qlib

    kwargs = {
        "provider_uri": str(provider),
        "region": "cn",
        "expression_cache": None,  # no disk caches: every run reads the bins
        "dataset_cache": None,
        "kernels": kernels,
    }
    if mlflow_dir is not None:
        kwargs["exp_manager"] = {
            "class": "MLflowExpManager",
            "module_path": "qlib.workflow.expm",
            "kwargs": {"uri": mlflow_dir.as_uri(), "default_exp_name": "qlib_peer"},
        }
    qlib.init(**kwargs)


# ----------------------------------------------------------------------------------------- prepare


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _read_bin(path: Path) -> array:
    values = array("f")
    values.frombytes(path.read_bytes())
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _rewritten_bin(path: Path, scale: float, missing: set[int]) -> bytes:
    """The bin with its values times `scale` and NaN on the calendar days in `missing`."""
    values = _read_bin(path)
    start = int(values[0])  # values[0]: the calendar index of the first value
    nan = float("nan")
    body = [nan if start + i in missing else v * scale for i, v in enumerate(values[1:])]
    out = array("f", [values[0], *body])
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def _suspended_days(feature_dir: Path) -> set[int]:
    """Calendar indices of the days without trading (volume 0 or missing). cn_daily stores the last close on
    those days; Qlib's own dumps have no bar there, and Qlib's exchange takes a day with a close as tradable,
    so it would buy and sell suspended stocks (tg's backtest does not): they are made missing, as in Qlib's data."""
    path = feature_dir / "volume.day.bin"
    if not path.exists():
        return set()
    values = _read_bin(path)
    start = int(values[0])
    return {start + i for i, v in enumerate(values[1:]) if not v > 0}


def _change_scale(feature_dir: Path) -> float:
    """1.0 when $change is a fraction (Qlib's convention), 0.01 when it is in percent.

    Decided from the data: the median of $change / ($close / Ref($close, 1) - 1) over the days
    with a move of at least 0.5 % (the ratio is 1 or 100; ex-dividend days are outliers)."""
    change_path, close_path = feature_dir / "change.day.bin", feature_dir / "close.day.bin"
    if not change_path.exists() or not close_path.exists():
        return 1.0
    change, close = _read_bin(change_path), _read_bin(close_path)
    offset = int(change[0]) - int(close[0])  # both start at their own calendar index
    ratios = []
    for i in range(2, len(close)):
        j = i - offset
        if not 1 <= j < len(change):
            continue
        prev, now, chg = close[i - 1], close[i], change[j]
        if not (prev > 0 and now > 0 and math.isfinite(chg)):
            continue
        move = now / prev - 1
        if abs(move) >= 0.005:
            ratios.append(chg / move)
    if len(ratios) < 20:
        return 1.0
    ratios.sort()
    median = ratios[len(ratios) // 2]
    if 0.9 <= median <= 1.1:
        return 1.0
    if 90 <= median <= 110:
        return 0.01
    raise UsageError(
        f"{feature_dir.name}: $change is neither a fraction nor a percent of the close move (x{median:.3g})"
    )


def cmd_prepare(args: argparse.Namespace) -> dict:
    source, out = args.source.resolve(), args.out.resolve()
    for rel in ("calendars/day.txt", "instruments/all.txt", "features"):
        if not (source / rel).exists():
            raise UsageError(f"--source {source}: no {rel}")
    calendar = [d.strip() for d in (source / "calendars/day.txt").read_text().splitlines() if d.strip()]
    if not calendar:
        raise UsageError(f"--source {source}: empty calendars/day.txt")
    if args.next_session <= calendar[-1]:
        raise UsageError(f"--next-session {args.next_session} is not after the last session {calendar[-1]}")
    all_rows = _read_instruments(source / "instruments/all.txt")
    spans: dict[str, list[tuple[str, str]]] = {}
    for symbol, start, end in all_rows:
        spans.setdefault(symbol, []).append((start, end))

    if args.universe_file is not None:
        if not args.universe_file.is_file():
            raise UsageError(f"--universe-file {args.universe_file}: no such file")
        wanted = []
        for line in args.universe_file.read_text().splitlines():
            symbol = line.split("#", 1)[0].strip().upper()
            if symbol and symbol not in wanted:
                wanted.append(symbol)
        unknown = [s for s in wanted if s not in spans]
        if unknown:
            raise UsageError(f"--universe-file: {len(unknown)} symbol(s) not in all.txt: {', '.join(unknown[:10])}")
        if not wanted:
            raise UsageError(f"--universe-file {args.universe_file}: no symbols")
    else:
        wanted = [s for s in spans if not INDEX_CODE.match(s)]
    wanted = sorted(wanted)

    (out / "calendars").mkdir(parents=True, exist_ok=True)
    (out / "instruments").mkdir(exist_ok=True)
    (out / "features").mkdir(exist_ok=True)

    linked = rescaled = 0
    percent_symbols = suspended_symbols = 0
    for feature_dir in sorted((source / "features").iterdir()):
        if not feature_dir.is_dir():
            continue
        target = out / "features" / feature_dir.name.lower()
        scale = _change_scale(feature_dir)
        missing = _suspended_days(feature_dir)
        if scale == 1.0 and not missing:  # Qlib's conventions already: the directory itself is linked
            if not (target.is_symlink() and os.readlink(target) == str(feature_dir)):
                _remove(target)
                target.symlink_to(feature_dir, target_is_directory=True)
                linked += 1
            continue
        # $change in percent (Qlib's exchange compares it with limit_threshold as a fraction, 0.095) or
        # suspended days: this symbol gets a real directory, its bins rewritten where they change
        percent_symbols += scale != 1.0
        suspended_symbols += bool(missing)
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.mkdir(exist_ok=True)
        for bin_file in sorted(feature_dir.iterdir()):
            link = target / bin_file.name.lower()
            factor = scale if bin_file.name.lower() == "change.day.bin" else 1.0
            if factor != 1.0 or missing:
                data = _rewritten_bin(bin_file, factor, missing)
                if not (link.is_file() and not link.is_symlink() and link.read_bytes() == data):
                    _remove(link)
                    tmp = link.with_name(link.name + ".tmp")
                    tmp.write_bytes(data)
                    os.replace(tmp, link)
                    rescaled += 1
            elif not (link.is_symlink() and os.readlink(link) == str(bin_file)):
                _remove(link)
                link.symlink_to(bin_file)
                linked += 1

    day_text = "\n".join(calendar) + "\n"
    _write_atomic(out / "calendars/day.txt", day_text)
    _write_atomic(out / "calendars/day_future.txt", day_text + args.next_session + "\n")
    for inst_file in sorted((source / "instruments").glob("*.txt")):  # all.txt (the exchange's codes), csi300.txt
        if inst_file.name != f"{UNIVERSE}.txt":
            _write_atomic(out / "instruments" / inst_file.name, inst_file.read_text())
    tg_lines = [f"{s}\t{start}\t{end}" for s in wanted for start, end in spans[s]]
    _write_atomic(out / "instruments" / f"{UNIVERSE}.txt", "\n".join(tg_lines) + "\n")
    missing = [s for s in wanted if not (out / "features" / s.lower()).is_dir()]
    if missing:
        raise UsageError(f"{len(missing)} universe symbol(s) without features: {', '.join(missing[:10])}")
    return {
        "provider": str(out),
        "universe": len(wanted),
        "sessions": len(calendar),
        "last_session": calendar[-1],
        "next_session": args.next_session,
        "change_in_percent_rescaled": percent_symbols,
        "suspended_days_made_missing": suspended_symbols,
        "links_made": linked,
        "change_bins_written": rescaled,
    }


# ----------------------------------------------------------------------------------------- train


def _handler_class():
    from qlib.contrib.data.handler import Alpha158
    from qlib.contrib.data.loader import Alpha158DL

    class Alpha158NoVWAP(Alpha158):
        """Alpha158 without $vwap (our data has none): the price block keeps OPEN0, HIGH0, LOW0."""

        def get_feature_config(self):
            conf = {"kbar": {}, "price": {"windows": [0], "feature": ["OPEN", "HIGH", "LOW"]}, "rolling": {}}
            return Alpha158DL.get_feature_config(conf)

    return Alpha158NoVWAP


def cmd_train(args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    provider = args.provider.resolve()
    _check_provider(provider)
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: no such directory {args.out.parent}")
    args.out = args.out.resolve()
    WORK.mkdir(exist_ok=True)
    mlflow_dir = Path(tempfile.mkdtemp(prefix="mlruns-", dir=WORK))
    cwd = os.getcwd()
    # Qlib's MLflowExpManager takes its FileLock at the URI's path with the leading "/" stripped,
    # i.e. relative to the working directory: from "/" that is inside mlflow_dir, removed below
    os.chdir("/")
    try:
        return _train(args, provider, mlflow_dir, began)
    finally:
        os.chdir(cwd)
        shutil.rmtree(mlflow_dir, ignore_errors=True)


def _train(args: argparse.Namespace, provider: Path, mlflow_dir: Path, began: float) -> dict:
    import numpy as np

    _init_qlib(provider, kernels=args.threads, mlflow_dir=mlflow_dir)
    from qlib.contrib.model.gbdt import LGBModel
    from qlib.data.dataset import DatasetH
    from qlib.workflow import R

    fit_start, fit_end = SEGMENTS["train"]
    infer = (
        [
            {"class": "RobustZScoreNorm", "kwargs": {"fields_group": "feature", "clip_outlier": True}},
            {"class": "Fillna", "kwargs": {"fields_group": "feature"}},
        ]
        if args.feature_norm == "robust"
        else []
    )
    handler = _handler_class()(
        instruments=UNIVERSE,
        start_time=SEGMENTS["train"][0],
        end_time=SEGMENTS["test"][1],
        fit_start_time=fit_start,
        fit_end_time=fit_end,
        infer_processors=infer,
        learn_processors=[
            {"class": "DropnaLabel"},
            {"class": "CSZScoreNorm", "kwargs": {"fields_group": "label"}},
        ],
    )
    dataset = DatasetH(handler=handler, segments={k: list(v) for k, v in SEGMENTS.items()})
    data_seconds = time.perf_counter() - began

    seed = args.seed
    model = LGBModel(
        **LGB_PARAMS,
        num_threads=args.threads,
        seed=seed,
        bagging_seed=seed,
        feature_fraction_seed=seed,
        data_random_seed=seed,
        extra_seed=seed,
        drop_seed=seed,
        objective_seed=seed,
        deterministic=True,
        force_row_wise=True,  # with deterministic: no timing-dependent row/col-wise choice
    )
    fit_began = time.perf_counter()
    with R.start(experiment_name="qlib_peer", recorder_name=f"seed{seed}"):
        model.fit(dataset)  # LGBModel.fit: early stopping 50 on valid, at most 1000 rounds
    fit_seconds = time.perf_counter() - fit_began

    pred = model.predict(dataset, segment="test")
    frame = pred.rename("score").reset_index()
    frame.columns = ["date", "symbol", "score"]
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame["symbol"] = frame["symbol"].str.upper()
    frame = frame.sort_values(["date", "symbol"], kind="mergesort")
    if not np.isfinite(frame["score"].to_numpy()).all():
        raise RuntimeError("non-finite predictions")
    tmp = args.out.with_name(args.out.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, args.out)

    own, children = _peak_rss_mb()
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "fit_seconds": round(fit_seconds, 2),
        "data_seconds": round(data_seconds, 2),
        "peak_rss_mb": own,
        "children_peak_rss_mb": children,
        "trees": int(model.model.best_iteration),
        "features": int(len(dataset.handler.get_cols())) - 1,
        "rows": int(len(frame)),
        "dates": int(frame["date"].nunique()),
        "seed": seed,
        "out": str(args.out),
    }


# ----------------------------------------------------------------------------------------- score


def _read_pred(name: str, path: Path, known: set[str]):
    import pandas as pd

    try:
        frame = pd.read_csv(path, usecols=["date", "symbol", "score"], dtype={"symbol": str})
    except ValueError as exc:
        raise UsageError(f"--pred {name}={path}: {exc}") from None
    frame["symbol"] = frame["symbol"].str.strip().str.upper()
    frame["datetime"] = pd.to_datetime(frame["date"])
    frame = frame.dropna(subset=["score"])
    unknown = sorted(set(frame["symbol"]) - known)
    if unknown:
        print(f"qlib_side: {name}: dropped {len(unknown)} symbol(s) the provider lacks: {unknown[:5]}", file=sys.stderr)
        frame = frame[~frame["symbol"].isin(unknown)]
    if frame.duplicated(["datetime", "symbol"]).any():
        raise UsageError(f"--pred {name}={path}: duplicate (date, symbol) rows")
    series = frame.set_index(["datetime", "symbol"])["score"].astype(float)
    series.index.names = ["datetime", "instrument"]
    return series.sort_index()


def _signal_metrics(pred, labels, topk: int) -> dict:
    import pandas as pd
    from qlib.contrib.eva.alpha import calc_ic

    out = {}
    for name in LABELS:
        label = labels[name].reindex(pred.index)
        ic, ric = calc_ic(pred, label, date_col="datetime", dropna=True)
        out[name] = {
            "ic": ic.mean(),
            "icir": ic.mean() / ic.std(),
            "rank_ic": ric.mean(),
            "rank_icir": ric.mean() / ric.std(),
            "days": int(len(ic)),
        }
    frame = pd.DataFrame({"score": pred, "label1": labels["label1"].reindex(pred.index)}).reset_index()
    spreads = []
    for _, day in frame.groupby("datetime", sort=True):
        if day["label1"].notna().sum() == 0:
            continue
        top = day.sort_values(["score", "instrument"], ascending=[False, True], kind="mergesort").head(topk)
        spreads.append(top["label1"].mean() - day["label1"].mean())
    out["top_minus_all_bp_per_day"] = float(pd.Series(spreads).mean() * 1e4) if spreads else None
    out["top_minus_all_days"] = len(spreads)
    return out


def _backtest(pred, args: argparse.Namespace):
    from qlib.contrib.evaluate import backtest_daily, risk_analysis
    from qlib.contrib.strategy import TopkDropoutStrategy

    strategy = TopkDropoutStrategy(signal=pred, topk=args.topk, n_drop=args.n_drop)
    report, _positions = backtest_daily(
        start_time=args.start,
        end_time=args.end,
        strategy=strategy,
        account=100_000_000,
        benchmark="SH000300",
        exchange_kwargs={
            "limit_threshold": 0.095,
            "deal_price": "close",
            "open_cost": 0.0005,
            "close_cost": 0.0015,
            "min_cost": 5,
        },
    )

    def risk(series) -> dict:
        r = risk_analysis(series, freq="day")["risk"]
        return {k: r[k] for k in ("annualized_return", "information_ratio", "max_drawdown")}

    result = {
        "excess_with_cost": risk(report["return"] - report["bench"] - report["cost"]),
        "excess_without_cost": risk(report["return"] - report["bench"]),
        "mean_turnover": report["turnover"].mean(),
        "bench_annualized_return": risk(report["bench"])["annualized_return"],
        "return_annualized_return": risk(report["return"])["annualized_return"],
        "days": int(len(report)),
    }
    return result, report


def cmd_score(args: argparse.Namespace) -> dict:
    provider = args.provider.resolve()
    _check_provider(provider)
    if args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    preds_in: dict[str, Path] = {}
    for item in args.pred or []:
        name, sep, path = item.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise UsageError(f"--pred {item!r}: expected NAME=PATH.csv")
        if name in preds_in or (args.baselines and name in BASELINES):
            raise UsageError(f"--pred {item!r}: name {name!r} used twice")
        if not Path(path).is_file():
            raise UsageError(f"--pred {item!r}: no such file")
        preds_in[name] = Path(path)
    if not preds_in and not args.baselines:
        raise UsageError("nothing to score: give --pred NAME=PATH.csv and/or --baselines")
    if args.daily_out is not None:
        args.daily_out.mkdir(parents=True, exist_ok=True)

    _init_qlib(provider, kernels=args.threads)
    import pandas as pd
    from qlib.data import D

    known = {p.name.upper() for p in (provider / "features").iterdir() if p.is_dir()}
    preds = {}
    for name, path in preds_in.items():
        pred = _read_pred(name, path, known)
        dt = pred.index.get_level_values("datetime")
        pred = pred[(dt >= pd.Timestamp(args.start)) & (dt <= pd.Timestamp(args.end))]
        if pred.empty:
            raise UsageError(f"--pred {name}={path}: no scores in {args.start}..{args.end}")
        preds[name] = pred

    def features(instruments, fields: dict):
        frame = D.features(instruments, list(fields.values()), start_time=args.start, end_time=args.end, freq="day")
        frame.columns = list(fields)
        return frame.swaplevel().sort_index() if frame.index.names[0] == "instrument" else frame.sort_index()

    if args.baselines:
        base = features(D.instruments(UNIVERSE), BASELINES)
        for name in BASELINES:
            preds[name] = base[name].dropna()
    symbols = sorted({s for p in preds.values() for s in p.index.get_level_values("instrument").unique()})
    labels = features(symbols, LABELS)

    results = {}
    for name, pred in preds.items():
        t0 = time.perf_counter()
        metrics = _signal_metrics(pred, labels, args.topk)
        backtest, report = _backtest(pred, args)
        metrics["backtest"] = backtest
        metrics["rows"] = int(len(pred))
        metrics["seconds"] = round(time.perf_counter() - t0, 2)
        results[name] = metrics
        if args.daily_out is not None:
            daily = report[["return", "bench", "cost", "turnover"]].copy()
            daily.index = pd.DatetimeIndex(daily.index).strftime("%Y-%m-%d")
            daily.index.name = "date"
            daily.to_csv(args.daily_out / f"{name}.csv", float_format="%.10g")
        print(f"qlib_side: scored {name} in {metrics['seconds']} s", file=sys.stderr)
    return results


# ----------------------------------------------------------------------------------------- main


def build_parser() -> Parser:
    parser = Parser(prog="qlib_side.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("prepare", help="make a Qlib provider directory")
    p.add_argument("--source", type=Path, required=True, help="Qlib-layout data (calendars, instruments, features)")
    p.add_argument("--out", type=Path, required=True, help="provider directory to write")
    p.add_argument("--next-session", type=_date, required=True, help="the session after the last one")
    p.add_argument("--universe-file", type=Path, help="symbols, one per line (default: all.txt less indices)")

    p = sub.add_parser("train", help="Qlib LightGBM + Alpha158, test predictions to CSV")
    p.add_argument("--provider", type=Path, required=True)
    p.add_argument("--seed", type=_seed, required=True)
    p.add_argument("--out", type=Path, required=True, help="predictions CSV (date,symbol,score)")
    p.add_argument("--threads", type=_positive, default=2)
    p.add_argument(
        "--feature-norm",
        choices=("robust", "none"),
        default="robust",
        help="infer processors: RobustZScoreNorm(clip)+Fillna (default) or none (Alpha158's own default)",
    )

    p = sub.add_parser("score", help="Qlib IC analysis and TopkDropout backtest of prediction files")
    p.add_argument("--provider", type=Path, required=True)
    p.add_argument("--pred", action="append", metavar="NAME=PATH.csv", help="repeatable")
    p.add_argument("--baselines", action="store_true", help="also score rev5 and mom20")
    p.add_argument("--start", type=_date, default="2024-01-02")
    p.add_argument("--end", type=_date, default="2025-10-31")
    p.add_argument("--topk", type=_positive, default=50)
    p.add_argument("--n-drop", type=_positive, default=5)
    p.add_argument("--daily-out", type=Path, help="write <NAME>.csv daily reports here")
    p.add_argument("--threads", type=_positive, default=2)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "threads", 1) > 2:
            print("qlib_side: note: more than 2 threads requested", file=sys.stderr)
        if args.command == "score" and args.n_drop > args.topk:
            raise UsageError(f"--n-drop {args.n_drop} exceeds --topk {args.topk}")
    except UsageError as exc:
        print(f"qlib_side: error: {exc}", file=sys.stderr)
        return 2
    _limit_threads(getattr(args, "threads", 2))

    # Our stdout carries only the JSON result: everything printed meanwhile (Qlib's model-import
    # notices, LightGBM, C libraries) is sent to stderr, at the descriptor level.
    sys.stdout.flush()
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        handler = {"prepare": cmd_prepare, "train": cmd_train, "score": cmd_score}[args.command]
        result = handler(args)
    except UsageError as exc:
        print(f"qlib_side: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback for the log, one line for the caller
        import traceback

        traceback.print_exc()
        print(f"qlib_side: {args.command} failed: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    result_out.write(json.dumps(_clean(result)) + "\n")
    result_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
