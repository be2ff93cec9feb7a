"""Failover over real sources and a real local HTTP server serving recorded bodies with faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.data.samples import sample_lines
from tg.data.chain import CircuitBreaker, SourceChain
from tg.data.eastmoney import EastmoneyEndpoints, EastmoneySource
from tg.data.symbols import parse_symbol
from tg.data.tencent import TencentEndpoints, TencentSource
from tg.errors import DataError
from tg.ops.metrics import TgMetrics

KLINE_T = "/appstock/app/fqkline/get"
KLINE_E = "/api/qt/stock/kline/get"
CMB_SHIPPING = parse_symbol("601872")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.3, trust_env=False) as c:
        yield c


def chain_for(server, client, **kwargs) -> SourceChain:  # type: ignore[no-untyped-def]
    kwargs.setdefault("metrics", TgMetrics(CollectorRegistry()))
    tencent = TencentSource(client, TencentEndpoints(quote=server.url + "/q=", kline=server.url + KLINE_T))
    eastmoney = EastmoneySource(client, EastmoneyEndpoints(quote=server.url + "/qt", kline=server.url + KLINE_E))
    kwargs.setdefault("sleep", lambda s: None)
    return SourceChain([tencent, eastmoney], **kwargs)


@pytest.mark.parametrize(
    "fault",
    [
        dict(status=500, body=b"oops"),
        dict(body=b"\x00\xffgarbage"),
        dict(body=b'{"code":0,"data":{"sh60', truncate_at=10),
        dict(body=b"{}", delay=1.0),
    ],
    ids=["http500", "garbage", "truncated", "slow"],
)
def test_fails_over_to_the_next_source(recorded_server, client, fault) -> None:  # type: ignore[no-untyped-def]
    recorded_server.route(KLINE_T, **fault)
    recorded_server.route(KLINE_E, sample_lines("eastmoney-kline.txt")[0], content_type="application/json")
    chain = chain_for(recorded_server, client, retries=1)
    bars = chain.daily_bars(CMB_SHIPPING, None, None, "qfq")
    assert bars.source == "eastmoney" and len(bars) > 0
    assert chain.errors()["tencent"] == 2  # first try + one retry
    assert chain.metrics.registry.get_sample_value("tg_data_fetch_errors_total", {"source": "tencent"}) == 2
    assert chain.metrics.registry.get_sample_value("tg_data_fetches_total", {"source": "eastmoney"}) == 1
    assert chain.consecutive_failures == 0


def test_all_sources_failing_names_each_source_and_why(recorded_server, client) -> None:  # type: ignore[no-untyped-def]
    recorded_server.route(KLINE_T, status=503, body=b"busy")
    recorded_server.route(KLINE_E, body=b'{"rc":102,"data":null}', content_type="application/json")
    chain = chain_for(recorded_server, client, retries=0)
    with pytest.raises(DataError) as info:
        chain.daily_bars(CMB_SHIPPING, None, None, "qfq")
    message = str(info.value)
    assert "tencent:" in message and "503" in message and "eastmoney:" in message
    assert chain.consecutive_failures == 1


def test_breaker_opens_then_skips_the_source_fast_then_probes_half_open(recorded_server, client) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    recorded_server.route(KLINE_T, status=500, body=b"down")
    recorded_server.route(KLINE_E, sample_lines("eastmoney-kline.txt")[0], content_type="application/json")
    chain = chain_for(recorded_server, client, retries=0, breaker_failures=2, breaker_reset_s=30, clock=lambda: now[0])
    for _ in range(2):
        chain.daily_bars(CMB_SHIPPING, None, None, "qfq")
    assert chain.breakers["tencent"].state == "open"
    assert chain.metrics.registry.get_sample_value("tg_source_breaker_open", {"source": "tencent"}) == 1
    assert [h["breaker"] for h in chain.health()] == ["open", "closed"]
    hits = sum(KLINE_T in r for r in recorded_server.requests)
    began = time.perf_counter()
    chain.daily_bars(CMB_SHIPPING, None, None, "qfq")
    assert sum(KLINE_T in r for r in recorded_server.requests) == hits  # not even tried
    assert time.perf_counter() - began < 0.5
    now[0] = 31.0  # reset elapsed: one half-open probe, which fails and re-opens the breaker
    chain.daily_bars(CMB_SHIPPING, None, None, "qfq")
    assert sum(KLINE_T in r for r in recorded_server.requests) == hits + 1
    assert chain.breakers["tencent"].state == "open"


def test_slow_primary_costs_at_most_one_timeout_per_attempt(recorded_server, client) -> None:  # type: ignore[no-untyped-def]
    recorded_server.route(KLINE_T, body=b"{}", delay=2.0)
    recorded_server.route(KLINE_E, sample_lines("eastmoney-kline.txt")[0], content_type="application/json")
    chain = chain_for(recorded_server, client, retries=0)
    began = time.perf_counter()
    assert chain.daily_bars(CMB_SHIPPING, None, None, "qfq").source == "eastmoney"
    assert time.perf_counter() - began < 0.3 + 0.5


def test_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures_to_open=2, reset_s=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow() and breaker.state == "open"
    now[0] = 10.0
    assert breaker.allow() and breaker.state == "half_open"
    breaker.record_success()
    assert breaker.state == "closed"


def test_a_failover_is_one_warning_and_a_total_failure_none(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from tg.errors import DataError, SourceError

    class Down:
        name = "down"

        def daily_bars(self, *args: object) -> object:
            raise SourceError("down", "HTTP 500 from host")

    class Up:
        name = "up"

        def daily_bars(self, *args: object) -> str:
            return "bars"

    caplog.set_level(logging.INFO, logger="tg.data.chain")
    chain = SourceChain([Down(), Up()], retries=1, sleep=lambda _: None, metrics=TgMetrics(CollectorRegistry()))  # type: ignore[list-item]
    assert chain.daily_bars(parse_symbol("600519"), None, None, "none") == "bars"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "served by up after: down: HTTP 500 from host" in warnings[0].getMessage()
    assert chain.errors()["down"] == 2  # both attempts counted (and logged at INFO)
    caplog.clear()
    with pytest.raises(DataError, match="down: HTTP 500"):
        SourceChain([Down()], retries=1, sleep=lambda _: None).daily_bars(parse_symbol("600519"), None, None, "none")  # type: ignore[list-item]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
