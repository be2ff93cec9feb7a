"""tg train → predict → evaluate through the CLI, and their errors; health/doctor see the model."""

from __future__ import annotations

import csv
import json
import shutil
import struct
from pathlib import Path

import pytest

from tests.conftest import TINY, invoke, run_tg


@pytest.mark.slow
def test_train_predict_evaluate_end_to_end(project: Path) -> None:
    trained = run_tg("train", *TINY, "--json", cwd=project)
    assert trained.code == 0, trained.stderr
    report = trained.json()
    assert report["holdout"]["window"][0] == "2024-01-02"
    names = [row["name"] for row in report["holdout"]["table"]]
    assert names[0] == "ensemble" and {"momentum_20", "reversal_5", "majority", "linear"} <= set(names)
    audit = [json.loads(line) for line in (project / "audit" / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["event"] == "model.train" and audit[-1]["details"]["version"] == report["version"]

    predicted = run_tg("predict", "600519", "--json", cwd=project)
    assert predicted.code == 0, predicted.stderr
    p = predicted.json()
    assert set(p) >= {
        "symbol", "as_of", "horizon", "last_close", "probabilities", "signal", "confidence",
        "expected_return", "forecast", "model", "data", "latency_ms",
    }  # fmt: skip
    assert p["symbol"] == "600519.SH" and p["as_of"] == "2025-10-31" and p["last_close"] == 1430.01
    assert abs(sum(p["probabilities"].values()) - 1) < 1e-9 and p["signal"] in ("UP", "FLAT", "DOWN")
    assert p["confidence"] == max(p["probabilities"].values())
    assert isinstance(p["expected_return_informative"], bool)
    assert len(p["forecast"]) == 5 and all(f["q10"] <= f["q50"] <= f["q90"] for f in p["forecast"])
    assert p["forecast"][0]["date"] == "2025-11-03"  # the next trading day after Friday 2025-10-31
    assert p["data"] == {
        "source": "local",
        "root": "embedded",
        "last_bar_date": "2025-10-31",
        "stale": True,
        "calendar": p["data"]["calendar"],
        "known_until": p["data"]["known_until"],
    }
    assert p["data"]["calendar"].startswith("XSHG, exchange-calendars")
    assert p["model"]["version"] == report["version"]

    evaluated = run_tg("evaluate", "--json", cwd=project)
    assert evaluated.code == 0, evaluated.stderr
    e = evaluated.json()
    out = Path(e["output"])
    assert {p.name for p in out.iterdir()} == {"report.json", "predictions.csv", "equity.png", "calibration.png"}
    for png in ("equity.png", "calibration.png"):
        header = (out / png).read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24])[0] > 200
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "date,symbol,score,p_up,p_flat,p_down,expected_return,q10,q50,q90,tradable"
    assert len(lines) - 1 == e["rows"] > 1000
    assert any("survivorship" in w for w in e["warnings"])
    # the embedded universe is small: eval.top_k=50 gives way to 10 % of it, and the report says so
    universe = e["universe_size"]
    assert any(f"eval.top_k=50 is more than a fifth of the {universe}-name universe" in w for w in e["warnings"])
    assert e["backtest"]["ensemble"]["k"] == max(1, round(0.1 * universe)) and e["backtest"]["ensemble"]["drop"] >= 1
    assert {"ic", "rank_ic", "top_minus_all"} <= set(e["metrics"]["ensemble"]["next_day"])
    assert set(e["metrics"]) >= {"ensemble", "momentum_20", "reversal_5", "majority", "linear"}

    health = run_tg("health", "--json", cwd=project).json()
    assert health["analysis_ready"] is True
    doctor = run_tg("doctor", "profile=strict", "--json", cwd=project).json()
    assert doctor["checks"]["models"]["ok"] is True and "models" not in doctor["summary"]["failed"]


def test_predict_errors_are_one_line_and_exit_1(trained_project: Path) -> None:
    for args, message in (
        (["predict", "600000"], "unknown symbol 600000.SH"),
        (["predict", "600519", "--as-of", "2010-02-01"], "too little history"),
        (["predict", "SH000300"], "is an index"),
    ):
        out = invoke(*args)
        assert out.code == 1 and message in out.stderr, (args, out.stderr)
    assert invoke("predict", "AAPL").code == 2
    assert invoke("predict", "600519", "--as-of", "June").code == 2


def test_predict_without_a_model_says_run_tg_train(project: Path) -> None:
    out = invoke("predict", "600519")
    assert out.code == 1 and "run `tg train`" in out.stderr


def test_predict_refuses_a_tampered_model(trained_project: Path) -> None:
    models = trained_project / "models_saved"
    version = (models / "CURRENT").read_text().split()[0]
    target = models / version / "linear.json"
    target.write_text(target.read_text().replace("0", "1", 1))
    out = invoke("predict", "600519", "--json")
    assert out.code == 1 and "sha256 mismatch" in out.stderr and out.stdout == ""
    assert invoke("evaluate").code == 1
    events = [json.loads(line) for line in (trained_project / "audit" / "audit.jsonl").read_text().splitlines()]
    refused = [e for e in events if e["event"] == "model.load_refused"]
    assert len(refused) == 2 and "linear.json: sha256 mismatch" in refused[0]["details"]["reason"]
    assert invoke("audit", "verify").code == 0


