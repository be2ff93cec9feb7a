#!/usr/bin/env python3
"""Startup benchmark: median wall time of `tg --help`, `tg health --json`, `tg doctor --json`,
each beside `python -c pass`, measured side by side in one run (interleaved rounds).

Run from the repository root: `python benchmarks/startup.py [--rounds 21] [--baseline fc69739]`.
The config cache is warmed first (one run each), as on an operator's machine after the first
command; `--cold` measures with the cache disabled (TG_CONFIG_CACHE=0) as well. The package is
byte-compiled first (`compileall`), as pip does on install: with PYTHONDONTWRITEBYTECODE set, an
editable checkout would otherwise recompile its modules on every start.

`tg health`'s budget (issue 12) is 0.08 s on the machine that measured 0.104 s for commit fc69739
(2026-11-24): start-up times on this shared machine vary ~2x from day to day, so `--baseline REF` also
runs that commit's `tg health --json` (its `tg/` and `conf/` from `git archive`, on this venv's libraries) in the same
rounds, and the budget is checked as the ratio 0.08 / 0.104 = 0.77x of the baseline's time as well.
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
HEALTH_RATIO = 0.08 / 0.104  # the budget against fc69739's 0.104 s, measured on the same day


def baseline_script(ref: str, scratch: Path) -> list[str]:
    """A console script like pip's for `tg` at `ref` (its tree unpacked from `git archive`, byte-compiled)."""
    tree = scratch / f"tg-{ref}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", ref, "tg", "conf"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "tg")], check=True)
    script = scratch / f"tg-{ref}.py"
    script.write_text(
        f"import re\nimport sys\nsys.path.insert(0, {str(tree)!r})\nfrom tg.cli import main\nsys.exit(main())\n"
    )
    return [sys.executable, str(script)]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--cold", action="store_true", help="also measure with the config cache disabled")
    parser.add_argument("--baseline", metavar="REF", help="also time `tg health --json` of this commit")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tg")], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    env["TG_CACHE_DIR"] = tempfile.mkdtemp(prefix="tg-bench-cache-")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tg --help": [TG, "--help"],
        "tg health --json": [TG, "health", "--json"],
        "tg doctor --json": [TG, "doctor", "--json"],
    }
    if args.baseline:
        old = baseline_script(args.baseline, Path(tempfile.mkdtemp(prefix="tg-bench-baseline-")))
        cases[f"tg health --json at {args.baseline}"] = [*old, "health", "--json"]
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
    if args.baseline:
        now = statistics.median(samples["tg health --json"])
        then = statistics.median(samples[f"tg health --json at {args.baseline}"])
        met = now <= HEALTH_RATIO * then
        failed |= not met
        print(
            f"tg health / its time at {args.baseline}: {now / then:.2f}x "
            f"(budget {HEALTH_RATIO:.2f}x: 0.08 s where {args.baseline} took 0.104 s) {'ok' if met else 'MISS'}"
        )
    flags = (" --cold" if args.cold else "") + (f" --baseline {args.baseline}" if args.baseline else "")
    print("reproduce: python benchmarks/startup.py" + flags)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
