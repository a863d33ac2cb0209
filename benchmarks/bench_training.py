"""The compiled training path against the torch path, on the same ensemble, in one run.

Both train 50 12-10-7-5-4-3-2 tanh networks with Adam (lr 4e-4), batch 512, each on its
own 85% of the 12-bit task (3482 rows, 7 steps per epoch) and its own minibatch order,
through ``analysis.train.train_ensemble`` (``backend="torch"`` and ``backend="fast"``).
Each is timed with 1 thread and with the default threads (torch's intra-op pool and
numba's, one per core), ``--repeats`` times, interleaved, and the fastest run counts (the
machine may be shared; torch's default threads slow down many times whenever another
process is busy, see ``bench_threads.py``). The 50 x 8000-epoch projection adds the cost of the 275
recorded epochs of the book's schedule (a forward pass on all 4096 patterns, losses,
gradient statistics; no estimator). Also: the kernel's compile time (cold and warm
numba cache, each in a fresh process), and a check that its fast-math flags change
nothing beyond float32 rounding (the same kernel compiled without them).

    python benchmarks/bench_training.py [--members 50] [--torch-epochs 5] [--fast-epochs 100]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
import torch

from analysis import fast_mlp
from analysis.data import spherical_rule
from analysis.nets import SZT_WIDTHS, EnsembleMLP
from analysis.train import (GradientMoments, TrainConfig, log_spaced_epochs, member_splits,
                            train_ensemble)

STEPS_PER_EPOCH = 7          # 3482 rows in batches of 512

COLD = """
import time
t = time.perf_counter()
import numpy as np
from analysis.data import spherical_rule
from analysis.nets import EnsembleMLP
from analysis.train import TrainConfig, member_splits, train_ensemble
task = spherical_rule()
tr, te = member_splits(task.n_samples, 0.85, [0])
ready = time.perf_counter()
train_ensemble(EnsembleMLP((12, 3, 2), "tanh", [0]), task, tr, te, TrainConfig(epochs=1),
               progress=False, backend="fast")
print(time.perf_counter() - ready)
"""


def time_training(backend: str, data, seeds, tr, te, epochs: int) -> float:
    """Seconds of one ``train_ensemble`` call that records the last epoch only."""
    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds)
    start = time.perf_counter()
    hist = train_ensemble(model, data, tr, te, TrainConfig(epochs=epochs),
                          record_epochs=np.array([epochs]), progress=False, backend=backend)
    assert hist.backend == backend
    return time.perf_counter() - start


def time_record(data, seeds, tr, te, repeats: int) -> float:
    """Seconds of what the fast path does at a recorded epoch: the kernel's forward pass
    on all patterns (layers, losses), the members' means, copying the weights into the
    model and the gradient norms (no ``on_record`` callback)."""
    model = EnsembleMLP(SZT_WIDTHS, "tanh", seeds)
    trainer = fast_mlp.KernelTrainer(model, data.x, data.y, tr, "adam", 4e-4, 512)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    times = []
    for epoch in range(repeats + 1):
        start = time.perf_counter()
        _, _, loss, correct = trainer.forward(epoch + 1)
        for idx in (tr_t, te_t):
            loss.gather(1, idx).mean(1).numpy(), correct.gather(1, idx).mean(1).numpy()
        trainer.copy_to_model(model)
        moments = GradientMoments(model.weights)
        moments.sum, moments.sum_sq, moments.batches = trainer.gradient_sums()
        moments.norms()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def compile_times() -> tuple[float, float]:
    """First training call in a fresh process: with an empty numba cache, then warm."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold, warm = (float(subprocess.run([sys.executable, "-c", COLD], env=env, check=True,
                                           capture_output=True, text=True).stdout)
                      for _ in range(2))
    return cold, warm


