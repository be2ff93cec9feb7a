"""`SourceChain`: ordered failover over sources, with retries, backoff and a breaker per source."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from tg.data.bars import BarSet, Quote
from tg.data.deadline import deadline, remaining
from tg.data.source import Source
from tg.data.symbols import Symbol
from tg.errors import DataError, NoBars, NoData, OutOfTime, SourceError
from tg.ops.metrics import TgMetrics, counted, process_metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class CircuitBreaker:
    """closed → (N consecutive failures) → open → (after reset_s) half-open: one probe decides."""

    failures_to_open: int = 3
    reset_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0

    def allow(self) -> bool:
        if self.state == "open" and self.clock() - self.opened_at >= self.reset_s:
            self.state = "half_open"
        return self.state != "open"

    def record_success(self) -> None:
        self.state, self.failures = "closed", 0

    def current_state(self) -> str:
        """closed | open | half_open, as a request arriving now would find it."""
        if self.state == "open" and self.clock() - self.opened_at >= self.reset_s:
            return "half_open"
        return self.state

    def record_failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.failures_to_open:
            self.state, self.opened_at = "open", self.clock()


class Throttle:
    """At most `rate` requests a second to one source, whichever thread asks (politeness)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class SourceChain:
    """Try each source in order; retry transient failures; skip sources whose breaker is open.

    Every failed attempt counts in `tg_data_fetch_errors_total{source}`, every answer in
    `tg_data_fetches_total{source}`, breaker states in `tg_source_breaker_open{source}` (of `metrics`,
    default this process's); `consecutive_failures` counts requests in a row that no source served.
    """

    def __init__(
        self,
        sources: list[Source],
        retries: int = 1,
        backoff_s: float = 0.2,
        breaker_failures: int = 3,
        breaker_reset_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        metrics: TgMetrics | None = None,
        rate_per_source: float | None = None,
        deadline_s: float | None = None,
        notice_after_s: float | None = None,
        route: str = "",
    ) -> None:
        self.sources = sources
        self.deadline_s = deadline_s
        self.notice_after_s = notice_after_s
        self.route = route  # e.g. "through the proxy host:port", for the waiting notice
        self._noticed = False
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.metrics = metrics or process_metrics()
        self.breakers = {s.name: CircuitBreaker(breaker_failures, breaker_reset_s, clock) for s in sources}
        self.consecutive_failures = 0
        self._random = random.Random()
        # one update sends many requests from several threads: breakers change state under this lock
        self._lock = threading.Lock()
        self._throttles = {s.name: Throttle(rate_per_source, clock, sleep) for s in sources} if rate_per_source else {}

    def errors(self) -> dict[str, int]:
        """Failed attempts per source so far (from the metrics; shared by the chains of one registry)."""
        return {s.name: int(counted(self.metrics.fetch_errors, source=s.name)) for s in self.sources}

    def health(self) -> list[dict[str, object]]:
        """Per source: breaker state, failures in a row, answers and failed attempts so far."""
        return [
            {
                "source": s.name,
                "breaker": self.breakers[s.name].current_state(),
                "consecutive_failures": self.breakers[s.name].failures,
                "fetches": int(counted(self.metrics.fetches, source=s.name)),
                "errors": int(counted(self.metrics.fetch_errors, source=s.name)),
            }
            for s in self.sources
        ]

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        return self._first(f"daily bars of {symbol}", lambda s: s.daily_bars(symbol, start, end, adjustment))

    def quote(self, symbol: Symbol) -> Quote:
        return self._first(f"quote of {symbol}", lambda s: s.quote(symbol))

    def _first(self, what: str, call: Callable[[Source], T]) -> T:
        """The first answer of the sources in order, within `deadline_s` (every attempt gets at most the time
        left); after `notice_after_s` without one, stderr says once what the command is waiting for."""
        current = [""]
        timer = None
        if self.notice_after_s is not None and not self._noticed:
            timer = threading.Timer(self.notice_after_s, self._notice, (what, current))
            timer.daemon = True
            timer.start()
        try:
            with deadline(self.deadline_s):
                return self._try_each(what, call, current)
        finally:
            if timer is not None:
                timer.cancel()

    def _notice(self, what: str, current: list[str]) -> None:
        self._noticed = True
        limit = f"; giving up after {self.deadline_s:g} s (network.deadline_s)" if self.deadline_s else ""
        route = f" {self.route}" if self.route else ""
        log.warning("waiting for the %s from %s%s%s", what, current[0] or "the sources", route, limit)

    def _try_each(self, what: str, call: Callable[[Source], T], current: list[str]) -> T:
        reasons: list[str] = []
        failed = False
        for source in self.sources:
            breaker = self.breakers[source.name]
            with self._lock:
                allowed = breaker.allow()
            if not allowed:
                reasons.append(f"{source.name}: skipped, circuit open after {breaker.failures} failures")
                failed = True
                continue
            for attempt in range(self.retries + 1):
                current[0] = source.name if attempt == 0 else f"{source.name} (retry {attempt})"
                throttle = self._throttles.get(source.name)
                if throttle is not None:
                    throttle.wait()
                try:
                    result = call(source)
                except OutOfTime as exc:  # a remote source after the deadline (a local one still answers)
                    reasons.append(f"{source.name}: {exc.reason}")
                    failed = True
                    break
                except NoData as exc:  # the source is fine; it just has nothing: no retry
                    reasons.append(f"{source.name}: {exc.reason}")
                    with self._lock:
                        breaker.record_success()
                    break
                except SourceError as exc:
                    with self._lock:
                        breaker.record_failure()
                        retry = attempt < self.retries and breaker.allow()
                    self._failed(source.name, exc.reason)
                    pause = self.backoff_s * (2**attempt) * (1 + 0.25 * self._random.random())
                    left = remaining()
                    if retry and (left is None or left > pause):
                        self.sleep(pause)
                        continue
                    reasons.append(f"{source.name}: {exc.reason}")
                    failed = True
                    break
                with self._lock:
                    breaker.record_success()
                self.metrics.fetches.labels(source.name).inc()
                self.metrics.breaker_open.labels(source.name).set(0)
                self.consecutive_failures = 0
                if failed:  # one warning for a failover; a total failure is the caller's one error line
                    log.warning("%s served by %s after: %s", what, source.name, "; ".join(reasons))
                return result
        message = f"no source could provide the {what}: " + "; ".join(reasons)
        if not failed:
            raise NoBars(message)
        self.consecutive_failures += 1
        raise DataError(message)

    def _failed(self, source: str, reason: str) -> None:
        self.metrics.fetch_errors.labels(source).inc()
        self.metrics.breaker_open.labels(source).set(1 if self.breakers[source].state == "open" else 0)
        log.info("data fetch error from %s: %s", source, reason)  # the log file; stderr gets one summary
