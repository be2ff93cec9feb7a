"""Institutional readiness controls for an analysis-only system, each computed from real state."""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.checks.base import CheckResult, Verdict
from tg.checks.context import CheckContext

CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".ini", ".cfg", ".json", ".env")
CREDENTIAL_PATTERNS = (
    re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@"),  # URL with user:password@
    re.compile(r"(?i)(password|passwd|secret|token|api_?key|access_key)\s*[:=]\s*['\"]?(?!\$\{)[^'\"\s#]{4,}"),
)


@dataclass(frozen=True)
class Control:
    id: str
    required: bool
    ok: bool | None  # None: not evaluated (the profile does not require it)
    expected: str
    actual: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "evaluated": self.ok is not None}


def execution_disabled(ctx: CheckContext) -> tuple[bool, str, str]:
    loaded = ctx.loaded
    engine = importlib.util.find_spec("tg.execution") is not None
    ok = not loaded.cfg.execution_enabled and not engine
    flag = str(loaded.cfg.execution_enabled).lower()
    actual = f"execution_enabled={flag}, engine {'present' if engine else 'absent'}"
    return ok, "execution_enabled=false, no execution engine", actual


def audit_log(ctx: CheckContext) -> tuple[bool, str, str]:
    return ctx.audit.ok, "enabled, writable, hash chain intact", ctx.audit.detail


def model_checksums(ctx: CheckContext) -> tuple[bool, str, str]:
    expected = "current model's files match their sha256"
    inspection = ctx.models(checksums=True)
    if not inspection.ready or inspection.manifest is None:
        return False, expected, inspection.refused
    return True, expected, f"model {inspection.manifest.version}: {len(inspection.manifest.files)} files verified"


def log_rotation(ctx: CheckContext) -> tuple[bool, str, str]:
    log = ctx.loaded.cfg.logging
    ok = log.max_bytes > 0 and log.backup_count > 0 and log.retention_days > 0
    actual = f"max_bytes={log.max_bytes}, backup_count={log.backup_count}, retention_days={log.retention_days}"
    return ok, "max_bytes>0, backup_count>0, retention_days>0", actual


def metrics_exposure(ctx: CheckContext) -> tuple[bool, str, str]:
    host, keyed = ctx.loaded.cfg.serve.host, bool(ctx.loaded.cfg.serve.api_key)
    ok = is_loopback(host) or keyed
    return ok, "loopback bind, or an API key set", f"host={host}, api_key={'set' if keyed else 'unset'}"


def no_credentials_in_config(ctx: CheckContext) -> tuple[bool, str, str]:
    hits = credential_findings(tracked_config_files(ctx.loaded.conf_dir, ctx.loaded.root))
    actual = "none found" if not hits else "; ".join(hits[:3]) + (f" (+{len(hits) - 3} more)" if len(hits) > 3 else "")
    return not hits, "no credentials in tracked config files", actual


def recent_snapshot(ctx: CheckContext) -> tuple[bool, str, str]:
    """The newest snapshot is younger than the profile allows AND verifies (manifest, every member's
    sha256): a file named like a snapshot proves nothing."""
    from tg.errors import ArtifactError
    from tg.ops.snapshot_read import list_snapshots, verify

    loaded = ctx.loaded
    max_age = loaded.cfg.profile.snapshot_max_age_hours
    backups = loaded.path("backups")
    expected = f"a verified snapshot in {backups} newer than {max_age:g} h"
    snapshots = list_snapshots(backups, verify_each=False)
    if not snapshots:
        return False, expected, f"no snapshot_*.tar.gz in {backups}"
    newest = snapshots[0]
    try:
        manifest = verify(newest.path)
    except ArtifactError as exc:
        return False, expected, f"{newest.path.name} does not verify: {exc}"
    try:
        created = datetime.fromisoformat(manifest.created_at)
    except ValueError:
        return False, expected, f"{newest.path.name} has no valid creation time"
    age_h = (datetime.now(UTC) - created).total_seconds() / 3600
    return age_h <= max_age, expected, f"{newest.path.name} is {age_h:.1f} h old, verified"


CONTROLS: dict[str, Callable[[CheckContext], tuple[bool, str, str]]] = {
    "execution_disabled": execution_disabled,
    "audit_log": audit_log,
    "model_checksums": model_checksums,
    "log_rotation": log_rotation,
    "metrics_exposure": metrics_exposure,
    "no_credentials_in_config": no_credentials_in_config,
    "recent_snapshot": recent_snapshot,
}


def evaluate_controls(ctx: CheckContext) -> list[Control]:
    """Every control the profile requires, evaluated; the others listed as not evaluated (a quick
    profile must not pay for hashing models or walking the config tree it did not ask for)."""
    profile = ctx.loaded.cfg.profile
    required = set(profile.readiness_required)
    controls = []
    for control_id, evaluate in CONTROLS.items():
        if control_id not in required:
            why = f"not evaluated: profile {profile.name} does not require it"
            controls.append(Control(control_id, False, None, "", "", why))
            continue
        ok, expected, actual = evaluate(ctx)
        message = "ok" if ok else f"expected {expected}; found {actual}"
        controls.append(Control(control_id, True, ok, expected, actual, message))
    return controls


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tracked_config_files(conf_dir: Path, root: Path) -> list[Path]:
    """The config tree, plus config-like files git tracks in the project root (`.env` is untracked)."""
    files = {p for p in conf_dir.rglob("*") if p.is_file()}
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=5, check=False
        ).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    for rel in filter(None, listed.split("\0")):
        if rel.endswith(CONFIG_SUFFIXES) and not rel.startswith("tests/"):
            files.add(root / rel)
    return sorted(files)


def credential_findings(files: list[Path]) -> list[str]:
    """`file:line (what)` for each line that looks like a credential; the value is never echoed."""
    hits = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for lineno, line in enumerate(text.splitlines(), start=1):
            for pattern in CREDENTIAL_PATTERNS:
                if pattern.search(line):
                    kind = "URL credentials" if pattern is CREDENTIAL_PATTERNS[0] else "secret value"
                    hits.append(f"{path.name}:{lineno} ({kind})")
                    break
    return hits


def check_readiness(controls: list[Control]) -> CheckResult:
    """The doctor section: fails naming every required control that failed."""
    failed = [c.id for c in controls if c.required and not c.ok]
    if failed:
        return CheckResult("institutional_readiness", Verdict.fail, "required controls failed: " + ", ".join(failed))
    done = sum(1 for c in controls if c.required)
    return CheckResult("institutional_readiness", Verdict.ok, f"{done} required controls pass")
