#!/usr/bin/env python3
"""Model quality on the issue's protocol, for several seeds, every baseline from the same runs.

For each seed: `tg train data=cn_daily train.seed=S` (train ≤ 2021-12-31, valid 2022, calibration
2023) then `tg evaluate` on 2024-01-02 .. 2025-10-31 (never used for any choice). Prints, per
scorer, RankIC / RankICIR / IC / ECE / top-k annual excess return per seed and their mean.

Run from the repository root: `python benchmarks/quality.py [--seeds 0 1 2] [overrides…]`
(about 3-4 minutes per seed on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TG = Path(sys.executable).parent / "tg"
DATA = ROOT.parent / "shared" / "data" / "cn_daily"


def tg(args: list[str], cwd: Path) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run([str(TG), *args, "--json"], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"quality: tg {args[0]} failed: {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=DATA, help="Qlib directory (default ../shared/data/cn_daily)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for seed in args.seeds:
        project = Path(tempfile.mkdtemp(prefix=f"tg-quality-{seed}-"))
        common = [f"data.root={args.data.resolve()}", *args.overrides]
        began = time.perf_counter()
        trained = tg(["train", "--no-progress", f"train.seed={seed}", *common], project)
        seconds = time.perf_counter() - began
        report = tg(["evaluate", *common], project)
        print(
            f"seed {seed}: trained in {seconds:.0f} s ({trained['rows']}), evaluated {report['rows']} symbol-days "
            f"{report['window'][0]} .. {report['window'][1]}, forecast q10..q90 coverage "
            f"{report['forecast_coverage']['q10_q90_inside']:.3f}; project {project}",
            flush=True,
        )
        print(f"  weights {json.dumps(trained['weights']['score_weights'])}", flush=True)
        for row in report["table"]:
            rows.setdefault(row["name"], []).append(row)
    print()
    header = f"{'scorer':<12} {'RankIC':>22} {'RankICIR':>22} {'IC':>8} {'ECE':>7} {'excess/yr':>10}"
    print(header)
    for name, seeds in rows.items():

        def cell(key: str, seeds: list[dict] = seeds) -> str:  # type: ignore[type-arg]
            values = [r[key] for r in seeds if r[key] is not None]
            if not values:
                return "-"
            per = "/".join(f"{v:.3f}" for v in values)
            return f"{np.mean(values):.4f} ({per})" if len(values) > 1 else f"{values[0]:.4f}"

        def mean(key: str, seeds: list[dict] = seeds, pct: bool = False) -> str:  # type: ignore[type-arg]
            values = [r[key] for r in seeds if r[key] is not None]
            if not values:
                return "-"
            return f"{np.mean(values) * 100:+.1f}%" if pct else f"{np.mean(values):.4f}"

        print(
            f"{name:<12} {cell('rank_ic'):>22} {cell('rank_icir'):>22} {mean('ic'):>8} {mean('ece'):>7} "
            f"{mean('annual_excess_return', pct=True):>10}"
        )
    seeds = " ".join(map(str, args.seeds))
    print(f"\nreproduce: python benchmarks/quality.py --seeds {seeds} {' '.join(args.overrides)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
