"""`tg data fetch/quote`: embedded data on a fresh clone, failures within the timeout, VPN via a real proxy."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg
from tests.data.samples import sample_lines


def test_fresh_clone_fetch_returns_embedded_bars(project: Path) -> None:
    out = invoke("data", "fetch", "600519", "--json")
    assert out.code == 0, out.stderr
    data = out.json()
    assert (data["symbol"], data["source"], data["last_date"]) == ("600519.SH", "local", "2025-10-31")
    assert data["adjustment"] == "qfq" and data["rows"] == 3843 and len(data["last_bars"]) == 5
    ranged = invoke("data", "fetch", "sh600519", "--start", "2025-10-01", "--end", "2025-10-15", "--json").json()
    assert ranged["first_date"] >= "2025-10-01" and ranged["last_date"] <= "2025-10-15"


def test_quote_and_bad_input(project: Path) -> None:
    assert invoke("data", "quote", "600519.SH", "--json").json()["price"] == pytest.approx(1430.01)
    assert invoke("data", "fetch", "AAPL").code == 2
    assert invoke("data", "fetch", "600519", "--start", "yesterday").code == 2
    missing = invoke("data", "fetch", "688981", "source=local")
    assert missing.code == 1 and "688981" in missing.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_remote_source_fails_within_the_timeout(project: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    began = time.perf_counter()
    out = run_tg(
        "data",
        "fetch",
        "600519",
        "source=tencent",
        "network=china_direct",
        "network.timeout_s=1",
        f"source.endpoints.tencent_kline={dead}/kline",
        cwd=project,
    )
    assert out.code == 1
    assert out.stderr.strip().splitlines()[-1].startswith("tg: error: no source could provide")
    assert "tencent:" in out.stderr and "Traceback" not in out.stderr
    assert time.perf_counter() - began < 10


class ForwardProxy:
    """A real HTTP forward proxy on loopback (absolute-URI GETs), recording what it relayed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                proxy.seen.append((self.path, self.headers.get("Proxy-Authorization", "")))
                with urllib.request.urlopen(self.path, timeout=5) as upstream:  # noqa: S310 - loopback only
                    body = upstream.read()
                    self.send_response(upstream.status)
                    self.send_header("Content-Type", upstream.headers.get("Content-Type", "text/plain"))
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


def test_vpn_mode_routes_every_request_through_the_proxy_and_hides_credentials(
    project: Path,
    recorded_server,
    forward_proxy: ForwardProxy,  # type: ignore[no-untyped-def]
) -> None:
    recorded_server.route("/kline", sample_lines("eastmoney-kline.txt")[0], content_type="application/json")
    env = {"TRADING_VPN": "1", "TRADING_PROXY_URL": f"http://ops:hunter2@127.0.0.1:{forward_proxy.port}"}
    out = run_tg(
        "data",
        "fetch",
        "601872",
        "source=eastmoney",
        f"source.endpoints.eastmoney_kline={recorded_server.url}/kline",
        "--json",
        cwd=project,
        env=env,
    )
    assert out.code == 0, out.stderr
    assert out.json()["source"] == "eastmoney"
    assert len(forward_proxy.seen) == 1 and forward_proxy.seen[0][0].startswith(recorded_server.url + "/kline")
    assert forward_proxy.seen[0][1].startswith("Basic ")  # credentials reached the proxy …
    shown = run_tg("config", "show", "--json", cwd=project, env=env)
    logs = "".join(p.read_text() for p in (project / "logs").glob("*.log*"))
    for text in (out.stdout, out.stderr, shown.stdout, logs):  # … and nowhere else
        assert "hunter2" not in text
    assert shown.json()["network"]["mode"] == "vpn"


def test_remote_fetch_persists_bars_and_the_next_run_only_tops_up(project: Path, recorded_server) -> None:  # type: ignore[no-untyped-def]
    from tests.data.samples import sample

    recorded_server.route("/kline", sample("tencent-fqkline-day-index.txt"))
    args = ["data", "fetch", "SH000001", "source=tencent", "source.adjustment=none", "network=china_direct"]
    args.append(f"source.endpoints.tencent_kline={recorded_server.url}/kline")
    first = run_tg(*args, "--json", cwd=project)
    assert first.code == 0, first.stderr
    assert (first.json()["store"], first.json()["fetched_rows"], first.json()["rows"]) == ("updated", 3, 3)
    assert (project / "data_storage" / "bars" / "none" / "calendars" / "day.txt").read_text().split()[
        -1
    ] == "1990-12-21"
    second = run_tg(*args, "--json", cwd=project).json()  # a new process: nothing cached in memory
    assert (second["cache"], second["fetched_rows"], second["rows"]) == ("miss", 1, 3)
    recorded_server.route("/kline", b"", status=500)
    stale = run_tg(*args, cwd=project)
    assert stale.code == 0 and "stale" in stale.stdout and "HTTP 500" in stale.stdout


def test_diagnose_reports_reachability_truthfully(project: Path, recorded_server) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{closed_port()}"
    endpoints = ["tencent_quote", "tencent_kline", "sina_quote", "sina_kline", "eastmoney_quote", "eastmoney_kline"]
    down = [f"source.endpoints.{name}={dead}/x" for name in endpoints]
    began = time.perf_counter()
    out = run_tg("diagnose", "--json", "network=china_direct", "network.timeout_s=1", *down, cwd=project)
    assert out.code == 1 and time.perf_counter() - began < 15
    report = out.json()
    assert report["reachable_sources"] == [] and report["recommended_mode"].startswith("offline")
    assert all(not e["reachable"] and e["error"] for e in report["endpoints"])
    recorded_server.route("/q", b'v_pv_none_match="1";\n')
    up = [*down[:1], f"source.endpoints.tencent_quote={recorded_server.url}/q"]
    report = run_tg(
        "diagnose", "--json", "network=china_direct", "network.timeout_s=1", *down[1:], *up[1:], cwd=project
    )
    assert report.code == 0 and report.json()["reachable_sources"] == ["tencent"]
    assert report.json()["recommended_mode"] == "china_direct"


def test_diagnose_recommends_no_mode_it_did_not_see_working(project: Path) -> None:
    """Before: `vpn` was recommended because the proxy's port accepted a connection, with 0/6 endpoints
    answering through it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts (the kernel's backlog), never answers
    try:
        proxy = f"network.proxy_url=http://127.0.0.1:{listener.getsockname()[1]}"
        dead = f"http://127.0.0.1:{closed_port()}"
        names = ["tencent_quote", "tencent_kline", "sina_quote", "sina_kline", "eastmoney_quote", "eastmoney_kline"]
        down = [f"source.endpoints.{name}={dead}/x" for name in names]
        for mode in ("china_direct", "vpn"):
            out = run_tg("diagnose", "--json", f"network={mode}", proxy, "network.timeout_s=1", *down, cwd=project)
            report = out.json()
            assert out.code == 1 and report["reachable_sources"] == [], mode
            assert report["recommended_mode"].startswith("offline"), report["recommended_mode"]
    finally:
        listener.close()