def test_bad_training_overrides_are_config_errors(project: Path) -> None:
    assert invoke("train", "model.members=[gbm,xgboost]").code == 2
    assert invoke("train", "train.valid_end=2020-01-01").code == 2
    out = invoke("train", "data.universe=nope")
    assert out.code == 1 and "no instruments file" in out.stderr
    index = invoke("train", "data.universe=[600519,000858,601318,600036,SH000300]")
    assert index.code == 2 and "SH000300" in index.stderr and "is an index" in index.stderr
    tiny = invoke("train", "data.universe=[600519,000858]")
    assert tiny.code == 2 and "at least 5" in tiny.stderr
    assert not (project / "models_saved" / "CURRENT").exists()


def test_walk_forward_retrains_before_each_year(project: Path) -> None:
    out = invoke("evaluate", "eval.walk_forward=true", *TINY, "--json")
    assert out.code == 0, out.stderr
    report = out.json()
    assert report["model"]["version"] == "walk-forward"
    assert [fold["train_end"] for fold in report["trained_on"]] == ["2021-12-31", "2022-12-31"]
    assert [fold["calib_end"] for fold in report["trained_on"]] == ["2023-12-31", "2024-12-31"]
    rows = (Path(report["output"]) / "predictions.csv").read_text().splitlines()[1:]
    years = {line[:4] for line in rows}
    assert years == {"2024", "2025"} and len(rows) == report["rows"]
    assert not (project / "models_saved" / "CURRENT").exists()  # evaluation never replaces the model


def test_an_unwritable_models_directory_fails_before_training(project: Path) -> None:
    (project / "blocker").write_text("a file where a directory should be")
    out = invoke("train", "paths.models=blocker/models")
    assert out.code == 1 and "cannot save a model in" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_lost_current_pointer_is_named_not_mistaken_for_never_trained(trained_project: Path) -> None:
    (trained_project / "models_saved" / "CURRENT").unlink()
    out = invoke("predict", "600519")
    assert out.code == 1 and "CURRENT is missing although 1 saved version(s) exist" in out.stderr
    health = invoke("health", "--json").json()
    assert "CURRENT is missing" in json.dumps(health)


def test_train_says_where_the_model_went_even_without_held_out_dates(project: Path) -> None:
    """Before: with no dates after calib_end, `tg train` printed one blank line (a column-less rich table)."""
    out = invoke("train", *TINY, "train.calib_end=2030-12-31", "--no-progress")
    assert out.code == 0, out.stderr
    first, saved, note = out.stdout.splitlines()
    version = (project / "models_saved" / "CURRENT").read_text().split()[0]
    assert first.startswith(f"model {version} trained in ") and first.endswith(" on 5 symbols")
    assert saved == f"saved in {project / 'models_saved' / version}"
    assert note == "no held-out dates after train.calib_end: nothing to evaluate"


def test_the_log_file_records_commands_model_versions_and_durations_without_override_values(
    trained_project: Path,
) -> None:
    """Before: logs/trading.log stayed empty after a normal train and predict."""
    secret = "http://bob:pw-in-override@proxy:8080"
    out = run_tg("predict", "600519", f"network.proxy_url={secret}", cwd=trained_project)
    assert out.code == 0, out.stderr
    version = (trained_project / "models_saved" / "CURRENT").read_text().split()[0]
    log = (trained_project / "logs" / "trading.log").read_text()
    assert "predict 600519.SH as of 2025-10-31: " in log and f"with model {version}" in log
    assert "tg predict 600519 network.proxy_url=…: exit 0 in " in log
    assert "pw-in-override" not in log


def test_predictions_csv_marks_the_days_a_stock_was_suspended(trained_project: Path, tmp_path: Path) -> None:
    """Before: predictions.csv left suspension days out, so a reader could not tell them from missing data."""
    import numpy as np

    from tg.data.local import embedded_root

    root = tmp_path / "data"
    shutil.copytree(embedded_root(), root)
    calendar = (root / "calendars" / "day.txt").read_text().split()
    volume = root / "features" / "sz000858" / "volume.day.bin"
    raw = np.fromfile(volume, dtype="<f4")
    days = ["2024-03-05", "2024-03-06", "2024-03-07"]
    for day in days:  # Qlib layout: raw[0] is the first date's calendar index
        raw[1 + calendar.index(day) - int(raw[0])] = 0.0
    raw.tofile(volume)
    out = invoke("evaluate", *TINY, f"data.root={root}", "--json")
    assert out.code == 0, out.stderr
    report = out.json()
    rows = list(csv.DictReader((Path(report["output"]) / "predictions.csv").open()))
    marked = [(r["date"], r["symbol"]) for r in rows if r["tradable"] == "0"]
    assert marked == [(day, "SZ000858") for day in days]
    assert all(r["score"] == "" for r in rows if r["tradable"] == "0")
    assert len(rows) == report["rows"] + len(days)
    assert rows == sorted(rows, key=lambda r: (r["date"], r["symbol"]))
