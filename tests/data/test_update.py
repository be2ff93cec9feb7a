"""`tg data update` over a real local HTTP server answering in the recorded Tencent/Eastmoney formats
with the embedded data's real bars: a data directory one week behind (2025-10-23) is brought to
2025-10-31, across 601318's real ex-dividend day (2025-10-24), and compared with what the data holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TG, invoke
from tests.data.live_payloads import EASTMONEY, TENCENT, LiveBars, truncated_copy
from tests.recorded_server import RecordedServer
from tg.data.extension import Extension
from tg.data.local import embedded_root
from tg.models.panel import load_panel

CUT, LAST = "2025-10-23", "2025-10-31"
STOCKS = ["600519", "000858", "601318", "600036", "000001"]
UNIVERSE = ",".join(STOCKS)


@pytest.fixture
def behind(project: Path, recorded_server: RecordedServer) -> tuple[Path, LiveBars, list[str]]:
    """A base directory ending 2025-10-23, the live bars behind a local server, and the overrides."""
    base = truncated_copy(project / "base", CUT)
    live = LiveBars()
    recorded_server.respond(TENCENT, live.tencent)
    recorded_server.respond(EASTMONEY, live.eastmoney)
    overrides = [
        f"data.root={base}",
        "source.order=[tencent,eastmoney]",
        "network=china_direct",
        "network.timeout_s=1",
        "network.retries=0",
        f"source.endpoints.tencent_kline={recorded_server.url}{TENCENT}",
        f"source.endpoints.eastmoney_kline={recorded_server.url}{EASTMONEY}",
    ]
    return base, live, overrides


def update(overrides: list[str], *extra: str):  # type: ignore[no-untyped-def]
    return invoke("data", "update", "--universe", UNIVERSE, "--through", LAST, *extra, *overrides)


def merged(project: Path, base: Path):  # type: ignore[no-untyped-def]
    return load_panel(base, STOCKS, extension=Extension(project / "data_storage" / "extension", base))


def test_update_fetches_only_the_missing_days_and_stitches_across_a_dividend(behind, project: Path) -> None:  # type: ignore[no-untyped-def]
    base, live, overrides = behind
    out = update(overrides, "--json")
    assert out.code == 0, out.stderr
    report = out.json()
    assert report["counts"] == {"updated": 6, "current": 0, "stale": 0, "failed": 0}
    assert report["calendar"]["calendar"].startswith("XSHG")
    # two requests a stock (unadjusted and forward-adjusted), one for the index, all from the last stored day
    assert len(live.requests) == 2 * len(STOCKS) + 1
    assert {r[3] for r in live.requests} == {CUT} and {r[0] for r in live.requests} == {"tencent"}

    full = load_panel(embedded_root(), STOCKS, start=date(2025, 1, 2))
    panel = merged(project, base)
    days = panel.dates >= np.datetime64("2025-01-02")
    assert list(panel.dates[days]) == list(full.dates)  # the calendar continues through 2025-10-31
    raw, truth = panel.close[:, days] / panel.factor[:, days], full.close / full.factor
    assert np.nanmax(np.abs(raw - truth)) < 0.006  # the unadjusted closes, to the cent
    adjusted = panel.close[:, days]
    assert np.nanmax(np.abs(adjusted / full.close - 1)) < 2e-4  # back-adjusted on the data's own factor
    row = STOCKS.index("601318")
    seam = list(full.dates).index(np.datetime64("2025-10-24"))
    assert panel.factor[row, days][seam] / panel.factor[row, days][seam - 1] == pytest.approx(1.01644, abs=2e-4)
    move = adjusted[row, seam] / adjusted[row, seam - 1] - 1  # the ex-dividend day is no crash
    assert move == pytest.approx(full.close[row, seam] / full.close[row, seam - 1] - 1, abs=1e-4)
    assert np.allclose(panel.benchmark_close[days], full.benchmark_close, rtol=1e-5)

    again = update(overrides, "--json")
    assert again.json()["counts"]["current"] == 6 and len(live.requests) == 2 * len(STOCKS) + 1  # nothing asked


def test_summary_lines_and_a_failed_symbol_named_then_refetched_alone(behind) -> None:  # type: ignore[no-untyped-def]
    _, live, overrides = behind
    live.failing = {"SH600036"}
    out = update(overrides)
    assert out.code == 1
    lines = out.stdout.splitlines()
    assert lines[1:4] == ["updated 5", "already current 0", "stale 0"]
    assert lines[4].startswith("failed 1: 600036.SH (no source could provide") and "HTTP 500" in lines[4]
    live.failing, live.requests = set(), []
    assert update(overrides).code == 0
    assert {r[1] for r in live.requests} == {"SH600036"}  # only what was still missing


def test_a_source_down_mid_run_fails_over_and_the_rest_completes(behind) -> None:  # type: ignore[no-untyped-def]
    _, live, overrides = behind
    live.down_after = {"tencent": 4}  # two stocks served, then Tencent answers HTTP 500
    out = update([*overrides, "update.concurrency=1"], "--json")
    assert out.code == 0 and out.json()["counts"]["updated"] == 6
    served = {r[1] for r in live.requests if r[0] == "eastmoney"}
    assert len(served) == 4  # the four symbols after Tencent went down came from Eastmoney
    assert sum(r[0] == "tencent" for r in live.requests) > 4  # Tencent was tried, failed, and its breaker opened


def test_a_silent_source_costs_one_timeout_not_a_hang(behind) -> None:  # type: ignore[no-untyped-def]
    _, live, overrides = behind
    live.down, live.delay = set(), 3.0  # every answer comes after the 1 s timeout: both sources are silent
    began = time.perf_counter()
    out = update([*overrides, "update.concurrency=8"], "--json")
    elapsed = time.perf_counter() - began
    assert out.code == 1 and out.json()["counts"]["failed"] == 6
    assert "timed out" in json.dumps(out.json()["symbols"])
    assert elapsed < 12, elapsed  # 6 symbols × 2 sources × 1 s timeouts, 8 at a time; never the 3 s answers


def test_a_source_that_disagrees_on_the_stored_day_is_refused_not_stitched(behind) -> None:  # type: ignore[no-untyped-def]
    """The stored day is fetched again: a source quoting 601318 20 % higher there (wrong symbol,
    wrong units) is a different series, and nothing of it is stored."""
    _, live, overrides = behind
    original = live._bars

    def shifted(symbol, start, end, adjustment):  # type: ignore[no-untyped-def]
        bars = original(symbol, start, end, adjustment)
        if symbol.qlib == "SH601318" and adjustment == "none":
            from dataclasses import replace

            return replace(bars, close=bars.close * 1.2, open=bars.open * 1.2, high=bars.high * 1.2, low=bars.low * 1.2)
        return bars

    live._bars = shifted  # type: ignore[method-assign]
    out = update(overrides, "--json")
    failed = [s for s in out.json()["symbols"] if s["outcome"] == "failed"]
    assert [s["symbol"] for s in failed] == ["601318.SH"] and "not the same series" in failed[0]["detail"]


def test_a_kill_mid_run_leaves_the_store_consistent_and_a_rerun_completes(behind, project: Path) -> None:  # type: ignore[no-untyped-def]
    base, live, overrides = behind
    live.delay = 0.4
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    args = [str(TG), "data", "update", "--universe", UNIVERSE, "--through", LAST, *overrides, "update.concurrency=1"]
    proc = subprocess.Popen(args, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(live.requests) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    first = {r[1] for r in live.requests}
    panel = merged(project, base)  # whatever was committed reads back; nothing half-written
    assert panel.dates[-1] <= np.datetime64(LAST)
    live.delay, live.requests = 0.0, []
    out = update(overrides, "--json")
    assert out.code == 0
    counts = out.json()["counts"]
    assert counts["updated"] + counts["current"] == 6 and counts["current"] >= 1
    refetched = {r[1] for r in live.requests}
    assert refetched and refetched < {*(f"S{'H' if s[0] == '6' else 'Z'}{s}" for s in STOCKS), "SH000300"}
    assert len(first) >= 2
    assert merged(project, base).dates[-1] == np.datetime64(LAST)


def test_predict_after_the_update_answers_as_of_the_new_last_bar_not_stale(
    behind, trained_models: Path, project: Path
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from tg.data.exchange_calendar import load_calendar
    from tg.models.predictor import Predictor

    base, _, overrides = behind
    shutil.copytree(trained_models / "models_saved", project / "models_saved", dirs_exist_ok=True)
    extension = project / "data_storage" / "extension"
    after_close = datetime(2025, 10, 31, 16, 0, tzinfo=UTC).astimezone()  # 2025-11-01 00:00 in China
    calendar = load_calendar(None)
    before = Predictor(project / "models_saved", base, extension_dir=extension, exchange=calendar)
    answer = before.predict("600519", now=after_close).data
    assert answer["as_of"] == CUT and answer["data"]["stale"] is True
    assert update(overrides).code == 0
    after = Predictor(project / "models_saved", base, extension_dir=extension, exchange=calendar)
    answer = after.predict("600519", now=after_close).data
    assert answer["as_of"] == LAST and answer["data"]["stale"] is False
    assert answer["data"]["source"] == "local+update"
    assert [row["date"] for row in answer["forecast"]] == [
        "2025-11-03",
        "2025-11-04",
        "2025-11-05",
        "2025-11-06",
        "2025-11-07",
    ]
    cli = invoke("predict", "600519", "--json", *overrides)
    assert cli.code == 0 and cli.json()["as_of"] == LAST


def test_a_holiday_week_is_not_missing_data(project: Path, recorded_server: RecordedServer) -> None:
    """Data through 2025-09-30; the exchange is closed 10-01..10-08: nothing is missing on 10-08."""
    base = truncated_copy(project / "base", "2025-09-30")
    live = LiveBars()
    recorded_server.respond(TENCENT, live.tencent)
    overrides = [
        f"data.root={base}",
        "source.order=[tencent]",
        "network=china_direct",
        f"source.endpoints.tencent_kline={recorded_server.url}{TENCENT}",
    ]
    out = invoke("data", "update", "--universe", "600519", "--through", "2025-10-08", "--json", *overrides)
    assert out.code == 0 and out.json()["counts"]["current"] == 2 and live.requests == []
    out = invoke("data", "update", "--universe", "600519", "--through", "2025-10-09", "--json", *overrides)
    assert out.json()["counts"]["updated"] == 2  # the first session after the holiday is fetched


def test_usage_errors(project: Path) -> None:
    assert invoke("data", "update", "--since", "yesterday").code == 2
    assert invoke("data", "update", "--universe", "NOPE").code == 2
    assert invoke("data", "update", "source=local").code == 2  # no remote source to update from
    assert "no remote source" in invoke("data", "update", "source=local").stderr
