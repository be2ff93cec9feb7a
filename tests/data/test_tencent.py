"""Tencent parsers against recorded bodies, and `TencentSource` over real HTTP with injected faults."""

from __future__ import annotations

import json
import math
import socket
from datetime import date, datetime

import httpx
import numpy as np
import pytest

from tests.data.samples import sample, sample_lines
from tests.recorded_server import RecordedServer
from tg.data.symbols import Symbol
from tg.data.tencent import TencentEndpoints, TencentSource, parse_kline, parse_quotes
from tg.errors import NoData, SourceError

MOUTAI = Symbol("600519", "SH")
CIB = Symbol("601166", "SH")  # 兴业银行
SSE = Symbol("000001", "SH")  # SSE Composite index
CSI300 = Symbol("000300", "SH")
KLINE = "/appstock/app/fqkline/get"


def gbk(utf8_body: bytes) -> bytes:
    """A UTF-8 copy of a recorded body as the live API sends it (GBK)."""
    return utf8_body.decode("utf-8").encode("gbk")


def source(server: RecordedServer, client: httpx.Client) -> TencentSource:
    return TencentSource(client, TencentEndpoints(quote=server.url + "/q=", kline=server.url + KLINE))


# --- qt realtime ----------------------------------------------------------------------------------


def test_qt_2022_gbk_original_bytes() -> None:
    quotes = parse_quotes(sample("tencent-qt-realtime.gbk.txt"))
    assert list(quotes) == ["sz002039", "sz002040", "sz002052", "sz002070"]
    q = quotes["sz002039"]
    assert q.symbol == Symbol("002039", "SZ") and q.source == "tencent" and q.name == "黔源电力"
    assert (q.price, q.prev_close, q.open, q.high, q.low) == (13.85, 13.60, 13.56, 13.87, 13.56)
    assert q.volume == 43032 * 100  # field 6 is lots
    assert q.amount == 59265612  # field 35's exact yuan, not field 37's 5927 万元
    assert q.time == datetime.fromisoformat("2022-11-22T11:57:30+08:00")
    assert q.status == "trading"
    assert quotes["sz002040"].name == "南 京 港"
    assert quotes["sz002052"].name == "*ST同洲" and quotes["sz002052"].status == "trading"


def test_qt_delisted_record_keeps_prev_close_and_has_no_trade() -> None:
    q = parse_quotes(sample("tencent-qt-realtime.gbk.txt"))["sz002070"]
    assert q.name == "众和退" and q.status == "delisted"  # field 40 flag "D"
    assert (q.price, q.prev_close) == (0.71, 0.71)
    assert math.isnan(q.open) and math.isnan(q.high) and math.isnan(q.low)  # 0.00 on the wire = no trade
    assert q.volume == 0 and q.amount == 0


def test_qt_2022_utf8_copy_parses_the_same_as_the_original_bytes() -> None:
    original = parse_quotes(sample("tencent-qt-realtime.gbk.txt"))
    converted = parse_quotes(gbk(sample("tencent-qt-realtime.txt")))
    assert repr(converted) == repr(original)


def test_qt_2026_layout_moutai() -> None:
    q = parse_quotes(gbk(sample_lines("tencent-qt-realtime-2026.txt")[0]))["sh600519"]
    assert q.name == "贵州茅台"
    assert (q.price, q.prev_close, q.open, q.high, q.low) == (1459.88, 1459.44, 1459.44, 1464.88, 1452.10)
    assert q.amount == 3071809846
    assert q.time == datetime.fromisoformat("2026-04-02T16:14:01+08:00")


def test_qt_volume_lots_become_shares() -> None:
    """Unit mix-up guard: 21064 lots on the wire is 2,106,400 shares, not 21,064."""
    q = parse_quotes(gbk(sample_lines("tencent-qt-realtime-2026.txt")[0]))["sh600519"]
    assert q.volume == 2_106_400
    # Header of the sample: the exchange's 2,106,437 shares for the day (the wire rounds to lots)
    assert abs(q.volume - 2_106_437) < 100


def test_qt_two_records_on_one_line_separated_by_semicolon_space() -> None:
    quotes = parse_quotes(gbk(sample_lines("tencent-qt-realtime-2026.txt")[1]))
    assert list(quotes) == ["sh601166", "sz000001"]
    cib, pab = quotes["sh601166"], quotes["sz000001"]
    assert (cib.price, cib.prev_close, cib.open, cib.volume) == (20.60, 21.01, 20.97, 112_091_300)
    assert cib.amount == 2343578275
    assert (pab.name, pab.prev_close, pab.open, pab.high) == ("平安银行", 11.47, 11.47, 11.47)
    assert pab.symbol == Symbol("000001", "SZ") and not pab.symbol.is_index


