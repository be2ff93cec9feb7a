"""Append-only, hash-chained JSON-lines audit log (`audit/audit.jsonl`).

Each line is a JSON object `{seq, ts, event, actor, details, prev, hash}` where
`hash = sha256(canonical JSON of every other field)` and `prev` is the previous line's hash
(64 zeros for the first). Editing, removing or reordering a line breaks the chain at that line.

A chain cannot show that lines were cut from its END, or that the whole file was deleted, so every
append also records the chain's head (`seq` and `hash` of the last entry) in `<file>.head`,
written atomically. Verification compares the log with its head: a shortened or missing log is
broken. An append refuses to extend a chain whose last line disagrees with its head.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.errors import AuditError
from tg.ops.atomic import atomic_write_bytes

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying the chain: `first_bad_line` is 1-based, None when intact."""

    path: str
    entries: int
    ok: bool
    first_bad_line: int | None = None
    reason: str = ""
    last_hash: str = GENESIS


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash of an entry: sha256 over its canonical JSON without the `hash` field."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    """The audit log file; appends are serialised with an exclusive lock and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")

    def append(self, event: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one event (details must already be free of secrets) and return the entry."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                seq, prev = self._tail(handle)
                self._check_head(seq, prev)
                entry: dict[str, Any] = {
                    "seq": seq,
                    "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "event": event,
                    "actor": _actor(),
                    "details": details or {},
                    "prev": prev,
                }
                entry["hash"] = entry_hash(entry)
                line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
                head = json.dumps({"seq": seq, "hash": entry["hash"]}) + "\n"
                atomic_write_bytes(self.head_path, head.encode("utf-8"))
        except OSError as exc:
            raise AuditError(f"cannot append to audit log {self.path}: {exc.strerror or exc}") from exc
        return entry

    def _tail(self, handle: Any) -> tuple[int, str]:
        """Next sequence number and previous hash, read from the last complete line."""
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return 0, GENESIS
        chunk = min(size, 65536)
        handle.seek(size - chunk)
        data = handle.read(chunk)
        if not data.endswith(b"\n"):
            raise AuditError(f"audit log {self.path} ends with a partial line: run `tg audit verify`")
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        try:
            entry = json.loads(last)
            return int(entry["seq"]) + 1, str(entry["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"audit log {self.path} has an unreadable last line: run `tg audit verify`") from exc

    def entry(self, seq: int) -> dict[str, Any] | None:
        """The entry with sequence number `seq` (line seq + 1), or None when the log has no such line."""
        try:
            with open(self.path, "rb") as handle:
                for number, line in enumerate(handle):
                    if number == seq:
                        found = json.loads(line)
                        return found if isinstance(found, dict) else None
        except (OSError, ValueError):
            return None
        return None

    def head(self) -> tuple[int, str] | None:
        """The recorded head (seq and hash of the last entry appended), or None before the first append."""
        try:
            recorded = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(recorded["seq"]), str(recorded["hash"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"audit head {self.head_path} is unreadable ({exc}): run `tg audit verify`") from exc

    def _check_head(self, seq: int, prev: str) -> None:
        """Refuse to append after a chain that was cut, replaced or deleted behind its head."""
        head = self.head()
        if head is not None and (head[0] != seq - 1 or head[1] != prev):
            raise AuditError(
                f"audit log {self.path} does not end where its head says (entry {head[0]}): it was shortened or "
                "replaced; refusing to append: run `tg audit verify`"
            )

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first line whose content or link is wrong, or a log that
        ends before its recorded head (cut short, or deleted)."""
        report = self._walk()
        if not report.ok:
            return report
        try:
            head = self.head()
        except AuditError as exc:
            return ChainReport(report.path, report.entries, False, report.entries + 1, str(exc))
        if head is not None and (report.entries != head[0] + 1 or report.last_hash != head[1]):
            what = "is missing" if report.entries == 0 else f"ends at entry {report.entries - 1}"
            reason = f"the log {what} but its head records entry {head[0]}: lines were cut or the file replaced"
            return ChainReport(report.path, report.entries, False, report.entries + 1, reason)
        return report

    def _walk(self) -> ChainReport:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return ChainReport(str(self.path), 0, True)
        except OSError as exc:
            return ChainReport(str(self.path), 0, False, 1, f"unreadable: {exc.strerror or exc}")
        prev, count = GENESIS, 0
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            return ChainReport(str(self.path), len(lines) - 1, False, len(lines), "partial last line")
        for number, line in enumerate(lines, start=1):
            reason = _check_line(line, number - 1, prev)
            if reason:
                return ChainReport(str(self.path), count, False, number, reason)
            prev = json.loads(line)["hash"]
            count += 1
        return ChainReport(str(self.path), count, True, last_hash=prev)


def _check_line(line: bytes, seq: int, prev: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return "not valid JSON"
    if not isinstance(entry, dict) or "hash" not in entry:
        return "not an audit entry"
    if entry.get("seq") != seq:
        return f"sequence {entry.get('seq')!r}, expected {seq}"
    if entry.get("prev") != prev:
        return "link to the previous line is broken (line removed or reordered)"
    if entry_hash(entry) != entry["hash"]:
        return "content does not match its hash (line edited)"
    return ""


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
