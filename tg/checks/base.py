"""The verdict of one check, and how verdicts combine into a status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ok = "ok"
    warn = "warn"  # works, but something is missing: makes the system `degraded`
    fail = "fail"  # broken: makes the system `unhealthy`


@dataclass(frozen=True)
class CheckResult:
    name: str
    verdict: Verdict
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.ok

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "verdict": self.verdict.value, "detail": self.detail, **self.data}


def overall_status(results: list[CheckResult]) -> str:
    """healthy (all ok) | degraded (something missing) | unhealthy (something broken)."""
    verdicts = {r.verdict for r in results}
    if Verdict.fail in verdicts:
        return "unhealthy"
    if Verdict.warn in verdicts:
        return "degraded"
    return "healthy"
