"""`tg data fetch` and `tg data quote`: validated bars / a quote through the failover chain."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tg.config.loader import LoadedConfig
from tg.data.bars import BarSet, Quote
from tg.data.dates import parse_date
from tg.data.factory import build_chain, build_market, source_order
from tg.data.market import BarsAnswer
from tg.data.symbols import parse_symbol
from tg.data.validation import Quarantined
from tg.errors import UsageError

SHOW_LAST = 5


@dataclass
class FetchResult:
    answer: BarsAnswer
    elapsed_ms: float
    order: list[str]
    errors: dict[str, int] = field(default_factory=dict)
    cache_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def bars(self) -> BarSet:
        return self.answer.bars

    @property
    def quarantined(self) -> list[Quarantined]:
        return self.answer.quarantined

    def to_dict(self) -> dict[str, Any]:
        b = self.bars
        a = self.answer
        return {
            "symbol": b.symbol.canonical,
            "source": b.source,
            "adjustment": b.adjustment,
            "first_date": str(b.first_date),
            "last_date": str(b.last_date),
            "rows": len(b),
            "fetched_at": b.fetched_at.isoformat(timespec="seconds"),
            "quarantined": [q.__dict__ for q in self.quarantined],
            "source_order": self.order,
            "source_errors": self.errors,
            "cache": a.cache,
            "store": a.store,
            "fetched_rows": a.fetched_rows,
            "refresh_error": a.refresh_error,
            "notes": a.notes,
            "cache_stats": self.cache_stats,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "last_bars": b.tail(SHOW_LAST).records(),
        }

    def table(self) -> Any:
        from rich.table import Table

        b = self.bars
        title = f"{b.symbol} from {b.source} ({b.adjustment}): {len(b)} bars {b.first_date} .. {b.last_date}" + (
            f", {len(self.quarantined)} quarantined" if self.quarantined else ""
        )
        a = self.answer
        caption = f"cache {a.cache}, bar store {a.store}" + (
            f", {a.fetched_rows} rows fetched" if a.fetched_rows else ""
        )
        if a.refresh_error:
            caption += f"\nstale: {a.refresh_error}"
        caption += "".join(f"\n{note}" for note in a.notes)
        table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
        for column in ("date", "open", "high", "low", "close", "volume (shares)", "amount (yuan)"):
            table.add_column(column, justify="right")
        for row in b.tail(SHOW_LAST).records():
            amount = "-" if row["amount"] is None else f"{row['amount']:,.0f}"
            table.add_row(
                row["date"],
                f"{row['open']:.2f}",
                f"{row['high']:.2f}",
                f"{row['low']:.2f}",
                f"{row['close']:.2f}",
                f"{row['volume']:,.0f}",
                amount,
            )
        return table


@dataclass
class QuoteResult:
    quote: Quote

    def to_dict(self) -> dict[str, Any]:
        data = self.quote.to_dict()
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in data.items()}

    def text(self) -> str:
        q = self.quote
        change = (q.price / q.prev_close - 1) * 100 if q.prev_close else 0.0
        return (
            f"{q.symbol} {q.name}: {q.price:.2f} ({change:+.2f}%) prev {q.prev_close:.2f} "
            f"vol {q.volume:,.0f} shares [{q.status}] from {q.source} at {q.time}"
            + (f" ({q.sessions_behind} sessions behind)" if q.sessions_behind else "")
        )


def run_fetch(loaded: LoadedConfig, symbol_text: str, start: str | None, end: str | None) -> FetchResult:
    symbol = parse_symbol(symbol_text)
    first, last = parse_date(start or None, "--start"), parse_date(end or None, "--end")
    if first and last and first > last:
        raise UsageError(f"--start {first} is after --end {last}")
    market = build_market(loaded)
    began = time.perf_counter()
    answer = market.daily_bars(symbol, first, last, loaded.cfg.source.adjustment)
    elapsed = (time.perf_counter() - began) * 1000
    return FetchResult(answer, elapsed, source_order(loaded), market.chain.errors(), market.cache.stats())


def run_quote(loaded: LoadedConfig, symbol_text: str, now: datetime | None = None) -> QuoteResult:
    from tg.data.exchange_calendar import load_calendar

    symbol = parse_symbol(symbol_text)
    quote = build_chain(loaded).quote(symbol)
    return QuoteResult(quote.aged(load_calendar(loaded.path("cache")), now or datetime.now(UTC)))
