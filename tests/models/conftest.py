"""A tiny model trained once per session on the embedded data, copied into each test's project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tg.commands.train import run_train
from tg.config.loader import load_config
from tg.data.local import embedded_root
from tg.models.panel import Panel, load_panel

# 5 stocks, 2016 on, every member, minimal rounds and epochs: seconds, not minutes
TINY = [
    "data.universe=[600519,000858,601318,600036,000001]",
    "data.start=2016-01-01",
    "train.epochs=1",
    "train.rows_per_epoch=4000",
    "model.gbm_rounds=30",
]


@pytest.fixture(scope="session")
def panel() -> Panel:
    """Every embedded stock, all dates (read-only: tests that change bars work on copies)."""
    return load_panel(embedded_root())


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory holding one trained model (models_saved/) and its audit log."""
    root = tmp_path_factory.mktemp("trained")
    loaded = load_config(TINY, cwd=root, environ={}, use_cache=False)
    run_train(loaded, show_progress=False)
    return root


@pytest.fixture
def trained_project(project: Path, trained_models: Path) -> Path:
    """`project` with a copy of the session's trained model as its current model."""
    shutil.rmtree(project / "models_saved")
    shutil.copytree(trained_models / "models_saved", project / "models_saved")
    return project
