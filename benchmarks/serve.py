#!/usr/bin/env python3
"""`tg serve` under load from a real load generator (wrk), side by side in one run with the peers:

* `tg serve` on Granian (the default) and on uvicorn (`serve.http_server=uvicorn`);
* a bare prometheus-client `start_http_server` serving the same registry: the same `ServerState`
  built in its own process, so its exposition holds the same collectors (and the render cost);
* `tg serve` with `serve.metrics_cache_s=0` (every scrape rendered), to show what the 1-second
  exposition cache buys.

For /healthz, /metrics and /api/v1/predict/600519 at 1, 16 and 64 connections: requests/s, p50 and
p99 (wrk's own latency histogram, one wrk thread so the server keeps the other core). Then a soak:
64 connections for 60 s rotating over /healthz, /readyz, /metrics and a prediction, counting failed
requests (socket errors and non-2xx) and the server's resident memory before and after.

Run from the repository root: `python benchmarks/serve.py [--seconds S] [--soak S] [--project DIR]`.
Needs `wrk` (Debian package; scripts/system-deps installs it). A small model is trained in a scratch
project unless --project names one with a model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

TG = Path(sys.executable).parent / "tg"
ENDPOINTS = ("/healthz", "/metrics", "/api/v1/predict/600519")
CONNECTIONS = (1, 16, 64)
TINY = [
    "data.universe=[600519,000858,601318,600036,000001]",
    "data.start=2016-01-01",
    "train.epochs=1",
    "model.members.gbm.rounds=30",
]
REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    .. '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n', summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""
ROTATE = """
local paths = {"/healthz", "/readyz", "/metrics", "/api/v1/predict/600519"}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""
BARE = """
import sys, time
from pathlib import Path
from prometheus_client import CollectorRegistry, start_http_server
from tg.config.loader import load_config
from tg.ops.metrics import TgMetrics
from tg.ops.recovery import RecoveryMetrics
from tg.server.state import ServerState

loaded = load_config([])
metrics = TgMetrics(CollectorRegistry(auto_describe=True))
state = ServerState(loaded, [], metrics, RecoveryMetrics(loaded.path("logs") / "recovery", flush_interval_s=5))
state.start()
start_http_server(int(sys.argv[1]), addr="127.0.0.1", registry=metrics.registry)
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"benchmark: server for {url} exited {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit(f"benchmark: {url} did not come up")


def start(project: Path, *overrides: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "TRADING_METRICS_ENABLED": "1"}
    proc = subprocess.Popen(
        [str(TG), "serve", f"serve.port={port}", *overrides], cwd=project, env=env, stderr=subprocess.DEVNULL
    )
    wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    httpx.get(f"http://127.0.0.1:{port}/api/v1/predict/600519", timeout=30)  # warm: model and window loaded
    return proc, port


def start_bare(project: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port)], cwd=project, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    wait_up(f"http://127.0.0.1:{port}/metrics", proc)
    return proc, port


def wrk(url: str, connections: int, seconds: float, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(raw for raw in reversed(out.splitlines()) if raw.startswith("{"))
    result = json.loads(line)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    non2xx = next((int(raw.split(":")[1]) for raw in out.splitlines() if "Non-2xx" in raw), 0)
    result["failed"] = non2xx + sum(result[k] for k in ("connect", "read", "write", "timeout"))
    return result


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--soak", type=float, default=60.0, help="length of the 64-connection soak")
    parser.add_argument("--project", type=Path, help="a project directory holding a trained model")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmark: wrk is required (apt-get install wrk, or scripts/system-deps)")
    project = args.project or Path(tempfile.mkdtemp(prefix="tg-bench-serve-"))
    if not (project / "models_saved" / "CURRENT").exists():
        print(f"training a small model in {project} …", flush=True)
        subprocess.run([str(TG), "train", "--no-progress", *TINY], cwd=project, check=True, capture_output=True)
    scripts = Path(tempfile.mkdtemp(prefix="tg-bench-wrk-"))
    (scripts / "report.lua").write_text(REPORT)
    (scripts / "rotate.lua").write_text(ROTATE + REPORT)

    setups = {
        "tg serve (granian)": lambda: start(project),
        "tg serve (uvicorn)": lambda: start(project, "serve.http_server=uvicorn"),
        "tg serve, /metrics rendered every scrape": lambda: start(project, "serve.metrics_cache_s=0"),
        "bare prometheus-client": lambda: start_bare(project),
    }
    results: dict[str, dict[str, dict[int, dict[str, float]]]] = {}
    for name, setup in setups.items():  # one server at a time: nothing else competes for the 2 cores
        proc, port = setup()
        try:
            paths = ENDPOINTS if name.startswith("tg serve (") else ("/metrics",)
            for path in paths:
                for connections in CONNECTIONS:
                    result = wrk(f"http://127.0.0.1:{port}{path}", connections, args.seconds, scripts / "report.lua")
                    results.setdefault(name, {}).setdefault(path, {})[connections] = result
                    print(
                        f"{name:42} {path:26} c={connections:<3} {result['rps']:9.0f} req/s  "
                        f"p50 {result['p50_us'] / 1000:7.2f} ms  p99 {result['p99_us'] / 1000:7.2f} ms  "
                        f"failed {result['failed']}",
                        flush=True,
                    )
        finally:
            stop(proc)
    proc, port = start(project)
    try:
        server = psutil.Process(proc.pid)
        wrk(f"http://127.0.0.1:{port}/", 64, 5, scripts / "rotate.lua")  # warm-up at full load
        rss_start = server.memory_info().rss
        soak = wrk(f"http://127.0.0.1:{port}/", 64, args.soak, scripts / "rotate.lua")
        rss_end = server.memory_info().rss
    finally:
        stop(proc)
    growth = (rss_end - rss_start) / rss_start
    print(
        f"\nsoak: {args.soak:.0f} s at 64 connections over /healthz, /readyz, /metrics, predict: "
        f"{soak['requests']} requests ({soak['rps']:.0f}/s), failed {soak['failed']}, "
        f"p99 {soak['p99_us'] / 1000:.2f} ms; "
        f"server RSS {rss_start / 2**20:.1f} MiB -> {rss_end / 2**20:.1f} MiB ({growth * 100:+.2f} %)"
    )
    tg, bare = results["tg serve (granian)"], results["bare prometheus-client"]
    print("\nagainst the targets:")
    checks = [
        ("/healthz median sequential <= 1 ms", tg["/healthz"][1]["p50_us"] / 1000, 1.0, "ms"),
        ("/healthz p99 at 64 connections < 10 ms", tg["/healthz"][64]["p99_us"] / 1000, 10.0, "ms"),
        ("/api/v1/predict warm p99 at 16 connections <= 5 ms", tg[ENDPOINTS[2]][16]["p99_us"] / 1000, 5.0, "ms"),
    ]
    for label, value, limit, unit in checks:
        print(f"  {label}: {value:.2f} {unit} {'met' if value <= limit else 'MISSED'}")
    for connections in CONNECTIONS:
        ratio = tg["/metrics"][connections]["rps"] / bare["/metrics"][connections]["rps"]
        verdict = "met" if ratio >= 3 else "MISSED"
        print(f"  /metrics at {connections} connections: {ratio:.1f}x the bare server's requests/s, {verdict}")
    print(
        f"  soak: {soak['failed']} failed {'met' if soak['failed'] == 0 else 'MISSED'}, "
        f"memory {growth * 100:+.2f} % {'met' if growth < 0.05 else 'MISSED'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "soak": soak, "rss": [rss_start, rss_end]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
