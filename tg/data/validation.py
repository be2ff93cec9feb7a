"""Bar validation: nothing wrong passes silently.

Whole-series problems (unsorted or duplicate dates, volume in lots where shares are expected) are a
`DataError`. Single bad bars (NaN, broken OHLC, negative volume, an absurd jump) are quarantined:
removed from the bar set and listed with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tg.data.bars import BarSet
from tg.errors import DataError

JUMP_MARGIN = 0.05  # beyond the daily price limit plus this, a move is not a real trade
WARMUP_BARS = 5  # new listings trade without the normal limit for their first days


@dataclass(frozen=True)
class Quarantined:
    date: str
    reason: str


def price_limit(bars: BarSet) -> float | None:
    """Daily limit of the board (None for indices): 10 % main, 20 % ChiNext/STAR, 30 % Beijing."""
    symbol = bars.symbol
    if symbol.is_index:
        return None
    if symbol.exchange == "BJ":
        return 0.30
    if symbol.code.startswith(("300", "301", "688", "689")):
        return 0.20
    return 0.10


def validate_bars(bars: BarSet) -> tuple[BarSet, list[Quarantined]]:
    """Return the clean bars and what was quarantined; raise DataError for whole-series faults."""
    if len(bars) == 0:
        return bars, []
    steps = np.diff(bars.dates.astype("int64"))
    if (steps == 0).any():
        day = bars.dates[1:][steps == 0][0]
        raise DataError(f"{bars.source}: {bars.symbol} has duplicate bars for {day}")
    if (steps < 0).any():
        day = bars.dates[1:][steps < 0][0]
        raise DataError(f"{bars.source}: {bars.symbol} dates are not sorted (at {day})")
    _check_volume_units(bars)
    reasons = np.full(len(bars), "", dtype=object)
    o, h, lo, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    prices = np.vstack([o, h, lo, c])
    reasons[np.isnan(prices).any(axis=0) | np.isnan(v)] = "NaN value"
    with np.errstate(invalid="ignore"):
        broken = (lo > np.minimum(o, c) + 1e-6) | (h < np.maximum(o, c) - 1e-6) | (lo <= 0)
        reasons[(reasons == "") & broken] = "OHLC inconsistent (low/high do not bound open/close, or price <= 0)"
        reasons[(reasons == "") & (v < 0)] = "negative volume"
    limit = price_limit(bars)
    if limit is not None and bars.adjustment != "none" and len(bars) > WARMUP_BARS:
        # compare with the last ACCEPTED close, so the bar after a spike is not blamed for it
        reference = np.nan
        for i in range(len(bars)):
            if reasons[i]:
                continue
            if i >= WARMUP_BARS and reference > 0 and abs(c[i] / reference - 1.0) > limit + JUMP_MARGIN:
                reasons[i] = f"close moved more than the {limit:.0%} limit + {JUMP_MARGIN:.0%}"
                continue
            reference = c[i]
    bad = reasons != ""
    quarantined = [Quarantined(str(d), str(r)) for d, r in zip(bars.dates[bad], reasons[bad], strict=True)]
    return (bars.select(~bad) if bad.any() else bars), quarantined


def _check_volume_units(bars: BarSet) -> None:
    """Where the amount is known, amount / volume is the average price and must lie in [low, high].

    Volume in lots (1 lot = 100 shares) makes it ~100x the price: a unit mix-up, not a bad bar.
    """
    known = ~np.isnan(bars.amount) & (bars.volume > 0)
    if not known.any():
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = bars.amount[known] / bars.volume[known]
    ratio = vwap / bars.close[known]
    if np.nanmedian(ratio) > 20:
        raise DataError(
            f"{bars.source}: {bars.symbol} volume looks like lots, not shares "
            f"(amount/volume is {np.nanmedian(ratio):.0f}x the price)"
        )
    if np.nanmedian(ratio) < 0.05:
        raise DataError(
            f"{bars.source}: {bars.symbol} amount looks like 10k-yuan units, not yuan "
            f"(amount/volume is {np.nanmedian(ratio):.4f}x the price)"
        )
