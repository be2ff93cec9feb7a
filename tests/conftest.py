"""Shared fixtures: an isolated project directory and environment for every test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tg.cli import app
from tg.commands.train import run_train
from tg.config.loader import load_config
from tg.models.members.base import quiet_openmp

# shared fixtures: the recorded-payload HTTP server and a real redis-server
pytest_plugins = ["tests.recorded_server", "tests.redis_server"]

# LightGBM/torch may load in this process before any tg command would set the OpenMP wait policy
quiet_openmp()

REPO = Path(__file__).resolve().parent.parent
RUNTIME_DIRS = ("data_storage", "models_saved", "logs", "cache", "audit", "backups")
TG = Path(sys.executable).parent / "tg"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No TRADING_* from the developer's shell; a private config cache per test."""
    for name in list(os.environ):
        if name.startswith("TRADING_") or name in ("TG_CONFIG_DIR", "TG_DEBUG", "TG_CONFIG_CACHE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TG_CACHE_DIR", str(tmp_path_factory.mktemp("config-cache")))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project root (the cwd) with the runtime directories a clone ships."""
    for name in RUNTIME_DIRS:
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


# 5 stocks, 2016 on, every member, minimal rounds and epochs: seconds, not minutes
TINY = [
    "data.universe=[600519,000858,601318,600036,000001]",
    "data.start=2016-01-01",
    "train.epochs=1",
    "train.rows_per_epoch=4000",
    "model.members.gbm.rounds=30",
]


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory holding one trained model (models_saved/) and its audit log."""
    root = tmp_path_factory.mktemp("trained")
    loaded = load_config(TINY, cwd=root, environ={}, use_cache=False)
    run_train(loaded, show_progress=False)
    return root


@pytest.fixture
def trained_project(project: Path, trained_models: Path) -> Path:
    """`project` with a copy of the session's trained model as its current model (and the audit log
    that recorded its switch)."""
    for name in ("models_saved", "audit"):
        shutil.rmtree(project / name)
        shutil.copytree(trained_models / name, project / name)
    return project


@pytest.fixture
def conf_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the config tree, selected through TG_CONFIG_DIR, for breaking it."""
    target = tmp_path / "conf-copy"
    shutil.copytree(REPO / "conf", target)
    monkeypatch.setenv("TG_CONFIG_DIR", str(target))
    return target


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def invoke(*args: str) -> Outcome:
    """Run a command through Typer's test runner (in process)."""
    result = CliRunner().invoke(app, list(args))
    return Outcome(result.exit_code, result.stdout, result.stderr)


def without_file_permission_override() -> list[str]:
    """A command prefix under which file modes bind: root keeps its uid but loses the capabilities
    that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so `chmod 0` means permission denied."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is required to test unreadable files as root")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def run_tg(*args: str, cwd: Path, env: dict[str, str] | None = None, wrap: list[str] | None = None) -> Outcome:
    """Run the installed `tg` console script in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    full_env.update(env or {})
    proc = subprocess.run(
        [*(wrap or []), str(TG), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60, check=False
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)
