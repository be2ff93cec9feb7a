from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke, run_tg
from tg.ops.audit import AuditLog


def test_verify_intact_then_tampered(project: Path) -> None:
    log = AuditLog(project / "audit" / "audit.jsonl")
    for i in range(3):
        log.append("snapshot", {"i": i})
    ok = invoke("audit", "verify", "--json")
    assert ok.code == 0 and ok.json()["entries"] == 3
    lines = log.path.read_text().splitlines()
    lines[1] = lines[1].replace('"snapshot"', '"restore"')
    log.path.write_text("\n".join(lines) + "\n")
    bad = run_tg("audit", "verify", cwd=project)
    assert bad.code == 1
    assert "line 2" in bad.stdout
