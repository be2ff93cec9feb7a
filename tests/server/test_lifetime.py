"""What only a long-running process shows: the cache and the circuit breaker keep their state between
requests, a SIGTERM lets the request in flight finish, and the recovery records survive the exit."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_tg
from tests.data.samples import sample
from tests.recorded_server import RecordedServer
from tests.server.conftest import Served, start_server

KLINE = "/kline"


def remote(recorded: RecordedServer) -> list[str]:
    """Overrides that make tencent (served by the recorded server) the only source."""
    return [
        "source=tencent",
        "source.adjustment=none",
        "network=china_direct",
        "network.retries=0",
        "network.breaker_failures=3",
        "network.breaker_reset_s=600",
        f"source.endpoints.tencent_kline={recorded.url}{KLINE}",
    ]


def kline_requests(recorded: RecordedServer) -> int:
    return sum(KLINE in r for r in recorded.requests)


def test_the_cache_and_the_breaker_live_as_long_as_the_server(
    trained_project: Path, serve_project: list[Served], recorded_server: RecordedServer
) -> None:
    recorded_server.route(KLINE, sample("tencent-fqkline-day-index.txt"))
    served = start_server(trained_project, *remote(recorded_server))
    serve_project.append(served)
    first = served.get("/api/v1/bars/SH000001").json()
    assert (first["source"], first["cache"], first["rows"]) == ("tencent", "miss", 3)
    assert served.get("/api/v1/bars/SH000001").json()["cache"] == "hit"
    assert kline_requests(recorded_server) == 1  # the second answer came from the server's memory cache

    recorded_server.route(KLINE, b"", status=500)
    for day in range(1, 4):  # three failed top-ups (new keys, so no cache hit): the stored bars, stale
        stale = served.get("/api/v1/bars/SH000001", params={"end": f"2030-01-0{day}"}).json()
        assert stale["store"] == "stale" and "HTTP 500" in stale["refresh_error"]
    assert kline_requests(recorded_server) == 4
    sources = served.get("/api/v1/dashboard").json()["sources"]["sources"]
    assert sources == [{"source": "tencent", "breaker": "open", "consecutive_failures": 3, "fetches": 1, "errors": 3}]
    began = time.perf_counter()
    skipped = served.get("/api/v1/bars/SH000001", params={"end": "2030-01-09"}).json()
    assert "circuit open" in skipped["refresh_error"] and time.perf_counter() - began < 1.0
    assert kline_requests(recorded_server) == 4  # the open breaker kept the source from being asked
    metrics = served.get("/metrics").text
    assert 'tg_data_fetch_errors_total{source="tencent"} 3.0' in metrics
    assert 'tg_source_breaker_open{source="tencent"} 1.0' in metrics
    assert 'tg_cache_hits_total{cache="bars"} 1.0' in metrics
    recovery = served.get("/api/v1/dashboard").json()["recovery"]
    assert recovery["summary"]["operations"]["fetch"]["consecutive_failures"] == 4
    assert recovery["health"]["status"] == "unhealthy"  # more than 3 failed fetches in a row
    assert 'tg_consecutive_failures{operation="fetch"} 4.0' in served.get("/metrics").text


@pytest.mark.parametrize("http_server", ["granian", "uvicorn"])
def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(
    trained_project: Path, serve_project: list[Served], recorded_server: RecordedServer, http_server: str
) -> None:
    recorded_server.route(KLINE, sample("tencent-fqkline-day-index.txt"), delay=1.5)
    served = start_server(trained_project, *remote(recorded_server), f"serve.http_server={http_server}")
    serve_project.append(served)
    answers: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: answers.append(served.get("/api/v1/bars/SH000001")))
    slow.start()
    served.wait_until(lambda: kline_requests(recorded_server) == 1)  # the request is in flight
    served.proc.send_signal(signal.SIGTERM)
    slow.join(timeout=15)
    assert answers and answers[0].status_code == 200 and answers[0].json()["rows"] == 3
    code, err = served.stop()
    assert code == 0, err
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.url + "/healthz", timeout=1)
    stored = json.loads((trained_project / "logs" / "recovery" / "recovery.json").read_text())
    assert "fetch" in stored["buckets"]  # flushed at shutdown


@pytest.mark.parametrize("http_server", ["granian", "uvicorn"])
def test_ctrl_c_is_an_interrupt(trained_project: Path, serve_project: list[Served], http_server: str) -> None:
    served = start_server(trained_project, f"serve.http_server={http_server}")
    assert served.get("/api/v1/predict/600519").status_code == 200
    assert served.get("/api/v1/predict/600519").json()["cached"] is True
    assert "tg_http_requests_total" in served.get("/metrics").text
    assert served.get("/readyz").status_code == 200
    code, err = served.stop(signal.SIGINT)
    assert code == 130 and "interrupted" in err


def test_recovery_metrics_export_after_serving(served: Served, trained_project: Path) -> None:
    for symbol in ("600519", "000858", "AAPL"):
        served.get(f"/api/v1/predict/{symbol}")
    assert served.stop()[0] == 0
    out = run_tg("metrics", "export", "--json", cwd=trained_project)
    assert out.code == 0, out.stderr
    export = out.json()
    assert export["summary"]["operations"]["predict"]["successes"] == 2  # a bad symbol is not a failure
    assert export["health"]["status"] == "healthy"
    assert Path(export["output"]) == trained_project / "logs" / "recovery" / "export.json"
    written = json.loads(Path(export["output"]).read_text())
    assert written["format"] == "tg-recovery-export/1" and written["hourly_trend"]
    target = trained_project / "out" / "metrics.json"
    text = run_tg("metrics", "export", "--output", str(target), cwd=trained_project)
    assert text.code == 0 and str(target) in text.stdout and target.is_file()
