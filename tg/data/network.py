"""Network modes: `china_direct` (no proxy), `vpn` (everything through the proxy), `auto` (probe once).

The auto verdict is cached in `<cache>/network_mode.json` for `probe_ttl_s`, so only the first
command after the TTL pays for the probe.
"""

from __future__ import annotations

import json
import socket
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tg.config.schema import NetworkConfig
from tg.ops.atomic import atomic_write_text

USER_AGENT = "Mozilla/5.0 (tg market-data client)"
VERDICT_FILE = "network_mode.json"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def tcp_reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_mode(net: NetworkConfig, probe_url: str, cache_dir: Path) -> str:
    """The effective mode: the configured one, or for `auto` the (cached) probe verdict."""
    if net.mode != "auto":
        return net.mode
    verdict_path = cache_dir / VERDICT_FILE
    cached = _cached_verdict(verdict_path, net)
    if cached is not None:
        return cached
    mode = "china_direct"
    direct = tcp_reachable(*host_port(probe_url), net.probe_timeout_s)
    if not direct and net.proxy_url and tcp_reachable(*host_port(net.proxy_url), net.probe_timeout_s):
        mode = "vpn"
    if cache_dir.is_dir():
        verdict = {"mode": mode, "checked_at": time.time(), "proxy": bool(net.proxy_url)}
        atomic_write_text(verdict_path, json.dumps(verdict))
    return mode


def _cached_verdict(path: Path, net: NetworkConfig) -> str | None:
    try:
        cached = json.loads(path.read_text())
        fresh = time.time() - float(cached["checked_at"]) < net.probe_ttl_s
        return str(cached["mode"]) if fresh and cached["proxy"] == bool(net.proxy_url) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no usable verdict: probe again


def http_client(net: NetworkConfig, mode: str) -> Any:
    """An httpx client for `mode`: the proxy only in vpn mode; never the ambient proxy variables."""
    import httpx

    proxy = net.proxy_url if mode == "vpn" else None
    client = httpx.Client(
        timeout=net.timeout_s, proxy=proxy, trust_env=False, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )
    if proxy:
        host, port = host_port(proxy)
        _PROXIES[client] = f"{host}:{port}"  # never the credentials
    return client


# the proxy each client goes through (host:port), to name it when it is the proxy that fails
_PROXIES: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def proxy_of(client: Any) -> str | None:
    """`host:port` of the proxy `client` sends every request through, or None (direct)."""
    try:
        return _PROXIES.get(client)
    except TypeError:  # not weak-referenceable: a test double, never a proxied client
        return None
