"""`DataUpdate`: the newer days of every symbol of a universe, fetched and stitched into the extension.

Per symbol: the anchor is the last day already held (extension, else base); when it is before the
last closed session, the unadjusted and the forward-adjusted bars from the anchor day on are fetched
through the source chain (retries, backoff, breakers, a per-source request rate) and stitched onto
the anchor's factor (`tg.data.extension`), then saved — one symbol at a time, each save kill-safe,
so a re-run after a failure or a kill fetches only what is still missing.

Outcomes: `updated` (new days stored), `current` (nothing was missing: no request sent), `stale`
(the sources answered but have no newer bar: a suspension, or the day not yet published) and
`failed` (every source failed, or the stitch was refused).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tg.data.bars import BarSet
from tg.data.chain import SourceChain
from tg.data.exchange_calendar import ExchangeCalendar
from tg.data.extension import Extension, anchor_of, stitch
from tg.data.local import LocalSource
from tg.data.symbols import Symbol
from tg.errors import DataError, NoBars, NoData, TgError

log = logging.getLogger(__name__)

OUTCOMES = ("updated", "current", "stale", "failed")
LOCK_FILE = ".update.lock"


@dataclass(frozen=True)
class SymbolOutcome:
    symbol: str
    outcome: str  # one of OUTCOMES
    detail: str = ""
    new_days: int = 0
    last_bar: str | None = None


@dataclass
class UpdateReport:
    """Every symbol's outcome, the sessions asked for, and the run's duration."""

    through: date
    outcomes: list[SymbolOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, outcome: str) -> list[SymbolOutcome]:
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def failed(self) -> bool:
        return bool(self.of("failed"))


class DataUpdate:
    """Top up `symbols` from `chain` into `extension`, through `through` (the last closed session)."""

    def __init__(
        self,
        chain: SourceChain,
        extension: Extension,
        calendar: ExchangeCalendar,
        concurrency: int = 8,
        deadline_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chain = chain
        self.extension = extension
        self.calendar = calendar
        self.base = LocalSource(extension.base)
        self.concurrency = concurrency
        self.deadline_s = deadline_s
        self._clock = clock
        self._save_lock = threading.Lock()  # the store's calendar and instrument list are shared files

    def run(
        self,
        symbols: list[Symbol],
        through: date,
        since: date | None = None,
        on_done: Callable[[SymbolOutcome], None] | None = None,
    ) -> UpdateReport:
        """Update every symbol (at most `concurrency` at once); `since`: re-fetch the days after it."""
        began = self._clock()
        deadline = began + self.deadline_s
        report = UpdateReport(through)
        with _one_update(self.extension.root):
            self.extension.claim()

            def one(symbol: Symbol) -> SymbolOutcome:
                if self._clock() > deadline:
                    why = f"not started: the {self.deadline_s:g} s deadline passed"
                    outcome = SymbolOutcome(symbol.canonical, "failed", why)
                else:
                    outcome = self._update(symbol, through, since)
                if on_done is not None:
                    on_done(outcome)
                return outcome

            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="tg-update") as pool:
                report.outcomes = list(pool.map(one, symbols))
        report.seconds = self._clock() - began
        return report

    def _update(self, symbol: Symbol, through: date, since: date | None) -> SymbolOutcome:
        name = symbol.canonical
        try:
            base = self._base_bars(symbol)
            held = self.extension.load(symbol)
            anchor = anchor_of(base, held, since)
            if anchor is None:
                return SymbolOutcome(name, "failed", "no stored bars to continue (not in the data directory)")
            if self.calendar.sessions_between(anchor.day, through) == 0:  # a holiday is not a missing day
                return SymbolOutcome(name, "current", last_bar=str(anchor.day))
            raw = self.chain.daily_bars(symbol, anchor.day, through, "none")
            adjusted = None if symbol.is_index else self.chain.daily_bars(symbol, anchor.day, through, "qfq")
            bars = stitch(anchor, raw, adjusted)
            if not len(bars):
                why = f"the sources have nothing after {anchor.day} (suspended, or not published yet)"
                return SymbolOutcome(name, "stale", why, last_bar=str(anchor.day))
            with self._save_lock:
                self.extension.store.save(bars)
            last = str(bars.last_date)
            if bars.last_date is not None and self.calendar.sessions_between(bars.last_date, through) > 0:
                detail = (
                    f"{len(bars)} new day(s) stored through {last}; the sources have nothing after it "
                    "(suspended, or not published yet)"
                )
                return SymbolOutcome(name, "stale", detail, len(bars), last)
            return SymbolOutcome(name, "updated", f"{len(bars)} new day(s)", len(bars), last)
        except (NoBars, NoData) as exc:
            return SymbolOutcome(name, "stale", f"no newer bars: {exc}")
        except TgError as exc:
            log.info("update of %s failed: %s", name, exc)
            return SymbolOutcome(name, "failed", str(exc))
        except OSError as exc:
            return SymbolOutcome(name, "failed", f"cannot store bars: {exc.strerror or exc}")

    def _base_bars(self, symbol: Symbol) -> BarSet | None:
        try:
            return self.base.daily_bars(symbol, None, None, "hfq")
        except NoData:
            return None


@contextmanager
def _one_update(root: Path) -> Iterator[None]:
    """One update of an extension at a time (a second one fails at once rather than interleave)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataError(f"another tg data update is writing {root}: wait for it to finish") from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
