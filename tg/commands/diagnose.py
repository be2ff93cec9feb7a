"""`tg diagnose`: DNS, connect, HTTP status and latency per endpoint, proxy reachability, advice.

Probes run concurrently and the whole run is bounded by the network timeout.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from tg.config.loader import LoadedConfig
from tg.data.network import host_port, tcp_reachable
from tg.data.probes import Probe, probe
from tg.errors import EXIT_FAILED, EXIT_OK
from tg.ops.redact import redact_url


@dataclass
class Diagnosis:
    mode: str
    probes: list[Probe]
    proxy: dict[str, Any]
    recommended: str
    elapsed_s: float

    @property
    def exit_code(self) -> int:
        return EXIT_OK if any(p.reachable for p in self.probes) else EXIT_FAILED

    def to_dict(self) -> dict[str, Any]:
        reachable = sorted({p.source for p in self.probes if p.reachable})
        return {
            "configured_mode": self.mode,
            "recommended_mode": self.recommended,
            "proxy": self.proxy,
            "reachable_sources": reachable,
            "endpoints": [p.to_dict() for p in self.probes],
            "elapsed_s": round(self.elapsed_s, 2),
        }

    def table(self) -> Any:
        from rich.table import Table

        table = Table(title=f"tg diagnose — mode {self.mode}, recommended {self.recommended}", title_justify="left")
        for column in ("source", "endpoint", "dns", "connect ms", "http", "latency ms", "error"):
            table.add_column(column)
        for p in self.probes:
            table.add_row(
                p.source,
                p.url.split("?")[0],
                p.dns,
                str(p.connect_ms or "-"),
                str(p.http_status or "-"),
                str(p.latency_ms or "-"),
                p.error,
            )
        return table


def run_diagnose(loaded: LoadedConfig) -> Diagnosis:
    net, ep = loaded.cfg.network, loaded.cfg.source.endpoints
    endpoints = [
        ("tencent", ep.tencent_quote + "sh600519"),
        ("tencent", ep.tencent_kline),
        ("sina", ep.sina_quote + "sh600519"),
        ("sina", ep.sina_kline),
        ("eastmoney", ep.eastmoney_quote),
        ("eastmoney", ep.eastmoney_kline),
    ]
    mode = "vpn" if net.mode == "vpn" else "china_direct"
    began = time.perf_counter()
    budget = net.timeout_s * 2 + 1
    pool = ThreadPoolExecutor(max_workers=len(endpoints) + 1)
    futures = [pool.submit(probe, name, url, loaded.cfg.network, mode) for name, url in endpoints]
    proxy_future = pool.submit(tcp_reachable, *host_port(net.proxy_url), net.probe_timeout_s) if net.proxy_url else None
    wait(futures, timeout=budget)
    probes = []
    for (name, url), future in zip(endpoints, futures, strict=True):
        probes.append(future.result() if future.done() else Probe(name, url, error=f"no answer within {budget:.0f} s"))
    proxy_ok = bool(proxy_future and proxy_future.done() and proxy_future.result())
    pool.shutdown(wait=False, cancel_futures=True)
    # only a mode seen working is recommended: an endpoint answered in it
    if any(p.reachable for p in probes):
        recommended = mode
    elif mode == "vpn":
        state = "accepts connections, but no endpoint answered through it" if proxy_ok else "is not reachable"
        recommended = f"offline: local source only (the proxy {state})"
    elif proxy_ok:
        recommended = (
            "offline: local source only (no endpoint answered directly; the proxy accepts connections but was "
            "not tried: run `tg diagnose network=vpn`)"
        )
    else:
        recommended = "offline: local source only (no remote source reachable)"
    proxy = {"configured": bool(net.proxy_url), "url": redact_url(net.proxy_url), "reachable": proxy_ok}
    return Diagnosis(net.mode, probes, proxy, recommended, time.perf_counter() - began)
