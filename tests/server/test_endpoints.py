"""Every endpoint of a real `tg serve` process over sockets: status, JSON shape, errors, refusals."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import run_tg
from tests.server.conftest import Served, free_port, start_server

# every metric the issue names, present from the first scrape
METRICS = {
    "tg_data_fetch_errors",
    "tg_prediction_latency_seconds",
    "tg_model_load_errors",
    "tg_cache_hits",
    "tg_cache_misses",
    "tg_cache_hit_ratio",
    "tg_consecutive_failures",
    "tg_build_info",
    "tg_model_age_seconds",
    "tg_data_last_bar_age_seconds",
    "tg_http_requests",
    "tg_http_request_duration_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds",
}


def metric_values(served: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = served.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_probes(served: Served) -> None:
    for path in ("/healthz", "/livez"):
        response = served.get(path)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
    ready = served.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and set(body["checks"]) == {"model", "data", "config"}
    assert all(c["ok"] and c["detail"] for c in body["checks"].values())
    verbose = served.get("/readyz?verbose")
    assert verbose.headers["content-type"].startswith("text/plain")
    assert "[+]model ok" in verbose.text and verbose.text.strip().endswith("readyz check passed")


def test_metrics_exposition_has_every_metric_from_the_first_scrape(served: Served) -> None:
    response = served.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert names >= METRICS, METRICS - names
    values = metric_values(served)
    assert values[("tg_data_fetch_errors_total", (("source", "local"),))] == 0
    assert values[("tg_ready", ())] == 1
    assert values[("tg_model_age_seconds", ())] > 0
    assert values[("tg_data_last_bar_age_seconds", ())] > 24 * 3600  # the embedded data ends 2025-10-31
    assert values[("tg_consecutive_failures", (("operation", "predict"),))] == 0
    assert not any("600519" in str(key) for key in values)  # no per-symbol labels


def test_predict_answers_like_tg_predict_and_counts(served: Served, trained_project: Path) -> None:
    first = served.get("/api/v1/predict/600519")
    assert first.status_code == 200, first.text
    body = first.json()
    second = served.get("/api/v1/predict/sh600519").json()  # at once: before `tg predict` takes its seconds
    assert second["cached"] is True  # the 5-second answer cache of a warm predictor
    cli = run_tg("predict", "600519", "--json", cwd=trained_project).json()
    for key in ("symbol", "as_of", "probabilities", "forecast", "signal", "model", "data", "expected_return"):
        assert body[key] == cli[key], key
    assert body["cached"] is False and body["stale"] is False
    values = metric_values(served)
    assert values[("tg_prediction_latency_seconds_count", ())] == 2
    assert values[("tg_cache_hits_total", (("cache", "predictions"),))] == 1
    assert values[("tg_cache_misses_total", (("cache", "predictions"),))] == 1
    assert (
        values[
            ("tg_http_requests_total", (("method", "GET"), ("route", "/api/v1/predict/{symbol}"), ("status", "200")))
        ]
        == 2
    )
    assert values[("tg_operations_total", (("operation", "predict"), ("outcome", "success")))] == 1


def test_predict_errors_are_json_with_their_status(served: Served) -> None:
    cases = {
        "/api/v1/predict/AAPL": 400,
        "/api/v1/predict/688981": 404,
        "/api/v1/predict/SH000300": 422,
        "/api/v1/predict/600519?as_of=2010-02-01": 422,
        "/api/v1/predict/600519?as_of=yesterday": 400,
    }
    for path, status in cases.items():
        response = served.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"], path


def test_bars_dashboard_health_and_openapi(served: Served) -> None:
    bars = served.get("/api/v1/bars/600519", params={"limit": 3})
    assert bars.status_code == 200
    body = bars.json()
    assert (body["symbol"], body["source"], len(body["bars"])) == ("600519.SH", "local", 3)
    assert body["bars"][-1]["date"] == "2025-10-31" and body["cache"] == "miss"
    assert served.get("/api/v1/bars/600519", params={"limit": 3}).json()["cache"] == "hit"
    assert served.get("/api/v1/bars/600519", params={"limit": 0}).status_code == 422
    served.get("/api/v1/predict/600519")
    dash = served.get("/api/v1/dashboard").json()
    assert set(dash) == {
        "generated_at",
        "version",
        "uptime_seconds",
        "process",
        "readiness",
        "model",
        "sources",
        "cache",
        "recovery",
        "recent_predictions",
    }
    assert dash["process"]["memory_rss_bytes"] > 0 and dash["uptime_seconds"] >= 0
    assert dash["model"]["loaded"] is True and dash["model"]["holdout"]["table"]
    assert dash["sources"]["built"] is True and dash["sources"]["sources"][0]["breaker"] == "closed"
    assert dash["cache"]["bars"]["hits"] == 1 and dash["cache"]["predictions"]["ttl_seconds"] == 5.0
    assert dash["recovery"]["summary"]["operations"]["predict"]["successes"] == 1
    assert dash["recovery"]["health"]["status"] == "healthy"
    assert dash["recent_predictions"][0]["symbol"] == "600519.SH"
    health = served.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["analysis_ready"] is True
    spec = served.get("/openapi.json").json()
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/predict/{symbol}", "/api/v1/dashboard"} <= set(spec["paths"])
    page = served.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # self-contained: nothing from elsewhere
    assert served.get("/no/such/path").status_code == 404


def test_api_key_protects_the_api_and_remote_metrics(serve_project: list[Served], trained_project: Path) -> None:
    key = "k-" + "7" * 30
    served = start_server(trained_project, env={"TRADING_METRICS_API_KEY": key})
    serve_project.append(served)
    assert served.get("/api/v1/dashboard").status_code == 401
    assert served.get("/api/v1/dashboard", headers={"X-API-Key": key[:-1] + "8"}).status_code == 401
    assert served.get("/api/v1/dashboard", headers={"X-API-Key": key}).status_code == 200
    assert served.get("/api/v1/predict/600519", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for open_path in ("/healthz", "/readyz", "/metrics"):  # probes and /metrics stay open on loopback
        assert served.get(open_path).status_code == 200, open_path
    exposed = served.get("/metrics").text + json.dumps(
        served.get("/api/v1/dashboard", headers={"X-API-Key": key}).json()
    )
    assert key not in exposed
    code, err = served.stop()
    assert code == 0 and key not in err
    logs = "".join(p.read_text() for p in (trained_project / "logs").glob("*.log*"))
    assert key not in logs


def test_refusals_are_one_line_and_exit_2(trained_project: Path) -> None:
    disabled = run_tg("serve", cwd=trained_project)
    assert disabled.code == 2 and "TRADING_METRICS_ENABLED=1" in disabled.stderr
    assert disabled.stderr.count("\n") == 1
    public = run_tg("serve", "serve.host=0.0.0.0", cwd=trained_project, env={"TRADING_METRICS_ENABLED": "1"})
    assert public.code == 2 and "without an API key" in public.stderr and public.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line_and_exit_1(trained_project: Path) -> None:
    with socket.socket() as taken:
        port = free_port()
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        out = run_tg("serve", f"serve.port={port}", cwd=trained_project, env={"TRADING_METRICS_ENABLED": "1"})
    assert out.code == 1 and "port is in use" in out.stderr and out.stderr.count("\n") == 1


def test_logs_go_to_the_log_file(served: Served, trained_project: Path) -> None:
    served.get("/api/v1/predict/600519")
    code, _ = served.stop()
    assert code == 0
    log = (trained_project / "logs" / "trading.log").read_text()
    assert "serving on 127.0.0.1" in log and "server stopped" in log
