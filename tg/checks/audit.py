"""The audit log: enabled, its directory writable, its hash chain intact."""

from __future__ import annotations

import os
from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.errors import ArtifactError
from tg.models.manifest import read_current
from tg.ops.audit import AuditLog


def check_audit(audit_dir: Path, file_name: str, enabled: bool, models_dir: Path | None = None) -> CheckResult:
    """ok: chain intact up to its recorded head, and the current model's switch is in it; warn: a
    current model switched without an audit record; fail: a broken, shortened or deleted chain."""
    if not enabled:
        return CheckResult("audit", Verdict.warn, "audit log disabled (audit.enabled=false)", {"enabled": False})
    log = AuditLog(audit_dir / file_name)
    report = log.verify()
    data = {"enabled": True, "path": report.path, "entries": report.entries, "chain_intact": report.ok}
    if not report.ok:
        data["first_bad_line"] = report.first_bad_line
        return CheckResult(
            "audit", Verdict.fail, f"hash chain broken at line {report.first_bad_line}: {report.reason}", data
        )
    if not (audit_dir.is_dir() and os.access(audit_dir, os.W_OK)):
        return CheckResult("audit", Verdict.warn, f"audit directory {audit_dir} missing or not writable", data)
    switch = _current_model_record(log, models_dir) if models_dir is not None else None
    if switch is not None:
        return CheckResult("audit", switch[0], switch[1], data)
    return CheckResult("audit", Verdict.ok, f"hash chain intact ({report.entries} entries)", data)


def _current_model_record(log: AuditLog, models_dir: Path) -> tuple[Verdict, str] | None:
    """A problem with the audit record of the current model's switch, or None when it is in the chain."""
    try:
        pointer = read_current(models_dir)
    except ArtifactError:
        return None  # the models check reports an unreadable CURRENT
    if pointer is None:
        return None
    version, ref = pointer
    if ref is None:
        return Verdict.warn, f"the current model {version} has no audit record: it was switched in without one"
    entry = log.entry(ref[0])
    details = entry.get("details", {}) if entry else {}
    if entry is None or entry.get("hash") != ref[1] or details.get("version") != version:
        return Verdict.fail, f"the audit entry {ref[0]} recording the switch to model {version} is missing or altered"
    return None
