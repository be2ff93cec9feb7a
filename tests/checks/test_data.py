"""The data freshness check of health, doctor and /readyz: counted in exchange sessions, gated by the
profile, and following the newer days `tg data update` stitched onto the data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.data.live_payloads import truncated_copy
from tg.checks.base import Verdict
from tg.checks.data import check_data
from tg.config.loader import load_config
from tg.data.exchange_calendar import CHINA


def check(project: Path, *overrides: str, now: datetime):  # type: ignore[no-untyped-def]
    loaded = load_config(list(overrides), cwd=project, environ={}, use_cache=False)
    return check_data(loaded, None, loaded.path("models"), now=now)


def test_a_holiday_week_is_not_missing_data(project: Path) -> None:
    base = truncated_copy(project / "base", "2025-09-30")
    during = check(project, f"data.root={base}", "profile=strict", now=datetime(2025, 10, 8, 20, 0, tzinfo=CHINA))
    assert during.verdict is Verdict.ok and during.data["sessions_behind"] == 0
    assert during.data["last_closed_session"] == "2025-09-30"
    after = check(project, f"data.root={base}", "profile=strict", now=datetime(2025, 10, 10, 16, 0, tzinfo=CHINA))
    assert after.verdict is Verdict.warn and after.data["sessions_behind"] == 2  # 10-09 and 10-10
    assert after.detail.startswith("stale: last bar 2025-09-30") and "tg data update" in after.detail
    before_close = check(
        project, f"data.root={base}", "profile=strict", now=datetime(2025, 10, 10, 14, 59, tzinfo=CHINA)
    )
    assert before_close.data["sessions_behind"] == 1 and before_close.verdict is Verdict.ok  # one allowed


def test_the_default_profile_reports_without_gating(project: Path) -> None:
    result = check(project, now=datetime(2026, 12, 3, 12, 0, tzinfo=CHINA))
    assert result.verdict is Verdict.ok and result.data["sessions_behind"] > 200
    assert "not gated by this profile" in result.detail and result.data["calendar"].startswith("XSHG")


def test_the_newer_days_of_an_update_count_and_another_base_does_not(project: Path) -> None:
    import json

    base = truncated_copy(project / "base", "2025-10-23")
    extension = project / "data_storage" / "extension"
    (extension / "calendars").mkdir(parents=True)
    (extension / "calendars" / "day.txt").write_text("2025-10-24\n2025-10-27\n")
    from tg.data.freshness import base_identity

    (extension / "base.json").write_text(json.dumps({"calendar_sha256": base_identity(base)}))
    now = datetime(2025, 10, 27, 16, 0, tzinfo=CHINA)
    assert check(project, f"data.root={base}", now=now).data["last_bar"] == "2025-10-27"
    assert check(project, f"data.root={base}", "data.extend=false", now=now).data["last_bar"] == "2025-10-23"
    (extension / "base.json").write_text(json.dumps({"calendar_sha256": "another base"}))
    assert check(project, f"data.root={base}", now=now).data["last_bar"] == "2025-10-23"
