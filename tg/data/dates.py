"""Dates given by a user (command options, API query parameters): YYYY-MM-DD or a usage error."""

from __future__ import annotations

from datetime import date

from tg.errors import UsageError


def parse_date(text: str | None, what: str) -> date | None:
    """`text` as a date (None stays None); UsageError naming `what` for anything but YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{what} {text!r} is not a date (use YYYY-MM-DD)") from exc
