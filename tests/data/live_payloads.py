"""Bodies in the recorded Tencent fqkline and Eastmoney kline formats (see tests/fixtures/api-samples),
filled with the real bars of the embedded data: the days a truncated copy of it is missing, served
as the live sources would serve them (unadjusted, or forward-adjusted to the data's last day).

`truncated_copy` makes the "data one week behind"; `LiveBars` answers the recorded server's
requests from the full data, so a stitched update can be compared with what the data really holds.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np

from tests.recorded_server import Route
from tg.data.local import LocalSource, embedded_root
from tg.data.symbols import Symbol, parse_symbol
from tg.errors import NoData

TENCENT = "/fqkline/get"
EASTMONEY = "/kline/get"


def truncated_copy(target: Path, last_day: str, source: Path | None = None) -> Path:
    """A copy of the Qlib directory `source` (default the embedded data) ending on `last_day`."""
    source = source or embedded_root()
    shutil.copytree(source, target)
    days = (source / "calendars" / "day.txt").read_text().split()
    keep = sum(1 for d in days if d <= last_day)
    (target / "calendars" / "day.txt").write_text("\n".join(days[:keep]) + "\n")
    for path in (target / "features").glob("*/*.day.bin"):
        raw = np.fromfile(path, dtype="<f4")
        first = int(raw[0])
        values = raw[1:][: max(keep - first, 0)]
        np.concatenate([raw[:1], values]).astype("<f4").tofile(path)
    return target


class LiveBars:
    """Answers kline requests from the full data; counts them and can fail or stall chosen symbols."""

    def __init__(self, root: Path | None = None) -> None:
        self.source = LocalSource(root)
        self.requests: list[tuple[str, str, str, str]] = []  # (source, symbol, adjustment, first day asked)
        self.failing: set[str] = set()  # qlib names answered with HTTP 500 by every source
        self.down: set[str] = set()  # sources answering HTTP 500 to everything
        self.down_after: dict[str, int] = {}  # a source that goes down after answering this many requests
        self.delay = 0.0

    def _bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str):  # type: ignore[no-untyped-def]
        return self.source.daily_bars(symbol, start, end, adjustment)

    def _down(self, source: str) -> bool:
        answered = sum(1 for r in self.requests if r[0] == source) - 1
        return source in self.down or answered >= self.down_after.get(source, 1 << 30)

    def tencent(self, query: dict[str, list[str]]) -> Route:
        code, _, start, end, _, fq = query["param"][0].split(",")
        symbol = parse_symbol(code)
        adjustment = fq or "none"
        self.requests.append(("tencent", symbol.qlib, adjustment, start))
        if symbol.qlib in self.failing or self._down("tencent"):
            return Route(b"busy", status=500, delay=self.delay)
        try:
            bars = self._bars(symbol, _day(start), _day(end), adjustment)
        except NoData:
            return Route(json.dumps({"code": 0, "msg": "", "data": {code: {"day": []}}}).encode(), delay=self.delay)
        rows = [
            [str(d), f"{o:.3f}", f"{c:.3f}", f"{h:.3f}", f"{lo:.3f}", f"{v / 100:.3f}"]
            for d, o, c, h, lo, v in zip(
                bars.dates, bars.open, bars.close, bars.high, bars.low, bars.volume, strict=True
            )
        ]
        key = "day" if not fq or symbol.is_index else f"{fq}day"
        return Route(json.dumps({"code": 0, "msg": "", "data": {code: {key: rows}}}).encode(), delay=self.delay)

    def eastmoney(self, query: dict[str, list[str]]) -> Route:
        market, code = query["secid"][0].split(".")
        symbol = Symbol(code, "SH" if market == "1" else "SZ")
        adjustment = {"0": "none", "1": "qfq", "2": "hfq"}[query["fqt"][0]]
        self.requests.append(("eastmoney", symbol.qlib, adjustment, str(_day(query["beg"][0]))))
        if symbol.qlib in self.failing or self._down("eastmoney"):
            return Route(b"busy", status=500, delay=self.delay)
        start, end = _day(query["beg"][0]), _day(query["end"][0])
        try:
            bars = self._bars(symbol, start, end, adjustment)
        except NoData:
            return Route(json.dumps({"rc": 0, "data": {"code": code, "klines": []}}).encode(), delay=self.delay)
        klines = [
            f"{d},{o:.2f},{c:.2f},{h:.2f},{lo:.2f},{v / 100:.0f}"
            for d, o, c, h, lo, v in zip(
                bars.dates, bars.open, bars.close, bars.high, bars.low, bars.volume, strict=True
            )
        ]
        return Route(json.dumps({"rc": 0, "data": {"code": code, "klines": klines}}).encode(), delay=self.delay)


def _rows(bars):  # type: ignore[no-untyped-def]
    """(date, open, high, low, close, volume) per bar."""
    return zip(bars.dates, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)


def _day(text: str) -> date | None:
    text = text.strip()
    if not text or text == "0":
        return None
    if "-" not in text:
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return min(date.fromisoformat(text), date(2099, 12, 31))
