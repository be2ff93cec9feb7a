"""Eastmoney source: daily bars from `push2his .../kline/get`, realtime quotes from `push2 .../stock/get`.

Wire formats: tests/fixtures/api-samples/README.md sections 5-6. Volumes arrive in lots, amounts in
yuan; kline columns follow `fields2` (`date,open,CLOSE,high,low,lots,amount,...`). Bodies may come
wrapped in a JSONP call (`jQuery...(...);`) and carry `"-"` for missing values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from tg.config.schema import EndpointsConfig as _URLS  # the endpoint URLs live in the schema only
from tg.data.bars import BarSet, Quote
from tg.data.remote import CHINA_TZ, fetch, load_json
from tg.data.source import LOTS, SourceContext
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

NAME = "eastmoney"
FQT = {"none": "0", "qfq": "1", "hfq": "2"}
KLINE_FIELDS1 = "f1,f2,f3,f4,f5,f6"
KLINE_FIELDS2 = "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61"
QUOTE_FIELDS = "f43,f44,f45,f46,f47,f48,f57,f58,f59,f60,f86"
_PRICE_FIELDS = ("f43", "f44", "f45", "f46", "f60")
_NO_LIMIT = "1000000"  # lmt: beg/end already bound the range


@dataclass(frozen=True)
class EastmoneyEndpoints:
    quote: str = _URLS.eastmoney_quote
    kline: str = _URLS.eastmoney_kline


class EastmoneySource:
    """Daily bars (none/qfq/hfq) and realtime quotes from Eastmoney over one injected client."""

    name = NAME

    def __init__(self, client: httpx.Client, endpoints: EastmoneyEndpoints = EastmoneyEndpoints()) -> None:
        self._client = client
        self._endpoints = endpoints

    @classmethod
    def configured(cls, context: SourceContext, quote: str, kline: str) -> EastmoneySource:
        """Built from `conf/source/parts/eastmoney.yaml`: the endpoints, and the network mode's shared client."""
        return cls(context.client(), EastmoneyEndpoints(quote=quote, kline=kline))

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        """Daily bars in [start, end]; NoData when there are none."""
        params = {
            "secid": symbol.secid,
            "klt": "101",
            "fqt": _fqt(adjustment),
            "beg": start.strftime("%Y%m%d") if start else "0",
            "end": end.strftime("%Y%m%d") if end else "20500101",
            "fields1": KLINE_FIELDS1,
            "fields2": KLINE_FIELDS2,
            "lmt": _NO_LIMIT,
        }
        body = fetch(self._client, NAME, self._endpoints.kline, params=params)
        bars = parse_kline(body, symbol, adjustment).between(start, end)
        if not len(bars):
            raise NoData(NAME, f"no daily bars for {symbol} between {start or 'listing'} and {end or 'today'}")
        return bars

    def quote(self, symbol: Symbol) -> Quote:
        """The realtime quote (requested with fltt=2: decimal prices); NoData for an unknown code."""
        params = {"secid": symbol.secid, "fields": QUOTE_FIELDS, "fltt": "2", "invt": "2"}
        return parse_quote(fetch(self._client, NAME, self._endpoints.quote, params=params), symbol, fltt=2)


def _fqt(adjustment: str) -> str:
    if adjustment not in FQT:
        raise SourceError(NAME, f"unknown adjustment {adjustment!r} (use one of {', '.join(FQT)})")
    return FQT[adjustment]


def _data(body: bytes, symbol: Symbol, what: str) -> dict[str, Any]:
    """The `data` object of an envelope; NoData for `rc != 0` or `data: null`."""
    doc = load_json(body, NAME)
    if not isinstance(doc, dict) or "rc" not in doc:
        raise SourceError(NAME, f"{what} body is not an Eastmoney envelope (no 'rc')")
    if doc["rc"] != 0 or doc.get("data") is None:
        raise NoData(NAME, f"no {what} for {symbol} (rc={doc['rc']!r})")
    data = doc["data"]
    if not isinstance(data, dict):
        raise SourceError(NAME, f"{what} 'data' is a JSON {type(data).__name__}, expected an object")
    return data


def parse_kline(body: bytes, symbol: Symbol, adjustment: str) -> BarSet:
    """Daily bars of a kline/get body (plain or JSONP); columns in the `fields2` order f51..f61."""
    _fqt(adjustment)
    data = _data(body, symbol, "daily bars")
    if str(data.get("code")) != symbol.code:
        raise SourceError(NAME, f"asked for {symbol} but the kline body is for code {data.get('code')!r}")
    klines = data.get("klines")
    if not isinstance(klines, list):
        raise SourceError(NAME, f"kline body for {symbol} has no 'klines' list")
    try:
        rows = [_kline_row(line.split(",")) for line in klines]
        return BarSet.from_rows(symbol, NAME, adjustment, rows)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise SourceError(NAME, f"malformed kline row for {symbol}: {exc}") from exc


def _kline_row(c: list[str]) -> tuple[Any, ...]:
    # date, open, CLOSE, high, low, lots[, amount yuan, ...]: reorder to OHLC, lots to shares
    amount = float(c[6]) if len(c) > 6 else math.nan
    return (c[0], c[1], c[3], c[4], c[2], float(c[5]) * LOTS, amount)


def parse_quote(body: bytes, symbol: Symbol, fltt: int = 2) -> Quote:
    """The quote in a stock/get body (plain or JSONP).

    `fltt` is what the request asked for: 2 gives decimal prices; otherwise prices are integers scaled
    by 10^f59. It is not guessed from the values, since a fltt=2 price of exactly 13.00 is also `13`.
    """
    data = _data(body, symbol, "quote")
    if "f43" not in data:
        raise SourceError(NAME, f"quote body for {symbol} has no price (f43)")
    if "f57" in data and str(data["f57"]) != symbol.code:
        raise SourceError(NAME, f"asked for {symbol} but the quote body is for code {data['f57']!r}")
    try:
        scale = 1.0 if fltt == 2 else 10.0 ** int(data.get("f59", 2))
        prices = {f: _number(data.get(f)) / scale for f in _PRICE_FIELDS}
        volume = _number(data.get("f47")) * LOTS
        when = _number(data.get("f86"))
        quote = Quote(
            symbol=symbol,
            source=NAME,
            name=str(data.get("f58", "")),
            price=prices["f43"],
            prev_close=prices["f60"],
            open=prices["f46"],
            high=prices["f44"],
            low=prices["f45"],
            volume=volume,
            amount=_number(data.get("f48")),
            time=None if math.isnan(when) else datetime.fromtimestamp(when, CHINA_TZ),
            # No last price and nothing traded: the stock is not trading today
            status="suspended" if math.isnan(prices["f43"]) and not volume > 0 else "trading",
        )
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise SourceError(NAME, f"malformed quote for {symbol}: {exc}") from exc
    return quote


def _number(value: Any) -> float:
    """A numeric field; `"-"` (Eastmoney's missing value) and absent fields are NaN."""
    if value is None or value == "-":
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    return float(value)
