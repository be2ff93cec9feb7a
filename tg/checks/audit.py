"""The audit log: enabled, its directory writable, its hash chain intact."""

from __future__ import annotations

import os
from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.ops.audit import AuditLog


def check_audit(audit_dir: Path, file_name: str, enabled: bool) -> CheckResult:
    if not enabled:
        return CheckResult("audit", Verdict.warn, "audit log disabled (audit.enabled=false)", {"enabled": False})
    report = AuditLog(audit_dir / file_name).verify()
    data = {"enabled": True, "path": report.path, "entries": report.entries, "chain_intact": report.ok}
    if not report.ok:
        data["first_bad_line"] = report.first_bad_line
        return CheckResult(
            "audit", Verdict.fail, f"hash chain broken at line {report.first_bad_line}: {report.reason}", data
        )
    if not (audit_dir.is_dir() and os.access(audit_dir, os.W_OK)):
        return CheckResult("audit", Verdict.warn, f"audit directory {audit_dir} missing or not writable", data)
    return CheckResult("audit", Verdict.ok, f"hash chain intact ({report.entries} entries)", data)
