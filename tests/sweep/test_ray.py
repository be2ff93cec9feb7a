"""The `tg_ray` launcher: a private Ray listening on loopback only, the grid as under the basic launcher, per-symbol
chunks as Ray tasks, no Ray process left afterwards; (slow) a two-node cluster runs jobs on both nodes.

The official `hydra-ray-launcher` implements the same `Launcher` API and would run the same test body; it is not
exercised here because it pins cloudpickle<3 (see README)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.sweep.conftest import CHEAP, GRID, check_grid, same_metrics, sweep


def loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)  # `::ffff:127.0.0.1`: an IPv6 socket bound to 127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def listening(processes: list[psutil.Process]) -> list[tuple[str, str]]:
    found = []
    for process in processes:
        try:
            found += [(process.name(), c.laddr.ip) for c in process.net_connections("inet") if c.status == "LISTEN"]
        except psutil.NoSuchProcess:
            continue
    return found


def test_private_ray_listens_on_loopback_runs_the_grid_and_leaves_no_process(
    project: Path, basic_grid: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tg.models.features as features
    from tg.data.local import embedded_root
    from tg.models.panel import load_panel
    from tg.sweep.ray_runtime import gcs_host, ray_session

    panel = load_panel(embedded_root())
    one_pass = features.compute_features(panel).values.tobytes()
    before = {process.pid for process in psutil.Process().children(recursive=True)}  # e.g. joblib's idle workers
    # an old checkout's `tg/` in the directory the sweep starts from: Ray's workers used to import it (the cwd
    # comes first on their sys.path) and every job failed with "No module named 'tg.sweep'"
    (project / "tg").mkdir()
    (project / "tg" / "__init__.py").write_text("", encoding="utf-8")
    with ray_session(num_cpus=2) as ray:
        assert gcs_host(ray) == "127.0.0.1"
        result = sweep(project, [*CHEAP, *GRID], "ray")  # the launcher joins the session this process has
        assert same_metrics(check_grid(result, project), basic_grid)
        node = ray.get_runtime_context().get_node_id()
        assert {row["worker"]["ray_node"] for row in result.rows} == {node}
        assert os.getpid() not in {row["worker"]["pid"] for row in result.rows}  # in Ray's worker processes

        monkeypatch.setattr(features, "CHUNK_SYMBOLS", 5)  # per-symbol chunks as Ray tasks: the same bytes
        assert features.compute_features(panel).values.tobytes() == one_pass

        spawned = [process for process in psutil.Process().children(recursive=True) if process.pid not in before]
        names = {process.name() for process in spawned}
        assert {"gcs_server", "raylet"} <= names, names
        sockets = listening(spawned)
        assert any(name == "gcs_server" for name, _ in sockets)
        assert [(name, ip) for name, ip in sockets if not loopback(ip)] == []
    _, alive = psutil.wait_procs(spawned, timeout=20)
    assert alive == []


@pytest.mark.slow
def test_a_two_node_cluster_runs_jobs_on_both_nodes(project: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        grid = [*CHEAP, "data.start=2020-01-01", "train.seed=0,1,2,3"]
        result = sweep(project, grid, "ray", address=cluster.address)
        assert result.exit_code == 0, [row["error"] for row in result.failed]
        assert len({row["worker"]["ray_node"] for row in result.rows}) == 2
    finally:
        cluster.shutdown()
