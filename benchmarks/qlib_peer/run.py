#!/usr/bin/env python3
"""tg beside Qlib's LightGBM/Alpha158, scored by Qlib's own IC analysis and TopkDropout backtest, in one run.

For each seed, on the same data and splits (train ≤ 2021, valid 2022, calibration 2023 for tg; the window
2024-01-02 .. 2025-10-31 never used for a choice):
  tg      `tg train data=cn_daily train.seed=S`, then `tg evaluate eval.top_k=50 eval.drop=5`: tg's predictions
          (predictions.csv, column `score`) and tg's own backtest of them
  Qlib    `qlib_side.py train --seed S`: Qlib's LightGBM on Alpha158 (without $vwap), Qlib's example settings
then Qlib's `calc_ic` (5-day and next-day labels) and `TopkDropout(50, 5)` backtest with costs (SH000300
benchmark, Qlib's example exchange) score tg's predictions, Qlib's, and the rev5 / mom20 baselines. Printed:
every figure per seed and as means, tg's own backtest next to Qlib's on the same predictions, and each side's
train wall time and peak memory.

The Qlib side runs in its own virtual environment (`benchmarks/qlib_peer/.venv`, built on first use from
`requirements.txt`; pyqlib is not a dependency of tg).

Run from the repository root with tg's environment: `python benchmarks/qlib_peer/run.py [--seeds 0 1 2]`
(about 4 minutes a seed on 2 cores, plus ~5 minutes for the first build of the Qlib environment).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from env import ensure_env  # noqa: E402 - the Qlib environment builder beside this file

TG = Path(sys.executable).parent / "tg"
DATA = ROOT.parent / "shared" / "data" / "cn_daily"
WINDOW = ("2024-01-02", "2025-10-31")
WORK = HERE / ".work"


def measured(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run `command`; its result, wall seconds and peak RSS in MB (the child and what it waited for)."""
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        # TG_HOME: each tg project is its own, not the checkout its directory lies in (tg finds a project upwards)
        env = {**os.environ, "TG_HOME": str(cwd)}
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
    if done.returncode != 0:
        sys.exit(f"qlib_peer: {' '.join(command[:3])} … failed: {done.stderr.strip()[-800:]}")
    return done, seconds, usage.ru_maxrss / 1024


def last_json(text: str) -> Any:
    return json.loads(text.strip().splitlines()[-1])


