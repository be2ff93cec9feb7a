"""Helpers shared by the remote sources (Tencent, Sina, Eastmoney): one HTTP GET that maps every
transport failure to a one-line `SourceError`, and the body decoders (GBK text, JSON/JSONP, JS records).
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import numpy as np

from tg.data.deadline import remaining
from tg.data.network import proxy_of
from tg.data.symbols import Symbol
from tg.errors import OutOfTime, SourceError

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
    proxy = proxy_of(client)
    left = remaining()
    timeout: Any = httpx.USE_CLIENT_DEFAULT
    if left is not None:
        if left <= 0:
            raise OutOfTime(source, "not asked: the deadline passed (network.deadline_s)")
        timeout = httpx.Timeout(left) if left < _longest(client.timeout) else httpx.USE_CLIENT_DEFAULT
    try:
        response = client.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        via = f" through the proxy {proxy}" if proxy else ""
        raise SourceError(source, f"timed out {_timeout_text(client, exc)} waiting for {host}{via}") from exc
    except httpx.RemoteProtocolError as exc:
        raise SourceError(source, f"truncated or broken response from {host}: {_reason(exc)}") from exc
    except (httpx.ConnectError, httpx.ProxyError) as exc:
        if proxy:  # the connection that failed is the one to the proxy, not to the upstream host
            raise SourceError(source, f"the proxy {proxy} failed: {type(exc).__name__}: {_reason(exc)}") from exc
        raise SourceError(source, f"request to {host} failed: {type(exc).__name__}: {_reason(exc)}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceError(source, f"request to {host} failed: {type(exc).__name__}: {_reason(exc)}") from exc
    if response.status_code != 200:
        raise SourceError(source, f"HTTP {response.status_code} from {host}")
    return response.content


def _longest(timeout: httpx.Timeout) -> float:
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    return max((t for t in phases if t is not None), default=float("inf"))


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
