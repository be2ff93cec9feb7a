#!/usr/bin/env python3
"""Model benchmark, measured in one run in a scratch project directory:

1. training time of the default config (`tg train`, default ensemble, embedded data);
2. `tg predict 600519 --json` as a new process each time (cold): median and worst of N runs,
   beside `python -c pass` for scale;
3. warm in-process predictions (a `Predictor` kept loaded): p50/p99 over every symbol of the
   universe on one date with the answer cache cleared (the ensemble runs each call), a new date
   each call (bars and features recomputed), and answer-cache hits;
4. `tg evaluate` throughput in symbol-days per second (eval window 2024-01-02 .. 2025-10-31).

Run from the repository root: `python benchmarks/models.py [--runs N] [--skip-train] [overrides…]`.
Overrides go to `tg train` (e.g. `data=cn_daily` to train on the full research set).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

TG = Path(sys.executable).parent / "tg"


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    began = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"benchmark: {' '.join(args[:3])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold predict runs")
    parser.add_argument("--project", type=Path, help="reuse this project directory (and its trained model)")
    parser.add_argument("--skip-train", action="store_true", help="use the model already in --project")
    parser.add_argument("overrides", nargs="*", help="tg train overrides")
    args = parser.parse_args()
    project = args.project or Path(tempfile.mkdtemp(prefix="tg-bench-models-"))
    project.mkdir(parents=True, exist_ok=True)
    print(f"project: {project}")

    if not args.skip_train:
        seconds, out = run([str(TG), "train", "--json", "--no-progress", *args.overrides], project)
        trained = json.loads(out)
        members = {k: v["seconds"] for k, v in trained["members"].items()}
        print(f"train (default config{' + ' + ' '.join(args.overrides) if args.overrides else ''}): {seconds:.1f} s")
        print(f"  per member: {members}; rows {trained['rows']}")

    baseline = [run([sys.executable, "-c", "pass"], project)[0] for _ in range(5)]
    cold = [run([str(TG), "predict", "600519", "--json"], project)[0] for _ in range(args.runs)]
    print(
        f"predict cold (new process, {args.runs} runs): median {statistics.median(cold):.3f} s, "
        f"max {max(cold):.3f} s; python -c pass {statistics.median(baseline):.3f} s"
    )

    from tg.config.loader import load_config
    from tg.models.predictor import Predictor

    loaded = load_config([], cwd=project)
    predictor = Predictor(loaded.path("models"))  # bars from the data the model was trained on
    symbols = list(predictor.universe)
    day = date(2025, 10, 31)
    predictor.predict(symbols[0], day)  # load the window of that date once
    same_date = []
    for _ in range(10):  # every symbol of the universe, answer cache cleared: the ensemble runs each time
        predictor._cache.clear()
        for symbol in symbols:
            began = time.perf_counter()
            predictor.predict(symbol, day)
            same_date.append((time.perf_counter() - began) * 1000)
    days = [d.astype(object) for d in np.arange(np.datetime64("2024-01-02"), np.datetime64("2025-10-31"))]
    days = [d for d in days if d.weekday() < 5][:60]
    new_date = []
    for d in days:  # a new date each call: bars loaded and features computed again
        began = time.perf_counter()
        predictor.predict("600519", d)
        new_date.append((time.perf_counter() - began) * 1000)
    cached = []
    for _ in range(1000):
        began = time.perf_counter()
        answer = predictor.predict("600519", day)
        cached.append((time.perf_counter() - began) * 1000)
    assert answer.cached
    print(
        f"predict warm in-process, {len(same_date)} calls over {len(symbols)} symbols on one date: "
        f"p50 {np.percentile(same_date, 50):.2f} ms, p99 {np.percentile(same_date, 99):.2f} ms (target p99 <= 50 ms)"
    )
    print(
        f"  a new date each call ({len(new_date)} dates, window reloaded): p50 {np.percentile(new_date, 50):.1f} ms, "
        f"p99 {np.percentile(new_date, 99):.1f} ms; answer-cache hit: p50 {np.percentile(cached, 50) * 1000:.0f} us"
    )

    seconds, out = run([str(TG), "evaluate", "--json"], project)
    report = json.loads(out)
    print(
        f"evaluate {report['window'][0]} .. {report['window'][1]}: {report['rows']} symbol-days in "
        f"{report['seconds']:.2f} s of evaluation = {report['throughput_symbol_days_per_s']:,.0f} symbol-days/s "
        f"(whole command {seconds:.1f} s)"
    )
    print(f"reproduce: python benchmarks/models.py {' '.join(args.overrides)} (measured {date.today()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
