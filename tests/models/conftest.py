"""The embedded panel, read once per session (the tiny trained model lives in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tg.data.local import embedded_root
from tg.models.panel import Panel, load_panel


@pytest.fixture(scope="session")
def panel() -> Panel:
    """Every embedded stock, all dates (read-only: tests that change bars work on copies)."""
    return load_panel(embedded_root())
