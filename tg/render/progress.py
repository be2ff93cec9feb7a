"""Progress bars on stderr: per member (train, walk-forward evaluate), done/total (`tg data update`)."""

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


@contextmanager
def count_progress(enabled: bool, label: str, total: int) -> Iterator[Any]:
    """A rich `done/total` bar on stderr; the callback (any argument) advances it by one. A no-op when
    disabled (stderr is not a terminal)."""
    if not enabled:
        yield lambda _: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _: bar.advance(task)
