"""Probes of one endpoint for `tg diagnose`: DNS, TCP connect and an HTTP GET, each timed."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

from tg.config.schema import NetworkConfig
from tg.data.network import host_port, http_client, tcp_reachable


@dataclass
class Probe:
    source: str
    url: str
    dns: str = "not run"
    connect_ms: float | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    error: str = ""

    @property
    def reachable(self) -> bool:
        return self.http_status is not None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "reachable": self.reachable}


def probe(source: str, url: str, net: NetworkConfig, mode: str) -> Probe:
    """DNS, TCP connect (direct mode only: through a proxy both happen at the proxy), then one HTTP GET."""
    result = Probe(source, url)
    host, port = host_port(url)
    if mode != "vpn":  # through a proxy, DNS and connect happen at the proxy
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result.dns = "ok"
        except OSError as exc:
            result.dns, result.error = f"failed ({exc.strerror or exc})", "DNS lookup failed"
            return result
        began = time.perf_counter()
        if not tcp_reachable(host, port, net.timeout_s):
            result.error = f"cannot connect to {host}:{port}"
            return result
        result.connect_ms = round((time.perf_counter() - began) * 1000, 1)
    import httpx

    began = time.perf_counter()
    try:
        with http_client(net, mode) as client:
            response = client.get(url)
        result.http_status = response.status_code
        result.latency_ms = round((time.perf_counter() - began) * 1000, 1)
    except httpx.HTTPError as exc:
        result.error = f"HTTP failed: {exc.__class__.__name__}"
    return result
