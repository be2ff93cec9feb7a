"""Eastmoney parsers against recorded bodies, and `EastmoneySource` over real HTTP with injected faults."""

from __future__ import annotations

import math
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.data.samples import sample_lines
from tests.recorded_server import RecordedServer
from tg.data import tencent
from tg.data.eastmoney import EastmoneyEndpoints, EastmoneySource, parse_kline, parse_quote
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

CMES = Symbol("601872", "SH")  # 招商轮船
GAC = Symbol("601238", "SH")  # 广汽集团
LANHUA = Symbol("600123", "SH")  # 兰花科创
CSI300 = Symbol("000300", "SH")
KLINE = "/api/qt/stock/kline/get"
QUOTE = "/api/qt/stock/get"
NO_DATA = b'{"rc":102,"rt":17,"svr":183641822,"lt":1,"full":0,"dlmkts":"","data":null}'


def source(server: RecordedServer, client: httpx.Client) -> EastmoneySource:
    return EastmoneySource(client, EastmoneyEndpoints(quote=server.url + QUOTE, kline=server.url + KLINE))


def jsonp(body: bytes) -> bytes:
    return b"jQuery35106_1700000000000(" + body + b");"


# --- kline ----------------------------------------------------------------------------------------


def test_kline_columns_reordered_and_units_converted() -> None:
    bars = parse_kline(sample_lines("eastmoney-kline.txt")[0], CMES, "qfq")
    assert (bars.source, bars.adjustment, len(bars)) == ("eastmoney", "qfq", 10)
    assert str(bars.dates[0]) == "2024-12-18" and str(bars.dates[-1]) == "2024-12-31"
    # "2024-12-18,6.11,6.18,6.28,6.10,842743,542829495.00,...": date, open, CLOSE, high, low, lots, yuan
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (6.11, 6.28, 6.10, 6.18)
    assert bars.amount[0] == 542829495.00


def test_kline_volume_lots_become_shares_matching_cn_daily() -> None:
    """Unit mix-up guard: 842743 lots is 84,274,300 shares."""
    bars = parse_kline(sample_lines("eastmoney-kline.txt")[0], CMES, "qfq")
    # cross-checked against cn_daily SH601872: 2024-12-18 volume 84,274,344 shares, 2024-12-19
    # 52,878,128, 2024-12-31 48,379,428 (raw close 2024-12-18 was 6.41: these prices are qfq)
    assert (bars.volume[0], bars.volume[1], bars.volume[-1]) == (84_274_300, 52_878_100, 48_379_400)
    qlib = (84_274_344, 52_878_128, 48_379_428)
    assert all(abs(got - want) < 100 for got, want in zip(bars.volume[[0, 1, -1]], qlib, strict=True))


def test_kline_index_with_eight_columns_equals_tencent() -> None:
    bars = parse_kline(sample_lines("eastmoney-kline.txt")[1], CSI300, "qfq")
    assert [str(d) for d in bars.dates] == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert bars.volume[0] == 17_127_737_300 and bars.amount[0] == 428620471197.90
    # The same three bars recorded from Tencent: open/high/low/close/volume digit-identical
    other = tencent.parse_kline(sample_lines("tencent-fqkline-qfqday.txt")[1], CSI300, "qfq")
    for field in ("open", "high", "low", "close", "volume"):
        assert list(getattr(bars, field)) == list(getattr(other, field)), field


