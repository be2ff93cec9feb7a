"""Sina parsers against recorded bodies, and `SinaSource` over real HTTP with injected faults."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import httpx
import numpy as np
import pytest

from tests.data.samples import sample
from tests.recorded_server import RecordedServer
from tg.data.sina import SinaEndpoints, SinaSource, parse_kline, parse_quotes
from tg.data.symbols import Symbol
from tg.errors import NoData, SourceError

GOTION = Symbol("002074", "SZ")  # 国轩高科
PAB = Symbol("000001", "SZ")  # 平安银行 (a stock: SZ 000001)
KLINE = "/quotes_service/api/json_v2.php/CN_MarketData.getKLineData"


def gbk(utf8_body: bytes) -> bytes:
    """A UTF-8 copy of a recorded body as the live API sends it (GBK)."""
    return utf8_body.decode("utf-8").encode("gbk")


def source(server: RecordedServer, client: httpx.Client) -> SinaSource:
    return SinaSource(client, SinaEndpoints(quote=server.url + "/list=", kline=server.url + KLINE))


# --- hq realtime ----------------------------------------------------------------------------------


def test_hq_gbk_original_bytes() -> None:
    quotes = parse_quotes(sample("sina-hq-realtime.gbk.txt"))
    assert list(quotes) == ["sz002074", "sz002075", "sz002077", "sz002150", "sz002143"]  # sz002257 empty
    q = quotes["sz002074"]
    assert q.symbol == GOTION and q.source == "sina" and q.name == "国轩高科"
    # cross-checked against cn_daily SZ002074 2022-11-22: raw open 32.40, high 32.40, low 31.51 (the
    # midday values held for the day); 2022-11-21 raw close 32.57 = prev close
    assert (q.open, q.prev_close, q.price, q.high, q.low) == (32.40, 32.57, 32.11, 32.40, 31.51)
    assert q.volume == 10_718_101  # stocks: shares already, no x100
    assert q.amount == 341643944.52
    assert q.time == datetime.fromisoformat("2022-11-22T11:30:00+08:00")
    assert q.status == "trading"


def test_hq_suspended_and_delisted_status() -> None:
    quotes = parse_quotes(sample("sina-hq-realtime.gbk.txt"))
    suspended, delisted = quotes["sz002150"], quotes["sz002143"]
    assert (suspended.name, suspended.status, suspended.prev_close) == ("通润装备", "suspended", 9.55)
    assert math.isnan(suspended.price) and math.isnan(suspended.open)  # 0.000 on the wire = no trade
    assert suspended.volume == 0
    assert (delisted.name, delisted.status) == ("印纪退", "delisted")
    assert delisted.time == datetime.fromisoformat("2022-11-18T11:45:01+08:00")


def test_hq_utf8_copy_parses_the_same_as_the_original_bytes() -> None:
    original = parse_quotes(sample("sina-hq-realtime.gbk.txt"))
    assert repr(parse_quotes(gbk(sample("sina-hq-realtime.txt")))) == repr(original)


def test_hq_index_volume_is_lots() -> None:
    """Unit mix-up guard: Sina gives index volume in lots (stocks in shares); both end up in shares."""
    line = sample("sina-hq-realtime.txt").splitlines()[0]
    # Same recorded record under an index key: only the key decides the unit
    body = gbk(line.replace(b"hq_str_sz002074", b"hq_str_sh000001"))
    assert parse_quotes(body)["sh000001"].volume == 10_718_101 * 100


def test_hq_refused_without_referer_is_an_error() -> None:
    with pytest.raises(SourceError, match="refused"):
        parse_quotes(b'var hq_str_sys_auth="FAILED";\n')


@pytest.mark.parametrize(
    "body",
    [b"", b"Kinsoku jikou desu!", b"\xff\xfe\x00\x81garbage", b'var hq_str_sz002074="x,1.0,2.0";\n'],
    ids=["empty", "forbidden-text", "garbage-bytes", "too-few-fields"],
)
def test_hq_malformed_bodies_are_source_errors(body: bytes) -> None:
    with pytest.raises(SourceError) as info:
        parse_quotes(body)
    assert info.value.source == "sina" and "\n" not in str(info.value)


def test_hq_every_truncation_is_a_source_error_or_whole_records() -> None:
    body = sample("sina-hq-realtime.gbk.txt")
    for n in range(len(body)):
        try:
            quotes = parse_quotes(body[:n])
        except SourceError:
            continue
        assert len(quotes) <= 5


# --- getKLineData ---------------------------------------------------------------------------------


def test_kline_strings_to_bars() -> None:
    bars = parse_kline(sample("sina-getKLineData.txt"), PAB)
    assert (bars.source, bars.adjustment) == ("sina", "none")
    assert [str(d) for d in bars.dates] == ["2022-04-07", "2022-04-08"]
    # cross-checked against cn_daily SZ000001 2022-04-07: raw O/H/L/C 16.38/16.66/16.20/16.28,
    # volume 165,906,448 shares (float32); 2022-04-08: 16.26/16.45/16.13/16.40, 106,677,944
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (16.38, 16.66, 16.20, 16.28)
    assert (bars.open[1], bars.high[1], bars.low[1], bars.close[1]) == (16.26, 16.45, 16.13, 16.40)
    assert list(bars.volume) == [165_906_455, 106_677_946]  # shares: no x100
    assert abs(bars.volume[0] - 165_906_448) < 16 and abs(bars.volume[1] - 106_677_944) < 16
    assert np.isnan(bars.amount).all()


def test_kline_adjusted_request_is_refused() -> None:
    with pytest.raises(SourceError, match="no adjusted daily bars"):
        parse_kline(sample("sina-getKLineData.txt"), PAB, "qfq")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"null", NoData),
        (b'{"error":"x"}', SourceError),
        (b'[{"day":"2022-04-07","open":"16.380"}]', SourceError),
        (b'[{"day":"2022-04-07","open":"x","high":"1","low":"1","close":"1","volume":"1"}]', SourceError),
        (b"\xff\xfe\x00\x81garbage", SourceError),
    ],
    ids=["null", "object", "missing-keys", "bad-number", "garbage"],
)
def test_kline_bad_bodies(body: bytes, error: type[SourceError]) -> None:
    with pytest.raises(error) as info:
        parse_kline(body, PAB)
    assert type(info.value) is error and "\n" not in str(info.value)


def test_kline_every_truncation_is_a_source_error() -> None:
    body = sample("sina-getKLineData.txt").strip()
    for n in range(len(body)):
        with pytest.raises(SourceError):
            parse_kline(body[:n], PAB)


# --- SinaSource over HTTP -------------------------------------------------------------------------


def test_source_quote_sends_referer(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route("/list=sz002074", sample("sina-hq-realtime.gbk.txt"))
    q = source(recorded_server, http_client).quote(GOTION)
    assert (q.price, q.volume) == (32.11, 10_718_101)
    assert recorded_server.requests == ["/list=sz002074"]
    assert recorded_server.headers[0]["referer"] == "https://finance.sina.com.cn"


def test_source_quote_unknown_code_is_no_data(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route("/list=sz002257", b'var hq_str_sz002257="";\n')
    with pytest.raises(NoData, match="002257.SZ"):
        source(recorded_server, http_client).quote(Symbol("002257", "SZ"))


def test_source_daily_bars(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, sample("sina-getKLineData.txt"), content_type="application/json")
    bars = source(recorded_server, http_client).daily_bars(PAB, None, date(2022, 4, 7), "none")
    assert [str(d) for d in bars.dates] == ["2022-04-07"]  # the API has no end: filtered here
    assert recorded_server.requests == [f"{KLINE}?symbol=sz000001&scale=240&ma=no&datalen=1023"]


def test_source_daily_bars_datalen_counts_from_start(
    recorded_server: RecordedServer, http_client: httpx.Client
) -> None:
    recorded_server.route(KLINE, sample("sina-getKLineData.txt"))
    with pytest.raises(NoData):  # the recorded bars are older than the range asked for
        source(recorded_server, http_client).daily_bars(PAB, date(2024, 1, 1), None, "none")
    expected = int(np.busday_count(date(2024, 1, 1), date.today() + timedelta(days=1)))
    assert recorded_server.requests[0].endswith(f"&datalen={expected}")


def test_source_adjusted_bars_are_refused_without_a_request(
    recorded_server: RecordedServer, http_client: httpx.Client
) -> None:
    with pytest.raises(SourceError, match="sina has no adjusted daily bars"):
        source(recorded_server, http_client).daily_bars(PAB, None, None, "hfq")
    assert recorded_server.requests == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (dict(status=500, body=b"oops"), "HTTP 500"),
        (dict(status=403, body=b"Kinsoku jikou desu!"), "HTTP 403"),
        (dict(body=sample("sina-hq-realtime.gbk.txt"), truncate_at=300), "truncated"),
        (dict(body=b"\xff\xfe\x00\x81garbage"), "GBK"),
    ],
    ids=["http500", "http403", "truncated", "garbage"],
)
def test_source_quote_faults(
    recorded_server: RecordedServer, http_client: httpx.Client, fault: dict, message: str
) -> None:
    recorded_server.route("/list=sz002074", **fault)
    with pytest.raises(SourceError, match=message) as info:
        source(recorded_server, http_client).quote(GOTION)
    assert type(info.value) is SourceError and "\n" not in str(info.value)


def test_source_kline_faults(recorded_server: RecordedServer, http_client: httpx.Client) -> None:
    recorded_server.route(KLINE, sample("sina-getKLineData.txt"), truncate_at=40)
    with pytest.raises(SourceError, match="truncated"):
        source(recorded_server, http_client).daily_bars(PAB, None, None, "none")
    recorded_server.route(KLINE, b"<html>busy</html>")
    with pytest.raises(SourceError, match="JSON"):
        source(recorded_server, http_client).daily_bars(PAB, None, None, "none")


def test_source_slow_answer_times_out(recorded_server: RecordedServer) -> None:
    recorded_server.route(KLINE, sample("sina-getKLineData.txt"), delay=1.0)
    with (
        httpx.Client(timeout=0.3, trust_env=False) as client,
        pytest.raises(SourceError, match=r"timed out after 0.3s"),
    ):
        source(recorded_server, client).daily_bars(PAB, None, None, "none")