def test_qt_index_record_embedded_in_fqkline_matches_cn_daily() -> None:
    """The fqkline `qt` array is the section-1 record: re-serialised, it parses as an index quote."""
    doc = json.loads(sample("tencent-fqkline-day-index.txt"))
    record = "~".join(doc["data"]["sh000001"]["qt"]["sh000001"])
    q = parse_quotes(f'v_sh000001="{record}";\n'.encode("gbk"))["sh000001"]
    # cross-checked against cn_daily SH000001 2023-01-20: raw open 3247.2031, high 3267.0579,
    # low 3247.2031, close 3264.8137, volume 27,321,917,440 shares (float32)
    assert (q.name, q.price, q.open, q.high, q.low) == ("上证指数", 3264.81, 3247.20, 3267.06, 3247.20)
    assert q.volume == 27_321_918_200  # index volume is lots too
    assert abs(q.volume - 27_321_917_440) < 2048  # float32 resolution at this magnitude
    assert q.amount == 329028168425


def test_qt_unknown_code_gives_no_quote() -> None:
    assert parse_quotes(b'v_pv_none_match="1";\n') == {}


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>502 Bad Gateway</html>", b"\xff\xfe\x00\x81garbage", b'v_sh600519="1~x~600519~12.0";'],
    ids=["empty", "html", "garbage-bytes", "too-few-fields"],
)
def test_qt_malformed_bodies_are_source_errors(body: bytes) -> None:
    with pytest.raises(SourceError) as info:
        parse_quotes(body)
    assert info.value.source == "tencent" and "\n" not in str(info.value)


def test_qt_every_truncation_is_a_source_error_or_a_complete_record() -> None:
    body = sample("tencent-qt-realtime.gbk.txt")
    for n in range(len(body)):
        try:
            quotes = parse_quotes(body[:n])
        except SourceError:
            continue
        assert len(quotes) <= 4  # cut on a record boundary: the records before it, whole


# --- fqkline --------------------------------------------------------------------------------------


def test_fqkline_qfqday_rows_are_reordered_to_ohlc() -> None:
    bars = parse_kline(sample_lines("tencent-fqkline-qfqday.txt")[0], CIB, "qfq")
    assert (bars.source, bars.adjustment, len(bars)) == ("tencent", "qfq", 4)
    assert [str(d) for d in bars.dates] == ["2026-01-09", "2026-01-12", "2026-01-13", "2026-01-14"]
    # wire row ["2026-01-09","20.980","20.840","21.060","20.790","593631.000"] = date, open, CLOSE, high, low, lots
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (20.98, 21.06, 20.79, 20.84)
    assert bars.volume[0] == 59_363_100
    # the still-open day comes unpadded ("21.13", "424393")
    assert (bars.open[3], bars.high[3], bars.low[3], bars.close[3], bars.volume[3]) == (
        20.97,
        21.18,
        20.84,
        21.13,
        42_439_300,
    )
    assert np.isnan(bars.amount).all()  # fqkline carries no amount


def test_fqkline_index_answers_plain_day_key_even_for_qfq() -> None:
    bars = parse_kline(sample_lines("tencent-fqkline-qfqday.txt")[1], CSI300, "qfq")
    assert [str(d) for d in bars.dates] == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (4423.82, 4423.82, 4323.57, 4340.76)
    assert bars.volume[0] == 17_127_737_300  # 171277373 lots, digit-identical to Eastmoney's


def test_fqkline_unadjusted_index_history() -> None:
    bars = parse_kline(sample("tencent-fqkline-day-index.txt"), SSE, "none")
    assert [str(d) for d in bars.dates] == ["1990-12-19", "1990-12-20", "1990-12-21"]
    assert (bars.open[1], bars.high[1], bars.low[1], bars.close[1], bars.volume[1]) == (
        113.1,
        113.5,
        112.85,
        113.5,
        199_000,
    )


def test_fqkline_js_assignment_prefix_is_stripped() -> None:
    body = b"kline_dayqfq=" + sample_lines("tencent-fqkline-qfqday.txt")[0]
    assert len(parse_kline(body, CIB, "qfq")) == 4


def test_fqkline_stock_without_the_adjusted_key_is_refused() -> None:
    body = sample_lines("tencent-fqkline-qfqday.txt")[0].replace(b'"qfqday"', b'"day"')
    with pytest.raises(SourceError, match="unadjusted"):
        parse_kline(body, CIB, "qfq")
    assert len(parse_kline(body, CIB, "none")) == 4


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"code":0,"msg":"","data":{}}', NoData),
        (b'{"code":0,"msg":"","data":{"sh601166":{"qt":{}}}}', NoData),
        (b'{"code":-1,"msg":"param error","data":[]}', SourceError),
        (b'{"code":0,"data":{"sh601166":{"qfqday":[["2026-01-09","20.98"]]}}}', SourceError),
        (b'{"code":0,"data":{"sh601166":{"qfqday":[["not a date","1","1","1","1","1"]]}}}', SourceError),
        (b"[1, 2]", SourceError),
        (b"\x89PNG\r\n\x1a\n", SourceError),
    ],
    ids=["no-entry", "no-rows-key", "error-code", "short-row", "bad-date", "array", "binary"],
)
def test_fqkline_bad_bodies(body: bytes, error: type[SourceError]) -> None:
    with pytest.raises(error) as info:
        parse_kline(body, CIB, "qfq")
    assert type(info.value) is error and "\n" not in str(info.value)