def test_kline_jsonp_wrapper_is_stripped() -> None:
    plain = parse_kline(sample_lines("eastmoney-kline.txt")[0], CMES, "qfq")
    wrapped = parse_kline(jsonp(sample_lines("eastmoney-kline.txt")[0]), CMES, "qfq")
    assert wrapped.records() == plain.records()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (NO_DATA, NoData),
        (jsonp(NO_DATA), NoData),
        (b'{"rc":0,"data":null}', NoData),
        (b'{"data":{"klines":[]}}', SourceError),
        (b'{"rc":0,"data":{"code":"601872","klines":["2024-12-18,6.11,6.18"]}}', SourceError),
        (b'{"rc":0,"data":{"code":"601872","klines":["2024-12-18,6.11,6.18,6.28,6.10,-"]}}', SourceError),
        (b'{"rc":0,"data":{"code":"601872","klines":[42]}}', SourceError),
        (b'{"rc":0,"data":{"code":"600000","klines":[]}}', SourceError),
        (b"jQuery1(garbage);", SourceError),
        (b"\xff\xfe\x00\x81garbage", SourceError),
    ],
    ids=[
        "rc102",
        "rc102-jsonp",
        "data-null",
        "no-rc",
        "short",
        "dash-volume",
        "not-string",
        "other-code",
        "jsonp-bad",
        "bin",
    ],
)
def test_kline_bad_bodies(body: bytes, error: type[SourceError]) -> None:
    with pytest.raises(error) as info:
        parse_kline(body, CMES, "qfq")
    assert type(info.value) is error and "\n" not in str(info.value)


def test_kline_every_truncation_is_a_source_error() -> None:
    body = jsonp(sample_lines("eastmoney-kline.txt")[0])
    for n in range(len(body) - 1):  # only the final ";" is optional
        with pytest.raises(SourceError):
            parse_kline(body[:n], CMES, "qfq")


# --- stock/get ------------------------------------------------------------------------------------


def test_quote_fltt2_decimals() -> None:
    q = parse_quote(sample_lines("eastmoney-push2-stock-get.txt")[0], GAC)
    # cross-checked against cn_daily SH601238 2022-05-12: raw close 12.43, open 12.28, high 12.56,
    # low 12.21, 2022-05-11 close 12.40; volume 30,876,262 shares
    assert (q.name, q.price, q.open, q.high, q.low, q.prev_close) == ("广汽集团", 12.43, 12.28, 12.56, 12.21, 12.4)
    assert q.volume == 30_876_300  # f47 308763 lots
    assert abs(q.volume - 30_876_262) < 100
    assert q.amount == 382298576.0
    assert q.time is None  # f86 not requested in that capture
    assert q.status == "trading" and q.source == "eastmoney"


def test_quote_fltt1_integers_scaled_by_f59() -> None:
    q = parse_quote(sample_lines("eastmoney-push2-stock-get.txt")[1], LANHUA, fltt=1)
    # cross-checked in the sample header against cn_daily SH600123 2023-02-17 close 13.40 (not in
    # the local copy of cn_daily, which lacks 600123)
    assert (q.name, q.price) == ("兰花科创", 13.40)
    assert q.time == datetime.fromisoformat("2023-02-17T15:59:38+08:00")
    assert math.isnan(q.open) and math.isnan(q.volume)  # fields not in the body


def test_quote_dash_values_mean_missing_and_suspended() -> None:
    body = b'{"rc":0,"data":{"f43":"-","f44":"-","f45":"-","f46":"-","f47":"-","f48":"-","f57":"601238","f60":12.4}}'
    q = parse_quote(jsonp(body), GAC)
    assert q.status == "suspended" and q.prev_close == 12.4 and math.isnan(q.price)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (NO_DATA, NoData),
        (b'{"rc":0,"data":{"f57":"601238"}}', SourceError),
        (b'{"rc":0,"data":{"f43":12.43,"f57":"600000"}}', SourceError),
        (b'{"rc":0,"data":{"f43":"abc","f57":"601238"}}', SourceError),
        (b'{"rc":0,"data":{"f43":[1],"f57":"601238"}}', SourceError),
        (b'{"rc":0,"data":{"f43":1243,"f59":"x"}}', SourceError),
        (b'{"rc":0,"data":[]}', SourceError),
    ],
    ids=["rc102", "no-price", "other-code", "bad-number", "list-number", "bad-f59", "data-list"],
)
def test_quote_bad_bodies(body: bytes, error: type[SourceError]) -> None:
    with pytest.raises(error) as info:
        parse_quote(body, GAC, fltt=1)
    assert type(info.value) is error and "\n" not in str(info.value)


