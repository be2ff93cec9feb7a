"""The log file's rotation by size (tg.ops.logsetup.SizeRotatingFile, standing in for logging.handlers')."""

from __future__ import annotations

import logging
from pathlib import Path

from tg.ops.logsetup import SizeRotatingFile, setup_logging


def record(text: str) -> logging.LogRecord:
    return logging.LogRecord("tg", logging.INFO, __file__, 1, text, None, None)


def test_a_full_file_rotates_to_numbered_backups_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "trading.log"
    handler = SizeRotatingFile(path, max_bytes=100, backup_count=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(6):  # 60-byte lines: each one fills the file
        handler.emit(record(f"{n}" * 59))
    handler.close()
    assert path.read_text() == "5" * 59 + "\n"
    assert (tmp_path / "trading.log.1").read_text() == "4" * 59 + "\n"
    assert (tmp_path / "trading.log.2").read_text() == "3" * 59 + "\n"
    assert not (tmp_path / "trading.log.3").exists()


def test_no_rotation_without_a_size_or_backups(tmp_path: Path) -> None:
    for max_bytes, backups in ((0, 3), (50, 0)):
        path = tmp_path / f"log-{max_bytes}-{backups}"
        handler = SizeRotatingFile(path, max_bytes, backups)
        for n in range(5):
            handler.emit(record(str(n) * 40))
        handler.close()
        assert len(path.read_text().splitlines()) == 5 and not list(tmp_path.glob(f"{path.name}.*"))


def test_setup_logging_writes_the_file_only_into_an_existing_directory(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    assert setup_logging(logs, "trading.log", "INFO", 1000, 2, 7, create_dir=False) is None
    path = setup_logging(logs, "trading.log", "INFO", 1000, 2, 7, create_dir=True)
    assert path == logs / "trading.log"
    logging.getLogger("tg").info("written")
    assert "written" in path.read_text()
    for _ in range(40):
        logging.getLogger("tg").info("x" * 60)
    assert (logs / "trading.log.1").exists() and path.stat().st_size < 1000
