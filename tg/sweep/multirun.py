"""Hydra's own multirun, from the compose API: inside `initialize_config_dir`,
`GlobalHydra.instance().hydra.multirun(config_name, task_function, overrides, with_log_configuration=False)` is
the call `@hydra.main --multirun` makes. So the whole override grammar (`a=1,2`, `range()`, `choice()`, group
sweeps), any installed sweeper and any launcher work as in a Hydra app.

The config tree and schema are the ones every command composes (`tg.config.compose`). Hydra's global state is
cleared and the working directory restored afterwards, whatever happened: jobs never change it
(`hydra.job.chdir=false`), but a launcher or a user's override might.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tg.config.compose import PRIMARY, SCHEMA_NAME, describe
from tg.errors import ConfigError

JOB_NAME = "tg_sweep"


def multirun(conf_dir: Path, overrides: list[str], task: Callable[[Any], Any]) -> Any:
    """Run `task` once per job of the sweep `overrides` describe; return what the sweeper returns (the basic
    sweeper: a list of batches of `JobReturn`). ConfigError when the sweep itself does not compose."""
    from hydra import initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from tg.config.schema import AppConfig

    ConfigStore.instance().store(name=SCHEMA_NAME, node=AppConfig)
    cwd = os.getcwd()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3", job_name=JOB_NAME):
            hydra = GlobalHydra.instance().hydra
            assert hydra is not None
            return hydra.multirun(PRIMARY, task, overrides, with_log_configuration=False)
    except (HydraException, OmegaConfBaseException, YAMLError) as exc:
        raise ConfigError(describe(exc, conf_dir, overrides)) from exc
    finally:
        GlobalHydra.instance().clear()
        os.chdir(cwd)