def test_quote_every_truncation_is_a_source_error() -> None:
    body = sample_lines("eastmoney-push2-stock-get.txt")[0]
    for n in range(len(body)):
        with pytest.raises(SourceError):
            parse_quote(body[:n], GAC)


# --- EastmoneySource over HTTP --------------------------------------------------------------------


def _query(request: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request).query, keep_blank_values=True).items()}


def test_source_daily_bars(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, jsonp(sample_lines("eastmoney-kline.txt")[0]), content_type="application/json")
    bars = source(recorded_server, http_client).daily_bars(CMES, date(2024, 12, 19), date(2024, 12, 23), "qfq")
    assert [str(d) for d in bars.dates] == ["2024-12-19", "2024-12-20", "2024-12-23"]
    assert urlsplit(recorded_server.requests[0]).path == KLINE
    assert _query(recorded_server.requests[0]) == {
        "secid": "1.601872",
        "klt": "101",
        "fqt": "1",
        "beg": "20241219",
        "end": "20241223",
        "fields1": "f1,f2,f3,f4,f5,f6",
        "fields2": "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61",
        "lmt": "1000000",
    }
    assert "fields2=f51,f52," in recorded_server.requests[0]  # commas sent literally


@pytest.mark.parametrize(("adjustment", "fqt"), [("none", "0"), ("qfq", "1"), ("hfq", "2")])
def test_source_fqt_per_adjustment(
    recorded_server: RecordedServer, http_client: httpx.Client, adjustment: str, fqt: str
) -> None:
    recorded_server.route(KLINE, sample_lines("eastmoney-kline.txt")[0])
    bars = source(recorded_server, http_client).daily_bars(CMES, None, None, adjustment)
    assert bars.adjustment == adjustment
    query = _query(recorded_server.requests[0])
    assert (query["fqt"], query["beg"], query["end"]) == (fqt, "0", "20500101")


def test_source_quote(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(QUOTE, sample_lines("eastmoney-push2-stock-get.txt")[0])
    q = source(recorded_server, http_client).quote(GAC)
    assert (q.price, q.volume) == (12.43, 30_876_300)
    query = _query(recorded_server.requests[0])
    assert query["secid"] == "1.601238" and query["fltt"] == "2"
    assert {"f43", "f47", "f48", "f59", "f60", "f86"} <= set(query["fields"].split(","))


def test_source_no_data_envelope(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, jsonp(NO_DATA))
    with pytest.raises(NoData, match="601872.SH"):
        source(recorded_server, http_client).daily_bars(CMES, None, None, "qfq")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (dict(status=500, body=b"oops"), "HTTP 500"),
        (dict(status=502, body=b"<html>bad gateway</html>"), "HTTP 502"),
        (dict(body=sample_lines("eastmoney-kline.txt")[0], truncate_at=200), "truncated"),
        (dict(body=b"\xff\xfe\x00\x81garbage"), "UTF-8"),
        (dict(body=b'jQuery1({"rc":0,'), "JSON"),
    ],
    ids=["http500", "http502", "truncated", "garbage", "cut-jsonp"],
)
def test_source_kline_faults(
    recorded_server: RecordedServer, http_client: httpx.Client, fault: dict, message: str
) -> None:
    recorded_server.route(KLINE, **fault)
    with pytest.raises(SourceError, match=message) as info:
        source(recorded_server, http_client).daily_bars(CMES, None, None, "qfq")
    assert type(info.value) is SourceError and "\n" not in str(info.value)


def test_source_slow_answer_times_out(recorded_server: RecordedServer) -> None:
    recorded_server.route(QUOTE, sample_lines("eastmoney-push2-stock-get.txt")[0], delay=1.0)
    with (
        httpx.Client(timeout=0.3, trust_env=False) as client,
        pytest.raises(SourceError, match=r"timed out after 0.3s"),
    ):
        source(recorded_server, client).quote(GAC)
