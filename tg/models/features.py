"""Causal daily features over a `Panel`: every value at date t uses bars at dates <= t only.

All features are computed on whole (symbols × dates) arrays: rolling windows are prefix sums or
short loops over lags, never a loop over dates. Suspended days (no trade) are missing inputs, not
zero returns: daily returns and volumes are NaN there, prices are carried forward from the last
traded close, and every feature is NaN on a day the symbol does not trade. Windows need most of
their days present, so a feature is NaN until a symbol has enough history.

Nothing here is fitted: the features carry no state, so there is nothing to fit on a training
window. `cross_sectional_rank` rescales each date across symbols, which is causal too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tg.models.panel import Panel, forward_fill

RETURN_WINDOWS = (1, 5, 10, 20, 60, 120)
VOL_WINDOWS = (5, 20, 60)
MA_WINDOWS = (5, 10, 20, 60)
RANGE_WINDOWS = (20, 60)
CORR_WINDOWS = (10, 20)
EXCESS_WINDOWS = (5, 20, 60)
MIN_FRACTION = 0.75  # share of a window's days that must be present (suspensions leave gaps)
CHUNK_SYMBOLS = 256  # symbols computed together (see compute_features)


@dataclass(frozen=True)
class FeatureSet:
    """`values[i, t, f]` is feature `names[f]` of symbol i on date t (float32, NaN = unknown)."""

    names: list[str]
    values: np.ndarray  # (N, T, F) float32

    def feature(self, name: str) -> np.ndarray:
        """One feature as an (N, T) array."""
        return self.values[:, :, self.names.index(name)]

    def ranked(self) -> FeatureSet:
        """Each feature rank-scaled to [-1, 1] across symbols, date by date (see `cross_sectional_rank`)."""
        out = np.empty_like(self.values)
        for f in range(len(self.names)):
            out[:, :, f] = cross_sectional_rank(self.values[:, :, f])
        return FeatureSet(list(self.names), out)


def compute_features(panel: Panel) -> FeatureSet:
    """The feature set of every symbol and date of `panel` (see the module docstring).

    Every feature of a symbol depends on its own bars and the benchmark only, so the symbols are computed in
    chunks of CHUNK_SYMBOLS (`tg.sweep.parallel.map_chunks`: Ray tasks inside a Ray job, else threads, else
    serial) and written into one array: the same bytes as one pass over all of them, with the float64
    intermediates (~60 (N, T) columns) of one chunk alive at a time instead of the whole universe's.
    """
    from tg.sweep.parallel import chunk_bounds, map_chunks

    bounds = chunk_bounds(len(panel.symbols), CHUNK_SYMBOLS)
    if len(bounds) <= 1:
        return _features(panel)
    out: np.ndarray | None = None
    names: list[str] = []
    for rows, chunk in zip(bounds, map_chunks(_features, [panel.rows(rows) for rows in bounds]), strict=True):
        if out is None:
            names = chunk.names
            out = np.empty((len(panel.symbols), len(panel.dates), len(names)), dtype=np.float32)
        out[rows] = chunk.values
    assert out is not None
    return FeatureSet(names, out)


def _features(panel: Panel) -> FeatureSet:
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = _columns(panel)
    names = list(columns)
    stacked = np.empty((len(names), *panel.shape), dtype=np.float32)
    for f, name in enumerate(names):
        stacked[f] = columns[name]
        stacked[f][~panel.tradable | ~np.isfinite(stacked[f])] = np.nan
    return FeatureSet(names, np.ascontiguousarray(stacked.transpose(1, 2, 0)))


def cross_sectional_zscore(values: np.ndarray) -> np.ndarray:
    """Per date (axis 1), (x - mean) / std over the known symbols (Qlib's CSZScoreNorm); NaN stays NaN, a date
    with fewer than two known values or no spread maps to 0."""
    x = np.asarray(values, dtype=np.float64)
    known = np.isfinite(x)
    count = known.sum(axis=0)
    filled = np.where(known, x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt((np.where(known, x - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1))
        z = np.where(count[None, :] > 1, (x - mean) / np.where(std > 0, std, np.inf), 0.0)
    z[~known] = np.nan
    return z


def cross_sectional_rank(values: np.ndarray) -> np.ndarray:
    """Per date (axis 1), rank the symbols (axis 0) onto [-1, 1]; ties share their mean rank, NaN stays NaN.

    A date with a single known value maps it to 0.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"cross_sectional_rank expects an (N, T) array, got shape {x.shape}")
    known = np.isfinite(x).T
    x = np.where(known, x.T, np.inf)  # (T, N): sort along the contiguous axis, unknowns last
    n = x.shape[1]
    order = np.argsort(x, axis=1)
    ranked = np.take_along_axis(x, order, axis=1)
    positions = np.broadcast_to(np.arange(n)[None, :], x.shape)
    new_group = np.ones(x.shape, dtype=bool)
    new_group[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    first = np.maximum.accumulate(np.where(new_group, positions, 0), axis=1)
    group_end = np.ones(x.shape, dtype=bool)
    group_end[:, :-1] = new_group[:, 1:]
    last = np.minimum.accumulate(np.where(group_end, positions, n - 1)[:, ::-1], axis=1)[:, ::-1]
    count = known.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(count > 1, (first + last) / np.maximum(count - 1, 1) - 1.0, 0.0)
    out = np.empty_like(x)
    np.put_along_axis(out, order, scaled, axis=1)
    out[~known] = np.nan
    return out.T


def daily_returns(panel: Panel) -> np.ndarray:
    """Close-to-close return of each traded day against the last traded close; NaN on untraded days.

    A suspension leaves NaN (not a fake 0) and the resumption day carries the whole gap.
    """
    close = np.where(panel.tradable, panel.close, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return close / _shift(forward_fill(close), 1) - 1.0


# ---------------------------------------------------------------- the features


def _columns(panel: Panel) -> dict[str, np.ndarray]:
    traded = panel.tradable
    close = np.where(traded, panel.close, np.nan)
    held = forward_fill(close)  # the last traded price: what a holder owns through a suspension
    daily = daily_returns(panel)
    high = forward_fill(np.where(traded, panel.high, np.nan))
    low = forward_fill(np.where(traded, panel.low, np.nan))
    opened = np.where(traded, panel.open, np.nan)
    volume = np.where(traded, panel.volume / panel.factor, np.nan)  # shares in adjusted units
    log_volume = np.log(volume)
    amount = np.where(traded, close / panel.factor * panel.volume, np.nan)  # yuan: raw close × shares
    market = forward_fill(panel.benchmark_close[None, :])
    market_daily = market / _shift(market, 1) - 1.0  # (1, T)

    cols: dict[str, np.ndarray] = {}
    for w in RETURN_WINDOWS:
        cols[f"ret_{w}"] = held / _shift(held, w) - 1.0
    for w in EXCESS_WINDOWS:
        cols[f"excess_{w}"] = cols[f"ret_{w}"] - (market / _shift(market, w) - 1.0)
    for w in VOL_WINDOWS:
        cols[f"vol_{w}"] = rolling_std(daily, w)
    cols["vol_ratio_5_60"] = cols["vol_5"] / cols["vol_60"]
    cols["max_ret_20"] = _rolling_extreme(daily, 20, np.fmax)
    cols["min_ret_20"] = _rolling_extreme(daily, 20, np.fmin)
    cols["skew_20"] = _rolling_skew(daily, 20)
    cols["up_share_20"] = _rolling_mean(np.where(np.isnan(daily), np.nan, daily > 0), 20)
    for w in MA_WINDOWS:
        cols[f"ma_ratio_{w}"] = held / _rolling_mean(held, w) - 1.0
    gains = _rolling_mean(np.fmax(daily, 0.0), 14)
    losses = _rolling_mean(np.fmax(-daily, 0.0), 14)
    cols["rsi_14"] = gains / (gains + losses) - 0.5
    macd = (_ewm(held, 12) - _ewm(held, 26)) / held
    signal = _ewm(macd, 9)
    cols["macd"] = macd
    cols["macd_signal"] = signal
    cols["macd_hist"] = macd - signal
    log_held = np.log(held)
    cols["boll_z_20"] = (log_held - _rolling_mean(log_held, 20)) / rolling_std(log_held, 20)
    for w in RANGE_WINDOWS:
        top = _rolling_extreme(high, w, np.maximum)
        bottom = _rolling_extreme(low, w, np.minimum)
        cols[f"range_pos_{w}"] = (held - bottom) / (top - bottom)
        cols[f"off_high_{w}"] = held / top - 1.0
    cols["kmid"] = (close - opened) / opened
    cols["klen"] = (panel.high - panel.low) / opened
    cols["kup"] = (panel.high - np.fmax(opened, close)) / opened
    cols["klow"] = (np.fmin(opened, close) - panel.low) / opened
    cols["ksft"] = (2.0 * close - panel.high - panel.low) / opened
    cols["gap"] = opened / _shift(held, 1) - 1.0
    hl_range = np.log(panel.high / panel.low)
    cols["hl_range_5"] = _rolling_mean(hl_range, 5)
    cols["hl_range_20"] = _rolling_mean(hl_range, 20)
    cols["vol_ma_ratio_5"] = volume / _rolling_mean(volume, 5)
    cols["vol_ma_ratio_20"] = volume / _rolling_mean(volume, 20)
    cols["vol_ma_5_60"] = _rolling_mean(volume, 5) / _rolling_mean(volume, 60)
    cols["log_vol_z_20"] = (log_volume - _rolling_mean(log_volume, 20)) / rolling_std(log_volume, 20)
    cols["log_vol_change"] = log_volume - _shift(forward_fill(log_volume), 1)
    cols["vol_cv_20"] = rolling_std(volume, 20) / _rolling_mean(volume, 20)
    cols["log_amount_20"] = np.log(_rolling_mean(amount, 20))
    cols["log_amount_120"] = np.log(_rolling_mean(amount, 120))
    cols["log_price"] = np.log(close / panel.factor)
    volume_change = np.where(np.isfinite(daily), cols["log_vol_change"], np.nan)
    for w in CORR_WINDOWS:
        cols[f"corr_price_vol_{w}"] = _rolling_corr(log_held, np.where(traded, log_volume, np.nan), w)
        cols[f"corr_ret_volchg_{w}"] = _rolling_corr(daily, volume_change, w)
    cols["vwap_ratio_5"] = held / (_rolling_mean(close * volume, 5) / _rolling_mean(volume, 5)) - 1.0
    beta, corr = _beta_corr(daily, np.broadcast_to(market_daily, panel.shape), 60)
    cols["beta_60"] = beta
    cols["corr_mkt_60"] = corr
    cols["idio_vol_60"] = cols["vol_60"] * np.sqrt(np.fmax(1.0 - corr * corr, 0.0))
    cols["mkt_ret_5"] = np.broadcast_to(market / _shift(market, 5) - 1.0, panel.shape).copy()
    cols["mkt_vol_20"] = np.broadcast_to(rolling_std(market_daily, 20), panel.shape).copy()
    return cols


# ------------------------------------------------------- causal array helpers (axis 1 = time)


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """`x` delayed by k dates: out[:, t] = x[:, t - k], NaN for the first k."""
    out = np.full(x.shape, np.nan)
    if k < x.shape[1]:
        out[:, k:] = x[:, : x.shape[1] - k]
    return out


def _window_sum(x: np.ndarray, w: int) -> np.ndarray:
    """Sum of the finite values in the trailing window of w dates (prefix sums: causal by construction)."""
    total = np.cumsum(np.where(np.isfinite(x), x, 0.0), axis=1)
    total[:, w:] -= total[:, :-w].copy()
    return total


def _window_count(x: np.ndarray, w: int) -> np.ndarray:
    """How many values of the trailing window of w dates are finite."""
    count = np.cumsum(np.isfinite(x), axis=1, dtype=np.int32)
    count[:, w:] -= count[:, :-w].copy()
    return count


def _enough(count: np.ndarray, w: int) -> np.ndarray:
    return count >= max(2.0, np.ceil(MIN_FRACTION * w))


def _rolling_mean(x: np.ndarray, w: int) -> np.ndarray:
    count = _window_count(x, w)
    return np.where(_enough(count, w), _window_sum(x, w) / count, np.nan)


def rolling_std(x: np.ndarray, w: int) -> np.ndarray:
    """Sample std along time over the trailing w dates (NaN-aware; NaN when under 75 % present)."""
    return np.sqrt(np.fmax(_rolling_cov(x, x, w), 0.0))


def _rolling_cov(x: np.ndarray, y: np.ndarray, w: int) -> np.ndarray:
    """Sample covariance over the dates where both are finite (pairwise)."""
    both = np.isfinite(x) & np.isfinite(y)
    x = np.where(both, x, np.nan)
    count = _window_count(x, w)
    sx = _window_sum(x, w)
    if y is not x:
        y = np.where(both, y, np.nan)
        sy = _window_sum(y, w)
    else:
        y, sy = x, sx
    sxy = _window_sum(x * y, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (sxy - sx * sy / count) / (count - 1.0)
    return np.where(_enough(count, w), cov, np.nan)


def _rolling_corr(x: np.ndarray, y: np.ndarray, w: int) -> np.ndarray:
    cov = _rolling_cov(x, y, w)
    var = np.fmax(_rolling_cov(x, np.where(np.isfinite(y), x, np.nan), w), 0.0) * np.fmax(
        _rolling_cov(y, np.where(np.isfinite(x), y, np.nan), w), 0.0
    )
    return np.where(var > 1e-20, cov / np.sqrt(var), np.nan)


def _rolling_skew(x: np.ndarray, w: int) -> np.ndarray:
    count = _window_count(x, w)
    mean = _window_sum(x, w) / count
    s2 = _window_sum(x * x, w) / count
    s3 = _window_sum(x * x * x, w) / count
    m2 = s2 - mean * mean
    m3 = s3 - 3.0 * mean * s2 + 2.0 * mean**3
    return np.where(_enough(count, w) & (m2 > 1e-12), m3 / np.fmax(m2, 1e-12) ** 1.5, np.nan)


def _rolling_extreme(x: np.ndarray, w: int, pick: Callable[..., np.ndarray]) -> np.ndarray:
    """Max or min over the trailing window (`np.maximum` propagates NaN, `np.fmax` skips it)."""
    out = x.copy()
    for k in range(1, w):
        out = pick(out, _shift(x, k))
    if pick in (np.fmax, np.fmin):
        out[~_enough(_window_count(x, w), w)] = np.nan
    return out


def _ewm(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average (alpha = 2/(span+1)) over a finite 3×span window of finite values.

    The truncation drops weight (1 - alpha)^(3 span) ≈ e^-6 of the infinite EMA.
    """
    alpha = 2.0 / (span + 1.0)
    total = np.zeros(x.shape)
    weight = np.zeros(x.shape)
    for k in range(3 * span):
        lagged = _shift(x, k)
        finite = np.isfinite(lagged)
        w = alpha * (1.0 - alpha) ** k
        total += np.where(finite, lagged, 0.0) * w
        weight += finite * w
    return np.where(_enough(_window_count(x, span), span), total / weight, np.nan)


def _beta_corr(stock: np.ndarray, market: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling beta and correlation of daily stock returns to the market's."""
    cov = _rolling_cov(stock, market, w)
    var_stock = _rolling_cov(stock, stock, w)
    var_market = _rolling_cov(market, np.where(np.isfinite(stock), market, np.nan), w)
    beta = np.where(var_market > 1e-12, cov / var_market, np.nan)
    corr = np.where((var_market > 1e-12) & (var_stock > 1e-12), cov / np.sqrt(var_stock * var_market), np.nan)
    return beta, corr