def test_fqkline_every_truncation_is_a_source_error() -> None:
    body = sample_lines("tencent-fqkline-qfqday.txt")[0]
    for n in range(len(body)):
        with pytest.raises(SourceError):
            parse_kline(body[:n], CIB, "qfq")


# --- TencentSource over HTTP ----------------------------------------------------------------------


def test_source_quote_over_http(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route("/q=sh600519", gbk(sample_lines("tencent-qt-realtime-2026.txt")[0]))
    q = source(recorded_server, http_client).quote(MOUTAI)
    assert (q.price, q.volume, q.amount) == (1459.88, 2_106_400, 3071809846)
    assert recorded_server.requests == ["/q=sh600519"]


def test_source_daily_bars_over_http(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, sample_lines("tencent-fqkline-qfqday.txt")[0], content_type="application/json")
    bars = source(recorded_server, http_client).daily_bars(CIB, date(2026, 1, 9), date(2026, 1, 13), "qfq")
    assert [str(d) for d in bars.dates] == ["2026-01-09", "2026-01-12", "2026-01-13"]  # filtered to the range
    # 3 = weekdays 2026-01-09 (Fri) .. 2026-01-13 (Tue); commas stay literal as the API expects
    assert recorded_server.requests == [f"{KLINE}?param=sh601166,day,2026-01-09,2026-01-13,3,qfq"]


def test_source_daily_bars_unadjusted_and_open_range(
    recorded_server: RecordedServer, http_client: httpx.Client
) -> None:
    recorded_server.route(KLINE, sample("tencent-fqkline-day-index.txt"))
    bars = source(recorded_server, http_client).daily_bars(SSE, None, None, "none")
    assert len(bars) == 3 and bars.adjustment == "none"
    assert recorded_server.requests == [f"{KLINE}?param=sh000001,day,,,2000,"]


def test_source_empty_range_is_no_data(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, sample_lines("tencent-fqkline-qfqday.txt")[0])
    with pytest.raises(NoData):
        source(recorded_server, http_client).daily_bars(CIB, date(2025, 1, 1), date(2025, 1, 31), "qfq")


def test_source_unknown_code_is_no_data(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route("/q=sh600000", b'v_pv_none_match="1";\n')
    with pytest.raises(NoData, match="600000.SH"):
        source(recorded_server, http_client).quote(Symbol("600000", "SH"))


def test_source_unknown_adjustment(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    with pytest.raises(SourceError, match="adjustment"):
        source(recorded_server, http_client).daily_bars(CIB, None, None, "split")
    assert recorded_server.requests == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (dict(status=500, body=b"Internal Server Error"), "HTTP 500"),
        (dict(status=404, body=b"gone"), "HTTP 404"),
        (dict(body=sample_lines("tencent-fqkline-qfqday.txt")[0], truncate_at=100), "truncated"),
        (dict(body=b"\xff\xfe\x00\x81garbage"), "UTF-8"),
        (dict(body=b"<html>captcha</html>"), "JSON"),
    ],
    ids=["http500", "http404", "truncated", "garbage", "html"],
)
def test_source_kline_faults(
    recorded_server: RecordedServer, http_client: httpx.Client, fault: dict, message: str
) -> None:
    recorded_server.route(KLINE, **fault)
    with pytest.raises(SourceError, match=message) as info:
        source(recorded_server, http_client).daily_bars(CIB, None, None, "qfq")
    assert type(info.value) is SourceError and "\n" not in str(info.value)


def test_source_quote_faults(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    body = gbk(sample_lines("tencent-qt-realtime-2026.txt")[0])
    recorded_server.route("/q=sh600519", body, truncate_at=len(body) // 2)
    with pytest.raises(SourceError, match="truncated"):
        source(recorded_server, http_client).quote(MOUTAI)
    recorded_server.route("/q=sh600519", b"\xff\xfe\x00\x81garbage")
    with pytest.raises(SourceError, match="GBK"):
        source(recorded_server, http_client).quote(MOUTAI)


def test_source_slow_answer_times_out(recorded_server: RecordedServer) -> None:
    recorded_server.route("/q=sh600519", gbk(sample_lines("tencent-qt-realtime-2026.txt")[0]), delay=1.0)
    with (
        httpx.Client(timeout=0.3, trust_env=False) as client,
        pytest.raises(SourceError, match=r"timed out after 0.3s"),
    ):
        source(recorded_server, client).quote(MOUTAI)


def test_source_connection_refused(http_client: httpx.Client) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoints = TencentEndpoints(quote=f"http://user:secret@127.0.0.1:{port}/q=", kline=f"http://127.0.0.1:{port}/k")
    with pytest.raises(SourceError, match="ConnectError") as info:
        TencentSource(http_client, endpoints).quote(MOUTAI)
    assert "secret" not in str(info.value)
