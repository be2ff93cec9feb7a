#!/usr/bin/env python3
"""Sweep benchmark, in a scratch project directory (prints a markdown table):

1. the same 6-job sweep (`tg sweep train model=fast train.seed=0,1,2 data.start=2016-01-01,2018-01-01`, each job a
   real training on the embedded data) under the basic launcher (one job after another), joblib and Ray: wall time
   of the whole command, the sum of the jobs' own seconds, the speed-up over basic, and the overhead per job
   ((wall − Σ job seconds / parallel jobs) / jobs: process start, imports, composing, Ray's start);
2. a synthetic 5,000-symbol feature build (`load_panel` + `compute_features` over a generated Qlib directory):
   the one-pass build of before, the chunked build serially (one core), in threads, and as Ray tasks — wall
   time, and peak memory of the process and of each Ray worker.

Run from the repository root: `python benchmarks/sweep.py [--symbols N] [--days T] [--skip-sweep]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TG = Path(sys.executable).parent / "tg"
SWEEP = ["model=fast", "train.seed=0,1,2", "data.start=2016-01-01,2018-01-01"]


def sweep(launcher: str, project: Path) -> dict[str, float]:
    began = time.perf_counter()
    proc = subprocess.run(
        [str(TG), "sweep", "train", *SWEEP, "--launcher", launcher, "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TG_HOME": str(project)},
    )
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"benchmark: tg sweep --launcher {launcher} failed: {proc.stderr.strip().splitlines()[-1:]}")
    rows = json.loads(proc.stdout)["results"]
    return {"wall": wall, "jobs": len(rows), "job_seconds": sum(row["seconds"] for row in rows)}


def write_qlib(root: Path, symbols: int, days: int) -> None:
    """A synthetic Qlib directory: `symbols` random-walk stocks and the SH000300 index over `days` sessions."""
    rng = np.random.default_rng(7)
    calendar = np.busday_offset("2020-01-01", np.arange(days), roll="forward")
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text("\n".join(str(d) for d in calendar) + "\n")
    names = [f"SH{600000 + i}" if i < symbols // 2 else f"SZ{i:06d}" for i in range(symbols)]
    (root / "instruments").mkdir()
    lines = [f"{n}\t{calendar[0]}\t{calendar[-1]}" for n in [*names, "SH000300"]]
    (root / "instruments" / "all.txt").write_text("\n".join(lines) + "\n")
    for name in [*names, "SH000300"]:
        close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
        opened = close * (1 + rng.normal(0, 0.005, days))
        fields = {
            "open": opened,
            "high": np.maximum(opened, close) * 1.01,
            "low": np.minimum(opened, close) * 0.99,
            "close": close,
            "volume": np.where(rng.random(days) < 0.02, 0.0, rng.uniform(1e5, 1e7, days)),
            "factor": np.ones(days),
        }
        directory = root / "features" / name.lower()
        directory.mkdir(parents=True)
        for field, values in fields.items():
            np.concatenate([[0.0], values]).astype("<f4").tofile(directory / f"{field}.day.bin")


def feature_build(mode: str, root: Path) -> dict[str, float]:
    """One build in this process (run as a subprocess per mode): seconds, peak RSS, peak RSS per Ray worker."""
    import psutil

    import tg.models.features as features
    from tg.models.panel import load_panel

    if mode == "one-pass":
        features.CHUNK_SYMBOLS = 10**9
    if mode in ("one-pass", "serial"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: map_chunks runs the chunks in turn
    began = time.perf_counter()
    panel = load_panel(root)
    loaded = time.perf_counter() - began
    worker_peak = 0.0
    if mode == "ray":
        from tg.sweep.ray_runtime import ray_session

        stop = threading.Event()

        def sample() -> None:  # the RSS of Ray's worker processes, every 50 ms
            nonlocal worker_peak
            while not stop.wait(0.05):
                for child in psutil.Process().children(recursive=True):
                    try:
                        if child.name().startswith("ray::"):
                            worker_peak = max(worker_peak, child.memory_info().rss / 2**20)
                    except psutil.NoSuchProcess:
                        continue

        with ray_session(num_cpus=2):
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            began = time.perf_counter()
            built = features.compute_features(panel)
            seconds = time.perf_counter() - began
            stop.set()
            sampler.join()
    else:
        began = time.perf_counter()
        built = features.compute_features(panel)
        seconds = time.perf_counter() - began
    return {
        "load_s": loaded,
        "features_s": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": worker_peak,
        "digest": float(np.nansum(built.values[:, -1, :], dtype=np.float64)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--days", type=int, default=750, help="sessions of the synthetic data (750: three years)")
    parser.add_argument("--skip-sweep", action="store_true", help="only the feature build")
    parser.add_argument("--build", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(feature_build(args.build[0], Path(args.build[1]))))
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="tg-bench-sweep-"))
    print(f"scratch: {scratch}; {os.cpu_count()} CPUs\n")

    if not args.skip_sweep:
        print(f"| 6-job sweep `tg sweep train {' '.join(SWEEP)}` | wall s | Σ job s | speed-up | overhead/job s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        base = None
        for launcher, parallel in (("basic", 1), ("joblib", 2), ("ray", 2)):
            project = scratch / launcher
            (project / "audit").mkdir(parents=True)
            r = sweep(launcher, project)
            base = base or r["wall"]
            overhead = (r["wall"] - r["job_seconds"] / parallel) / r["jobs"]
            print(
                f"| {launcher} | {r['wall']:.1f} | {r['job_seconds']:.1f} | {base / r['wall']:.2f}× | {overhead:.2f} |"
            )
        print()

    root = scratch / "qlib"
    began = time.perf_counter()
    write_qlib(root, args.symbols, args.days)
    print(
        f"synthetic data: {args.symbols} stocks × {args.days} sessions written in {time.perf_counter() - began:.0f} s\n"
    )
    print(f"| {args.symbols}-symbol feature build | load s | features s | peak RSS MB | peak RSS per Ray worker MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    digests = set()
    for mode, label in (
        ("one-pass", "one pass, 1 core (before)"),
        ("serial", "chunked, 1 core"),
        ("threads", "chunked, 2 threads"),
        ("ray", "chunked, Ray tasks (2 CPUs)"),
    ):
        out = subprocess.run(
            [sys.executable, __file__, "--build", mode, str(root)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            sys.exit(f"benchmark: feature build {mode} failed: {out.stderr.strip().splitlines()[-1:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        digests.add(r["digest"])
        worker = f"{r['worker_peak_mb']:.0f}" if mode == "ray" else ""
        print(f"| {label} | {r['load_s']:.1f} | {r['features_s']:.1f} | {r['peak_mb']:.0f} | {worker} |")
    print(f"\nthe same features in every mode: {len(digests) == 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
