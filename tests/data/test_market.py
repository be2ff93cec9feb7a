"""MarketData: cache → bar store → chain, with a recorded Tencent body served over real HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.data.samples import sample
from tests.recorded_server import RecordedServer
from tests.redis_server import Server
from tg.data.chain import SourceChain
from tg.data.local import LocalSource
from tg.data.market import MarketData
from tg.data.memory_cache import MemoryCache
from tg.data.redis_cache import RedisCache
from tg.data.symbols import Symbol
from tg.data.tencent import TencentEndpoints, TencentSource
from tg.errors import DataError

SSE = Symbol("000001", "SH")
KLINE = "/appstock/app/fqkline/get"
DAYS = ["1990-12-19", "1990-12-20", "1990-12-21"]  # the three bars of the recorded index body


def memory() -> MemoryCache:
    return MemoryCache(max_bytes=10_000_000, default_ttl=60)


def market(server: RecordedServer, client: httpx.Client, store: Path, cache: object | None = None) -> MarketData:
    tencent = TencentSource(client, TencentEndpoints(quote=f"{server.url}/q=", kline=f"{server.url}{KLINE}"))
    chain = SourceChain([tencent], retries=0, sleep=lambda _: None)
    return MarketData(chain, cache or memory(), ["tencent"], store)  # type: ignore[arg-type]


@pytest.fixture
def served(recorded_server: RecordedServer) -> RecordedServer:
    recorded_server.route(KLINE, sample("tencent-fqkline-day-index.txt"))
    return recorded_server


def test_first_fetch_fills_the_store_then_only_missing_days_are_asked_for(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    first = market(served, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    assert (first.cache, first.store, first.fetched_rows) == ("miss", "updated", 3)
    assert [str(d) for d in first.bars.dates] == DAYS
    assert (tmp_path / "none" / "features" / "sh000001" / "close.day.bin").is_file()  # Qlib layout on disk

    # A new process (empty memory cache) asks only from the last stored day on, and still answers all
    again = market(served, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    assert served.requests[-1].startswith(f"{KLINE}?param=sh000001,day,1990-12-21,,")
    assert (again.cache, again.store, again.fetched_rows) == ("miss", "updated", 1)
    assert [str(d) for d in again.bars.dates] == DAYS
    assert again.bars.close.tolist() == first.bars.close.tolist()


def test_a_range_the_store_covers_needs_no_request(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    market(served, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    asked = len(served.requests)
    answer = market(served, http_client, tmp_path).daily_bars(SSE, date(1990, 12, 19), date(1990, 12, 20), "none")
    assert (answer.store, answer.fetched_rows, len(served.requests)) == ("complete", 0, asked)
    assert [str(d) for d in answer.bars.dates] == DAYS[:2]


def test_second_ask_is_a_cache_hit_without_a_request(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    data = market(served, http_client, tmp_path)
    data.daily_bars(SSE, None, None, "none")
    asked = len(served.requests)
    hit = data.daily_bars(SSE, None, None, "none")
    assert hit.cache == "hit" and len(served.requests) == asked and len(hit.bars) == 3
    assert data.cache.stats()["hits"] == 1


def test_source_down_serves_stored_bars_marked_stale_with_the_reason(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    market(served, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    served.route(KLINE, b"oops", status=500)
    answer = market(served, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    assert answer.store == "stale" and len(answer.bars) == 3
    assert answer.refresh_error is not None and "tencent: HTTP 500" in answer.refresh_error


def test_no_store_and_source_down_is_a_clear_error(
    recorded_server: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    recorded_server.route(KLINE, b"", status=503)
    with pytest.raises(DataError, match="tencent: HTTP 503"):
        market(recorded_server, http_client, tmp_path).daily_bars(SSE, None, None, "none")
    assert not (tmp_path / "none" / "features").exists()


def test_a_failed_save_is_reported_and_the_bars_still_answered(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store directory should be")
    answer = market(served, http_client, blocker).daily_bars(SSE, None, None, "none")
    assert len(answer.bars) == 3
    assert answer.notes and answer.notes[0].startswith("bars not saved to the bar store")
    assert blocker.read_text().startswith("a file")


def test_a_corrupt_cache_entry_is_dropped_and_refetched(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    cache = memory()
    data = market(served, http_client, tmp_path, cache)
    data.daily_bars(SSE, None, None, "none")
    (key,) = list(cache._entries)
    cache.set(key, cache.get(key)[:-5])  # type: ignore[index]
    again = data.daily_bars(SSE, None, None, "none")
    assert again.cache == "miss" and len(again.bars) == 3


def test_qfq_bars_are_never_stored(served: RecordedServer, http_client: httpx.Client, tmp_path: Path) -> None:
    answer = market(served, http_client, tmp_path).daily_bars(SSE, None, None, "qfq")
    assert answer.store == "off" and not (tmp_path / "qfq").exists()


def test_local_only_has_no_bar_store(tmp_path: Path) -> None:
    data = MarketData(SourceChain([LocalSource()]), memory(), ["local"], tmp_path)
    answer = data.daily_bars(Symbol("600519", "SH"), date(2025, 10, 1), None, "none")
    assert answer.store == "off" and str(answer.bars.last_date) == "2025-10-31"
    assert not any(tmp_path.iterdir())


def test_redis_cache_is_shared_between_processes(
    served: RecordedServer, http_client: httpx.Client, tmp_path: Path, redis_server: Server
) -> None:
    def redis() -> RedisCache:
        return RedisCache(redis_server.url, default_ttl=60, fallback=memory())

    market(served, http_client, tmp_path, redis()).daily_bars(SSE, None, None, "none")
    asked = len(served.requests)
    other = market(served, http_client, tmp_path, redis())  # as a second process would: its own client
    answer = other.daily_bars(SSE, None, None, "none")
    assert answer.cache == "hit" and len(served.requests) == asked
    assert other.cache.stats()["backend"] == "redis"
