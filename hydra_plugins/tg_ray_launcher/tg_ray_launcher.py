"""`TgRayLauncher`: each job of a sweep as a Ray task.

The driver composes each job's config (Hydra's `load_sweep_config`, as the basic launcher does) and submits
`run_job` with it, the task function and Hydra's singleton state; a job's config is all a worker receives —
the jobs read their bars from the data directory it names. Ctrl-C cancels the jobs still pending or running
and keeps the ones that finished (each wrote its result into its directory).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)
WAIT_S = 0.5  # how often the driver wakes up while jobs run (so that Ctrl-C is seen)


class TgRayLauncher(Launcher):
    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_job: float = 1.0,
        max_retries: int = 1,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_job = cpus_per_job
        self.max_retries = max_retries
        self.runtime_env = dict(runtime_env) if runtime_env else None
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from tg.sweep.ray_runtime import ray_session

        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        with ray_session(self.address, self.num_cpus, self.runtime_env) as ray:
            job = ray.remote(_run_job).options(num_cpus=self.cpus_per_job, max_retries=self.max_retries)
            state = Singleton.get_state()
            log.info("Launching %d jobs on Ray (%s)", len(job_overrides), self.address or "private, local")
            configs, refs = [], []
            for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
                sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                with open_dict(sweep_config):
                    sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
                    sweep_config.hydra.job.num = idx
                configs.append(sweep_config)
                refs.append(job.remote(self.hydra_context, sweep_config, self.task_function, state))
            _wait(ray, refs)
            return [_returned(ray, ref, config) for ref, config in zip(refs, configs, strict=True)]


def _run_job(
    hydra_context: HydraContext, sweep_config: DictConfig, task_function: TaskFunction, state: Any
) -> JobReturn:
    """One job, in a Ray worker: Hydra's state as the driver had it, then Hydra's own `run_job`."""
    setup_globals()
    Singleton.set_state(state)
    return run_job(
        hydra_context=hydra_context,
        task_function=task_function,
        config=sweep_config,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def _wait(ray: Any, refs: list[Any]) -> None:
    """Until every job has finished; Ctrl-C cancels those that have not (the finished ones keep their results)."""
    pending = list(refs)
    try:
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=WAIT_S)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _returned(ray: Any, ref: Any, sweep_config: DictConfig) -> JobReturn:
    """The job's `JobReturn`; a job Ray could not run (its worker died, its function could not be imported there)
    is a failed row, as tg's task function reports a job that raised."""
    try:
        returned = ray.get(ref)
    except ray.exceptions.RayError as exc:
        # a COMPLETED return holding tg's failed row: Hydra's sweepers raise on a FAILED one, which would end the
        # whole sweep and lose the other jobs' results
        from tg.sweep.results import failed_row

        overrides = list(sweep_config.hydra.overrides.task)
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        error = f"{type(exc).__name__}: {lines[-1] if lines else 'Ray could not run the job'}"
        row = failed_row(int(sweep_config.hydra.job.num), overrides, error)
        return JobReturn(overrides=overrides, hydra_cfg=sweep_config, status=JobStatus.COMPLETED, _return_value=row)
    assert isinstance(returned, JobReturn)
    return returned
