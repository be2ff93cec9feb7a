"""Akshare source (the optional `tg[akshare]` extra): daily bars through akshare's `stock_zh_a_hist`.

For users who rely on akshare's maintained endpoints when the exchanges' public APIs change. akshare
1.19 GETs Eastmoney's `push2his .../kline/get` (`secid`, `klt=101`, `fqt` 0/1/2, `beg`/`end`,
`fields2=f51..f61,f116`) with `requests` and returns a DataFrame with Chinese column names:
日期 date, 开盘 open, 收盘 close, 最高 high, 最低 low, 成交量 volume in LOTS (手; becomes shares here),
成交额 amount in yuan. The bars join the same failover chain and validation as the direct parsers.
akshare coerces unparseable numbers to NaN where our parsers fail the body; validation quarantines
such bars.

What this source does not do, and why:

- Quotes: akshare's single-symbol quote (`stock_bid_ask_em`) takes no timeout and needs order-book
  fields no recorded body holds, so `quote()` is `NoData` (the chain moves on without counting a
  failure against this source): use tencent, sina or eastmoney.
- SH indices and SH B-shares: akshare picks the market from the code's first digit (6 → SH, else
  SZ/BJ), so SH000300 would fetch the SZ stock 000300; those symbols are `NoData` here.
- tg's proxy: akshare calls `requests.get` itself, with no session or proxy hook, so it cannot use
  `network.proxy_url` (`network=vpn` with this source is a `ConfigError` when it is built; in
  `auto` mode it always goes direct), and unlike tg's httpx client it honours the ambient
  HTTP(S)_PROXY / NO_PROXY variables.
- Timeouts: each call passes `network.timeout_s` as akshare's `timeout` argument, which requests
  applies to the connect and to each socket read (not to the whole call); the chain's retries and
  breaker bound the rest.

akshare takes 0.5-1 s to import, so it is imported on the first request, never when tg starts.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from tg.config.schema import NetworkConfig
from tg.data.bars import BarSet, Quote
from tg.data.remote import _reason
from tg.data.source import LOTS, SourceContext
from tg.data.symbols import Symbol
from tg.errors import ConfigError, NoData, SourceError

NAME = "akshare"
ADJUST = {"none": "", "qfq": "qfq", "hfq": "hfq"}  # tg adjustment → akshare's `adjust`
# akshare's column → BarSet field, in `BarSet.from_rows` order (date, open, high, low, close, lots, yuan)
COLUMNS = ("日期", "开盘", "最高", "最低", "收盘", "成交量", "成交额")
EXTRA_MISSING = "source akshare needs the akshare extra: pip install 'tg[akshare]'"
NO_PROXY = (
    "source akshare cannot use network.proxy_url (akshare makes its own requests, with no proxy hook): "
    "use network=china_direct or another source"
)
NO_QUOTES = "quotes are not offered by this source; use tencent, sina or eastmoney"
_DEFAULT_HOST = "push2his.eastmoney.com"  # where akshare 1.19 sends stock_zh_a_hist


class AkshareSource:
    """Daily bars (none/qfq/hfq) of A-shares and SZ indices via akshare; no quotes."""

    name = NAME

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    @classmethod
    def configured(cls, context: SourceContext) -> AkshareSource:
        """Built from `conf/source/parts/akshare.yaml`: akshare makes its own requests, for the network mode."""
        return cls.for_network(context.network)

    @classmethod
    def for_network(cls, net: NetworkConfig) -> AkshareSource:
        """The source for `net`; a ConfigError when the extra is not installed or `net` needs the proxy."""
        if not _installed():
            raise ConfigError(EXTRA_MISSING)
        if net.mode == "vpn":
            raise ConfigError(NO_PROXY)
        return cls(net.timeout_s)

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        """Daily bars in [start, end]; NoData when there are none or akshare cannot address `symbol`."""
        adjust = _adjust(adjustment)
        if symbol.exchange == "SH" and not symbol.code.startswith("6"):
            raise NoData(NAME, f"akshare cannot address {symbol} (it would read code {symbol.code} as a SZ stock)")
        frame = self._stock_zh_a_hist(symbol, start, end, adjust)
        if frame.empty:
            raise NoData(NAME, f"no daily bars for {symbol} between {start or 'listing'} and {end or 'today'}")
        bars = bars_of_frame(frame, symbol, adjustment).between(start, end)
        if not len(bars):
            raise NoData(NAME, f"no daily bars for {symbol} between {start or 'listing'} and {end or 'today'}")
        return bars

    def quote(self, symbol: Symbol) -> Quote:
        """Not offered (see the module docstring): NoData, so the chain asks the next source."""
        raise NoData(NAME, NO_QUOTES)

    def _stock_zh_a_hist(self, symbol: Symbol, start: date | None, end: date | None, adjust: str) -> Any:
        """akshare's DataFrame; every failure of the call (network, HTTP, body, pandas) is one SourceError."""
        try:
            import akshare
            import requests
        except ImportError as exc:
            raise SourceError(
                NAME, f"cannot import akshare ({_reason(exc)}); reinstall: pip install 'tg[akshare]'"
            ) from exc
        what = f"stock_zh_a_hist for {symbol}"
        try:
            return akshare.stock_zh_a_hist(
                symbol=symbol.code,
                period="daily",
                start_date=start.strftime("%Y%m%d") if start else "19700101",
                end_date=end.strftime("%Y%m%d") if end else "20500101",
                adjust=adjust,
                timeout=self.timeout_s,
            )
        except requests.Timeout as exc:
            raise SourceError(NAME, f"{what} timed out after {self.timeout_s:g}s waiting for {_host(exc)}") from exc
        except requests.JSONDecodeError as exc:  # before RequestException: it is one too
            raise SourceError(
                NAME, f"{what}: the answer is not JSON ({exc.msg} at char {exc.pos}; an HTTP error page?)"
            ) from exc
        except requests.RequestException as exc:
            raise SourceError(
                NAME, f"{what}: request to {_host(exc)} failed: {type(exc).__name__}: {_cause(exc)}"
            ) from exc
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise SourceError(
                NAME, f"{what}: unexpected answer ({type(exc).__name__}: {_reason(exc)}); akshare may not match the API"
            ) from exc


