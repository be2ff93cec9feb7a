"""The `systemd` deploy target: `tg serve` as the systemd service `deploy.unit`, driven through `systemctl`.

`tg deploy unit` renders the unit file (tg.commands.deploy); this class starts, stops and reports it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from tg.errors import GateFailed


@dataclass(frozen=True)
class UnitStatus:
    running: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class SystemdService:
    """Built from `conf/deploy/systemd.yaml` (`deploy=systemd`)."""

    def __init__(self, unit: str) -> None:
        self.unit = unit

    @classmethod
    def configured(cls, loaded: Any, overrides: list[str] | None = None) -> SystemdService:
        """The unit `deploy.unit` (the overrides are the unit file's business, not systemctl's)."""
        return cls(loaded.cfg.deploy.unit)

    def start(self) -> UnitStatus:
        return self._systemctl("start")

    def stop(self) -> UnitStatus:
        return self._systemctl("stop")

    def status(self) -> UnitStatus:
        return self._systemctl("status")

    def _systemctl(self, action: str) -> UnitStatus:
        if shutil.which("systemctl") is None:
            raise GateFailed("deploy=systemd needs systemctl, which this machine does not have: use deploy=local")
        verb = "is-active" if action == "status" else action
        proc = subprocess.run(["systemctl", verb, self.unit], capture_output=True, text=True, timeout=60, check=False)
        detail = (proc.stdout + proc.stderr).strip() or f"systemctl {verb} {self.unit}: exit {proc.returncode}"
        if action != "status" and proc.returncode != 0:
            raise GateFailed(f"systemctl {verb} {self.unit} failed: {detail.splitlines()[-1]}")
        return UnitStatus(proc.returncode == 0 if action == "status" else action != "stop", detail)