def fastmath_check(data, tr, members: int, epochs: int) -> tuple[float, float, float]:
    """Largest weight difference after ``epochs`` between the kernel with and without its
    fast-math flags, and the seconds each took (1 thread, no cache)."""
    exact_member = numba.njit(error_model="numpy")(fast_mlp._train_member)
    fast_member = numba.njit(error_model="numpy", fastmath=set(fast_mlp.FASTMATH))(
        fast_mlp._train_member)
    model = EnsembleMLP(SZT_WIDTHS, "tanh", list(range(members)))
    out, seconds = [], []
    for kernel in (exact_member, fast_member):
        tr_k = fast_mlp.KernelTrainer(model, data.x, data.y, tr, "adam", 4e-4, 512)
        kernel(tr_k.x, tr_k.y, tr_k.train_idx[0], tr_k.params[0].copy(),   # compile
               tr_k.adam_m[0].copy(), tr_k.adam_v[0].copy(), tr_k.widths, tr_k.act,
               tr_k.opt, tr_k.lr, 0, tr_k.batch, 1, 1, tr_k.seeds[0], 0.0, 0.0, False,
               tr_k.grad_sum[0], tr_k.grad_sq[0])
        start = time.perf_counter()
        for k in range(members):
            kernel(tr_k.x, tr_k.y, tr_k.train_idx[k], tr_k.params[k], tr_k.adam_m[k],
                   tr_k.adam_v[k], tr_k.widths, tr_k.act, tr_k.opt, tr_k.lr, 0, tr_k.batch,
                   1, epochs, tr_k.seeds[k], 0.0, 0.0, False, tr_k.grad_sum[k],
                   tr_k.grad_sq[k])
        seconds.append(time.perf_counter() - start)
        out.append(tr_k.params.copy())
    return float(np.abs(out[0] - out[1]).max()), seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--torch-epochs", type=int, default=5)
    parser.add_argument("--fast-epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings of each path per thread setting (the fastest counts)")
    parser.add_argument("--record-repeats", type=int, default=10,
                        help="records timed (the fastest counts)")
    parser.add_argument("--skip-compile", action="store_true",
                        help="skip the cold-cache compile and the fast-math check")
    args = parser.parse_args()
    data = spherical_rule()
    seeds = list(range(args.members))
    tr, te = member_splits(data.n_samples, 0.85, seeds)
    default = torch.get_num_threads(), numba.get_num_threads()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")
    print(f"members: {args.members}, widths {SZT_WIDTHS}, Adam lr 4e-4, batch 512, "
          f"{STEPS_PER_EPOCH} steps per epoch")
    for backend in ("fast", "torch"):                            # load, compile, warm up
        time_training(backend, data, seeds, tr, te, 1)

    per_step = {}
    for label, threads in (("1 thread", (1, 1)), ("default threads", default)):
        torch.set_num_threads(threads[0])
        numba.set_num_threads(threads[1])
        runs = {"torch": [], "fast": []}
        for _ in range(args.repeats):             # interleaved; the fastest of each counts
            for backend, epochs in (("torch", args.torch_epochs), ("fast", args.fast_epochs)):
                runs[backend].append(time_training(backend, data, seeds, tr, te, epochs))
        per_step[label] = (min(runs["torch"]) / (args.torch_epochs * STEPS_PER_EPOCH),
                           min(runs["fast"]) / (args.fast_epochs * STEPS_PER_EPOCH))
        ms_t, ms_f = (1e3 * v for v in per_step[label])
        print(f"{label} (torch {threads[0]}, numba {threads[1]}): torch path {ms_t:.2f} "
              f"ms/step, fast path {ms_f:.3f} ms/step, ratio {ms_t / ms_f:.1f}x")

    # default threads: cost of a record, then the projection
    per_record = time_record(data, seeds, tr, te, args.record_repeats)
    n_records = len(log_spaced_epochs(8000, 400))
    train_8000 = per_step["default threads"][1] * STEPS_PER_EPOCH * 8000 * 50 / args.members
    train_8000_one = per_step["1 thread"][1] * STEPS_PER_EPOCH * 8000 * 50 / args.members
    records_8000 = per_record * n_records * 50 / args.members
    ratio = per_step["default threads"][0] / per_step["default threads"][1]
    print(f"record (forward on 4096 patterns, losses, gradient norms): "
          f"{1e3 * per_record:.1f} ms each, {n_records} in 8000 epochs")
    print(f"fast path vs torch path: {ratio:.1f}x")
    print(f"projected 50 x 8000 epochs: {train_8000 + records_8000:.1f} s "
          f"(training {train_8000:.1f} s + records {records_8000:.1f} s; "
          f"1 thread: {train_8000_one + records_8000:.1f} s)")
    print(f"targets: >= 7x, <= 60 s; load average {os.getloadavg()[0]:.2f} at the end")

    if not args.skip_compile:
        cold, warm = compile_times()
        print(f"compile time: {cold:.1f} s with an empty numba cache, {warm:.2f} s "
              "from the cache (first training call in a fresh process)")
        torch.set_num_threads(1)
        numba.set_num_threads(1)
        diff, exact_s, fast_s = fastmath_check(data, tr, min(args.members, 10), 100)
        print(f"fast-math check (10 members x 100 epochs, 1 thread): largest weight "
              f"difference {diff:.1e} (float32 eps 1.2e-7), without the flags "
              f"{exact_s:.2f} s, with {fast_s:.2f} s ({exact_s / fast_s:.1f}x)")


if __name__ == "__main__":
    main()
