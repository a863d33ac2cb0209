"""How many threads torch and numba use, set deliberately.

torch's default intra-op pool (one thread per core) collapses as soon as another
CPU-bound process shares the cores: on the 2-core machine of this book a small ensemble
went from 7.2 ms to 142 ms per step with one busy process beside it, because the
threads of every operation wait for each other at a barrier while one of them is
descheduled. One thread per process does not collapse; parallelise across processes
(notebooks, chapters) instead. ``benchmarks/bench_threads.py`` measures both.
"""
from __future__ import annotations

import os

import numba
import torch

ENV = "IB_BOOK_THREADS"
"""Environment variable read by :func:`set_threads` when no count is given."""


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads and numba's threads to ``n``; return the count set.

    Parameters
    ----------
    n : int, optional
        Threads per process. None reads ``IB_BOOK_THREADS`` and defaults to 1. numba
        cannot use more threads than it started with (``NUMBA_NUM_THREADS``, the number
        of cores by default); a larger ``n`` is capped there for numba alone.
    """
    if n is None:
        raw = os.environ.get(ENV, "1").strip() or "1"
        try:
            n = int(raw)
        except ValueError as err:
            raise ValueError(f"{ENV} must be a positive integer, got {raw!r}") from err
    n = int(n)
    if n < 1:
        raise ValueError(f"the number of threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    return n
