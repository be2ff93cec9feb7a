"""Tencent (gtimg.cn) source: realtime quotes from `qt.gtimg.cn`, daily bars from `fqkline/get`.

Wire formats: tests/fixtures/api-samples/README.md sections 1-2. Volumes arrive in lots (stocks and
indices), the qt amount in field 35 in yuan (field 37 in 万元), kline rows as
`[date, open, CLOSE, high, low, volume_lots]`.

The HTTP and body-decoding helpers at the top (`fetch`, `decode_gbk`, `load_json`, `js_records`) are
shared with the other remote sources (`tg.data.sina`, `tg.data.eastmoney`): one place maps transport
failures and malformed bodies to a one-line `SourceError`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import numpy as np

from tg.data.bars import BarSet, Quote
from tg.data.source import LOTS, WAN
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

CHINA_TZ = timezone(timedelta(hours=8), "CST")  # exchange time; no DST, so a fixed offset is exact
A_SHARE_KEY = re.compile(r"^(?P<ex>sh|sz|bj)(?P<code>\d{6})$")

_TIMEOUT_PHASES = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)
_USERINFO = re.compile(r"://[^/@\s]*@")
_JSONP = re.compile(r"^[\w$.]+\((?P<json>.*)\)\s*;?$", re.S)  # jQuery123_456({...});
_ASSIGNMENT = re.compile(r"^(?:var\s+)?[\w$.]+\s*=\s*(?P<json>.*?)\s*;?$", re.S)  # kline_dayqfq={...}


# --- helpers shared by the remote sources ---------------------------------------------------------


def fetch(
    client: httpx.Client,
    source: str,
    url: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """GET `url` (plus `params`) and return the raw body; any failure is one `SourceError` line."""
    if params:
        # Commas stay literal: these APIs are documented and used with `param=sh600519,day,...`
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, safe=',')}"
    host = urlsplit(url).hostname or "?"
    try:
        response = client.get(url, headers=headers)
    except httpx.TimeoutException as exc:
        raise SourceError(source, f"timed out {_timeout_text(client, exc)} waiting for {host}") from exc
    except httpx.RemoteProtocolError as exc:
        raise SourceError(source, f"truncated or broken response from {host}: {_reason(exc)}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceError(source, f"request to {host} failed: {type(exc).__name__}: {_reason(exc)}") from exc
    if response.status_code != 200:
        raise SourceError(source, f"HTTP {response.status_code} from {host}")
    return response.content


def _timeout_text(client: httpx.Client, exc: httpx.TimeoutException) -> str:
    phase = next((name for kind, name in _TIMEOUT_PHASES if isinstance(exc, kind)), "read")
    seconds = getattr(client.timeout, phase, None)
    return f"after {seconds:g}s ({phase})" if seconds is not None else f"({phase})"


def _reason(exc: Exception) -> str:
    """First line of an exception's text, without URL credentials (proxy URLs can carry them)."""
    lines = str(exc).strip().splitlines()
    text = _USERINFO.sub("://", lines[0]) if lines else type(exc).__name__
    return text[:160]


def decode_gbk(body: bytes, source: str) -> str:
    """Text of a GBK body. GB18030 decodes every GBK byte string identically and also covers the
    rare name characters outside GBK; invalid bytes are still an error, never replaced."""
    try:
        return body.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SourceError(source, f"response is not GBK text (bad byte at offset {exc.start})") from exc


def load_json(body: bytes, source: str) -> Any:
    """JSON value of a body, unwrapping a JSONP call `cb(...)` or a JS assignment `name=...;`."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise SourceError(source, f"response is not UTF-8 JSON (bad byte at offset {exc.start})") from exc
    if not text:
        raise SourceError(source, "empty response")
    for wrapper in (_JSONP, _ASSIGNMENT):
        match = wrapper.match(text)
        if match:
            text = match["json"]
            break
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(source, f"malformed or truncated JSON ({exc.msg} at char {exc.pos})") from exc


def js_records(text: str, prefix: str, source: str) -> list[tuple[str, str]]:
    """`(key, value)` of every `<prefix><key>="<value>";` record; anything else is malformed.

    Records are separated by newlines on the live APIs, by "; " in some pasted captures: both pass.
    """
    pattern = re.compile(rf'\s*{re.escape(prefix)}(?P<key>\w+)="(?P<value>[^"]*)"\s*;?\s*')
    text = text.strip()
    if not text:
        raise SourceError(source, "empty response")
    records, pos = [], 0
    while pos < len(text):
        match = pattern.match(text, pos)
        if not match:
            raise SourceError(source, f"malformed or truncated response near {text[pos : pos + 40]!r}")
        records.append((match["key"], match["value"]))
        pos = match.end()
    return records


def symbol_of_key(key: str) -> Symbol | None:
    """`Symbol` of a `sh600519`-style record key; None for non-A-share keys."""
    match = A_SHARE_KEY.match(key)
    return Symbol(match["code"], match["ex"].upper()) if match else None


def traded_price(text: str) -> float:
    """A price field where 0 means "no trade yet / suspended": NaN rather than a fake 0 yuan."""
    value = float(text)
    return math.nan if value == 0 else value


def bar_count(start: date | None, end: date | None, default: int) -> int:
    """Upper bound on trading days in [start, end or today] (weekdays; holidays only overcount)."""
    if start is None:
        return default
    last = end or date.today()
    return max(int(np.busday_count(start, last + timedelta(days=1))), 1)


# --- Tencent ---------------------------------------------------------------------------------------

NAME = "tencent"
_FQ = {"none": "", "qfq": "qfq", "hfq": "hfq"}
_QT_MIN_FIELDS = 38  # through field 37 (amount, 万元)
_KLINE_MAX_ROWS = 2000  # fqkline serves at most this many rows per request


@dataclass(frozen=True)
class TencentEndpoints:
    quote: str = "https://qt.gtimg.cn/q="
    kline: str = "https://web.ifzq.gtimg.cn/appstock/app/fqkline/get"


class TencentSource:
    """Daily bars (none/qfq/hfq) and realtime quotes from Tencent over one injected client."""

    name = NAME

    def __init__(self, client: httpx.Client, endpoints: TencentEndpoints = TencentEndpoints()) -> None:
        self._client = client
        self._endpoints = endpoints

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
