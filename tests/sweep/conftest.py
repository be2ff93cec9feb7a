"""A 2×3 grid of real training jobs, cheap enough to run under every launcher: the linear member on five stocks
(about half a second a job once the libraries are imported)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from tg.commands.train import run_train
from tg.config.loader import load_config
from tg.sweep.results import SweepResult

CHEAP = ["model=fast", "model/members=[linear]", "data.universe=[600519,000858,601318,600036,000001]"]
GRID = ["train.seed=0,1", "data.start=2018-01-01,2019-01-01,2020-01-01"]
POINTS = {(f"train.seed={s}", f"data.start={d}") for s in (0, 1) for d in ("2018-01-01", "2019-01-01", "2020-01-01")}


def sweep(project: Path, overrides: list[str], launcher: str = "basic", **options: Any) -> SweepResult:
    """`tg sweep train OVERRIDES --launcher L` as the CLI runs it, in this process."""
    from tg.commands.sweep import run_sweep, shared_overrides

    loaded = load_config(shared_overrides(overrides), cwd=project, environ=dict(os.environ), use_cache=False)
    return run_sweep(loaded, "train", run_train, overrides, launcher, **options)


def same_metrics(ours: dict[tuple[str, str], dict[str, Any]], basic: dict[tuple[str, str], dict[str, Any]]) -> bool:
    """The grid's metrics match point by point (to 1e-6: BLAS may sum in another order in another process)."""
    return ours.keys() == basic.keys() and all(ours[p] == pytest.approx(basic[p], rel=1e-6) for p in basic)


def point(row: dict[str, Any]) -> tuple[str, str]:
    seed = next(o for o in row["overrides"] if o.startswith("train.seed="))
    start = next(o for o in row["overrides"] if o.startswith("data.start="))
    return seed, start


def check_grid(result: SweepResult, project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The grid's six rows, each a trained model with its held-out metrics, written where the table says;
    returns the metrics by point."""
    assert result.exit_code == 0, [row["error"] for row in result.failed]
    assert len(result.rows) == 6 and {point(row) for row in result.rows} == POINTS
    lines = (result.directory / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["job"] for line in lines] == list(range(6))
    for row in result.rows:
        assert math.isfinite(row["metrics"]["rank_ic"]) and set(row["metrics"]) >= {"ic", "log_loss"}
        model = Path(row["paths"]["model"])
        assert (
            model.parent == result.directory / str(row["job"]) / "models_saved" and (model / "manifest.json").is_file()
        )
        assert (result.directory / str(row["job"]) / ".hydra" / "overrides.yaml").is_file()
    audit = [json.loads(line) for line in (project / "audit" / "audit.jsonl").read_text().splitlines()]
    trained = {entry["details"]["version"] for entry in audit if entry["event"] == "model.train"}
    assert trained >= {Path(row["paths"]["model"]).name for row in result.rows}
    by_point = {point(row): row["metrics"] for row in result.rows}
    for seed, start in POINTS:  # the linear member does not depend on the seed
        assert by_point[(seed, start)] == pytest.approx(by_point[("train.seed=0", start)], rel=1e-6)
    assert result.best is not None and result.best["metrics"]["rank_ic"] == max(m["rank_ic"] for m in by_point.values())
    return by_point


@pytest.fixture(scope="session")
def basic_grid(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """The grid's metrics under Hydra's basic launcher (one job after another, in this process)."""
    project = tmp_path_factory.mktemp("basic-grid")
    for name in ("models_saved", "audit"):
        (project / name).mkdir()
    here = os.getcwd()
    result = sweep(project, [*CHEAP, *GRID])
    assert os.getcwd() == here
    return check_grid(result, project)
