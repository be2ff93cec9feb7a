"""The playbook end to end, for real: a temporary clone whose origin is a local bare repository,
`invoke deploy` of v1 (serving), of a v2 that breaks readiness (rolled back by itself: v1 serves again
with its models), then `invoke rollback` after a retrain (the previous model is back)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, TINY
from tests.server.conftest import free_port

BIN = Path(sys.executable).parent


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def release(tmp_path: Path) -> Path:
    """A bare origin holding this checkout's files as v1, and v2 whose default profile gates on data
    freshness (the embedded data ends 2025-10-31: /readyz answers 503)."""
    source = tmp_path / "source"
    listed = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, source / rel)
    git(source, "init", "--quiet", "--initial-branch=main")
    git(source, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "v1")
    git(source, "tag", "v1")
    profile = source / "conf" / "profile" / "default.yaml"
    profile.write_text(profile.read_text() + "max_data_lag_sessions: 1\n")
    git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "v2: gate on fresh data")
    git(source, "tag", "v2")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(source), str(origin))
    return origin


@pytest.mark.slow
def test_deploy_a_broken_release_rolls_back_then_rollback_undoes_a_retrain(
    tmp_path: Path, trained_models: Path
) -> None:
    origin = release(tmp_path)
    app = tmp_path / "app"
    git(tmp_path, "clone", "--quiet", str(origin), str(app))
    git(app, "checkout", "--quiet", "v1")
    for name in ("models_saved", "audit"):  # the model this installation serves, and its audit trail
        shutil.copytree(trained_models / name, app / name, dirs_exist_ok=True)
    port = free_port()
    (app / ".env").write_text(f"TRADING_METRICS_PORT={port}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "TG_CONFIG_DIR"))}
    env.update(PYTHONPATH=str(app), PATH=f"{BIN}:{env['PATH']}")  # the clone's code runs, not this checkout's
    quick = ["--set", "deploy.install=", "--set", "deploy.ready_timeout_s=15"]  # the environment is shared

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "invoke"), *args], cwd=app, env=env, capture_output=True, text=True, timeout=600, check=False
        )

    def tg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tg", *args],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    v1 = git(app, "rev-parse", "v1^{commit}")
    model = (app / "models_saved" / "CURRENT").read_text().split()[0]
    try:
        first = invoke("deploy", "--ref", "v1", *quick)
        assert first.returncode == 0, first.stdout + first.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200

        broken = invoke("deploy", "--ref", "v2", *quick)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "FAILED: the service was not ready" in broken.stdout and "rolled back:" in broken.stdout
        assert git(app, "rev-parse", "HEAD") == v1  # the code is v1 again …
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200  # … and serving
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/predict/600519", timeout=10).json()
        assert answer["model"]["version"] == model  # with its model
        events = [json.loads(line)["event"] for line in (app / "audit" / "audit.jsonl").read_text().splitlines()]
        assert {"deploy.begin", "deploy.done", "deploy.failed", "snapshot.restore", "deploy.stop"} <= set(events)
        assert tg("audit", "verify").returncode == 0

        assert tg("snapshot", "create", "--include-models", "--tag", "before-retrain").returncode == 0
        retrained = tg("train", "--no-progress", *TINY)
        assert retrained.returncode == 0, retrained.stderr
        assert (app / "models_saved" / "CURRENT").read_text().split()[0] != model
        back = invoke("rollback", *quick)
        assert back.returncode == 0, back.stdout + back.stderr
        assert (app / "models_saved" / "CURRENT").read_text().split()[0] == model
        assert (
            httpx.get(f"http://127.0.0.1:{port}/api/v1/predict/600519", timeout=10).json()["model"]["version"] == model
        )
    finally:
        tg("deploy", "stop")
