"""Sample-propagation entropy of n = 4096 centres in d = 10 with n_MC = 10 draws per centre.

Times :func:`analysis.info.sp.mixture_entropy_mc` against a baseline in the same run: the
direct computation, ``torch.cdist`` on all query points at once followed by
``torch.logsumexp`` (the textbook form, which holds all 40960 x 4096 distances). Both must
give the same value. The target (Goldfeld issue): <= 2 s on a 2-core CPU.

    python benchmarks/bench_sp.py [--n 4096] [--d 10] [--n-mc 10] [--device cpu]
"""
from __future__ import annotations

import argparse
import math
import time

import torch

from analysis.info.sp import mixture_entropy_mc


def direct(centres: torch.Tensor, beta: float, n_mc: int, seed: int) -> float:
    """The textbook computation with the same noise draws as the library."""
    c = centres.double()
    c = c - c.mean(0)
    n, d = c.shape
    gen = torch.Generator(device=c.device).manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    q = (c[None] + beta * noise[0]).reshape(-1, d)
    log_g = torch.logsumexp(-torch.cdist(q, c) ** 2 / (2 * beta**2), dim=1) - math.log(n) \
        - 0.5 * d * math.log(2 * math.pi * beta**2)
    return float(-log_g.mean() / math.log(2))


def best_of(fn, repeats: int = 3) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--n-mc", type=int, default=10)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    centres = torch.tanh(2 * torch.randn(args.n, args.d, generator=gen)).to(args.device)
    lib_s, lib = best_of(lambda: float(mixture_entropy_mc(centres, args.beta, args.n_mc)))
    base_s, base = best_of(lambda: direct(centres, args.beta, args.n_mc, 0))
    print(f"n={args.n} d={args.d} n_mc={args.n_mc} on {args.device} "
          f"({torch.get_num_threads()} threads)")
    print(f"library (chunked, one matmul per chunk): {lib_s:.2f} s  h = {lib:.6f} bits")
    print(f"baseline (cdist + logsumexp, all at once): {base_s:.2f} s  h = {base:.6f} bits")
    print(f"speed-up {base_s / lib_s:.1f}x; |difference| {abs(lib - base):.1e} bits")


if __name__ == "__main__":
    main()