def bars_of_frame(frame: Any, symbol: Symbol, adjustment: str) -> BarSet:
    """A `BarSet` of a `stock_zh_a_hist` DataFrame: 成交量 lots → shares, 成交额 yuan as is."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(NAME, f"stock_zh_a_hist for {symbol} returned no column {', '.join(missing)}")
    if frame["日期"].isna().any():
        raise SourceError(NAME, f"stock_zh_a_hist for {symbol} returned an unparseable date")
    try:
        dates = [str(day) for day in frame["日期"]]
        o, h, lo, c, lots, amount = (frame[column].to_numpy(dtype=np.float64) for column in COLUMNS[1:])
        rows = list(zip(dates, o, h, lo, c, lots * LOTS, amount, strict=True))
        return BarSet.from_rows(symbol, NAME, adjustment, rows)
    except (ValueError, TypeError) as exc:
        raise SourceError(NAME, f"malformed stock_zh_a_hist row for {symbol}: {_reason(exc)}") from exc


def _installed() -> bool:
    """Whether akshare can be found, without importing it (that takes most of a second)."""
    try:
        return importlib.util.find_spec("akshare") is not None
    except (ImportError, ValueError):  # a blocked or half-removed module
        return False


def _adjust(adjustment: str) -> str:
    if adjustment not in ADJUST:
        raise SourceError(NAME, f"unknown adjustment {adjustment!r} (use one of {', '.join(ADJUST)})")
    return ADJUST[adjustment]


def _host(exc: Any) -> str:
    """The host a requests exception was about (its request's URL), else akshare's usual one."""
    url = getattr(getattr(exc, "request", None), "url", None)
    return (urlsplit(url).hostname if isinstance(url, str) else None) or _DEFAULT_HOST


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests error (urllib3's MaxRetryError wraps the real one)."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    inner = getattr(inner, "reason", None) or inner
    return _reason(inner) if isinstance(inner, Exception) else str(inner)[:160]
