"""The training progress bar of `tg train` and walk-forward `tg evaluate`: rich, on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def training_progress(enabled: bool, members: list[str]) -> Iterator[Any]:
    """A rich progress bar on stderr, one task per member; a no-op callback when disabled."""
    if not enabled:
        yield lambda name, step, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        tasks = {name: bar.add_task(name, total=1) for name in members}

        def update(name: str, step: int, total: int) -> None:
            bar.update(tasks[name], completed=step, total=max(total, 1))

        yield update
