#!/usr/bin/env python3
"""Snapshot benchmark: create and restore beside `tar czf` / `tar xzf` of the same files, in the same run.

Data: the embedded market data (`tg/data/embedded/cn_daily`, ×`--scale` copies) and a trained model
(`models_saved/`: trained tiny in a scratch project, or taken from `--project DIR`), copied into a scratch tree.
Each round measures:
  create   `tg.ops.snapshot.create` of both parts          vs  tar -c -I 'gzip -6' (throughput, input bytes/s)
  verify   `tg.ops.snapshot_read.verify` (read + hash, no writes)
  restore  `tg.ops.snapshot_restore.restore` over a changed tree, split into its pre-restore snapshot (a create
           of the live tree, timed by wrapping `write_snapshot`) and the rest: verified staging, sync, journal,
           swap, cleanup                                    vs  tar -x -z into an empty directory (no fsync)
Medians over `--rounds`. Targets: create >= 0.8x tar czf throughput while hashing everything; verify + restore
(without the pre-restore snapshot, which is a create) <= 1.2x tar xzf time.

Run from the repository root: `python benchmarks/snapshot.py [--rounds N] [--project DIR] [--scale K]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tg.ops import snapshot, snapshot_read, snapshot_restore

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "tg" / "data" / "embedded" / "cn_daily"
TG = Path(sys.executable).parent / "tg"
TRAIN = [
    "data.universe=[600519,000858,601318,600036,000001]",
    "data.start=2016-01-01",
    "train.epochs=1",
    "model.members.gbm.rounds=30",
    "--no-progress",
]


def trained_models(project: Path | None, scratch: Path) -> Path:
    if project is not None:
        models = project / "models_saved"
        if not models.is_dir():
            sys.exit(f"benchmark: {models} does not exist (train there first, or leave out --project)")
        return models
    scratch.mkdir()
    print(f"training a tiny model in {scratch} …", flush=True)
    proc = subprocess.run([str(TG), "train", *TRAIN], cwd=scratch, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark: tg train failed: {proc.stderr.strip().splitlines()[-1:]}")
    return scratch / "models_saved"


PARTS = ("data_storage", "models_saved")


def background_removal_done(root: Path) -> None:
    """Wait (untimed) for the background `rm` of the replaced tree, so that it is not charged to the next step."""
    deadline = time.monotonic() + 60
    while list(root.glob(".tg-trash-*")) and time.monotonic() < deadline:
        time.sleep(0.01)


def timed(action: Callable[[], Any]) -> float:
    os.sync()  # so that writeback of the previous step is not charged to this one
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def _timing(function: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    """`function`, appending the seconds each call takes to `into` (restore's phases, timed from outside)."""

    def timed_call(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - began)

    return timed_call


def tar(args: list[str]) -> None:
    subprocess.run(["tar", *args], check=True, capture_output=True)


def tree_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--project", type=Path, help="reuse the models_saved/ of this trained project")
    parser.add_argument("--scale", type=int, default=1, help="copies of the embedded data (a bigger data set)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tg-bench-snapshot-"))
    models = trained_models(args.project, work / "train")
    live, backups, unpacked, overwritten = (work / name for name in ("project", "backups", "unpacked", "over"))
    for copy in range(args.scale):
        shutil.copytree(EMBEDDED, live / "data_storage" / f"cn_daily_{copy}")
    shutil.copytree(models, live / "models_saved")
    parts = {"data": live / "data_storage", "models": live / "models_saved"}
    files, size = tree_bytes(live)
    print(f"data: {files} files, {size / 1e6:.1f} MB (embedded cn_daily x{args.scale} + models_saved); work {work}")

    phases: dict[str, list[float]] = {"prerestore": [], "staging": [], "cleanup": []}
    for name, function in (("prerestore", "write_snapshot"), ("staging", "read_archive"), ("cleanup", "_finish")):
        setattr(snapshot_restore, function, _timing(getattr(snapshot_restore, function), phases[name]))
    steps = ("create", "tar_c", "verify", "restore", "tar_x", "tar_over", "fresh")
    rows: dict[str, list[float]] = {k: [] for k in steps}
    fresh_pre: list[float] = []
    for round_ in range(args.rounds):
        tarball = work / f"tar-{round_}.tar.gz"
        rows["tar_c"].append(timed(partial(tar, ["-c", "-I", "gzip -6", "-f", str(tarball), "-C", str(live), *PARTS])))
        info = snapshot.create(backups, parts, tag=f"bench-{round_}")
        rows["create"].append(timed(partial(snapshot.create, backups, parts, tag=f"timed-{round_}")))
        rows["verify"].append(timed(partial(snapshot_read.verify, info.path)))
        for target in (unpacked, overwritten):
            shutil.rmtree(target, ignore_errors=True)
        unpacked.mkdir()
        shutil.copytree(live, overwritten)
        rows["tar_x"].append(timed(partial(tar, ["-x", "-z", "-f", str(tarball), "-C", str(unpacked)])))
        rows["tar_over"].append(timed(partial(tar, ["-x", "-z", "-f", str(tarball), "-C", str(overwritten)])))
        shutil.rmtree(live / "models_saved")  # a changed tree, so the restore has work to do
        (live / "data_storage" / "cn_daily_0" / "calendars" / "day.txt").write_text("changed\n")
        rows["restore"].append(timed(partial(snapshot_restore.restore, info.path, parts, live, backups)))
        background_removal_done(live)
        fresh = work / f"fresh-{round_}"  # nothing to link: every file is written, as tar xzf into an empty dir
        fresh.mkdir()
        fresh_parts = {name: fresh / path.name for name, path in parts.items()}
        fresh_backups = work / f"fresh-backups-{round_}"
        rows["fresh"].append(timed(partial(snapshot_restore.restore, info.path, fresh_parts, fresh, fresh_backups)))
        background_removal_done(fresh)
        fresh_pre.append(phases["prerestore"].pop())
        phases["staging"].pop()
        phases["cleanup"].pop()
        snapshot_read.prune(backups, keep=1)
    med = {k: statistics.median(v) for k, v in rows.items()}
    pre, staging, cleanup = (statistics.median(phases[k]) for k in ("prerestore", "staging", "cleanup"))
    rest = statistics.median(whole - part for whole, part in zip(rows["restore"], phases["prerestore"], strict=True))

    fresh_rest = statistics.median(whole - part for whole, part in zip(rows["fresh"], fresh_pre, strict=True))
    mb = size / 1e6
    print(f"\n{'step':<40}{'median s':>10}{'MB/s':>9}")
    for label, seconds in (
        ("create (tg, hashes every file)", med["create"]),
        ("tar czf (gzip -6)", med["tar_c"]),
        ("verify (tg, read + hash)", med["verify"]),
        ("restore (tg)", med["restore"]),
        ("  pre-restore snapshot (a create)", pre),
        ("  the rest: verify + restore", rest),
        ("    of which verify + extract to staging", staging),
        ("    of which retiring the replaced tree", cleanup),
        ("restore (tg) into an empty project", fresh_rest),
        ("tar xzf into an empty directory", med["tar_x"]),
        ("tar xzf over the live tree", med["tar_over"]),
    ):
        print(f"{label:<40}{seconds:>10.3f}{mb / seconds:>9.1f}")
    ratios = (
        ("create throughput / tar czf", med["tar_c"] / med["create"], ">=", 0.8),
        ("verify+restore / tar xzf, empty dir", rest / med["tar_x"], "<=", 1.2),
        ("verify+restore / tar xzf, over tree", rest / med["tar_over"], "<=", 1.2),
        ("verify+extract (staging) / tar xzf", staging / med["tar_x"], "<=", 1.2),
    )
    print()
    for label, ratio, sense, goal in ratios:
        met = ratio >= goal if sense == ">=" else ratio <= goal
        print(f"{label:<38}{ratio:5.2f}x  (target {sense} {goal}x) {'met' if met else 'MISSED'}")
    print(f"{'verify+restore, empty project / tar xzf':<38}{fresh_rest / med['tar_x']:5.2f}x  (no target)")
    print(f"{'restore with pre-restore / tar xzf':<38}{med['restore'] / med['tar_x']:5.2f}x  (no target)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
