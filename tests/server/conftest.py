"""`tg serve` as a real background process on a free loopback port, talked to over sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import TG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """One `tg serve` process; `stop()` sends SIGTERM and returns its exit code."""

    proc: subprocess.Popen[str]
    port: int
    project: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def wait_until(self, predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("condition not reached in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> tuple[int, str]:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def start_server(
    project: Path,
    *overrides: str,
    env: dict[str, str] | None = None,
    wrap: list[str] | None = None,
    port: int | None = None,
    wait: bool = True,
) -> Served:
    """Start `tg serve` in `project` (metrics enabled, readiness re-checked every 0.1 s)."""
    port = port or free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    full_env.update({"TRADING_METRICS_ENABLED": "1", **(env or {})})
    args = [*(wrap or []), str(TG), "serve", f"serve.port={port}", "serve.readiness_interval_s=0.1", *overrides]
    proc = subprocess.Popen(args, cwd=project, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = Served(proc, port, project)
    if wait:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"tg serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if served.get("/healthz").status_code == 200:
                    return served
            except httpx.TransportError:
                time.sleep(0.05)
        served.stop()
        raise AssertionError("tg serve did not answer /healthz within 30 s")
    return served


@pytest.fixture
def serve_project(trained_project: Path) -> Iterator[list[Served]]:
    """Servers started in the test are stopped (SIGTERM) after it."""
    started: list[Served] = []
    yield started
    for served in started:
        if served.proc.poll() is None:
            served.stop()


@pytest.fixture
def served(trained_project: Path, serve_project: list[Served]) -> Served:
    """`tg serve` over the session's trained model, default config."""
    server = start_server(trained_project)
    serve_project.append(server)
    return server
