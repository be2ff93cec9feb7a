"""The deadline of the data request under way (a context variable the failover chain sets): every HTTP
request it makes is given at most the time left, so a silent network costs `network.deadline_s`, not the
sum of every source's retries and timeouts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_UNTIL: ContextVar[float | None] = ContextVar("tg_data_deadline", default=None)


@contextmanager
def deadline(seconds: float | None, clock: float | None = None) -> Iterator[float | None]:
    """Within the block, `remaining()` counts down from `seconds` (None: no deadline); an enclosing
    deadline that ends sooner is kept."""
    if seconds is None:
        yield _UNTIL.get()
        return
    until = (time.monotonic() if clock is None else clock) + seconds
    outer = _UNTIL.get()
    if outer is not None:
        until = min(until, outer)
    token = _UNTIL.set(until)
    try:
        yield until
    finally:
        _UNTIL.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (negative once passed), or None outside one."""
    until = _UNTIL.get()
    return None if until is None else until - time.monotonic()
