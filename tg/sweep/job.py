"""One job of a sweep: the task function `tg sweep` hands to Hydra's launcher, in whatever process runs it.

The job's composed config becomes tg's typed config through the checks every command applies; its models and
reports are pointed into the job's own output directory (the audit log, logs and bar store stay the project's);
then it runs the command's own function — what `tg train` / `tg evaluate` run — and returns a small JSON-able
`JobResult`, also written as `result.json` beside Hydra's `.hydra/` config of the job. A job that fails returns
ok: false with its one-line error instead of raising: one failure never loses the sweep.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.errors import TgError

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
LOG_FILE = "job.log"
OBJECTIVE = "rank_ic"  # the metric the best point is named by (higher is better)
# the ensemble's figures a row carries (the held-out table of `tg train`, the table of `tg evaluate`)
METRICS = ("rank_ic", "rank_icir", "ic", "balanced_accuracy", "log_loss", "ece", "annual_excess_return")


class JobResult(dict[str, Any]):
    """`ok`, `job`, `overrides`, `metrics`, `paths`, `error`, `seconds`, `worker`: plain JSON. `float(result)` is
    its OBJECTIVE (NaN when it failed), the number a search sweeper such as Optuna optimises."""

    def __float__(self) -> float:
        value = (self.get("metrics") or {}).get(OBJECTIVE)
        return float(value) if self.get("ok") and isinstance(value, int | float) else math.nan


@dataclass(frozen=True)
class SweepJob:
    """The task function of a sweep of `command` (train | evaluate); `run` is that command's own function
    (`run_train`, `run_evaluate`), called as `run(loaded, show_progress=False)`. `project` is the root the
    jobs' relative paths resolve against. Picklable by reference, as joblib and Ray workers receive it."""

    command: str
    run: Callable[..., Any]
    project: Path
    conf_dir: Path

    def __call__(self, cfg: Any) -> JobResult:
        began = time.perf_counter()
        job, overrides, out = _hydra_job()
        done: dict[str, Any] = {}
        error = None
        with _job_log(out / LOG_FILE):
            try:
                loaded = job_config(cfg, self.project, self.conf_dir, out, models_in_job=self.command == "train")
                done = self.run(loaded, show_progress=False).to_dict()
            except TgError as exc:
                log.info("job %s failed: %s", job, exc)  # the sweep's progress line and table show it
                error = str(exc)
            except Exception as exc:  # a bug in one job must not lose the others: its row says so, the log has why
                log.error("job %s: internal error", job, exc_info=True)
                error = f"internal error ({exc.__class__.__name__}: {exc}); details in {out / LOG_FILE}"
        result = JobResult(
            job=job,
            ok=error is None,
            overrides=overrides,
            metrics=ensemble_metrics(done),
            paths=_paths(out, done),
            error=error,
            seconds=round(time.perf_counter() - began, 2),
            worker=_worker(),
        )
        write_result(out, result)
        return result


@dataclass(frozen=True)
class JobPreview:
    """`tg sweep --dry-run`'s task function: the job's config composed, typed and validated and its universe
    resolved, nothing run."""

    project: Path
    conf_dir: Path

    def __call__(self, cfg: Any) -> JobResult:
        from tg.models.universe import data_root, data_universe

        job, overrides, out = _hydra_job()
        universe: int | str | None = None
        error = None
        try:
            loaded = job_config(cfg, self.project, self.conf_dir, out, models_in_job=False)
            root = data_root(loaded.cfg.data.root, loaded.root)
            symbols = data_universe(root, loaded.cfg.data)
            universe = len(symbols) if symbols is not None else "all"
        except TgError as exc:
            error = str(exc)
        return JobResult(
            job=job, ok=error is None, overrides=overrides, metrics={}, paths={}, error=error, universe=universe
        )


def job_config(cfg: Any, project: Path, conf_dir: Path, out: Path, models_in_job: bool) -> Any:
    """The job's `LoadedConfig`: Hydra's composed `cfg` as `tg.config.loader.load_config` would type and
    validate it; reports (and with `models_in_job` the models) go under the job's directory `out`."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from tg.config.compose import describe, name_by_choice
    from tg.config.loader import loaded_from_container
    from tg.errors import ConfigError

    try:
        container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(describe(exc, conf_dir)) from exc
    assert isinstance(container, dict)
    name_by_choice(container, HydraConfig.get().runtime.choices)
    container["eval"]["output"] = str(out / "reports")
    if models_in_job:
        container["paths"]["models"] = str(out / "models_saved")
    return loaded_from_container({str(k): v for k, v in container.items()}, conf_dir, project)


def ensemble_metrics(done: dict[str, Any]) -> dict[str, Any]:
    """The ensemble's METRICS from a command's result (`holdout.table` of train, `table` of evaluate)."""
    table = done.get("table") or (done.get("holdout") or {}).get("table") or []
    row = next((r for r in table if r.get("name") == "ensemble"), None) or (table[0] if table else {})
    return {key: row.get(key) for key in METRICS if key in row}


def write_result(out: Path, result: JobResult) -> None:
    import json

    from tg.ops.atomic import atomic_write_text
    from tg.ops.json_safe import finite

    atomic_write_text(out / RESULT_FILE, json.dumps(finite(dict(result)), indent=1, default=str) + "\n")


def _paths(out: Path, done: dict[str, Any]) -> dict[str, str]:
    paths = {"job": str(out)}
    if done.get("saved_in"):
        paths["model"] = str(done["saved_in"])
    if done.get("output"):
        paths["report"] = str(done["output"])
    return paths


def _hydra_job() -> tuple[int, list[str], Path]:
    """(number, overrides, output directory) of the job Hydra is running in this process."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    return int(hydra.job.num), [str(o) for o in hydra.overrides.task], Path(hydra.runtime.output_dir)


def _worker() -> dict[str, Any]:
    """Where the job ran: host, process and, in a Ray worker, the Ray node."""
    from tg.sweep.ray_runtime import connected

    ray = connected()
    node = ray.get_runtime_context().get_node_id() if ray is not None else None
    return {"host": socket.gethostname(), "pid": os.getpid(), "ray_node": node}


@contextmanager
def _job_log(path: Path) -> Iterator[None]:
    """The job's log records (INFO and up) also go to `path`: in a joblib or Ray worker they go nowhere else."""
    from tg.ops.logsetup import FORMAT

    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
