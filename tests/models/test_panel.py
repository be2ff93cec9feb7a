"""The panel loader: the embedded data set as (symbols × dates) arrays, with a data fingerprint."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tg.data.local import LocalSource, embedded_root
from tg.data.symbols import parse_symbol
from tg.errors import DataError
from tg.models.panel import load_panel


@pytest.fixture(scope="module")
def panel():
    return load_panel(embedded_root())


def small_copy(tmp_path: Path, symbols: tuple[str, ...] = ("sh600519", "sz000858", "sh000300")) -> Path:
    """A private Qlib directory with a few symbols of the embedded set, safe to modify."""
    root = tmp_path / "qlib"
    src = embedded_root()
    shutil.copytree(src / "calendars", root / "calendars")
    shutil.copytree(src / "instruments", root / "instruments")
    for name in symbols:
        shutil.copytree(src / "features" / name, root / "features" / name)
    return root


def test_loads_every_stock_of_the_embedded_set_on_one_calendar(panel) -> None:
    listed = [s.qlib for s in LocalSource().instruments("all") if not s.is_index]
    assert panel.symbols == sorted(listed)
    assert "SH000300" not in panel.symbols and "SH000001" not in panel.symbols
    assert panel.shape == (len(listed), 3843)
    assert panel.dates[0] == np.datetime64("2010-01-04") and panel.dates[-1] == np.datetime64("2025-10-31")
    for name in ("open", "high", "low", "close", "volume", "factor"):
        assert getattr(panel, name).shape == panel.shape and getattr(panel, name).dtype == np.float64
    assert panel.tradable.dtype == bool
    assert panel.benchmark == "SH000300"
    assert np.isfinite(panel.benchmark_close).all()


def test_prices_match_the_bar_reader_and_are_nan_before_listing(panel) -> None:
    bars = LocalSource().daily_bars(parse_symbol("600519"), date(2024, 1, 1), date(2024, 3, 1), "hfq")
    row = panel.index_of("600519")
    cols = np.searchsorted(panel.dates, bars.dates)
    np.testing.assert_array_equal(panel.close[row, cols], bars.close)
    np.testing.assert_array_equal(panel.volume[row, cols], bars.volume)
    catl = panel.index_of("SZ300750")  # listed 2018-06-11
    before = panel.dates < np.datetime64("2018-06-11")
    assert np.isnan(panel.close[catl, before]).all() and not panel.tradable[catl, before].any()
    assert panel.tradable[catl, ~before].mean() > 0.95


def test_suspended_days_are_not_tradable(panel) -> None:
    zero = panel.volume == 0
    assert not panel.tradable[zero].any()
    assert np.array_equal(panel.tradable, np.isfinite(panel.close) & (panel.volume > 0))


def test_symbols_and_date_range_select_a_sub_panel() -> None:
    sub = load_panel(embedded_root(), ["600519", "SZ000858"], date(2024, 1, 1), date(2024, 12, 31))
    assert sub.symbols == ["SH600519", "SZ000858"]
    assert sub.dates[0] == np.datetime64("2024-01-02") and sub.dates[-1] == np.datetime64("2024-12-31")
    assert sub.shape == (2, len(sub.dates))
    assert np.isfinite(sub.close).all()


def test_fingerprint_is_stable_and_follows_the_data(tmp_path: Path) -> None:
    root = small_copy(tmp_path)
    first = load_panel(root, ["SH600519", "SZ000858"])
    assert first.fingerprint() == load_panel(root, ["SH600519", "SZ000858"]).fingerprint()
    assert len(first.fingerprint()) == 64
    assert load_panel(root, ["SH600519"]).fingerprint() != first.fingerprint()

    path = root / "features" / "sh600519" / "close.day.bin"
    raw = np.fromfile(path, dtype="<f4")
    raw[1000] *= 1.001
    raw.tofile(path)
    assert load_panel(root, ["SH600519", "SZ000858"]).fingerprint() != first.fingerprint()


def test_unknown_symbol_or_directory_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="SH600000"):
        load_panel(embedded_root(), ["SH600000"])
    with pytest.raises(DataError, match="not a Qlib data directory"):
        load_panel(tmp_path / "nowhere")
    with pytest.raises(DataError, match="SZ399006"):
        load_panel(embedded_root(), benchmark="SZ399006")  # not in the embedded subset
    with pytest.raises(DataError, match="no trading dates"):
        load_panel(embedded_root(), ["600519"], date(2030, 1, 1))
    with pytest.raises(DataError, match="not among"):
        load_panel(embedded_root(), ["600519"]).index_of("000858")


def test_a_listed_symbol_without_data_is_a_data_error(tmp_path: Path) -> None:
    root = small_copy(tmp_path)  # all.txt still lists the 20 symbols not copied
    with pytest.raises(DataError, match="no data for SH600028"):
        load_panel(root)


def test_truncated_field_file_is_a_data_error(tmp_path: Path) -> None:
    root = small_copy(tmp_path)
    (root / "features" / "sh600519" / "volume.day.bin").write_bytes(b"")
    with pytest.raises(DataError, match="SH600519/volume.day.bin"):
        load_panel(root, ["SH600519"])


def test_without_a_benchmark_its_close_is_nan(tmp_path: Path) -> None:
    root = small_copy(tmp_path, ("sh600519",))
    (root / "instruments" / "all.txt").write_text("SH600519\t2010-01-04\t2025-10-31\n")
    panel = load_panel(root, benchmark=None)
    assert panel.symbols == ["SH600519"] and panel.benchmark == ""
    assert np.isnan(panel.benchmark_close).all()
