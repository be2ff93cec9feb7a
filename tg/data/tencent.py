"""Tencent (gtimg.cn) source: realtime quotes from `qt.gtimg.cn`, daily bars from `fqkline/get`.

Wire formats: tests/fixtures/api-samples/README.md sections 1-2. Volumes arrive in lots (stocks and
indices), the qt amount in field 35 in yuan (field 37 in 万元), kline rows as
`[date, open, CLOSE, high, low, volume_lots]`.

HTTP and body decoding: `tg.data.remote`, shared with the other remote sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from tg.config.schema import EndpointsConfig as _URLS  # the endpoint URLs live in the schema only
from tg.data.bars import BarSet, Quote
from tg.data.remote import CHINA_TZ, bar_count, decode_gbk, fetch, js_records, load_json, symbol_of_key, traded_price
from tg.data.source import LOTS, WAN, SourceContext
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

NAME = "tencent"
_FQ = {"none": "", "qfq": "qfq", "hfq": "hfq"}
_QT_MIN_FIELDS = 38  # through field 37 (amount, 万元)
_KLINE_MAX_ROWS = 2000  # fqkline serves at most this many rows per request


@dataclass(frozen=True)
class TencentEndpoints:
    quote: str = _URLS.tencent_quote
    kline: str = _URLS.tencent_kline


class TencentSource:
    """Daily bars (none/qfq/hfq) and realtime quotes from Tencent over one injected client."""

    name = NAME

    def __init__(self, client: httpx.Client, endpoints: TencentEndpoints = TencentEndpoints()) -> None:
        self._client = client
        self._endpoints = endpoints

    @classmethod
    def configured(cls, context: SourceContext, quote: str, kline: str) -> TencentSource:
        """Built from `conf/source/parts/tencent.yaml`: the endpoints, and the network mode's shared client."""
        return cls(context.client(), TencentEndpoints(quote=quote, kline=kline))

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        """Daily bars in [start, end]; NoData when there are none."""
        fq = _fq(adjustment)
        count = min(bar_count(start, end, _KLINE_MAX_ROWS), _KLINE_MAX_ROWS)
        param = f"{symbol.prefixed},day,{start or ''},{end or ''},{count},{fq}"
        body = fetch(self._client, NAME, self._endpoints.kline, params={"param": param})
        bars = parse_kline(body, symbol, adjustment).between(start, end)
        if not len(bars):
            raise NoData(NAME, f"no daily bars for {symbol} between {start or 'listing'} and {end or 'today'}")
        return bars

    def quote(self, symbol: Symbol) -> Quote:
        """The realtime quote; NoData for an unknown code."""
        quotes = parse_quotes(fetch(self._client, NAME, self._endpoints.quote + symbol.prefixed))
        if symbol.prefixed not in quotes:
            raise NoData(NAME, f"no quote for {symbol} (unknown code)")
        return quotes[symbol.prefixed]


def _fq(adjustment: str) -> str:
    if adjustment not in _FQ:
        raise SourceError(NAME, f"unknown adjustment {adjustment!r} (use one of {', '.join(_FQ)})")
    return _FQ[adjustment]


def parse_quotes(body: bytes) -> dict[str, Quote]:
    """Quotes of a qt.gtimg.cn body keyed by `sh600519`; unknown codes (`v_pv_none_match`) are absent."""
    quotes = {}
    for key, value in js_records(decode_gbk(body, NAME), "v_", NAME):
        symbol = symbol_of_key(key)
        if symbol is not None:  # v_pv_none_match, HK/US and `v_s_` summary records are not A-share quotes
            quotes[key] = _qt_quote(symbol, value.split("~"))
    return quotes


def _qt_quote(symbol: Symbol, f: list[str]) -> Quote:
    if len(f) < _QT_MIN_FIELDS:
        raise SourceError(NAME, f"quote of {symbol.prefixed} has {len(f)} fields, expected at least {_QT_MIN_FIELDS}")
    try:
        volume = float(f[6]) * LOTS
        open_ = traded_price(f[5])
        # Field 35 `price/lots/amount` carries the exact amount in yuan; field 37 is rounded to 万元
        parts = f[35].split("/")
        amount = float(parts[2]) if len(parts) == 3 and parts[2] else float(f[37]) * WAN
        when = datetime.strptime(f[30], "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TZ) if f[30] else None
        quote = Quote(
            symbol=symbol,
            source=NAME,
            name=f[1],
            price=traded_price(f[3]),
            prev_close=traded_price(f[4]),
            open=open_,
            high=traded_price(f[33]),
            low=traded_price(f[34]),
            volume=volume,
            amount=amount,
            time=when,
            status=_qt_status(f[40] if len(f) > 40 else "", open_, volume),
        )
    except ValueError as exc:
        raise SourceError(NAME, f"malformed quote of {symbol.prefixed}: {exc}") from exc
    return quote


def _qt_status(flag: str, open_: float, volume: float) -> str:
    if flag == "D":
        return "delisted"
    # No open and no volume: suspended (before the 09:25 call auction a trading stock looks the same)
    if math.isnan(open_) and volume == 0:
        return "suspended"
    return "trading"


def parse_kline(body: bytes, symbol: Symbol, adjustment: str) -> BarSet:
    """Daily bars of an fqkline body (optionally `kline_dayqfq=`-prefixed) for `symbol`."""
    fq = _fq(adjustment)
    doc = load_json(body, NAME)
    if not isinstance(doc, dict):
        raise SourceError(NAME, f"fqkline body is a JSON {type(doc).__name__}, expected an object")
    if doc.get("code") != 0:
        raise SourceError(NAME, f"fqkline answered code {doc.get('code')!r}: {str(doc.get('msg'))[:80]}")
    data = doc.get("data")
    entry = data.get(symbol.prefixed) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        raise NoData(NAME, f"no daily bars for {symbol} (unknown code)")
    # Adjusted rows sit under `qfqday`/`hfqday`; unadjusted ones (and any index's) under plain `day`
    key = next((k for k in (f"{fq}day", "day") if k in entry), None)
    if key is None:
        raise NoData(NAME, f"no daily bars for {symbol}")
    if key == "day" and fq and not symbol.is_index:
        raise SourceError(NAME, f"asked for {adjustment} bars of {symbol} but got unadjusted ones")
    rows = entry[key]
    if not isinstance(rows, list):
        raise SourceError(NAME, f"fqkline {key!r} of {symbol} is not a list")
    try:
        # [date, open, CLOSE, high, low, lots]: reorder to OHLC and convert lots to shares
        bars = [(r[0], r[1], r[3], r[4], r[2], float(r[5]) * LOTS, math.nan) for r in rows]
        return BarSet.from_rows(symbol, NAME, adjustment, bars)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise SourceError(NAME, f"malformed fqkline row for {symbol}: {exc}") from exc
