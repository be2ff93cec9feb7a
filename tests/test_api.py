"""`tg.api`: bars, predict and evaluate for notebooks, with the CLI's config and overrides."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import tg.api as tg
from tests.conftest import TINY
from tg.errors import DataError, UsageError


def test_importing_the_api_does_not_import_pandas() -> None:
    code = "import sys, tg.api; print('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_bars_are_a_dataframe_by_date(project: Path) -> None:
    frame = tg.bars("600519", "2025-10-01", "2025-10-31", overrides=["source=local"], project=project)
    assert list(frame.columns[:5]) == ["open", "high", "low", "close", "volume"]
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index[-1] == pd.Timestamp("2025-10-31")
    assert frame["close"].iloc[-1] == pytest.approx(1430.01, abs=0.01)
    assert frame.attrs["symbol"] == "600519.SH" and frame.attrs["source"] == "local"
    with pytest.raises(UsageError):
        tg.bars("600519", "2025-10-31", "2025-10-01", overrides=["source=local"], project=project)


def test_predict_gives_a_typed_forecast_and_its_band(trained_project: Path) -> None:
    answer = tg.predict("600519", "2025-06-03", project=trained_project)
    assert answer.symbol == "600519.SH" and answer.as_of == "2025-06-03" and answer.horizon == 5
    assert abs(sum(answer.probabilities.values()) - 1) < 1e-9 and answer.signal in ("UP", "FLAT", "DOWN")
    band = answer.to_frame()
    assert list(band.columns) == ["q10", "q50", "q90"] and len(band) == 5
    assert (band["q10"] <= band["q50"]).all() and (band["q50"] <= band["q90"]).all()
    with pytest.raises(DataError):
        tg.predict("600999", project=trained_project)  # not in the data


def test_evaluate_returns_the_report_and_its_tables(trained_project: Path) -> None:
    report = tg.evaluate(overrides=TINY, project=trained_project)
    assert "ensemble" in report.table.index and "rank_ic" in report.table.columns
    assert {"ensemble", "momentum_20", "reversal_5"} <= set(report.backtest.index)
    predictions = report.predictions
    assert len(predictions[predictions["tradable"] == 1]) == report.data["rows"]
    assert predictions["symbol"].str.startswith(("SH", "SZ")).all()
