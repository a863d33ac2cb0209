"""Sample propagation (Goldfeld et al. 2019) on the book's workloads, against the previous code.

* Chapters 12-13: :func:`~analysis.info.sp.sp_information` for 5 members of a noisy
  12-10-7-5-4-3 tanh network (beta = 0.01), X uniform over 512 patterns, m = 32 noisy
  passes per input (1 in the first layer), n_MC = 2: every hidden layer at one record.
* Chapter 14: the noisy CNN's shapes: 2 members, 200 images, m = 8, n_MC = 10,
  beta = 0.2, layers of width 1568 (m = 1), 784, 32 and 8.
* The entropy :func:`~analysis.info.sp.mixture_entropy_mc` of n = 4096 centres in
  d = 10, n_MC = 10, beta = 0.1 (the original target: <= 2 s on 2 CPU cores).

The samples come from networks built here (random weights at a small and a large scale:
spread out and saturated representations), so that the benchmark does not depend on the
training code. The baseline is the previous implementation, kept below (chunks of 2^24
exponents, one batched product each, log-sum-exp shifted by the row maximum). Both run in
the same process on the same samples and noise draws; the script prints the times, their
ratio and the largest difference of the values, and for one member per layer the
difference from the textbook computation (``torch.cdist`` and ``torch.logsumexp`` on all
distances at once).

    python benchmarks/bench_sp.py [--threads 1] [--scales 1 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numba
import torch

from analysis.info.kde import gaussian_noise_entropy
from analysis.info.sp import mixture_entropy_mc, sp_information

LN2 = math.log(2.0)


def baseline_entropy(centres: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                     max_elements: int = 2**24) -> torch.Tensor:
    """The previous ``analysis.info.sp.mixture_entropy_mc``, verbatim."""
    c = torch.as_tensor(centres)
    lead, (n, d) = c.shape[:-2], c.shape[-2:]
    c = c.reshape(-1, n, d).to(torch.float64)
    c = c - c.mean(dim=1, keepdim=True)
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(c.shape[0], n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    queries = (c[:, None] + beta * noise).reshape(c.shape[0], n_mc * n, d)
    half_z2 = (noise * noise).sum(-1).reshape(c.shape[0], n_mc * n) / 2.0
    scaled = c.transpose(1, 2) / beta**2
    offset = (-(c * c).sum(-1) / (2.0 * beta**2))[:, None, :]
    rows = max(1, max_elements // (c.shape[0] * n))
    total = torch.zeros(c.shape[0], dtype=c.dtype, device=c.device)
    for start in range(0, queries.shape[1], rows):
        q = queries[:, start:start + rows]
        a = torch.baddbmm(offset, q, scaled)
        top = a.amax(-1, keepdim=True)
        log_sum = a.sub_(top).clamp_min_(-60.0).exp_().sum(-1).log_() + top[..., 0]
        total += (log_sum - (q * q).sum(-1) / (2.0 * beta**2)
                  + half_z2[:, start:start + rows]).sum(-1)
    excess = total / queries.shape[1] - math.log(n)
    return (gaussian_noise_entropy(d, beta**2) - excess / LN2).reshape(lead)


def baseline_information(samples: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                         max_elements: int = 2**24) -> torch.Tensor:
    """The previous ``analysis.info.sp.sp_information``, verbatim."""
    c = torch.as_tensor(samples)
    lead, (n, m, d) = c.shape[:-3], c.shape[-3:]
    c = c.reshape(-1, n, m, d).to(torch.float64)
    c = c - c.mean(dim=(1, 2), keepdim=True)
    groups = c.shape[0]
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(groups, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    start_at = c[:, :, torch.arange(n_mc, device=c.device) % m].transpose(1, 2)
    queries = (start_at + beta * noise).reshape(groups, n_mc * n, d)
    own = (torch.arange(n_mc * n, device=c.device) % n)[None, :, None]
    flat = c.reshape(groups, n * m, d)
    scaled = flat.transpose(1, 2) / beta**2
    offset = (-(flat * flat).sum(-1) / (2.0 * beta**2))[:, None, :]
    rows = max(1, max_elements // (groups * n * m))
    total = torch.zeros(groups, dtype=c.dtype, device=c.device)
    for begin in range(0, queries.shape[1], rows):
        q = queries[:, begin:begin + rows]
        a = torch.baddbmm(offset, q, scaled)
        e = a.sub_(a.amax(-1, keepdim=True)).clamp_min_(-60.0).exp_()
        per_input = e.reshape(groups, q.shape[1], n, m).sum(-1)
        mine = per_input.gather(-1, own[:, begin:begin + rows].expand(groups, -1, 1))[..., 0]
        total += (mine.log() - per_input.sum(-1).log()).sum(-1)
    return ((total / queries.shape[1] + math.log(n)) / LN2).reshape(lead)


def textbook_entropy(centres: torch.Tensor, beta: float, n_mc: int, seed: int) -> float:
    """-E log g with the same draws and control variate, from all distances at once."""
    c = centres.double()
    c = c - c.mean(0)
    n, d = c.shape
    gen = torch.Generator(device=c.device).manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)[0]
    q = (c[None] + beta * noise).reshape(-1, d)
    log_g = torch.logsumexp(-torch.cdist(q, c) ** 2 / (2 * beta**2), dim=1) - math.log(n)
    log_own = -(noise**2).sum(-1).reshape(-1) / 2
    return gaussian_noise_entropy(d, beta**2) - float((log_g - log_own).mean() / LN2)


def textbook_information(samples: torch.Tensor, beta: float, n_mc: int, seed: int) -> float:
    """I(X;T) of one set (n, m, d) with the same draws, from all distances at once."""
    c = samples.double()
    c = c - c.mean(dim=(0, 1))
    n, m, d = c.shape
    gen = torch.Generator(device=c.device).manual_seed(seed)
    noise = torch.randn(1, n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)[0]
    start = c[:, torch.arange(n_mc) % m].transpose(0, 1)
    q = (start + beta * noise).reshape(-1, d)
    a = -torch.cdist(q, c.reshape(-1, d), compute_mode="donot_use_mm_for_euclid_dist") ** 2 \
        / (2 * beta**2)
    per_input = torch.logsumexp(a.reshape(len(q), n, m), dim=-1)
    own = per_input[torch.arange(len(q)), torch.arange(len(q)) % n]
    return float((own - torch.logsumexp(per_input, dim=-1) + math.log(n)).mean() / LN2)


def noisy_tanh_samples(members: int, n: int, m: int, beta: float, scale: float,
                       widths: tuple[int, ...] = (12, 10, 7, 5, 4, 3), seed: int = 0
                       ) -> list[torch.Tensor]:
    """S_l of every hidden layer, (members, n, m, d), for n distinct 12-bit patterns
    pushed m times through a noisy tanh network (T_l = S_l + beta Z) with weights
    N(0, (3 scale)² / fan-in)."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randperm(2 ** widths[0], generator=gen)[:n]
    x = (2.0 * ((codes[:, None] >> torch.arange(widths[0])) & 1) - 1.0).double()
    t = x[None, :, None, :].expand(members, n, m, widths[0])
    out = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        w = torch.randn(members, 1, fan_in, fan_out, generator=gen, dtype=torch.float64)
        s = torch.tanh(t @ w * (3.0 * scale / math.sqrt(fan_in)))
        out.append(s)
        t = s + beta * torch.randn(s.shape, generator=gen, dtype=torch.float64)
    return out


