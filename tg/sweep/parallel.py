"""Per-symbol work inside one job, in chunks: Ray tasks when this process is connected to Ray (a job of
`tg sweep --launcher ray` runs in a Ray worker), else joblib threads (numpy releases the GIL in the array work),
else serial. Results come back in the order of the chunks, so the caller's output is the same bytes whichever
ran them.

A chunk holds hundreds of symbols: a Ray task costs ~0.6 ms and moves its arguments through the object store,
so one task per symbol would cost more than it computes. Ray is never imported here (`ray_runtime.connected`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from tg.sweep.ray_runtime import connected

T = TypeVar("T")
R = TypeVar("R")


def chunk_bounds(count: int, size: int) -> list[slice]:
    """`range(count)` cut into consecutive slices of at most `size`."""
    return [slice(start, min(start + size, count)) for start in range(0, count, max(size, 1))]


def map_chunks(fn: Callable[[T], R], chunks: Sequence[T], n_jobs: int | None = None) -> Iterator[R]:
    """`fn(chunk)` for each chunk, yielded in order: Ray tasks, else joblib threads (`n_jobs`, default the CPUs
    this process may use), else serial. Serially each result is computed when it is consumed."""
    if len(chunks) > 1:
        ray = connected()
        if ray is not None:
            remote = ray.remote(num_cpus=1)(fn)
            refs = [remote.remote(chunk) for chunk in chunks]
            for ref in refs:
                yield ray.get(ref)
            return
        workers = min(len(chunks), n_jobs or len(os.sched_getaffinity(0)))
        if workers > 1:
            try:
                from joblib import Parallel, delayed
            except ImportError:  # joblib comes with scikit-learn; without it, serial
                pass
            else:
                yield from Parallel(n_jobs=workers, prefer="threads", return_as="generator")(
                    delayed(fn)(chunk) for chunk in chunks
                )
                return
    for chunk in chunks:
        yield fn(chunk)
