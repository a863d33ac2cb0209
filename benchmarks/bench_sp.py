"""Sample propagation: the entropy of n = 4096 centres in d = 10 with n_MC = 10 draws per
centre, and I(X;T) of 512 inputs with 32 samples each (chapter 12's shape).

Times :func:`analysis.info.sp.mixture_entropy_mc` and :func:`~analysis.info.sp.sp_information`
against baselines in the same run: the direct computations, ``torch.cdist`` on all query
points at once followed by ``torch.logsumexp`` (the textbook form, which holds every
distance). Each pair must give the same value. The target (Goldfeld issue): <= 2 s for
the entropy on a 2-core CPU.

    python benchmarks/bench_sp.py [--n 4096] [--d 10] [--n-mc 10] [--device cpu]
"""
from __future__ import annotations

import argparse
import math
import time

import torch

from analysis.info.kde import gaussian_noise_entropy
from analysis.info.sp import mixture_entropy_mc, sp_information


def direct(centres: torch.Tensor, beta: float, n_mc: int, seed: int) -> float:
    """The textbook computation with the same noise draws and control variate as the library."""
    c = centres.double()
    c = c - c.mean(0)
    n, d = c.shape
    gen = torch.Generator(device=c.device).manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    q = (c[None] + beta * noise[0]).reshape(-1, d)
    log_g = torch.logsumexp(-torch.cdist(q, c) ** 2 / (2 * beta**2), dim=1) - math.log(n)
    log_own = -(noise[0] ** 2).sum(-1).reshape(-1) / 2          # log phi(q - c_i), same terms
    return gaussian_noise_entropy(d, beta**2) - float((log_g - log_own).mean() / math.log(2))


def direct_information(samples: torch.Tensor, beta: float, n_mc: int, seed: int) -> float:
    """I(X;T) of :func:`sp_information` from all distances at once, same draws."""
    c = samples.double()
    c = c - c.mean(dim=(0, 1))
    n, m, d = c.shape
    gen = torch.Generator(device=c.device).manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)[0]
    start = c[:, torch.arange(n_mc) % m].transpose(0, 1)                   # (n_mc, n, d)
    q = (start + beta * noise).reshape(-1, d)
    a = -torch.cdist(q, c.reshape(-1, d)) ** 2 / (2 * beta**2)             # (n_mc n, n m)
    per_input = torch.logsumexp(a.reshape(len(q), n, m), dim=-1)
    own = per_input[torch.arange(len(q)), torch.arange(len(q)) % n]
    value = own - torch.logsumexp(per_input, dim=-1) + math.log(n)
    return float(value.mean() / math.log(2))


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
    samples = torch.tanh(2 * torch.randn(512, 32, args.d, generator=gen)).to(args.device)
    lib_s, lib = best_of(lambda: float(sp_information(samples, args.beta, args.n_mc)))
    base_s, base = best_of(lambda: direct_information(samples, args.beta, args.n_mc, 0))
    print(f"I(X;T), n=512 inputs x m=32 samples, d={args.d}, n_mc={args.n_mc}:")
    print(f"library (chunked): {lib_s:.2f} s  I = {lib:.6f} bits")
    print(f"baseline (cdist + logsumexp, all at once): {base_s:.2f} s  I = {base:.6f} bits")
    print(f"speed-up {base_s / lib_s:.1f}x; |difference| {abs(lib - base):.1e} bits")


if __name__ == "__main__":
    main()
