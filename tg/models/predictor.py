"""`Predictor`: the current model answering for one symbol at one date.

Features are cross-sectional, so a prediction needs the model's universe on that date: the
predictor loads the last `LOOKBACK_DAYS` of bars of the universe (plus the symbol when it is not a
member) from the model's data directory, computes the features the model was trained with, and
runs the ensemble on the one row. The loaded window is kept `WINDOW_SECONDS` for further symbols on
the same date; answers are cached for `CACHE_SECONDS` under (model version, symbol, as-of, last bar
date).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tg.data.exchange_calendar import ExchangeCalendar, load_calendar, trading_days_after
from tg.data.extension import Extension
from tg.data.local import LocalSource
from tg.data.symbols import Symbol, parse_symbol
from tg.errors import ArtifactError, DataError, NoModel, UnknownSymbol
from tg.models.artifacts import load_model
from tg.models.dataset import Samples
from tg.models.ensemble import Ensemble
from tg.models.inputs import model_features
from tg.models.labels import CLASS_NAMES, trailing_volatility
from tg.models.panel import Panel, load_panel
from tg.models.universe import trained_data_dir

if TYPE_CHECKING:
    from tg.ops.metrics import TgMetrics
    from tg.ops.recovery import RecoveryMetrics

LOOKBACK_DAYS = 300  # trading days of history loaded: the longest feature window is 120 trading days
MIN_HISTORY = 130  # trading days a symbol needs before `as_of`
CACHE_SECONDS = 5.0  # the playbook's answer cache
MAX_ANSWERS = 4096  # cached answers kept at most (expired ones are dropped first)
WINDOW_SECONDS = 60.0  # how long loaded bars and features serve further predictions (new bars arrive daily)
MAX_WINDOWS = 4


@dataclass
class _Window:
    panel: Panel
    values: np.ndarray  # (N, T, F) model features
    sigma: np.ndarray  # (N, T) trailing volatility
    loaded_at: float


@dataclass
class Answer:
    data: dict[str, Any]
    cached: bool = False


class Predictor:
    def __init__(
        self,
        models_dir: Path,
        data_dir: Path | None = None,
        clock: Any = time.monotonic,
        metrics: TgMetrics | None = None,
        cache_seconds: float = CACHE_SECONDS,
        recovery: RecoveryMetrics | None = None,
        extension_dir: Path | None = None,
        exchange: ExchangeCalendar | None = None,
    ) -> None:
        """`data_dir` None: read bars from the directory the model was trained on; `extension_dir`:
        the newer days `tg data update` stitched onto it (read after its own). A refused model
        counts in `tg_model_load_errors_total`; answers in `tg_prediction_latency_seconds`; computed
        answers and failures as `predict` operations in the recovery metrics."""
        from tg.ops.metrics import process_metrics
        from tg.ops.recovery import get_recovery_metrics

        self.metrics = metrics or process_metrics()
        self.recovery = recovery or get_recovery_metrics()
        try:
            self.ensemble, self.meta, self.version = load_model(models_dir)
        except NoModel:
            raise
        except ArtifactError:
            self.metrics.model_load_errors.inc()
            raise
        self.data_dir = data_dir or trained_data_dir(self.meta)
        self.extension = Extension(extension_dir, self.data_dir) if extension_dir is not None else None
        # the exchange's sessions beyond the data: forecast dates and staleness (no cache file unless given)
        self.exchange = exchange or load_calendar(None)
        self.universe: list[str] = list(self.meta["data"]["universe"])
        self.features: list[str] = list(self.meta["features"])
        self._clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._calendar_cache: np.ndarray = np.array([], dtype="datetime64[D]")
        self._windows: OrderedDict[tuple[str | None, date | None], _Window] = OrderedDict()

    def predict(self, symbol_text: str, as_of: date | None = None, now: datetime | None = None) -> Answer:
        """The answer for one symbol; a data failure (not an unknown symbol) counts as a failed `predict`."""
        began = time.perf_counter()
        symbol = parse_symbol(symbol_text)
        if symbol.is_index:
            raise DataError(f"{symbol} is an index: predictions are for stocks")
        try:
            return self._predict(symbol, as_of, now or datetime.now(UTC), began)
        except UnknownSymbol:
            raise
        except DataError as exc:
            self.metrics.record_operation(self.recovery, "predict", False, time.perf_counter() - began, error=str(exc))
            raise

    def _predict(self, symbol: Symbol, as_of: date | None, now: datetime, began: float) -> Answer:
        window = self._window(symbol.qlib, as_of)
        panel = window.panel
        row = panel.symbols.index(symbol.qlib)
        traded = np.flatnonzero(panel.tradable[row])
        if len(traded) == 0:
            raise DataError(f"no bars of {symbol} in {self.data_dir} up to {as_of or 'the last date'}")
        t = int(traded[-1])
        last_bar = panel.dates[t].astype(object)
        key = (self.version, symbol.qlib, str(as_of), str(last_bar))
        hit = self._cache.get(key) if self.cache_seconds > 0 else None
        fresh = hit is not None and self._clock() - hit[0] < self.cache_seconds
        if self.cache_seconds > 0:
            self.metrics.cache_lookup("predictions", hit=fresh)
        if hit is not None and fresh:
            self.metrics.prediction_latency.observe(time.perf_counter() - began)
            return Answer(hit[1], cached=True)
        history = int(np.isfinite(panel.close[row, : t + 1]).sum())
        if history < MIN_HISTORY:
            raise DataError(
                f"too little history for {symbol}: {history} trading days up to {last_bar}, need {MIN_HISTORY}"
            )
        samples = Samples(window.values, np.array([row]), np.array([t]), np.array([-1]), np.array([np.nan], np.float32))
        calendar = self._calendar()
        result = _answer(self.ensemble, samples, float(window.sigma[row, t]), panel, row, t)
        days = trading_days_after(calendar, panel.dates[t], self.ensemble.horizon, self.exchange)
        result["forecast"] = _dated(result["forecast"], days)
        stale = is_stale(calendar, panel.dates[t], as_of, self.exchange, now)
        result.update(
            symbol=symbol.canonical,
            as_of=str(as_of or last_bar),
            model={
                "version": self.version,
                "trained_at": self.meta["trained_at"],
                "members": list(self.ensemble.members),
            },
            data={
                "source": "local" if last_bar <= self._calendar_cache[-1].astype(object) else "local+update",
                "root": self.meta["data"]["root"],
                "last_bar_date": str(last_bar),
                "stale": stale,
                **self.exchange.describe(),
            },
            warnings=answer_warnings(as_of, last_bar, stale, date.fromisoformat(self.meta["splits"]["calib"][1])),
        )
        elapsed = time.perf_counter() - began
        result["latency_ms"] = round(elapsed * 1000, 1)
        if self.cache_seconds > 0:
            self._remember(key, result)
        self.metrics.prediction_latency.observe(elapsed)
        self.metrics.record_operation(self.recovery, "predict", True, elapsed)
        return Answer(result)

    def _remember(self, key: tuple[str, ...], result: dict[str, Any]) -> None:
        now = self._clock()
        if len(self._cache) >= MAX_ANSWERS:  # a long-running server asked about many symbols and dates
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self.cache_seconds}
            while len(self._cache) >= MAX_ANSWERS:
                self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (now, result)

    def _calendar(self) -> np.ndarray:
        """The trading days of the data: the directory's calendar (read once), then the extension's newer days."""
        if not len(self._calendar_cache):
            self._calendar_cache = LocalSource(self.data_dir).calendar
        base = self._calendar_cache
        if self.extension is None or not len(base):
            return base
        newer = self.extension.calendar()
        newer = newer[newer > base[-1]]
        return np.concatenate([base, newer]) if len(newer) else base

    def _window(self, symbol: str, as_of: date | None) -> _Window:
        """Bars, features and volatility of the universe (plus `symbol` if outside it) up to `as_of`.

        Kept for `WINDOW_SECONDS`, so predictions for many symbols on one date compute features once.
        """
        extra = None if symbol in self.universe else symbol
        key = (extra, as_of)
        cached = self._windows.get(key)
        if cached is not None and self._clock() - cached.loaded_at < WINDOW_SECONDS:
            self._windows.move_to_end(key)
            return cached
        names = self.universe if extra is None else [*self.universe, extra]
        start = _lookback_start(self._calendar(), as_of, self.data_dir)
        panel = _load(self.data_dir, names, start, as_of, symbol, self.extension)
        features = model_features(panel)
        if features.names != self.features:
            raise ArtifactError(
                f"model {self.version} was trained with other features than this tg computes: retrain with `tg train`"
            )
        sigma = trailing_volatility(panel, int(self.meta["config"]["model"]["vol_window"]))
        window = _Window(panel, features.values, sigma, self._clock())
        self._windows[key] = window
        while len(self._windows) > MAX_WINDOWS:
            self._windows.popitem(last=False)
        return window


def _load(
    root: Path, names: list[str], start: date, end: date | None, wanted: str, extension: Extension | None
) -> Panel:
    try:
        return load_panel(root, names, start, end, extension=extension)
    except UnknownSymbol as exc:
        if exc.symbol == wanted:
            canonical = parse_symbol(wanted).canonical
            raise UnknownSymbol(wanted, f"unknown symbol {canonical}: no data for it in {root}") from exc
        raise


def _lookback_start(calendar: np.ndarray, as_of: date | None, root: Path) -> date:
    """The trading day LOOKBACK_DAYS before `as_of` (or before the data's last day)."""
    last = len(calendar) if as_of is None else int(np.searchsorted(calendar, np.datetime64(as_of, "D"), side="right"))
    if last == 0:
        raise DataError(f"no trading days in {root} up to {as_of}")
    return calendar[max(last - LOOKBACK_DAYS, 0)].astype(object)


def is_stale(
    calendar: np.ndarray, last_bar: np.datetime64, as_of: date | None, exchange: ExchangeCalendar, now: datetime
) -> bool:
    """True when bars are missing: for `--as-of`, the symbol's last bar is before the data's last trading
    day up to that date (suspended, or data missing); otherwise a session has closed since the last
    bar (by the exchange calendar: a holiday is not missing data)."""
    if as_of is not None:
        known = calendar[calendar <= np.datetime64(as_of, "D")]
        if len(known) and last_bar < known[-1]:
            return True
        # an as-of date after the data: the exchange's sessions closed by then are missing too
        through = min(as_of, exchange.last_closed_session(now))
        return exchange.sessions_between(last_bar.astype(object), through) > 0
    return exchange.sessions_between(last_bar.astype(object), exchange.last_closed_session(now)) > 0


def answer_warnings(as_of: date | None, last_bar: date, stale: bool, calib_end: date) -> list[str]:
    """What a reader of an answer must know: sessions up to the as-of date without bars (the forecast runs from
    the last bar), or a date the model trained or calibrated on (in-sample: its accuracy there is flattering)."""
    warnings = []
    if as_of is not None and as_of > last_bar and stale:
        warnings.append(f"no bars from {last_bar} to --as-of {as_of}: the forecast runs from {last_bar}")
    if last_bar <= calib_end:
        warnings.append(f"{last_bar} is inside the model's training/calibration window (to {calib_end}): in-sample")
    return warnings


def _dated(rows: list[dict[str, Any]], days: list[str]) -> list[dict[str, Any]]:
    return [{"date": day, **row} for day, row in zip(days, rows, strict=True)]


def _answer(ensemble: Ensemble, samples: Samples, sigma: float, panel: Panel, row: int, t: int) -> dict[str, Any]:
    if not np.isfinite(sigma) or sigma <= 0:
        raise DataError(f"too little recent trading for {panel.symbols[row]} to estimate its volatility")
    prediction = ensemble.predict(samples, np.array([sigma]))
    probs = prediction.probs[0]
    order = {name: float(probs[k]) for k, name in enumerate(CLASS_NAMES)}
    best = int(np.argmax(probs))
    raw_close = float(panel.close[row, t] / panel.factor[row, t])
    horizon = ensemble.horizon
    quantiles = prediction.quantiles[0]
    return {
        "horizon": horizon,
        "last_close": round(raw_close, 2),
        "probabilities": {"up": order["up"], "flat": order["flat"], "down": order["down"]},
        "signal": CLASS_NAMES[best].upper(),
        "confidence": float(probs[best]),
        "expected_return": float(prediction.expected_return[0]),
        # false when the calibration split showed no edge: expected_return is then that period's
        # mean return, the same for every stock
        "expected_return_informative": ensemble.return_scale.slope > 0,
        "forecast": [
            {
                "q10": round(raw_close * (1 + quantiles[d, 0]), 2),
                "q50": round(raw_close * (1 + quantiles[d, 1]), 2),
                "q90": round(raw_close * (1 + quantiles[d, 2]), 2),
            }
            for d in range(horizon)
        ],
        "analysis_only": True,
    }
