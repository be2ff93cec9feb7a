"""The audit log is append-only and its hash chain exposes any edit, removal or reorder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tg.errors import AuditError
from tg.ops.audit import GENESIS, AuditLog


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit" / "audit.jsonl")
    for i in range(5):
        audit.append("train", {"run": i})
    return audit


def test_appended_entries_chain_from_genesis(log: AuditLog) -> None:
    entries = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert [e["seq"] for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    report = log.verify()
    assert report.ok and report.entries == 5


def test_an_edited_line_is_named(log: AuditLog) -> None:
    lines = log.path.read_text().splitlines()
    lines[2] = lines[2].replace('"run": 2', '"run": 99')
    log.path.write_text("\n".join(lines) + "\n")
    report = log.verify()
    assert not report.ok and report.first_bad_line == 3 and "edited" in report.reason


def test_a_removed_line_breaks_the_link(log: AuditLog) -> None:
    lines = log.path.read_text().splitlines()
    del lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    report = log.verify()
    assert not report.ok and report.first_bad_line == 2


def test_a_partial_last_line_is_reported_and_blocks_appends(log: AuditLog) -> None:
    with open(log.path, "ab") as handle:
        handle.write(b'{"seq": 5, "ev')
    report = log.verify()
    assert not report.ok and report.first_bad_line == 6
    with pytest.raises(AuditError, match="partial line"):
        log.append("deploy")


def test_missing_log_is_an_intact_empty_chain(tmp_path: Path) -> None:
    report = AuditLog(tmp_path / "none.jsonl").verify()
    assert report.ok and report.entries == 0


def test_a_shortened_or_deleted_log_is_caught_by_its_head(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for n in range(5):
        log.append("train", {"n": n})
    assert log.verify().ok and log.head() == (4, log.verify().last_hash)
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:-3]))  # head -n -3: the chain itself is still valid
    report = log.verify()
    assert not report.ok and "ends at entry 1 but its head records entry 4" in report.reason
    with pytest.raises(AuditError, match="refusing to append"):
        log.append("train", {"n": 9})  # never extend a chain known to be cut
    log.path.unlink()
    assert not log.verify().ok and "is missing" in log.verify().reason


def test_the_cli_says_broken_for_a_truncated_log(project: Path) -> None:
    from tests.conftest import invoke

    log = AuditLog(project / "audit" / "audit.jsonl")
    for n in range(3):
        log.append("train", {"n": n})
    assert invoke("audit", "verify").code == 0
    log.path.write_text(log.path.read_text().splitlines(keepends=True)[0])
    out = invoke("audit", "verify")
    assert out.code == 1
    assert invoke("health", "--json").json()["checks"]["audit"]["verdict"] == "fail"
