"""Thread settings under contention: does a step collapse when another process is busy?

torch's default intra-op pool (one thread per core) makes every operation wait for all
its threads; when another CPU-bound process takes a core, one of them is descheduled
and a step becomes many times slower. This script times the same training steps with
torch's default threads and with ``analysis.threads.set_threads()`` (1 thread, or
``IB_BOOK_THREADS``), first on an idle machine, then while a busy loop it starts itself
(one process, bounded in time, ended by this script) runs beside them; it does the same
for the compiled path's numba threads. It prints the slowdown busy / idle of each setting.
The machine may be shared: the load average is printed, and every comparison is made
within this one run.

    python benchmarks/bench_threads.py [--members 50] [--epochs 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numba
import torch

from analysis.data import spherical_rule
from analysis.nets import SZT_WIDTHS, EnsembleMLP
from analysis.threads import set_threads
from analysis.train import TrainConfig, member_splits, train_ensemble

BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def runnable() -> str:
    """Runnable tasks now / all tasks, from /proc/loadavg (Linux); '?' elsewhere."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[3]
    except OSError:
        return "?"


def per_step(backend: str, data, seeds, tr, te, epochs: int) -> float:
    """Milliseconds per optimiser step of ``train_ensemble`` (record only at the end)."""
    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds)
    start = time.perf_counter()
    train_ensemble(model, data, tr, te, TrainConfig(epochs=epochs), record_epochs=[epochs],
                   progress=False, backend=backend)
    return 1e3 * (time.perf_counter() - start) / (7 * epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per torch timing")
    parser.add_argument("--fast-epochs", type=int, default=100)
    parser.add_argument("--busy-seconds", type=float, default=120.0,
                        help="upper bound on the busy process's life")
    args = parser.parse_args()
    data = spherical_rule()
    seeds = list(range(args.members))
    tr, te = member_splits(data.n_samples, 0.85, seeds)
    cores = os.cpu_count()
    chosen = set_threads()
    settings = [  # label, backend, torch threads, numba threads, epochs
        (f"torch path, torch default ({cores} threads)", "torch", cores, 1, args.epochs),
        (f"torch path, set_threads() ({chosen} thread)", "torch", chosen, 1, args.epochs),
        (f"fast path, numba {cores} threads", "fast", 1, cores, args.fast_epochs),
        (f"fast path, set_threads() ({chosen} thread)", "fast", chosen, chosen,
         args.fast_epochs),
    ]
    print(f"{cores} cores; load average {os.getloadavg()[0]:.2f}, runnable tasks "
          f"{runnable()} (this one included) before the idle timings")
    per_step("fast", data, seeds, tr, te, 1)                       # compile or load first
    idle = {}
    for label, backend, t_threads, n_threads, epochs in settings:
        torch.set_num_threads(t_threads)
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        idle[label] = min(per_step(backend, data, seeds, tr, te, epochs) for _ in range(2))
    busy_proc = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=args.busy_seconds)])
    try:
        time.sleep(0.5)
        print(f"busy loop started (pid {busy_proc.pid}); runnable tasks {runnable()}")
        busy = {}
        for label, backend, t_threads, n_threads, epochs in settings:
            torch.set_num_threads(t_threads)
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
            busy[label] = min(per_step(backend, data, seeds, tr, te, epochs)
                              for _ in range(2))
        print(f"runnable tasks {runnable()} at the end of the busy timings")
    finally:
        busy_proc.terminate()
        busy_proc.wait()
    print(f"load average {os.getloadavg()[0]:.2f} at the end (a 1-minute mean: it lags)")
    for label, *_ in settings:
        print(f"{label:45s} idle {idle[label]:8.2f} ms/step, beside a busy process "
              f"{busy[label]:8.2f} ms/step: {busy[label] / idle[label]:5.1f}x slower")
    torch_default, torch_one = (busy[s[0]] for s in settings[:2])
    print(f"beside a busy process, set_threads() vs torch's default threads: "
          f"{torch_default / torch_one:.1f}x faster")


if __name__ == "__main__":
    main()
