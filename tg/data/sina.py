"""Sina source: realtime quotes from `hq.sinajs.cn`, unadjusted daily bars from `getKLineData`.

Wire formats: tests/fixtures/api-samples/README.md sections 3-4. The quote's volume (field 8) is in
shares for stocks but in lots for indices; getKLineData volumes are shares and its prices are
unadjusted, so this source serves `adjustment="none"` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from tg.config.schema import EndpointsConfig as _URLS  # the endpoint URLs live in the schema only
from tg.data.bars import BarSet, Quote
from tg.data.remote import CHINA_TZ, bar_count, decode_gbk, fetch, js_records, load_json, symbol_of_key, traded_price
from tg.data.source import LOTS, SourceContext
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

NAME = "sina"
REFERER = {"Referer": "https://finance.sina.com.cn"}  # hq.sinajs.cn refuses requests without it
_HQ_MIN_FIELDS = 32  # through field 31 (time); field 32 (status) exists since ~2015
_STATUS = {"03": "suspended", "-3": "delisted"}
_DEFAULT_BARS = 1023


@dataclass(frozen=True)
class SinaEndpoints:
    quote: str = _URLS.sina_quote
    kline: str = _URLS.sina_kline


class SinaSource:
    """Unadjusted daily bars and realtime quotes from Sina over one injected client."""

    name = NAME

    def __init__(self, client: httpx.Client, endpoints: SinaEndpoints = SinaEndpoints()) -> None:
        self._client = client
        self._endpoints = endpoints

    @classmethod
    def configured(cls, context: SourceContext, quote: str, kline: str) -> SinaSource:
        """Built from `conf/source/parts/sina.yaml`: the endpoints, and the network mode's shared client."""
        return cls(context.client(), SinaEndpoints(quote=quote, kline=kline))

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        """Unadjusted daily bars in [start, end]; SourceError for qfq/hfq, NoData when there are none."""
        if adjustment != "none":
            raise SourceError(
                NAME, f"sina has no adjusted daily bars (asked for {adjustment}); use tencent or eastmoney"
            )
        # getKLineData always answers the latest `datalen` bars, so count from `start` up to today
        params = {
            "symbol": symbol.prefixed,
            "scale": "240",
            "ma": "no",
            "datalen": str(bar_count(start, None, _DEFAULT_BARS)),
        }
        bars = parse_kline(fetch(self._client, NAME, self._endpoints.kline, params=params), symbol, adjustment)
        bars = bars.between(start, end)
        if not len(bars):
            raise NoData(NAME, f"no daily bars for {symbol} between {start or 'listing'} and {end or 'today'}")
        return bars

    def quote(self, symbol: Symbol) -> Quote:
        """The realtime quote; NoData for an unknown code."""
        body = fetch(self._client, NAME, self._endpoints.quote + symbol.prefixed, headers=REFERER)
        quotes = parse_quotes(body)
        if symbol.prefixed not in quotes:
            raise NoData(NAME, f"no quote for {symbol} (unknown code)")
        return quotes[symbol.prefixed]


def parse_quotes(body: bytes) -> dict[str, Quote]:
    """Quotes of an hq.sinajs.cn body keyed by `sz000001`; unknown codes (empty records) are absent."""
    quotes = {}
    for key, value in js_records(decode_gbk(body, NAME), "var hq_str_", NAME):
        if key == "sys_auth":  # `var hq_str_sys_auth="FAILED";`: the request lacked the Referer
            raise SourceError(NAME, f"quote request refused (sys_auth {value!r})")
        symbol = symbol_of_key(key)
        if symbol is not None and value:
            quotes[key] = _hq_quote(symbol, value.split(","))
    return quotes


def _hq_quote(symbol: Symbol, f: list[str]) -> Quote:
    if len(f) < _HQ_MIN_FIELDS:
        raise SourceError(NAME, f"quote of {symbol.prefixed} has {len(f)} fields, expected at least {_HQ_MIN_FIELDS}")
    try:
        volume = float(f[8]) * (LOTS if symbol.is_index else 1.0)
        when = datetime.strptime(f"{f[30]} {f[31]}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)
        quote = Quote(
            symbol=symbol,
            source=NAME,
            name=f[0],
            price=traded_price(f[3]),
            prev_close=traded_price(f[2]),
            open=traded_price(f[1]),
            high=traded_price(f[4]),
            low=traded_price(f[5]),
            volume=volume,
            amount=float(f[9]),
            time=when,
            status=_STATUS.get(f[32].strip(), "trading") if len(f) > 32 else "trading",
        )
    except ValueError as exc:
        raise SourceError(NAME, f"malformed quote of {symbol.prefixed}: {exc}") from exc
    return quote


def parse_kline(body: bytes, symbol: Symbol, adjustment: str = "none") -> BarSet:
    """Daily bars of a getKLineData body (a JSON array of string-valued objects)."""
    if adjustment != "none":
        raise SourceError(NAME, f"sina has no adjusted daily bars (asked for {adjustment})")
    doc = load_json(body, NAME)
    if doc is None:  # the API's answer for an unknown symbol
        raise NoData(NAME, f"no daily bars for {symbol} (unknown code)")
    if not isinstance(doc, list):
        raise SourceError(NAME, f"getKLineData body is a JSON {type(doc).__name__}, expected an array")
    try:
        rows = [(r["day"], r["open"], r["high"], r["low"], r["close"], r["volume"], math.nan) for r in doc]
        return BarSet.from_rows(symbol, NAME, adjustment, rows)
    except (ValueError, TypeError, KeyError) as exc:
        raise SourceError(NAME, f"malformed getKLineData row for {symbol}: {exc!r}") from exc
