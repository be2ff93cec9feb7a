"""`MarketData`: daily bars from the cache, else the bar store topped up by the failover chain.

Order of a request for daily bars:

1. The cache (memory LRU, or Redis with a memory fallback) keyed by symbol, range, adjustment and
   source order. It holds the bars as fetched; validation runs on every answer, hit or miss, so a
   quarantined bar is reported every time, not only on the first fetch.
2. With remote sources configured, the bar store under `data_storage/bars/<adjustment>/`: when it
   already covers the range, nothing is fetched; otherwise only the days from its last stored day
   on are fetched (that day again, because a bar fetched during the session was not final), merged
   and saved. `qfq` bars are never stored: forward adjustment rescales the whole history at every
   dividend, so an old stored part would silently disagree with a new one.
3. When the top-up fails but the store has bars, they are returned marked `stale`, with the reason.

The local source is a store itself: with only `local` configured there is no bar store.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tg.data.bar_store import BarStore, merge_bars
from tg.data.bars import BarSet
from tg.data.chain import SourceChain
from tg.data.codec import decode_barset, encode_barset
from tg.data.symbols import Symbol
from tg.data.validation import Quarantined, validate_bars
from tg.errors import DataError, NoBars

if TYPE_CHECKING:
    from tg.ops.metrics import TgMetrics
    from tg.ops.recovery import RecoveryMetrics

log = logging.getLogger(__name__)

KEY_VERSION = "bars:v1"


class BytesCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    def stats(self) -> dict[str, Any]: ...


@dataclass
class BarsAnswer:
    """Validated bars and where they came from: `cache` hit|miss, `store` off|complete|updated|stale."""

    bars: BarSet
    quarantined: list[Quarantined]
    cache: str
    store: str
    fetched_rows: int = 0
    refresh_error: str | None = None
    notes: list[str] = field(default_factory=list)


class MarketData:
    """Daily bars through cache → bar store → failover chain (see the module docstring)."""

    def __init__(
        self,
        chain: SourceChain,
        cache: BytesCache,
        order: list[str],
        store_root: Path | None,
        metrics: TgMetrics | None = None,
        recovery: RecoveryMetrics | None = None,
    ) -> None:
        from tg.ops.recovery import get_recovery_metrics

        self.chain = chain
        self.cache = cache
        self.metrics = metrics or chain.metrics
        self.recovery = recovery or get_recovery_metrics()
        self.order = order
        self.store_root = store_root if any(name != "local" for name in order) else None

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarsAnswer:
        """Validated daily bars of `symbol` in [start, end] (None: from the first / to the last)."""
        key = f"{KEY_VERSION}:{','.join(self.order)}:{symbol.canonical}:{adjustment}:{start or ''}:{end or ''}"
        raw = self._cached(key)
        self.metrics.cache_lookup("bars", hit=raw is not None)
        if raw is not None:
            clean, quarantined = validate_bars(raw)
            return BarsAnswer(clean, quarantined, cache="hit", store="off" if self.store_root is None else "complete")
        began = time.perf_counter()
        try:
            answer = self._fetch(symbol, start, end, adjustment)
        except NoBars:
            raise  # nothing new anywhere: not a failure
        except DataError as exc:
            self.metrics.record_operation(self.recovery, "fetch", False, time.perf_counter() - began, error=str(exc))
            raise
        # stored bars served because the top-up failed: the fetch itself failed
        ok = answer.store != "stale"
        self.metrics.record_operation(
            self.recovery, "fetch", ok, time.perf_counter() - began, error=None if ok else answer.refresh_error
        )
        self.cache.set(key, encode_barset(answer.bars))
        answer.bars, answer.quarantined = validate_bars(answer.bars)
        return answer

    def _cached(self, key: str) -> BarSet | None:
        blob = self.cache.get(key)
        if blob is None:
            return None
        try:
            return decode_barset(blob)
        except DataError as exc:
            log.warning("cache: dropping an unreadable entry (%s)", exc)
            return None

    def _fetch(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarsAnswer:
        if self.store_root is None or adjustment == "qfq":
            bars = self.chain.daily_bars(symbol, start, end, adjustment)
            return BarsAnswer(bars, [], cache="miss", store="off", fetched_rows=len(bars))
        store = BarStore(self.store_root / adjustment)
        try:
            stored = store.load(symbol)
        except DataError as exc:
            log.warning("bar store: %s; fetching %s whole", exc, symbol)
            stored = None
        first = stored.first_date if stored is not None else None
        if stored is None or first is None or stored.last_date is None or (start is not None and start < first):
            bars = self.chain.daily_bars(symbol, start, end, adjustment)
            return self._save(store, None, bars, start, end)
        if end is not None and stored.last_date >= end:
            return BarsAnswer(stored.between(start, end), [], cache="miss", store="complete")
        try:
            new = self.chain.daily_bars(symbol, stored.last_date, end, adjustment)
        except NoBars:
            return BarsAnswer(stored.between(start, end), [], cache="miss", store="complete")
        except DataError as exc:
            log.warning("bar store: serving stored bars of %s up to %s: %s", symbol, stored.last_date, exc)
            return BarsAnswer(stored.between(start, end), [], cache="miss", store="stale", refresh_error=str(exc))
        return self._save(store, stored, new, start, end)

    def _save(
        self, store: BarStore, stored: BarSet | None, new: BarSet, start: date | None, end: date | None
    ) -> BarsAnswer:
        """Persist the validated remote bars of `new`; a failed save is reported, never fatal."""
        if new.source == "local":  # the chain fell back to local data: nothing to store or merge
            return BarsAnswer(new.between(start, end), [], cache="miss", store="off", fetched_rows=len(new))
        notes = []
        merged = merge_bars(stored, new)
        clean, _ = validate_bars(new)
        try:
            store.save(clean)
        except (OSError, DataError) as exc:
            notes.append(f"bars not saved to the bar store: {exc}")
            log.warning("bar store: could not save %s: %s", new.symbol, exc)
        return BarsAnswer(
            merged.between(start, end), [], cache="miss", store="updated", fetched_rows=len(new), notes=notes
        )
