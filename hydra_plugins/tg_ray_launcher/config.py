"""The `tg_ray` option of Hydra's `hydra/launcher` group: `hydra/launcher=tg_ray hydra.launcher.address=auto`."""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class TgRayLauncherConf:
    _target_: str = "hydra_plugins.tg_ray_launcher.tg_ray_launcher.TgRayLauncher"
    # a running cluster to join (auto, HOST:PORT, ray://HOST:PORT); null: a private local Ray bound to loopback
    address: str | None = None
    # CPUs of the private local Ray (null: every CPU of this machine)
    num_cpus: int | None = None
    # CPUs a job reserves: how many jobs share a node at once
    cpus_per_job: float = 1.0
    # times Ray reruns a job whose worker process died (a job that fails returns its error, never retried)
    max_retries: int = 1
    # Ray's runtime_env for the jobs, e.g. {"pip": ["tg[scale]"]} or {"env_vars": {...}} on a cluster
    runtime_env: dict[str, Any] | None = None


ConfigStore.instance().store(group="hydra/launcher", name="tg_ray", node=TgRayLauncherConf, provider="tg")
