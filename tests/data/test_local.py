"""The local source over the embedded Qlib subset: real values, adjustments, clear misses."""

from datetime import date, datetime

import numpy as np
import pytest

from tg.data.exchange_calendar import CHINA, load_calendar
from tg.data.local import LocalSource, embedded_root
from tg.data.symbols import parse_symbol
from tg.errors import NoData


@pytest.fixture(scope="module")
def local() -> LocalSource:
    return LocalSource()


def test_embedded_subset_has_the_documented_instruments(local: LocalSource) -> None:
    symbols = {s.qlib for s in local.instruments()}
    assert {"SH600519", "SZ000858", "SH601318", "SH600036", "SZ000001", "SH000300"} <= symbols
    assert 20 <= len(symbols) <= 30
    assert (embedded_root().parent / "README.md").read_text().count("Provenance") == 1


def test_moutai_raw_close_on_the_last_day(local: LocalSource) -> None:
    bars = local.daily_bars(parse_symbol("600519"), None, None, "none")
    assert len(bars) == 3843 and str(bars.last_date) == "2025-10-31"
    assert bars.close[-1] == pytest.approx(1430.01)
    assert bars.volume[-1] == 3_569_377  # shares
    assert bars.source == "local" and bars.adjustment == "none"


def test_adjustments_agree_on_returns_and_qfq_ends_at_the_raw_price(local: LocalSource) -> None:
    sym = parse_symbol("600519")
    hfq = local.daily_bars(sym, None, None, "hfq")
    qfq = local.daily_bars(sym, None, None, "qfq")
    raw = local.daily_bars(sym, None, None, "none")
    assert qfq.close[-1] == pytest.approx(raw.close[-1], rel=1e-6)
    np.testing.assert_allclose(hfq.close[1:] / hfq.close[:-1], qfq.close[1:] / qfq.close[:-1], rtol=1e-9)


def test_date_range_and_index(local: LocalSource) -> None:
    bars = local.daily_bars(parse_symbol("SH000300"), date(2025, 10, 1), date(2025, 10, 31), "none")
    assert str(bars.first_date) >= "2025-10-01" and str(bars.last_date) == "2025-10-31"


def test_unknown_symbol_and_empty_range_are_no_data(local: LocalSource) -> None:
    with pytest.raises(NoData, match="688981"):
        local.daily_bars(parse_symbol("688981"), None, None, "none")
    with pytest.raises(NoData):
        local.daily_bars(parse_symbol("600519"), date(2030, 1, 1), None, "none")


def test_quote_is_the_last_bar(local: LocalSource) -> None:
    q = local.quote(parse_symbol("600519"))
    assert q.price == pytest.approx(1430.01) and q.prev_close == pytest.approx(1426.74)


def test_a_quote_older_than_the_last_closed_session_is_stale(local: LocalSource) -> None:
    """Before: the embedded 2025-10-31 bar was served a year later as `"status": "trading"`."""
    q = local.quote(parse_symbol("600519"))
    calendar = load_calendar(None)
    same_evening = q.aged(calendar, datetime(2025, 10, 31, 16, 0, tzinfo=CHINA))
    assert same_evening.status == "trading" and same_evening.sessions_behind == 0
    monday_morning = q.aged(calendar, datetime(2025, 11, 3, 9, 0, tzinfo=CHINA))  # no session closed since
    assert monday_morning.status == "trading"
    monday_close = q.aged(calendar, datetime(2025, 11, 3, 15, 1, tzinfo=CHINA))
    assert monday_close.status == "stale" and monday_close.sessions_behind == 1
    year_later = q.aged(calendar, datetime(2026, 11, 24, 10, 0, tzinfo=CHINA)).to_dict()
    assert year_later["status"] == "stale" and year_later["sessions_behind"] > 200
