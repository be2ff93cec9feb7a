"""Two `tg serve` replicas with `cache=redis` share prediction answers through a real redis-server: one
computes, the other answers from Redis; each exports its own /metrics."""

from __future__ import annotations

from pathlib import Path

from tests.redis_server import Server
from tests.server.conftest import Served, start_server
from tests.server.test_endpoints import metric_values

HITS = ("tg_cache_hits_total", (("cache", "predictions"),))
MISSES = ("tg_cache_misses_total", (("cache", "predictions"),))
PREDICTED = ("tg_operations_total", (("operation", "predict"), ("outcome", "success")))


def test_one_replica_computes_the_other_answers_from_redis(
    trained_project: Path, serve_project: list[Served], redis_server: Server
) -> None:
    shared = ["cache=redis", f"cache.redis_url={redis_server.url}", "serve.predict_cache_s=60"]
    first, second = (start_server(trained_project, *shared) for _ in range(2))
    serve_project.extend([first, second])

    computed = first.get("/api/v1/predict/600519")
    assert computed.status_code == 200, computed.text
    answered = second.get("/api/v1/predict/sh600519")  # another spelling, the same answer
    assert answered.status_code == 200, answered.text
    assert computed.json()["cached"] is False and answered.json()["cached"] is True
    assert {**answered.json(), "cached": False} == computed.json()  # the very answer the first one rendered

    one, two = metric_values(first), metric_values(second)
    assert (one[MISSES], one[HITS], one[PREDICTED]) == (1, 0, 1)  # the first computed
    assert (two[MISSES], two[HITS], two.get(PREDICTED, 0)) == (0, 1, 0)  # the second never ran the model
