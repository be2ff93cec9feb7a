"""The `local` deploy target: `tg serve` as a supervised background process with a pid file.

start: spawn `tg serve` in its own session (stdout/stderr to `logs/serve.out`), record its pid,
wait until `/healthz` answers; stop: SIGTERM (the server finishes in-flight requests), SIGKILL after
`stop_timeout_s`, remove the pid file; status: the pid alive, and what `/healthz` and `/readyz`
answer. A pid file whose process is gone (or is not `tg serve`) is stale and removed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.errors import GateFailed


@dataclass(frozen=True)
class ServiceStatus:
    running: bool
    pid: int | None
    url: str
    healthz: int | None  # HTTP status, None when unreachable
    readyz: int | None
    detail: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class LocalService:
    """`tg serve` run in the background from `cwd`, supervised through `pid_file`."""

    def __init__(
        self,
        cwd: Path,
        pid_file: Path,
        out_file: Path,
        url: str,
        overrides: list[str] | None = None,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 20.0,
    ) -> None:
        self.cwd = cwd
        self.pid_file = pid_file
        self.out_file = out_file
        self.url = url
        self.overrides = overrides or []
        self.env = env
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s

    @classmethod
    def configured(cls, loaded: Any, overrides: list[str] | None = None) -> LocalService:
        """Built from `conf/deploy/local.yaml`: the background `tg serve` of this project, with the same overrides."""
        cfg, serve = loaded.cfg.deploy, loaded.cfg.serve
        host = "127.0.0.1" if serve.host in ("0.0.0.0", "::") else serve.host
        return cls(
            loaded.root,
            loaded.path("cache") / cfg.pid_file,
            loaded.path("logs") / cfg.out_file,
            f"http://{host}:{serve.port}",
            overrides=overrides,
            start_timeout_s=cfg.start_timeout_s,
            stop_timeout_s=cfg.stop_timeout_s,
        )

    def pid(self) -> int | None:
        """The pid of the running `tg serve`, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if _alive(pid) and _is_tg_serve(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self) -> ServiceStatus:
        """Start `tg serve` (unless it runs) and wait until /healthz answers; GateFailed otherwise."""
        if self.pid() is not None:
            return self.status()
        self.out_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TRADING_METRICS_ENABLED": "1", **(self.env or {})}
        with open(self.out_file, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tg", "serve", *self.overrides],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # not killed with the shell that started it
            )
        self.pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise GateFailed(f"tg serve exited {proc.returncode} at start: see {self.out_file}")
            if _get(self.url + "/healthz") == 200:
                return self.status()
            time.sleep(0.2)
        self.stop()
        raise GateFailed(f"tg serve did not answer {self.url}/healthz within {self.start_timeout_s:g} s")

    def stop(self) -> ServiceStatus:
        """SIGTERM, then SIGKILL after `stop_timeout_s`; a service that is not running is fine."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout_s
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            _reap(pid)
            self.pid_file.unlink(missing_ok=True)
        return self.status()

    def status(self) -> ServiceStatus:
        pid = self.pid()
        if pid is None:
            return ServiceStatus(False, None, self.url, None, None, "not running")
        healthz, readyz = _get(self.url + "/healthz"), _get(self.url + "/readyz")
        detail = f"pid {pid}: /healthz {healthz or 'unreachable'}, /readyz {readyz or 'unreachable'}"
        return ServiceStatus(True, pid, self.url, healthz, readyz, detail)


def _get(url: str) -> int | None:
    import httpx

    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code
    except httpx.HTTPError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _proc_state(pid)
    return state != "Z"


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _is_tg_serve(pid: int) -> bool:
    """True when the process runs `tg serve` (a pid reused by another program is not ours to kill)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid file
    return b"serve" in args and any(a.endswith(b"tg") for a in args)


def _reap(pid: int) -> None:
    """Collect the exit status when the service is our own child (otherwise init does)."""
    with contextlib.suppress(ChildProcessError):  # not our child: its parent (or init) reaps it
        os.waitpid(pid, os.WNOHANG)
