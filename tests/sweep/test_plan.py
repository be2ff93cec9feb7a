"""What a sweep's overrides ask for, read with Hydra's override parser."""

from __future__ import annotations

import pytest

from tg.errors import ConfigError
from tg.sweep.plan import plan_sweep


def test_varying_keys_shared_overrides_and_the_number_of_jobs() -> None:
    plan = plan_sweep(
        ["train.seed=0,1,2", "model=ensemble,fast", "data.shard=range(0,4)", "data.n_shards=4", "hydra/launcher=joblib"]
    )
    assert plan.varying == ["train.seed", "model", "data.shard"]
    assert plan.shared == ["data.n_shards=4"] and plan.jobs == 24


def test_a_search_sweep_has_no_job_count_and_a_bad_override_is_a_config_error() -> None:
    assert plan_sweep(["model.band_k=interval(0.1,1.0)"]).jobs is None
    assert plan_sweep(["train.seed=0,1", "hydra/sweeper=optuna"]).jobs is None
    with pytest.raises(ConfigError, match="cannot parse override 'train.seed=\\[0,'"):
        plan_sweep(["train.seed=[0,"])
