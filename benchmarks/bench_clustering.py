"""Clustering measures (Goldfeld et al. 2019, section 5) on the book's workloads.

Chapters 12-13 measure, at every record and hidden layer, the distance ratio, the
silhouette of the classes and the number of clusters at 3 beta of 5 members' noiseless
representations of 512 patterns (two classes); chapter 14 the same for 2 members of the
noisy CNN on 200 images (ten classes, widths 1568/784/32/8). The representations come
from networks built here (:mod:`bench_sp`), at a small, a middle and a large weight
scale (from spread out to saturated).

The baselines are the previous implementations, kept below: scikit-learn's
``silhouette_score`` member by member, ``torch.cdist`` with boolean masks for the
distance ratio, scipy's ``connected_components`` on the dense adjacency. The script times
each measure alone and the three together from one distance matrix
(:func:`~analysis.info.clustering.clustering_measures`), and prints the ratios and the
largest differences of the values.

    python benchmarks/bench_clustering.py [--threads 1] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
import torch
from bench_sp import cnn_like_samples, noisy_tanh_samples
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from analysis.info.clustering import (clustering_measures, clusters_at_scale, distance_ratio,
                                      silhouette)


def baseline_distance_ratio(t: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    """The previous ``distance_ratio``: ``torch.cdist`` and boolean masks, set by set."""
    y = torch.as_tensor(labels)
    same = y[:, None] == y[None, :]
    same.fill_diagonal_(False)
    other = y[:, None] != y[None, :]
    out = np.empty(len(t))
    for k, s in enumerate(t):
        dist = torch.cdist(s, s)
        out[k] = float(dist[same].mean() / dist[other].mean())
    return out


def baseline_silhouette(t: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    """The previous ``silhouette``: scikit-learn, set by set."""
    out = np.zeros(len(t))
    for k, s in enumerate(t.numpy()):
        if np.ptp(s, axis=0).max() > 0:
            out[k] = silhouette_score(s, labels)
    return out


def baseline_clusters(t: torch.Tensor, scale: float) -> np.ndarray:
    """The previous ``clusters_at_scale``: scipy on the dense adjacency, set by set."""
    return np.array([connected_components((torch.cdist(s, s) <= scale).numpy(),
                                           directed=False)[0] for s in t])


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def workloads() -> list[tuple[str, list[torch.Tensor], np.ndarray, float]]:
    """(name, sets of shape (members, n, d) per layer, labels, cluster scale)."""
    out = []
    for scale in (1.0, 3.0, 10.0):
        layers = [s[:, :, 0] for s in noisy_tanh_samples(5, 512, 1, 0.01, scale)]
        out.append((f"chapters 12-13, 5 members x 512, d=10/7/5/4/3, weight scale {scale:g}",
                    layers, np.arange(512) % 2, 0.03))
    layers = [cnn_like_samples(d, 1, d)[:, :, 0] for d in (1568, 784, 32, 8)]
    out.append(("chapter 14, 2 members x 200, d=1568/784/32/8", layers, np.arange(200) % 10,
                0.6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    # numpy's BLAS (scikit-learn's products) too: its idle threads would spin beside ours
    threadpool_limits(args.threads)
    clustering_measures(torch.rand(1, 8, 2), np.arange(8) % 2, 0.1)     # compile the kernels
    print(f"threads: {args.threads}; load average before: {os.getloadavg()}")
    for name, layers, labels, scale in workloads():
        cases = {"silhouette": (lambda t: silhouette(t, labels),
                                lambda t: baseline_silhouette(t, labels)),
                 "distance ratio": (lambda t: distance_ratio(t, labels),
                                    lambda t: baseline_distance_ratio(t, labels)),
                 "clusters": (lambda t: clusters_at_scale(t, scale),
                              lambda t: baseline_clusters(t, scale))}
        totals = {key: [0.0, 0.0, 0.0] for key in cases}
        shared_s = 0.0
        for t in layers:
            for key, (new, base) in cases.items():
                new_s, a = best_of(lambda: new(t), args.repeats)
                base_s, b = best_of(lambda: base(t), args.repeats)
                totals[key][0] += new_s
                totals[key][1] += base_s
                totals[key][2] = max(totals[key][2], float(np.abs(a - b).max()))
            s, _ = best_of(lambda: clustering_measures(t, labels, scale), args.repeats)
            shared_s += s
        print(name)
        for key, (new_s, base_s, worst) in totals.items():
            print(f"  {key}: new {new_s * 1e3:.1f} ms, baseline {base_s * 1e3:.1f} ms, "
                  f"speed-up {base_s / new_s:.1f}x, largest difference {worst:.1e}")
        base_all = sum(v[1] for v in totals.values())
        print(f"  all three from one distance matrix: {shared_s * 1e3:.1f} ms, baseline "
              f"{base_all * 1e3:.1f} ms, speed-up {base_all / shared_s:.1f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