def cnn_like_samples(d: int, m: int, seed: int) -> torch.Tensor:
    """(2 members, 200 images, m, d): tanh units whose pre-activations vary by 0.3
    between the m noisy passes of an image."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(2, 200, 1, d, generator=gen, dtype=torch.float64)
    return torch.tanh(base + 0.3 * torch.randn(2, 200, m, d, generator=gen, dtype=torch.float64)
                      * (m > 1))


def timed(fn):
    start = time.perf_counter()
    value = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, value


def compare(name: str, cases: list[tuple[torch.Tensor, float, int]], device: str) -> None:
    """Time library and baseline over ``cases`` (samples, beta, n_mc); check one member
    of each case against the textbook computation."""
    new_s = base_s = worst = textbook = 0.0
    for k, (samples, beta, n_mc) in enumerate(cases):
        samples = samples.to(device)
        s, new = timed(lambda: sp_information(samples, beta, n_mc, seed=k))
        new_s += s
        s, base = timed(lambda: baseline_information(samples, beta, n_mc, seed=k))
        base_s += s
        worst = max(worst, float((new - base).abs().max()))
        ref = textbook_information(samples[0], beta, n_mc, seed=k)
        textbook = max(textbook, abs(float(sp_information(samples[:1], beta, n_mc, seed=k)[0])
                                     - ref))
    print(f"{name}: new {new_s:.2f} s, baseline {base_s:.2f} s, speed-up {base_s / new_s:.1f}x, "
          f"largest difference {worst:.1e} bits (textbook: {textbook:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"threads: {args.threads}; device {args.device}; load average before: "
          f"{os.getloadavg()}")
    for scale in args.scales:
        layers = noisy_tanh_samples(5, 512, 32, 0.01, scale)
        cases = [(s[:, :, :1] if k == 0 else s, 0.01, 2) for k, s in enumerate(layers)]
        compare(f"chapters 12-13, one record (5 members x 5 layers, n=512, m=32, n_MC=2), "
                f"weight scale {scale:g}", cases, args.device)
    cases = [(cnn_like_samples(d, m, d), 0.2, 10) for d, m in ((1568, 1), (784, 8), (32, 8),
                                                                (8, 8))]
    compare("chapter 14, one record (2 members, n=200, m=8, n_MC=10, d=1568/784/32/8)",
            cases, args.device)
    centres = torch.tanh(2 * torch.randn(4096, 10, generator=torch.Generator().manual_seed(0)))
    centres = centres.to(args.device)
    new_s, new = timed(lambda: float(mixture_entropy_mc(centres, 0.1, 10)))
    base_s, base = timed(lambda: float(baseline_entropy(centres, 0.1, 10)))
    ref = textbook_entropy(centres, 0.1, 10, 0)
    print(f"entropy, n=4096 d=10 n_MC=10 beta=0.1: new {new_s:.2f} s, baseline {base_s:.2f} s, "
          f"speed-up {base_s / new_s:.1f}x, difference {abs(new - base):.1e} bits "
          f"(textbook: {abs(new - ref):.1e}); h = {new:.6f} bits")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
