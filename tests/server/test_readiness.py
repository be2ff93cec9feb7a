"""Readiness computed from the disk: 503 when the model is removed, tampered or unreadable, 200 again
when it is restored; predictions fall back to the last answer, marked stale, meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import without_file_permission_override
from tests.server.conftest import Served, start_server


def current_dir(project: Path) -> Path:
    models = project / "models_saved"
    return models / (models / "CURRENT").read_text().split()[0]


def wait_status(served: Served, status: int) -> dict:
    served.wait_until(lambda: served.get("/readyz").status_code == status)
    return served.get("/readyz").json()


def test_removed_model_is_not_ready_and_predict_serves_the_last_answer_stale(served: Served) -> None:
    fresh = served.get("/api/v1/predict/600519").json()
    pointer = served.project / "models_saved" / "CURRENT"
    saved = pointer.read_text()
    pointer.unlink()
    body = wait_status(served, 503)
    assert body["status"] == "not ready" and body["checks"]["model"]["ok"] is False
    assert "CURRENT is missing" in body["checks"]["model"]["detail"]
    assert body["checks"]["data"]["ok"] and body["checks"]["config"]["ok"]
    stale = served.get("/api/v1/predict/600519")
    assert stale.status_code == 200
    assert stale.json()["stale"] is True and "cannot answer" in stale.json()["stale_reason"]
    assert stale.json()["probabilities"] == fresh["probabilities"]
    never_asked = served.get("/api/v1/predict/000858")
    assert never_asked.status_code == 503 and "CURRENT is missing" in never_asked.json()["error"]
    metrics = served.get("/metrics").text
    assert "tg_ready 0.0" in metrics
    pointer.write_text(saved)
    wait_status(served, 200)
    assert served.get("/api/v1/predict/600519").json()["stale"] is False


def test_tampered_model_is_not_ready_until_restored(served: Served) -> None:
    target = current_dir(served.project) / "linear.json"
    original = target.read_bytes()
    target.write_bytes(original.replace(b"1", b"2", 1))
    body = wait_status(served, 503)
    assert "linear.json: sha256 mismatch" in body["checks"]["model"]["detail"]
    assert served.get("/api/v1/predict/600519").status_code == 503  # nothing answered before: no stale answer
    target.write_bytes(original)
    wait_status(served, 200)
    assert served.get("/api/v1/predict/600519").status_code == 200


def test_unreadable_model_file_is_not_ready_until_readable(trained_project: Path, serve_project: list[Served]) -> None:
    served = start_server(trained_project, wrap=without_file_permission_override())
    serve_project.append(served)
    assert served.get("/readyz").status_code == 200
    target = current_dir(trained_project) / "gbm_classifier.txt"
    target.chmod(0)
    body = wait_status(served, 503)
    assert "gbm_classifier.txt: unreadable (Permission denied)" in body["checks"]["model"]["detail"]
    target.chmod(0o644)
    wait_status(served, 200)


def test_a_new_model_is_picked_up_without_a_restart(served: Served) -> None:
    from tg.models.artifacts import load_model, save_model

    before = served.get("/api/v1/predict/600519").json()["model"]["version"]
    ensemble, meta, _ = load_model(served.project / "models_saved")
    save_model(served.project / "models_saved", ensemble, meta, version="20990101T000000000000Z")
    served.wait_until(lambda: served.get("/readyz").json()["checks"]["model"].get("detail", "").find("2099") >= 0)
    served.wait_until(
        lambda: served.get("/api/v1/predict/600519").json()["model"]["version"] == "20990101T000000000000Z"
    )
    assert before != "20990101T000000000000Z"


def test_strict_profile_gates_on_data_freshness(trained_project: Path, serve_project: list[Served]) -> None:
    served = start_server(trained_project, "profile=strict")
    serve_project.append(served)
    body = served.get("/readyz").json()
    assert served.get("/readyz").status_code == 503
    assert body["checks"]["data"]["ok"] is False and body["checks"]["data"]["detail"].startswith("stale: last bar")
    verbose = served.get("/readyz?verbose").text
    assert "[-]data failed" in verbose and verbose.strip().endswith("readyz check failed")


def test_a_config_broken_while_serving_makes_it_not_ready(
    trained_project: Path, serve_project: list[Served], conf_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = start_server(trained_project, env={"TG_CONFIG_DIR": str(conf_copy)})
    serve_project.append(served)
    original = (conf_copy / "config.yaml").read_text()
    (conf_copy / "config.yaml").write_text(original.replace("mode: simulation", "mode: yolo"))
    body = wait_status(served, 503)
    assert "mode" in body["checks"]["config"]["detail"]
    (conf_copy / "config.yaml").write_text(original)
    wait_status(served, 200)


def test_readyz_turns_503_when_the_data_lags_past_the_profile_and_back_after_an_update(
    trained_project: Path, serve_project: list[Served], recorded_server
) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, date, datetime

    from tests.conftest import run_tg
    from tests.data.live_payloads import TENCENT, LiveBars, truncated_copy
    from tg.data.exchange_calendar import load_calendar

    base = truncated_copy(trained_project / "base", "2025-10-23")
    live = LiveBars()
    recorded_server.respond(TENCENT, live.tencent)
    calendar = load_calendar(None)
    behind = calendar.sessions_between(date(2025, 10, 23), calendar.last_closed_session(datetime.now(UTC)))
    allowed = behind - 3  # 6 sessions (10-24 .. 10-31) closer after the update: within it
    overrides = [f"data.root={base}", f"profile.max_data_lag_sessions={allowed}"]
    served = start_server(trained_project, *overrides)
    serve_project.append(served)
    body = served.get("/readyz").json()
    assert served.get("/readyz").status_code == 503 and body["checks"]["data"]["detail"].startswith("stale:")
    assert f"tg_data_sessions_behind {float(behind)}" in served.get("/metrics").text
    remote = [
        "source.order=[tencent]",
        "network=china_direct",
        f"source.endpoints.tencent_kline={recorded_server.url}{TENCENT}",
    ]
    update = run_tg("data", "update", "--through", "2025-10-31", *overrides, *remote, cwd=trained_project)
    assert update.code == 0, update.stderr
    wait_status(served, 200)
    assert served.get("/readyz").json()["checks"]["data"]["detail"].startswith("last bar 2025-10-31")
    answer = served.get("/api/v1/predict/600519").json()
    assert answer["as_of"] == "2025-10-31" and answer["data"]["source"] == "local+update"