def next_session(data: Path) -> str:
    """The session after the data's last day (Qlib's backtest needs one more than the data has)."""
    from tg.data.exchange_calendar import load_calendar

    last = (data / "calendars" / "day.txt").read_text().split()[-1]
    return load_calendar(None).next_sessions(date.fromisoformat(last), 1)[0].isoformat()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=DATA, help="a Qlib directory (default ../shared/data/cn_daily)")
    parser.add_argument("--topk", type=int, default=50)
    parser.add_argument("--n-drop", type=int, default=5)
    parser.add_argument("overrides", nargs="*", help="tg overrides for train and evaluate")
    args = parser.parse_args()
    data = args.data.resolve()
    if not (data / "calendars" / "day.txt").is_file():
        sys.exit(f"qlib_peer: {data} is not a Qlib directory (no calendars/day.txt)")
    print("Qlib environment …", flush=True)
    began = time.perf_counter()
    qlib_python = str(ensure_env())
    print(f"  {qlib_python} ready in {time.perf_counter() - began:.0f} s", flush=True)
    WORK.mkdir(exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    side = [qlib_python, str(HERE / "qlib_side.py")]
    tg_common = [f"data.root={data}", "data.universe=all", *args.overrides]
    evaluate_args = [f"eval.start={WINDOW[0]}", f"eval.end={WINDOW[1]}", f"eval.top_k={args.topk}"]
    evaluate_args.append(f"eval.drop={args.n_drop}")

    preds: dict[str, Path] = {}
    cost: dict[str, list[tuple[float, float]]] = {"tg": [], "qlib": []}
    tg_own: dict[str, dict[str, Any]] = {}
    provider = run / "provider"
    for seed in args.seeds:
        project = run / f"tg-{seed}"
        project.mkdir()
        print(f"seed {seed}: tg train …", flush=True)
        trained, seconds, peak = measured(
            [str(TG), "train", "--no-progress", "--json", f"train.seed={seed}", *tg_common], project
        )
        cost["tg"].append((seconds, peak))
        info = json.loads(trained.stdout)
        parts = ", ".join(f"{name} {m['seconds']} s" for name, m in info["members"].items())
        print(f"  {seconds:.0f} s, peak {peak:,.0f} MB (members: {parts})", flush=True)
        evaluated, _, _ = measured([str(TG), "evaluate", "--json", *tg_common, *evaluate_args], project)
        report = json.loads(evaluated.stdout)
        preds[f"tg_{seed}"] = Path(report["output"]) / "predictions.csv"
        tg_own[f"tg_{seed}"] = report["backtest"]["ensemble"]
        if not provider.exists():
            universe = run / "universe.txt"
            universe.write_text("\n".join(info["data"]["universe"]) + "\n")
            measured(
                [*side, "prepare", "--source", str(data), "--out", str(provider)]
                + ["--next-session", next_session(data), "--universe-file", str(universe)],
                WORK,
            )
        print(f"seed {seed}: Qlib LightGBM/Alpha158 …", flush=True)
        out = run / f"qlib_{seed}.csv"
        qlib, seconds, peak = measured(
            [*side, "train", "--provider", str(provider), "--seed", str(seed), "--out", str(out)], WORK
        )
        cost["qlib"].append((seconds, peak))
        print(f"  {seconds:.0f} s, peak {peak:,.0f} MB ({last_json(qlib.stdout)})", flush=True)
        preds[f"qlib_{seed}"] = out

    print("scoring with Qlib's calc_ic and TopkDropout backtest …", flush=True)
    scored, _, _ = measured(
        [*side, "score", "--provider", str(provider), "--baselines", "--start", WINDOW[0], "--end", WINDOW[1]]
        + ["--topk", str(args.topk), "--n-drop", str(args.n_drop), "--daily-out", str(run / "daily")]
        + [item for name, path in preds.items() for item in ("--pred", f"{name}={path}")],
        WORK,
    )
    scores = last_json(scored.stdout)
    results = {"seeds": args.seeds, "scores": scores, "tg_backtest": tg_own, "cost": cost, "overrides": args.overrides}
    (run / "results.json").write_text(json.dumps(results, indent=1))
    print_table(scores, tg_own, cost, args)
    print(f"\nfiles: {run}")
    return 0


COLUMNS = (
    ("IC 5d", lambda s: s["label5"]["ic"], "{:.4f}"),
    ("RankIC 5d", lambda s: s["label5"]["rank_ic"], "{:.4f}"),
    ("IC 1d", lambda s: s["label1"]["ic"], "{:.4f}"),
    ("RankIC 1d", lambda s: s["label1"]["rank_ic"], "{:.4f}"),
    ("top50-all bp/d", lambda s: s["top_minus_all_bp_per_day"], "{:.1f}"),
    ("excess %/yr", lambda s: s["backtest"]["excess_with_cost"]["annualized_return"] * 100, "{:.1f}"),
    ("IR", lambda s: s["backtest"]["excess_with_cost"]["information_ratio"], "{:.2f}"),
    ("no-cost %/yr", lambda s: s["backtest"]["excess_without_cost"]["annualized_return"] * 100, "{:.1f}"),
)


def print_table(
    scores: dict[str, Any], tg_own: dict[str, Any], cost: dict[str, list[tuple[float, float]]], args: Any
) -> None:
    print(f"\nwindow {WINDOW[0]} .. {WINDOW[1]}; Qlib's calc_ic and TopkDropout({args.topk}, {args.n_drop}) with cost")
    print(f"{'scorer':<10}" + "".join(f"{title:>16}" for title, _, _ in COLUMNS))
    means: dict[str, list[float]] = {}
    for name, entry in scores.items():
        values = [float(get(entry)) for _, get, _ in COLUMNS]
        print(f"{name:<10}" + "".join(f"{fmt.format(v):>16}" for v, (_, _, fmt) in zip(values, COLUMNS, strict=True)))
        group = name.split("_")[0]
        means.setdefault(group, []).append(values)  # type: ignore[arg-type]
    print()
    for group in ("tg", "qlib", "rev5", "mom20"):
        if group in means:
            mean = np.mean(np.array(means[group]), axis=0)
            cells = "".join(f"{fmt.format(v):>16}" for v, (_, _, fmt) in zip(mean, COLUMNS, strict=True))
            print(f"{group + ' mean':<10}{cells}")
    if "tg" in means and "qlib" in means:
        tg, qlib = np.mean(np.array(means["tg"]), axis=0), np.mean(np.array(means["qlib"]), axis=0)
        print(
            f"{'tg / qlib':<10}"
            + "".join(f"{t / q:>16.2f}" if q else f"{'-':>16}" for t, q in zip(tg, qlib, strict=True))
        )
    print("\ntg's own backtest (tg evaluate) of the same predictions vs Qlib's:")
    for name, own in tg_own.items():
        peer = scores[name]["backtest"]["excess_with_cost"]["annualized_return"]
        mine = own["annual_excess_return"]
        print(
            f"  {name}: tg {mine * 100:+.2f} %/yr, Qlib {peer * 100:+.2f} %/yr, difference {(mine - peer) * 100:+.2f}"
        )
    for side in ("tg", "qlib"):
        walls, peaks = zip(*cost[side], strict=True)
        print(f"train {side}: wall {np.mean(walls):.0f} s, peak memory {np.mean(peaks):,.0f} MB (mean of {len(walls)})")
    (tw, tp), (qw, qp) = (np.mean(np.array(cost[s]), axis=0) for s in ("tg", "qlib"))
    print(f"tg / Qlib: wall {tw / qw:.2f}, memory {tp / qp:.2f}")
    print(f"\nreproduce: python benchmarks/qlib_peer/run.py --seeds {' '.join(map(str, args.seeds))}", end="")
    print(f" {' '.join(args.overrides)}" if args.overrides else "")


if __name__ == "__main__":
    raise SystemExit(main())
