"""The wheel carries the config tree: tg works from any directory without the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_conf_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("tg-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "tg/conf/config.yaml" in names and "tg/conf/profile/strict.yaml" in names
        # the tg_ray Hydra launcher, where Hydra's plugin discovery looks (a namespace package: no __init__.py)
        assert "hydra_plugins/tg_ray_launcher/tg_ray_launcher.py" in names and "hydra_plugins/__init__.py" not in names
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "TG_CONFIG_DIR"))}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run(
        [sys.executable, "-m", "tg", "config", "show", "--json", "profile=strict"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["profile"]["name"] == "strict"
    probe = subprocess.run(
        [sys.executable, "-c", "import tg.config.compose as c; print(c.config_dir())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == str(site / "tg" / "conf")
