"""KDE bounds (Kolchinsky & Tracey 2017; Saxe et al. 2018) on the book's workloads.

Chapter 6/7: :func:`~analysis.info.kde.kde_mutual_information_many` on the 4096 12-bit
patterns through each layer of a 12-10-7-5-4-3-2 tanh network, variances (0.1, 1e-3),
I(T;Y) over two classes. Chapter 14: 1000 inputs through a 784-1024-20-20-20-10 tanh
network, variance 0.1, ten classes. The activations come from random networks at a small
and a large weight scale (spread out and saturated, as early and late in training);
the networks are built here so that the benchmark does not depend on the training code.

The baseline is the previous implementation, kept below: ``torch.cdist`` on chunks of
1024 rows, one exponential per variance over the whole matrix, class sums by a product
with the indicator matrix. Both run in the same process on the same activations; the
script prints the times, their ratio and the largest difference of the values (bits).

    python benchmarks/bench_kde.py [--threads 1] [--scales 1 4]
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numba
import numpy as np
import torch

from analysis.info.kde import gaussian_noise_entropy, kde_mutual_information_many

LN2 = math.log(2.0)


def baseline_mean_log_densities(t: torch.Tensor, variances: list[float], groups: torch.Tensor,
                                chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The previous ``analysis.info.kde._mean_log_densities``, verbatim."""
    n, d = t.shape
    n_groups = int(groups.max()) + 1
    indicator = torch.nn.functional.one_hot(groups, n_groups).to(t.dtype)
    sizes = indicator.sum(0).double()
    full = torch.zeros(len(variances), dtype=torch.float64)
    within = torch.zeros(len(variances), n_groups, dtype=torch.float64)
    for start in range(0, n, chunk):
        sq = torch.cdist(t[start:start + chunk], t).square_()
        rows = groups[start:start + chunk]
        for k, var in enumerate(variances):
            dens = torch.mul(sq, -0.5 / var).exp_()
            full[k] += dens.sum(1).log_().double().sum()
            own = (dens @ indicator).gather(1, rows[:, None])[:, 0]
            within[k].index_add_(0, rows, own.log_().double())
    norm = torch.tensor([0.5 * d * math.log(2.0 * math.pi * v) for v in variances],
                        dtype=torch.float64)
    full = full / n - math.log(n) - norm
    within = within / sizes - torch.log(sizes) - norm[:, None]
    return full.numpy(), within.numpy()


def baseline_kde_many(t: torch.Tensor, variances: tuple[float, ...], labels: np.ndarray
                      ) -> list[dict[str, float]]:
    """The previous ``kde_mutual_information_many`` (same formulas around the sums)."""
    t = torch.as_tensor(t, dtype=torch.float64)
    n, d = t.shape
    groups = torch.as_tensor(np.unique(labels, return_inverse=True)[1].ravel())
    full, within = baseline_mean_log_densities(
        t, [w for v in variances for w in (v, 4.0 * v)], groups)
    bd_shift = 0.5 * d * math.log2(0.25)
    h = (0.5 * d - full) / LN2
    h_cond = (0.5 * d - within) / LN2 @ (np.bincount(groups.numpy()) / n)
    out = []
    for k, var in enumerate(variances):
        noise = gaussian_noise_entropy(d, var)
        h_upper, h_lower = h[2 * k], h[2 * k + 1] + bd_shift
        out.append({"i_xt_lower": float(h_lower - noise), "i_xt_upper": float(h_upper - noise),
                    "i_ty_upper": float(h_upper - h_cond[2 * k]),
                    "i_ty_lower": float(h_lower - h_cond[2 * k + 1] - bd_shift)})
    return out


def tanh_layers(x: torch.Tensor, widths: tuple[int, ...], scale: float, seed: int
                ) -> list[torch.Tensor]:
    """Activations (n, width) of every layer of a random tanh network, weights
    N(0, (scale² / fan-in))."""
    gen = torch.Generator().manual_seed(seed)
    layers, t = [], x
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        w = torch.randn(fan_in, fan_out, generator=gen, dtype=torch.float64)
        t = torch.tanh(t @ w * (scale / math.sqrt(fan_in)))
        layers.append(t)
    return layers


def spherical_workload(scale: float) -> tuple[list[torch.Tensor], np.ndarray]:
    """Chapter 6: the 4096 patterns of 12 bits, labels nearly a function of the ones."""
    codes = torch.arange(4096)
    x = (2.0 * ((codes[:, None] >> torch.arange(12)) & 1) - 1.0).double()
    labels = ((x > 0).sum(1) > 6).numpy().astype(int)
    return tanh_layers(x, (12, 10, 7, 5, 4, 3, 2), scale, seed=0), labels


def mnist_workload(scale: float) -> tuple[list[torch.Tensor], np.ndarray]:
    """Chapter 14's shapes: 1000 images (random pixels here), ten balanced classes."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1000, 784, generator=gen, dtype=torch.float64)
    return tanh_layers(x, (784, 1024, 20, 20, 20, 10), scale, seed=1), np.arange(1000) % 10


def run(name: str, layers: list[torch.Tensor], labels: np.ndarray,
        variances: tuple[float, ...]) -> None:
    new_s = base_s = worst = 0.0
    for t in layers:
        start = time.perf_counter()
        new = kde_mutual_information_many(t, variances, labels)
        new_s += time.perf_counter() - start
        start = time.perf_counter()
        base = baseline_kde_many(t, variances, labels)
        base_s += time.perf_counter() - start
        worst = max(worst, max(abs(a[k] - b[k]) for a, b in zip(new, base) for k in a))
    widths = "/".join(str(t.shape[1]) for t in layers)
    print(f"{name}: n={len(labels)} widths {widths} variances {variances}: new {new_s:.2f} s, "
          f"baseline {base_s:.2f} s, speed-up {base_s / new_s:.1f}x, "
          f"largest difference {worst:.1e} bits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"threads: {args.threads}; load average before: {os.getloadavg()}")
    for scale in args.scales:
        run(f"chapter 6, weight scale {scale:g}", *spherical_workload(scale), (0.1, 1e-3))
        run(f"chapter 14, weight scale {scale:g}", *mnist_workload(scale), (0.1,))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
