"""The deploy and rollback playbook as code: each step a `tg` (or git) command, any failure after
the snapshot rolled back by itself.

deploy(ref): refuse a dirty work tree → preflight (`tg health`, `tg doctor`) → snapshot (configs +
models, recording the code ref) → stop the service → check out `ref` → install → `tg health` and
`tg doctor` → start the service → wait for /healthz and /readyz. A failure after the snapshot: stop,
check out the previous ref, restore the snapshot, install, start, verify — and exit non-zero with a
report of what failed and what was restored.

rollback(archive): the latest (or named) snapshot and the code ref it recorded, restored the same way.

`invoke deploy` / `invoke rollback` (tasks.py) are thin layers over these; `--dry` prints the plan.
Steps run `tg` with the interpreter running this code (`python -m tg`), so after a checkout the
next step runs the new code when the project is installed editable (the default `deploy.install`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.errors import GateFailed


@dataclass
class Report:
    """What a playbook run did, step by step."""

    action: str
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step, "ok" | "failed: …" | "planned")
    failed: str = ""
    restored: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.action}: {'FAILED: ' + self.failed if self.failed else 'ok'}"]
        lines += [f"  {outcome:<8} {step}" for step, outcome in self.steps]
        if self.restored:
            lines.append("  rolled back: " + "; ".join(self.restored))
        return "\n".join(lines)


class Playbook:
    """Run the steps in `root` with `overrides` passed to every `tg` command."""

    def __init__(
        self,
        root: Path,
        overrides: list[str] | None = None,
        dry: bool = False,
        echo: Callable[[str], None] = print,
        ready_timeout_s: float = 60.0,
        install: str = "{python} -m pip install -q -e .",
        audit: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.root = root
        self.audit = audit or (lambda event, details: None)
        self.overrides = overrides or []
        self.dry = dry
        self.echo = echo
        self.ready_timeout_s = ready_timeout_s
        self.install_command = install

    # ---- the playbooks -----------------------------------------------------------------------------

    def deploy(self, ref: str) -> Report:
        report = Report(f"deploy {ref}")
        previous = self.git("rev-parse", "HEAD") if not self.dry else "HEAD"
        tag = "predeploy-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        try:  # nothing has changed yet: a failure here just stops
            self._step(report, "work tree clean", self._refuse_dirty)
            self._step(report, "preflight: tg health", lambda: self.tg("health"))
            self._step(report, "preflight: tg doctor", lambda: self.tg("doctor"))
            snapshot = f"snapshot {tag} (configs, models; code {previous[:12]})"
            archive = self._step(report, snapshot, lambda: self._snapshot(tag))
        except GateFailed as exc:
            report.failed = str(exc)
            return report
        if not self.dry:
            self.audit("deploy.begin", {"ref": ref, "from": previous, "snapshot": Path(archive).name})
        try:
            self._step(report, "stop the service", lambda: self.tg("deploy", "stop"))
            self._step(report, f"check out {ref}", lambda: self._checkout(ref, fetch=True))
            self._step(report, "install", self._install)
            self._step(report, "tg health", lambda: self.tg("health"))
            self._step(report, "tg doctor", lambda: self.tg("doctor"))
            self._step(report, "start the service", lambda: self.tg("deploy", "start"))
            self._step(report, "/healthz and /readyz answer 200", self._wait_ready)
        except GateFailed as exc:
            report.failed = str(exc)
            self._roll_back(report, previous, archive)
        if not self.dry:
            self.audit("deploy.failed" if report.failed else "deploy.done", {"ref": ref, "failed": report.failed})
        return report

    def rollback(self, archive: str | None = None) -> Report:
        report = Report("rollback")
        try:
            self._step(report, "work tree clean", self._refuse_dirty)
            chosen = archive or self._latest_snapshot()
            ref = self._describe(chosen).get("code_ref")
        except GateFailed as exc:
            report.failed = str(exc)
            return report
        if not self.dry:
            self.audit("rollback.begin", {"snapshot": Path(chosen).name, "code_ref": ref})
        try:
            self._step(report, "stop the service", lambda: self.tg("deploy", "stop"))
            if ref:
                self._step(report, f"check out {ref[:12]}", lambda: self._checkout(ref, fetch=False))
                self._step(report, "install", self._install)
            restore = ("snapshot", "restore", "--archive", chosen, "--confirm")
            self._step(report, f"restore {Path(chosen).name}", lambda: self.tg(*restore))
            self._step(report, "start the service", lambda: self.tg("deploy", "start"))
            self._step(report, "/healthz and /readyz answer 200", self._wait_ready)
        except GateFailed as exc:
            report.failed = str(exc)
        if not self.dry:
            self.audit("rollback.failed" if report.failed else "rollback.done", {"snapshot": Path(chosen).name})
        return report

    # ---- steps ---------------------------------------------------------------------------------------

    def _roll_back(self, report: Report, previous: str, archive: str) -> None:
        self.echo(f"deploy failed ({report.failed}): rolling back to {previous[:12]} and {Path(archive).name}")

        def restore() -> str:
            return self.tg("snapshot", "restore", "--archive", archive, "--confirm")

        for name, action in (
            ("stop the service", lambda: self.tg("deploy", "stop")),
            (f"check out {previous[:12]}", lambda: self._checkout(previous, fetch=False)),
            ("install", self._install),
            (
                f"restore {Path(archive).name}",
                lambda: self.tg("snapshot", "restore", "--archive", archive, "--confirm"),
            ),  # noqa: E501
            ("start the service", lambda: self.tg("deploy", "start")),
            ("/healthz and /readyz answer 200", self._wait_ready),
        ):
            try:
                self._step(report, "rollback: " + name, action)
                report.restored.append(name)
            except GateFailed as exc:
                report.restored.append(f"{name} FAILED ({exc})")

    def _step(self, report: Report, name: str, action: Callable[[], Any]) -> Any:
        if self.dry:
            report.steps.append((name, "planned"))
            self.echo(f"planned  {name}")
            return ""
        self.echo(f"...      {name}")
        try:
            result = action()
        except GateFailed as exc:
            report.steps.append((name, f"failed: {exc}"))
            raise
        report.steps.append((name, "ok"))
        return result

    def _refuse_dirty(self) -> None:
        changed = self.git("status", "--porcelain", "--untracked-files=no")
        if changed:
            first = changed.splitlines()[0].strip()
            raise GateFailed(f"the work tree has uncommitted changes ({first} …): commit or stash them")

    def _snapshot(self, tag: str) -> str:
        out = self.tg("snapshot", "create", "--include-configs", "--include-models", "--tag", tag, "--json")
        return str(json.loads(out)["path"])

    def _checkout(self, ref: str, fetch: bool) -> None:
        if fetch and self.git("remote"):
            self.git("fetch", "--quiet", "--tags", "origin")
        for candidate in (ref, f"origin/{ref}"):
            try:
                commit = self.git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            except GateFailed:
                continue
            self.git("checkout", "--quiet", "--detach", commit)
            return
        raise GateFailed(f"no commit named {ref!r} here or on origin")

    def _install(self) -> None:
        if not self.install_command:
            return
        command = self.install_command.format(python=sys.executable)
        self._run(["sh", "-c", command], f"install ({command})")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = json.loads(self.tg("deploy", "status", "--json", check=False) or "{}")
            if status.get("healthz") == 200 and status.get("readyz") == 200:
                return
            time.sleep(0.5)
        raise GateFailed(
            f"the service was not ready within {self.ready_timeout_s:g} s ({status.get('detail', 'no status')})"
        )

    def _latest_snapshot(self) -> str:
        listed = json.loads(self.tg("snapshot", "list", "--json"))
        # the pre-restore snapshots are what a restore replaced: rolling back to one would undo the rollback
        usable = [s for s in listed["snapshots"] if s.get("verified") and not s["tag"].startswith("prerestore-")]
        if not usable:
            raise GateFailed("no verified snapshot to roll back to")
        return str(usable[0]["path"])

    def _describe(self, archive: str) -> dict[str, Any]:
        out = self.tg("snapshot", "verify", archive, "--json")
        return dict(json.loads(out))

    # ---- processes -----------------------------------------------------------------------------------

    def tg(self, *args: str, check: bool = True) -> str:
        """Run `tg ARGS overrides` in the project; GateFailed with its error line when it fails."""
        return self._run([sys.executable, "-m", "tg", *args, *self.overrides], "tg " + " ".join(args), check)

    def git(self, *args: str) -> str:
        return self._run(["git", *args], "git " + " ".join(args)).strip()

    def _run(self, command: list[str], what: str, check: bool = True) -> str:
        proc = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=1800, check=False)
        if check and proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
            raise GateFailed(f"{what} exited {proc.returncode}: {last}")
        return proc.stdout
