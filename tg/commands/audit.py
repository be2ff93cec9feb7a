"""`tg audit verify`: walk the audit log's hash chain and name the first broken line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tg.config.loader import LoadedConfig
from tg.errors import EXIT_FAILED, EXIT_OK
from tg.ops.audit import AuditLog, ChainReport


@dataclass
class AuditVerdict:
    report: ChainReport

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.report.ok else EXIT_FAILED

    def to_dict(self) -> dict[str, Any]:
        return dict(self.report.__dict__)

    def text(self) -> str:
        r = self.report
        if r.ok:
            return f"audit log {r.path}: hash chain intact ({r.entries} entries)"
        return f"audit log {r.path}: chain broken at line {r.first_bad_line}: {r.reason}"


def run_audit_verify(loaded: LoadedConfig) -> AuditVerdict:
    return AuditVerdict(AuditLog(loaded.path("audit") / loaded.cfg.audit.file).verify())
