"""`tg sweep {train|evaluate} OVERRIDES [--launcher basic|joblib|ray] [--address A] [--dry-run]`: Hydra's own
multirun over the overrides, every job running what `tg train` / `tg evaluate` run, its outputs in
`<paths.root>/<eval.output>/sweeps/<UTC time>_<command>/<job>/` beside Hydra's `.hydra/` config of the job; then
`results.jsonl` and the table there. The `.env`/`TRADING_*` layer applies under the command line's overrides, as
for every command."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.config.compose import merge_overrides
from tg.config.environment import env_overrides, quote
from tg.config.loader import LoadedConfig
from tg.errors import TgError, UsageError
from tg.sweep.job import RESULT_FILE, JobPreview, SweepJob
from tg.sweep.multirun import multirun
from tg.sweep.plan import plan_sweep
from tg.sweep.progress import SweepProgress
from tg.sweep.ray_runtime import probe
from tg.sweep.results import SweepResult, collect, write_results

# --launcher: Hydra's launcher option, and the module that has to be installed for it
LAUNCHERS = {
    "basic": ("basic", "hydra"),
    "joblib": ("joblib", "hydra_plugins.hydra_joblib_launcher"),
    "ray": ("tg_ray", "ray"),
}


def shared_overrides(overrides: list[str]) -> list[str]:
    """The overrides every job shares: what the sweep's own config (logging, paths) is composed with."""
    return plan_sweep(overrides).shared


def run_sweep(
    loaded: LoadedConfig,
    command: str,
    run: Callable[..., Any],
    overrides: list[str],
    launcher: str | None = None,
    address: str | None = None,
    dry_run: bool = False,
) -> SweepResult:
    """Run (or with `dry_run` compose, validate and list) every job; `run` is the command's own function."""
    plan = plan_sweep(overrides)
    launcher = launcher or ("ray" if address else "basic")
    if address and launcher != "ray":
        raise UsageError(f"--address joins a Ray cluster: it needs --launcher ray, not {launcher}")
    option, module = LAUNCHERS[launcher]
    if importlib.util.find_spec(module) is None:
        raise UsageError(f"--launcher {launcher} needs {module.split('.')[-1]}: pip install 'tg[scale]'")
    given = [o.split("=", 1)[1].strip("'\"") for o in overrides if o.startswith("hydra.sweep.dir=")]
    overrides = [o for o in overrides if not o.startswith("hydra.sweep.dir=")]
    task: SweepJob | JobPreview
    if dry_run:
        directory, task = Path(tempfile.mkdtemp(prefix="tg-sweep-dry-run-")), JobPreview(loaded.cwd, loaded.conf_dir)
        option = "basic"  # composing and validating each job needs no other process
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        directory = loaded.root / (given[-1] if given else Path(loaded.cfg.eval.output, "sweeps", f"{stamp}_{command}"))
        task = SweepJob(command, run, loaded.cwd, loaded.conf_dir)
    hydra = [f"hydra/launcher={option}", f"hydra.sweep.dir={quote(str(directory))}", "hydra.job.chdir=false"]
    hydra += ["hydra/job_logging=none", "hydra/hydra_logging=none"]
    hydra += [f"hydra.launcher.address={quote(address)}"] if address and not dry_run else []
    everything = merge_overrides(env_overrides(loaded.cwd, os.environ), hydra, overrides)
    began, returns, interrupted = time.perf_counter(), None, False
    progress: AbstractContextManager[Any] = (
        nullcontext() if dry_run else SweepProgress(directory, plan.jobs, plan.varying)
    )
    if address and not dry_run:
        probe(address)  # before anything is written: nothing listening there is one line at once
    try:
        with progress:
            returns = multirun(loaded.conf_dir, everything, task)
    except KeyboardInterrupt:  # the jobs that finished are kept: their rows below, the others fail as unfinished
        interrupted = True
    except TgError:  # the sweep did not compose or launch: no job ran, so no sweep directory stays behind
        if not given and not any(directory.glob(f"*/{RESULT_FILE}")):
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        if dry_run:
            shutil.rmtree(directory, ignore_errors=True)
    unfinished = "cancelled: the sweep was interrupted" if interrupted else "no result: the job did not finish"
    rows = collect(directory, returns, plan.jobs, unfinished)
    if not dry_run:
        write_results(directory, rows)
    notes = (
        []
        if dry_run or command != "train"
        else ["each job saved its model in its own models_saved/ (the current model is unchanged)"]
    )
    return SweepResult(
        command, launcher, directory, rows, plan.varying, dry_run, interrupted, time.perf_counter() - began, notes
    )
