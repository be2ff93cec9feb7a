"""One reader of the Qlib layout: calendars, instruments and feature bins, in either directory case."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tg.data.local import LocalSource, embedded_root
from tg.data.qlib_layout import feature_dir, read_calendar, read_field, read_instruments
from tg.data.symbols import parse_symbol
from tg.errors import DataError
from tg.models.panel import load_panel
from tg.models.universe import data_root

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ["600519", "000858", "601318", "600036", "000001"]


@pytest.fixture
def upper_case_copy(tmp_path: Path) -> Path:
    """The embedded data with `features/SH600519/`-style directories (fr220574's data set and others)."""
    root = tmp_path / "upper"
    shutil.copytree(embedded_root(), root)
    for directory in sorted((root / "features").iterdir()):
        directory.rename(directory.with_name(directory.name.upper()))
    return root


def test_upper_case_feature_directories_read_like_lower_case(upper_case_copy: Path) -> None:
    """Before: data.root pointed at such a directory failed with "missing sh600000/"."""
    lower = load_panel(embedded_root(), SYMBOLS, date(2024, 1, 1), None)
    upper = load_panel(data_root(str(upper_case_copy), Path("/")), SYMBOLS, date(2024, 1, 1), None)
    assert np.array_equal(lower.close, upper.close, equal_nan=True) and lower.dates.tolist() == upper.dates.tolist()
    bars = LocalSource(upper_case_copy).daily_bars(parse_symbol("600519"), None, None, "none")
    assert bars.close[-1] == pytest.approx(1430.01)
    assert feature_dir(upper_case_copy, "SH600519") == upper_case_copy / "features" / "SH600519"


def test_the_layout_readers_check_what_they_read(tmp_path: Path) -> None:
    root = tmp_path / "q"
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text("2024-01-03\n2024-01-02\n")
    with pytest.raises(DataError, match="not in ascending order"):
        read_calendar(root)
    (root / "calendars" / "day.txt").write_text("2024-01-02\nnot-a-date\n")
    with pytest.raises(DataError, match="is not a Qlib calendar"):
        read_calendar(root)
    with pytest.raises(DataError, match="is not a Qlib data directory"):
        read_calendar(tmp_path / "nowhere")
    (root / "instruments").mkdir()
    (root / "instruments" / "all.txt").write_text("sh600519\t2010-01-04\t2025-10-31\nSH600519\t\t\nSZ000858\n")
    assert read_instruments(root) == ["SH600519", "SZ000858"]
    (root / "features" / "sh600519").mkdir(parents=True)
    np.array([3, 1.5, 2.5], dtype="<f4").tofile(root / "features" / "sh600519" / "close.day.bin")
    first, values = read_field(root / "features" / "sh600519", "close")
    assert first == 3 and values.tolist() == [1.5, 2.5]
    (root / "features" / "sh600519" / "open.day.bin").write_bytes(b"")
    with pytest.raises(DataError, match="open.day.bin is empty"):
        read_field(root / "features" / "sh600519", "open")


def test_one_module_reads_the_layout() -> None:
    """`grep` finds the calendar, instruments and bin formats spelt out in tg/data/qlib_layout.py only."""
    found = subprocess.run(
        ["grep", "-rlE", r'"day\.txt"|/ "instruments"|/ "features"|\.day\.bin"|fromfile', "tg", "--include=*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert found == ["tg/data/qlib_layout.py"], found
    assert not re.search(r"np\.fromfile", (REPO / "tg" / "models" / "panel.py").read_text())
