"""`tg sweep` through Hydra's own multirun: the grid under the basic and joblib launchers, failing jobs as rows,
--dry-run, and Hydra's global state and the working directory as they were."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hydra.core.global_hydra import GlobalHydra

from tests.sweep.conftest import CHEAP, GRID, check_grid, same_metrics, sweep
from tg.errors import ConfigError


def test_grid_under_basic(basic_grid: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert len(basic_grid) == 6  # checked in the fixture: rows, metrics, models, audit, cwd
    assert not GlobalHydra.instance().is_initialized()


def test_grid_under_joblib_matches_basic(project: Path, basic_grid: dict[tuple[str, str], dict[str, Any]]) -> None:
    result = sweep(project, [*CHEAP, *GRID, "hydra.launcher.n_jobs=2"], "joblib")
    assert same_metrics(check_grid(result, project), basic_grid)
    assert len({row["worker"]["pid"] for row in result.rows} - {os.getpid()}) >= 1  # ran in joblib's processes
    assert os.getcwd() == str(project) and not GlobalHydra.instance().is_initialized()


def test_a_failing_shard_is_a_row_the_others_finish_and_the_exit_code_says_so(project: Path) -> None:
    result = sweep(project, [*CHEAP, "data.start=2020-01-01", "data.n_shards=1,2"])
    ok, failed = result.rows
    assert ok["ok"] and ok["overrides"][-1] == "data.n_shards=1" and ok["paths"]["model"]
    assert not failed["ok"] and failed["overrides"][-1] == "data.n_shards=2"
    assert failed["error"].startswith("data.shard=0 of data.n_shards=2: 3 of the 5 stocks")
    assert result.exit_code == 1 and result.to_dict()["failed"] == 1
    assert len((result.directory / "results.jsonl").read_text().splitlines()) == 2


def test_dry_run_composes_and_validates_every_job_and_runs_none(project: Path) -> None:
    result = sweep(project, [*CHEAP, "data.n_shards=1,2", "data.start=2020-01-01,2020-13-01"], dry_run=True)
    assert [(row["ok"], row.get("universe")) for row in result.rows] == [(True, 5)] + [(False, None)] * 3
    assert "data.start" in result.rows[1]["error"] and "data.n_shards=2" in result.rows[2]["error"]
    assert result.exit_code == 1 and not (project / "reports").exists() and not os.listdir(project / "models_saved")


def test_a_sweep_that_does_not_compose_is_a_config_error_and_leaves_hydra_clear(project: Path) -> None:
    with pytest.raises(ConfigError, match="no config 'model/nosuch'"):
        sweep(project, [*CHEAP, "model=fast,nosuch"])
    assert os.getcwd() == str(project) and not GlobalHydra.instance().is_initialized()
