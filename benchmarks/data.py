#!/usr/bin/env python3
"""Data benchmark, measured side by side in one run:

1. local store read of every instrument of a Qlib directory (default ../shared/data/cn_daily): bars/s;
2. in-memory cache hit latency (a 15-year BarSet, encoded) vs a local-store read of the same bars;
3. time to answer when the primary source is down: breaker closed (pays the failure) vs open (skipped);
4. `tg data update` of every stock of the directory one day behind (a copy ending 2025-10-30),
   against a local server answering in the recorded Tencent format with the real bars of 2025-10-31
   and a 50 ms latency per request: symbols/s sequentially (concurrency 1), at the defaults
   (concurrency 8, 20 requests/s per source) and with the politeness cap lifted.

Run from the repository root: `python benchmarks/data.py [--root DIR] [--skip-update]`.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> int:
    import logging

    import httpx

    logging.getLogger("tg.data.chain").setLevel(logging.ERROR)  # the benchmark fails sources on purpose

    from tg.data.chain import SourceChain
    from tg.data.codec import decode_barset, encode_barset
    from tg.data.local import LocalSource
    from tg.data.memory_cache import MemoryCache
    from tg.data.symbols import parse_symbol
    from tg.data.tencent import TencentEndpoints, TencentSource

    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "cn_daily"))
    parser.add_argument("--skip-update", action="store_true", help="leave out the `tg data update` figures")
    args = parser.parse_args()

    local = LocalSource(Path(args.root))
    symbols = local.instruments()
    best = float("inf")
    for _ in range(3):
        fresh = LocalSource(Path(args.root))
        began = time.perf_counter()
        total = sum(len(fresh.daily_bars(s, None, None, "hfq")) for s in symbols)
        best = min(best, time.perf_counter() - began)
    print(
        f"local store read: {len(symbols)} instruments, {total:,} bars in {best * 1000:.0f} ms "
        f"= {total / best / 1e6:.2f} M bars/s (target >= 5 M/s)"
    )

    moutai = parse_symbol("600519")
    cache = MemoryCache(max_bytes=64 << 20, default_ttl=300)
    cache.set("bars", encode_barset(local.daily_bars(moutai, None, None, "qfq")))
    hit = median_ms(lambda: decode_barset(cache.get("bars") or b""), 2000)
    read = median_ms(lambda: local.daily_bars(moutai, None, None, "qfq"), 200)
    print(
        f"cache hit (get + decode 3,843 bars): {hit * 1000:.0f} us; local read of the same: {read * 1000:.0f} us "
        f"({read / hit:.1f}x)"
    )

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        chain = SourceChain(
            [TencentSource(client, TencentEndpoints(quote=dead + "/q=", kline=dead + "/k")), local],
            retries=0,
            breaker_failures=1_000_000,
            sleep=lambda _: None,
        )
        closed = median_ms(lambda: chain.daily_bars(moutai, None, None, "qfq"), 50)
        chain = SourceChain(
            [TencentSource(client, TencentEndpoints(quote=dead + "/q=", kline=dead + "/k")), local],
            retries=0,
            breaker_failures=1,
            breaker_reset_s=3600,
            sleep=lambda _: None,
        )
        chain.daily_bars(moutai, None, None, "qfq")  # opens the breaker
        opened = median_ms(lambda: chain.daily_bars(moutai, None, None, "qfq"), 200)
    direct = median_ms(lambda: local.daily_bars(moutai, None, None, "qfq"), 200)
    print(
        f"primary down (connection refused): breaker closed {closed:.2f} ms, breaker open {opened:.2f} ms, "
        f"local alone {direct:.2f} ms -> open-breaker failover overhead {opened - direct:.3f} ms (target < 5 ms)"
    )
    if not args.skip_update:
        update_benchmark(Path(args.root))
    print("reproduce: python benchmarks/data.py")
    return 0


def update_benchmark(root: Path) -> None:
    """`tg data update` of the whole directory one day behind, against recorded-format answers."""
    import json
    import subprocess
    import sys
    import tempfile

    sys.path.insert(0, str(ROOT))
    from tests.data.live_payloads import TENCENT, LiveBars, truncated_copy
    from tests.recorded_server import RecordedServer

    scratch = Path(tempfile.mkdtemp(prefix="tg-bench-update-"))
    base = truncated_copy(scratch / "base", "2025-10-30", source=root)
    live = LiveBars(root)
    live.delay = 0.05
    server = RecordedServer()
    server.respond(TENCENT, live.tencent)
    tg = str(Path(sys.executable).parent / "tg")
    common = [
        f"data.root={base}",
        "source.order=[tencent]",
        "network=china_direct",
        "network.timeout_s=5",
        f"source.endpoints.tencent_kline={server.url}{TENCENT}",
    ]
    runs = {
        "sequential (update.concurrency=1)": ["update.concurrency=1"],
        "default (concurrency 8, 20 requests/s per source)": [],
        "concurrency 8, politeness cap lifted": ["update.rate_per_source=100000"],
    }
    try:
        for label, extra in runs.items():
            project = scratch / label.split()[0]
            project.mkdir()
            live.requests.clear()
            began = time.perf_counter()
            out = subprocess.run(
                [tg, "data", "update", "--universe", "all", "--through", "2025-10-31", "--json", *common, *extra],
                cwd=project,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - began
            report = json.loads(out.stdout)
            symbols = len(report["symbols"])
            print(
                f"tg data update, {symbols} symbols one day behind, 50 ms a request, {label}: {seconds:.1f} s "
                f"= {symbols / seconds:.1f} symbols/s ({len(live.requests)} requests; counts {report['counts']})"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
