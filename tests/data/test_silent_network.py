"""A silent or refusing network costs `network.deadline_s`, says what it waits for, and names the proxy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_tg


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a proxy whose upstream is dead)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def quote(project: Path, proxy_port: int, *extra: str) -> tuple[float, str, int]:
    overrides = ["source=tencent", "network=vpn", f"network.proxy_url=http://u:pw-secret@127.0.0.1:{proxy_port}"]
    began = time.monotonic()
    out = run_tg("data", "quote", "600519", *overrides, *extra, cwd=project)
    return time.monotonic() - began, out.stderr, out.code


def test_a_black_hole_proxy_costs_the_deadline_and_stderr_says_what_is_awaited(project: Path, black_hole: int) -> None:
    """Before: 141 s with nothing on stderr (every source, retry and timeout in turn)."""
    seconds, stderr, code = quote(
        project, black_hole, "network.timeout_s=30", "network.deadline_s=3", "network.notice_after_s=0.5"
    )
    assert code == 1
    # the deadline plus the command's start-up (seconds on a loaded 2-core machine), far below the 30 s timeout
    # that one request alone would wait without the deadline
    assert seconds < 3 + 7
    lines = stderr.splitlines()
    assert lines[0] == (
        f"tg: WARNING: waiting for the quote of 600519.SH from tencent through the proxy 127.0.0.1:{black_hole}; "
        "giving up after 3 s (network.deadline_s)"
    )
    assert lines[-1].startswith("tg: error: no source could provide the quote of 600519.SH: tencent: timed out")
    assert f"through the proxy 127.0.0.1:{black_hole}" in lines[-1]
    assert "pw-secret" not in stderr


def test_a_refused_proxy_is_named_as_the_proxy_not_the_upstream_host(project: Path) -> None:
    port = closed_port()
    seconds, stderr, code = quote(project, port, "network.notice_after_s=5")
    assert code == 1 and seconds < 10
    assert f"tencent: the proxy 127.0.0.1:{port} failed: ConnectError" in stderr
    assert "qt.gtimg.cn" not in stderr and "pw-secret" not in stderr
