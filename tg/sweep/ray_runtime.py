"""The one place tg starts or joins Ray (`tg sweep --launcher ray`, the `tg_ray` Hydra launcher).

Without an address: a private single-node Ray for this process, listening on loopback only, without a dashboard,
with usage stats off and its session files in a temporary directory; shut down and removed when the session
ends. Ray turns a loopback node address into the machine's reachable one unless multi-node clusters are disabled,
which is what a private Ray is: so `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` is set before Ray is imported, and the
address Ray took is checked.
With an address (`auto`, `HOST:PORT`, `ray://HOST:PORT`): join that cluster, after a connect probe (Ray itself
retries an address where nothing listens for minutes); leaving disconnects and the cluster runs on.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from tg.errors import GateFailed

PRIVATE_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
PROBE_TIMEOUT_S = 5.0
DEFAULT_PORT = 6379  # `ray start --head`'s GCS port


def connected() -> ModuleType | None:
    """The `ray` module when this process is connected to Ray (a driver or a Ray worker); None otherwise.
    Never imports Ray."""
    ray = sys.modules.get("ray")
    return ray if ray is not None and ray.is_initialized() else None


@contextmanager
def ray_session(
    address: str | None = None, num_cpus: int | None = None, runtime_env: dict[str, Any] | None = None
) -> Iterator[ModuleType]:
    """Ray for the length of the block: the session this process already has, else a private local Ray (no
    `address`) or the cluster at `address`; shut down on leaving when this call started it."""
    ray = connected()
    if ray is not None:
        yield ray
        return
    scratch = None if address else Path(tempfile.mkdtemp(prefix="tg-ray-"))
    ray = _join(address, runtime_env) if address else _private(num_cpus, runtime_env, scratch)
    try:
        yield ray
    finally:
        ray.shutdown()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _private(num_cpus: int | None, runtime_env: dict[str, Any] | None, scratch: Path | None) -> ModuleType:
    os.environ.update(PRIVATE_ENV)
    import ray

    # Ray puts the driver's working directory first on its workers' sys.path (and makes it their cwd): started
    # from a directory holding another `tg/` (an old checkout), the workers imported that one. The private Ray
    # starts from its scratch directory instead; jobs take every path from their config, not from the cwd.
    here = os.getcwd()
    os.chdir(str(scratch))
    try:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=str(scratch),  # its session files and logs go with it (Ray's default /tmp/ray keeps them all)
            configure_logging=False,
            log_to_driver=False,
            runtime_env=runtime_env,
        )
    finally:
        os.chdir(here)
    gcs = gcs_host(ray)
    if not ipaddress.ip_address(gcs).is_loopback:  # Ray was imported earlier in this process, clusters enabled
        ray.shutdown()
        raise GateFailed(f"the private Ray listens on {gcs}, not loopback: run the sweep in a new process")
    return ray


def gcs_host(ray: ModuleType) -> str:
    """The host of the GCS (Ray's control store) this process is connected to."""
    return str(ray.get_runtime_context().gcs_address).rpartition(":")[0].strip("[]")


def _join(address: str, runtime_env: dict[str, Any] | None) -> ModuleType:
    probe(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    try:
        ray.init(address=address, configure_logging=False, log_to_driver=False, runtime_env=runtime_env)
    except ConnectionError as exc:
        raise GateFailed(f"cannot join the Ray cluster at {address}: {exc}") from exc
    return ray


def probe(address: str) -> None:
    """GateFailed unless something accepts connections at `address` (HOST[:PORT], optionally `ray://`; `auto`:
    Ray finds the local cluster itself, and says at once when there is none)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        host, port = address.removeprefix("ray://"), str(DEFAULT_PORT)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise GateFailed(
            f"cannot reach Ray at {address}: {reason} (start a cluster with `ray start --head`, "
            "or leave --address out for a private local Ray)"
        ) from exc
