"""`tg sweep` end to end as a user runs it, and its wrong inputs (one line, documented exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg
from tests.sweep.conftest import CHEAP


def test_a_sweep_with_a_failing_shard_prints_its_rows_and_exits_1(project: Path) -> None:
    done = run_tg("sweep", "train", *CHEAP, "data.start=2020-01-01", "data.n_shards=1,2", "--json", cwd=project)
    assert done.code == 1, done.stderr
    report = done.json()
    assert (report["jobs"], report["failed"], report["launcher"]) == (2, 1, "basic")
    assert report["best"]["job"] == 0 and report["best"]["point"] == "data.n_shards=1"
    ok, failed = report["results"]
    assert ok["ok"] and Path(ok["paths"]["model"]).is_dir() and "rank_ic" in ok["metrics"]
    assert not failed["ok"] and "a shard needs at least 5" in failed["error"]
    rows = [json.loads(line) for line in (Path(report["directory"]) / "results.jsonl").read_text().splitlines()]
    assert [row["ok"] for row in rows] == [True, False]
    assert "tg sweep: [1/2] job 0 ok" in done.stderr and "tg sweep: [2/2] job 1 FAILED" in done.stderr
    assert not (project / "models_saved" / "CURRENT").exists()  # the project's current model is untouched


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sweep", "predict", "train.seed=0,1"], 2, "'train', 'evaluate'"),
        (["sweep", "train", "--launcher", "dask"], 2, "Invalid value for '--launcher'"),
        (["sweep", "train", "train.seed=[0,"], 2, "cannot parse override 'train.seed=[0,'"),
        (["sweep", "train", "--launcher", "joblib", "--address", "auto"], 2, "--address joins a Ray cluster"),
        (["sweep", "train", "--address", "127.0.0.1:1"], 1, "cannot reach Ray at 127.0.0.1:1: Connection refused"),
    ],
)
def test_wrong_inputs_are_one_line_with_their_exit_code(
    project: Path, args: list[str], code: int, message: str
) -> None:
    outcome = invoke(*args)
    assert outcome.code == code, outcome.stderr
    assert message in outcome.stderr
