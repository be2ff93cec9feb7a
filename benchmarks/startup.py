#!/usr/bin/env python3
"""Startup benchmark: median wall time of `tg --help`, `tg health --json`, `tg doctor --json`,
each beside `python -c pass`, measured side by side in one run (interleaved rounds).

Run from the repository root: `python benchmarks/startup.py [--rounds 21]`.
The config cache is warmed first (one run each), as on an operator's machine after the first
command; `--cold` measures with the cache disabled (TG_CONFIG_CACHE=0) as well.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TG = str(Path(sys.executable).parent / "tg")
TARGETS = {"tg health --json": 0.08, "tg doctor --json": 0.5}  # health: issue 12's budget


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--cold", action="store_true", help="also measure with the config cache disabled")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    env["TG_CACHE_DIR"] = tempfile.mkdtemp(prefix="tg-bench-cache-")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tg --help": [TG, "--help"],
        "tg health --json": [TG, "health", "--json"],
        "tg doctor --json": [TG, "doctor", "--json"],
    }
    envs = {name: env for name in cases}
    if args.cold:
        cold = dict(env, TG_CONFIG_CACHE="0")
        cases["tg health --json (no config cache)"] = cases["tg health --json"]
        envs["tg health --json (no config cache)"] = cold
    for name, argv in cases.items():  # warm the OS page cache and the config cache
        timed(argv, envs[name])
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, argv in cases.items():
            samples[name].append(timed(argv, envs[name]))
    base = statistics.median(samples["python -c pass"])
    python = sys.version.split()[0]
    print(f"startup benchmark: {args.rounds} interleaved rounds, {os.cpu_count()} CPUs, python {python}")
    print(f"{'command':38} {'median s':>9} {'p90 s':>8} {'x python':>9} {'target':>8}")
    failed = False
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        target = TARGETS.get(name)
        mark = "" if target is None else (f"<= {target}" + (" ok" if median <= target else " MISS"))
        failed |= target is not None and median > target
        print(f"{name:38} {median:9.4f} {p90:8.4f} {median / base:9.1f} {mark:>8}")
    print("reproduce: python benchmarks/startup.py" + (" --cold" if args.cold else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
