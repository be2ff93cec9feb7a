"""`tg deploy {start|stop|restart|status|unit}`: the server where `deploy=local|systemd` says it runs.

The target is the class `deploy._target_` names (tg.config.parts): `local` (tg.ops.service) supervises a
background `tg serve` of this project (pid file, output in logs/serve.out); `systemd` (tg.ops.systemd_service)
calls `systemctl` on `deploy.unit`, whose file `tg deploy unit` renders from the template
`deploy/systemd/trading-graph.service`. Every start, stop and restart is in the audit log first.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tg.config.loader import LoadedConfig
from tg.config.parts import build_part
from tg.errors import EXIT_FAILED, EXIT_OK, UsageError
from tg.ops.audit import AuditLog

ACTIONS = ("start", "stop", "restart", "status", "unit")
TEMPLATE = "trading-graph.service"


@dataclass
class DeployResult:
    action: str
    target: str
    data: dict[str, Any]

    @property
    def exit_code(self) -> int:
        if self.action == "status":
            return EXIT_OK if self.data.get("running") else EXIT_FAILED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, **self.data}

    def text(self) -> str:
        if self.action == "unit":
            return str(self.data["unit"])
        return f"tg deploy {self.action} ({self.target}): {self.data.get('detail', '')}"


def run_deploy(loaded: LoadedConfig, action: str, overrides: list[str] | None = None) -> DeployResult:
    if action not in ACTIONS:
        raise UsageError(f"tg deploy {action!r}: choose one of {', '.join(ACTIONS)}")
    target = loaded.cfg.deploy.target
    if action == "unit":
        return DeployResult(action, target, {"unit": render_unit(loaded)})
    service = build_part(
        {"_target_": loaded.cfg.deploy._target_}, "deploy", factory="configured", loaded=loaded, overrides=overrides
    )
    if action != "status" and loaded.cfg.audit.enabled:
        AuditLog(loaded.path("audit") / loaded.cfg.audit.file).append(f"deploy.{action}", {"target": target})
    if action == "restart":
        service.stop()
        status = service.start()
    else:
        status = getattr(service, action)()
    return DeployResult(action, target, status.to_dict())


def render_unit(loaded: LoadedConfig) -> str:
    """The systemd unit of this project, from the template with every placeholder filled."""
    cfg = loaded.cfg.deploy
    env_file = Path(cfg.env_file)
    values = {
        "description": f"Trading Graph ops server (tg serve) in {loaded.root}",
        "user": cfg.user or getpass.getuser(),
        "workdir": str(loaded.root),
        "tg": str(Path(sys.executable).parent / "tg"),
        "env_file": str(env_file if env_file.is_absolute() else loaded.root / env_file),
    }
    text = _template()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _template() -> str:
    """The unit template: the checkout's `deploy/systemd/`, else the copy shipped in the package."""
    checkout = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / TEMPLATE
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return resources.files("tg").joinpath("deploy", TEMPLATE).read_text(encoding="utf-8")
