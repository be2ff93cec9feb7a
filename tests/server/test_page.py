"""The dashboard page in a real headless Chromium (Debian `chromium`): it renders every panel from
the live API and draws the chart — checked in the DOM and in the pixels of a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import Served, start_server

CLOSE_BLUE = (0x25, 0x63, 0xEB)  # the closes line
BAND_ORANGE = (0xEA, 0x58, 0x0C)  # the q50 line (the q10..q90 band is the same hue, translucent)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is required (Debian package chromium; scripts/system-deps installs it)")
    flags = [
        "--headless",
        "--no-sandbox",  # as root, Chromium refuses to start with its sandbox
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # the machine has no internet: no update or sync calls
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1400",
        "--virtual-time-budget=15000",  # let the page's fetches and drawing finish
    ]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=90, check=False)


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(p) - c) <= tolerance for p, c in zip(pixel[:3], colour, strict=True))


def test_the_page_renders_every_panel_and_draws_the_chart(served: Served, tmp_path: Path) -> None:
    dom = chromium("--dump-dom", served.url + "/", profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-chart="drawn:120:5"' in html  # 120 closes and a 5-day forecast band
    for shown in ("healthy", "ready", "composes and validates", "gbm, linear, gru", "600519.SH", "local"):
        assert shown in html, shown
    assert "loading…" not in html and 'id="error" role="alert"></div>' in html

    shot = tmp_path / "page.png"
    result = chromium(f"--screenshot={shot}", served.url + "/", profile=tmp_path / "profile-shot")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    from PIL import Image

    pixels = list(Image.open(shot).convert("RGB").get_flattened_data())
    blue = sum(near(p, CLOSE_BLUE) for p in pixels)
    orange = sum(near(p, BAND_ORANGE) for p in pixels)
    band = sum(near(p, (249, 205, 182), 12) for p in pixels)  # rgba(234, 88, 12, 0.3) over white
    assert blue > 500, f"closes line not drawn ({blue} blue pixels)"
    assert orange > 20 and band > 300, f"forecast band not drawn ({orange} line, {band} band pixels)"


def test_the_page_with_an_api_key_in_the_fragment(
    trained_project: Path, serve_project: list[Served], tmp_path: Path
) -> None:
    key = "page-key-123456789"
    served = start_server(trained_project, env={"TRADING_METRICS_API_KEY": key})
    serve_project.append(served)
    without = chromium("--dump-dom", served.url + "/", profile=tmp_path / "p1").stdout
    assert "HTTP 401" in without  # the page says why it cannot show anything
    keyed = chromium("--dump-dom", f"{served.url}/#key={key}", profile=tmp_path / "p2").stdout
    assert 'data-chart="drawn:120:5"' in keyed and "HTTP 401" not in keyed
