"""Per-symbol chunks: in order, through threads without Ray (Ray tasks: tests/sweep/test_ray.py)."""

from __future__ import annotations

import threading

from tg.sweep.parallel import chunk_bounds, map_chunks


def test_chunk_bounds_cover_the_range_in_order() -> None:
    assert chunk_bounds(7, 3) == [slice(0, 3), slice(3, 6), slice(6, 7)]
    assert chunk_bounds(0, 3) == [] and chunk_bounds(2, 5) == [slice(0, 2)]


def test_results_come_back_in_chunk_order_from_threads_or_serially() -> None:
    def where(chunk: int) -> tuple[int, str]:
        return chunk * chunk, threading.current_thread().name

    threaded = list(map_chunks(where, list(range(8)), n_jobs=2))
    assert [value for value, _ in threaded] == [n * n for n in range(8)]
    assert any(name != threading.main_thread().name for _, name in threaded)
    serial = list(map_chunks(where, list(range(8)), n_jobs=1))
    assert serial == [(n * n, threading.main_thread().name) for n in range(8)]
