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
