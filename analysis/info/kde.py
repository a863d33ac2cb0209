"""Pairwise-distance bounds on mutual information through a noisy layer (KDE estimators).

Saxe et al. (2018) add isotropic Gaussian noise to a layer, T = h(X) + N(0, var I), so
that with X uniform over n samples T is an equal-weight mixture of n Gaussians centred at
the activations h_i, and I(X;T) = H(T) - H(T|X) with H(T|X) the entropy of the noise.
Kolchinsky & Tracey (2017) bound the mixture entropy by pairwise distances between its
components: with the Kullback-Leibler divergence (an upper bound)

    H_KL = d/2 - (1/n) sum_i log( (1/n) sum_j N(h_i; h_j, var I) ),

and with the Bhattacharyya distance (a lower bound), which for equal isotropic Gaussians is
the same expression with 4 var in place of var plus the correction (d/2) log(1/4).
All values here are in bits.

Every bound, variance and class comes from one pass over the symmetric matrix of kernel
values, in row blocks that stay in cache (:func:`_kernel_group_sums`); the values are
those of the direct sums to about 1e-12 bits (``benchmarks/bench_kde.py``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

LN2 = math.log(2.0)


def gaussian_noise_entropy(dim: int, var: float) -> float:
    """Differential entropy of N(0, var I_dim) in bits: (d/2) log2(2 pi e var)."""
    return 0.5 * dim * math.log2(2.0 * math.pi * math.e * var)


def mixture_entropy_kl(t: torch.Tensor | np.ndarray, var: float, chunk: int = 1024) -> float:
    """Upper bound (KL pairwise distances) on the entropy of the mixture, in bits.

    Parameters
    ----------
    t : array, shape (n, d)
        Centres of the equal-weight Gaussian mixture (a layer's activations).
    var : float
        Variance of each isotropic component (the added noise).
    chunk : int
        Most rows of the distance matrix computed at once (memory ~ chunk x n); blocks
        hold at most :data:`BLOCK_ELEMENTS` entries whatever ``chunk``.

    References
    ----------
    Kolchinsky & Tracey (2017), Eq. 10 with the KL divergence; Saxe et al. (2018), code
    ``entropy_estimator_kl``.
    """
    t = torch.as_tensor(t, dtype=torch.float64)
    if var <= 0:
        raise ValueError(f"noise variance must be > 0, got {var}")
    full, _ = _mean_log_densities(t, [var], torch.zeros(len(t), dtype=torch.long), chunk)
    return float((0.5 * t.shape[1] - full[0]) / LN2)


def mixture_entropy_bd(t: torch.Tensor | np.ndarray, var: float, chunk: int = 1024) -> float:
    """Lower bound (Bhattacharyya pairwise distances) on the mixture entropy, in bits.

    References
    ----------
    Kolchinsky & Tracey (2017), Eq. 11; Saxe et al. (2018), code ``entropy_estimator_bd``.
    """
    d = torch.as_tensor(t).shape[1]
    return mixture_entropy_kl(t, 4.0 * var, chunk) + 0.5 * d * math.log2(0.25)


# Elements of one block of the distance matrix (2 MiB of float64): a block stays in cache
# through the passes over it (distances, exponentials, sums), yet holds enough rows (64 of
# a 4096-point layer) that the per-call overhead of torch stays small (measured best of
# 2^14..2^20 in benchmarks/bench_kde.py's workload).
BLOCK_ELEMENTS = 2**18
# Kernel values below e^-60 are set to e^-60: every sum below contains its own centre's
# term exp(0) = 1, so n e^-60 (< 1e-22 for n < 10^4) is far below the float64 resolution
# of the sum, and the clamp spares the slow path of exp for arguments that underflow.
LOG_FLOOR = -60.0


def _mean_log_densities(t: torch.Tensor, variances: list[float], groups: torch.Tensor,
                        chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean log mixture densities at the centres, overall and within each group, in nats.

    For variance v, entry ``full[v]`` is (1/n) sum_i log((1/n) sum_j N(t_i; t_j, v I)) and
    ``within[v, g]`` the same over the centres of group g only (their own mixture).

    One pass over the squared distances serves every variance, both bounds and every
    group (:func:`_kernel_group_sums`); the remaining work is n logarithms per variance.
    Each row's sums contain the centre's own term exp(0) = 1, so they cannot underflow
    and need no log-sum-exp shift.
    """
    n, d = t.shape
    n_groups = int(groups.max()) + 1
    order = torch.argsort(groups, stable=True)
    sorted_groups = groups[order]
    sums = _kernel_group_sums(t[order], variances, sorted_groups, n_groups, chunk)
    sizes = torch.bincount(groups, minlength=n_groups).double()
    own = sums[:, torch.arange(n), sorted_groups].log_()             # (variances, n)
    full = sums.sum(-1).log_().sum(-1)
    within = torch.zeros(len(variances), n_groups, dtype=torch.float64)
    within.index_add_(1, sorted_groups, own)
    norm = torch.tensor([0.5 * d * math.log(2.0 * math.pi * v) for v in variances],
                        dtype=torch.float64)
    full = full / n - math.log(n) - norm
    within = within / sizes - torch.log(sizes) - norm[:, None]
    return full.numpy(), within.numpy()


def _kernel_group_sums(t: torch.Tensor, variances: list[float], groups: torch.Tensor,
                       n_groups: int, chunk: int) -> torch.Tensor:
    """S[v, i, g] = sum over centres j of group g of exp(-|t_i - t_j|² / (2 v)).

    ``groups`` must be sorted, so that every group is a contiguous range of columns.
    The kernel matrix is symmetric: each row block is computed only from its diagonal
    onwards (about half of the matrix), its row sums go to its own rows and the column
    sums of its off-diagonal part to the later rows. The squared distances of a block
    (one matrix product, :mod:`analysis.info.distances`) serve every variance; a variance
    a quarter of another, as the Bhattacharyya bound's v next to 4v, is the fourth power
    of the wider kernel (two multiplications instead of an exponential).
    """
    n = t.shape[0]
    t = t - t.mean(0)
    norms = (t * t).sum(1)
    bounds = torch.searchsorted(groups, torch.arange(n_groups + 1)).tolist()
    rows = max(1, min(chunk, BLOCK_ELEMENTS // n))
    chains = _square_chains(variances)
    sums = torch.zeros(len(variances), n, n_groups, dtype=torch.float64)
    sq_buf = torch.empty(rows * n, dtype=torch.float64)
    kernel_buf = torch.empty(rows * n, dtype=torch.float64)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        shape = (stop - start, n - start)
        sq = sq_buf[: shape[0] * shape[1]].view(shape)
        torch.addmm(norms[start:], t[start:stop], t[start:].T, beta=1.0, alpha=-2.0, out=sq)
        sq.add_(norms[start:stop, None]).clamp_min_(0.0)
        sq[:, : shape[0]].diagonal().zero_()
        kernel = kernel_buf[: shape[0] * shape[1]].view(shape)
        for chain in chains:
            torch.mul(sq, -0.5 / variances[chain[0]], out=kernel).clamp_min_(LOG_FLOOR).exp_()
            for step, k in enumerate(chain):
                if step:
                    kernel.square_().square_()           # exp(-x / (2v)) = exp(-x / (8v))^4
                _add_group_sums(sums[k], kernel, start, bounds)
    return sums


def _square_chains(variances: list[float]) -> list[list[int]]:
    """Indices of ``variances`` in chains v, v/4, v/16, ...: each kernel is the fourth
    power of the one before (a quarter of a float is exact, so 4 w == v tests it)."""
    left = sorted(range(len(variances)), key=lambda k: -variances[k])
    chains = []
    while left:
        chain = [left.pop(0)]
        for k in list(left):
            if 4.0 * variances[k] == variances[chain[-1]]:
                chain.append(k)
                left.remove(k)
        chains.append(chain)
    return chains


def _add_group_sums(sums: torch.Tensor, kernel: torch.Tensor, start: int,
                    bounds: list[int]) -> None:
    """Add one row block's kernel values to the group sums of its rows and, by symmetry,
    of the later rows (columns past the block's diagonal square)."""
    rows = kernel.shape[0]
    stop = start + rows
    for g, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        if hi > start:                     # columns of group g, from the diagonal on
            sums[start:stop, g] += kernel[:, max(lo, start) - start: hi - start].sum(1)
        if lo < stop and hi > start:       # rows of group g in this block
            r0, r1 = max(lo, start) - start, min(hi, stop) - start
            sums[stop:, g] += kernel[r0:r1, rows:].sum(0)


def kde_mutual_information(t: torch.Tensor | np.ndarray, var: float,
                           labels: np.ndarray | None = None, chunk: int = 1024
                           ) -> dict[str, float]:
    """Lower and upper bounds on I(X;T) and, with labels, I(T;Y) for T = h(X) + N(0, var I).

    I(X;T) = H(T) - H(noise), with H(T) bounded by :func:`mixture_entropy_bd` and
    :func:`mixture_entropy_kl`. I(T;Y) = H(T) - sum_y p(y) H(T|Y=y), each entropy bounded
    by the same estimator on the samples of its class (as Saxe et al. compute it; the
    difference of two bounds is an estimate, not a bound).

    Returns
    -------
    dict with keys ``i_xt_lower``, ``i_xt_upper`` and, when ``labels`` are given,
    ``i_ty_lower``, ``i_ty_upper`` (bits).

    References
    ----------
    Kolchinsky & Tracey (2017), Eq. 10-11; Saxe et al. (2018), Appendix C.
    """
    return kde_mutual_information_many(t, [var], labels, chunk)[0]


def kde_mutual_information_many(t: torch.Tensor | np.ndarray, variances: Sequence[float],
                                labels: np.ndarray | None = None, chunk: int = 1024
                                ) -> list[dict[str, float]]:
    """:func:`kde_mutual_information` for several noise variances from one distance pass.

    The pairwise distances are computed once for both bounds, every class and every
    variance; the result is one dict per variance, in order.
    """
    variances = [float(v) for v in variances]
    if not variances or min(variances) <= 0:
        raise ValueError(f"noise variances must be > 0, got {variances}")
    t = torch.as_tensor(t, dtype=torch.float64)
    n, d = t.shape
    if labels is None:
        groups = torch.zeros(n, dtype=torch.long)
    else:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"need one label per sample ({n}), got {labels.shape}")
        groups = torch.as_tensor(np.unique(labels, return_inverse=True)[1].ravel())
    full, within = _mean_log_densities(t, [w for v in variances for w in (v, 4.0 * v)],
                                       groups, chunk)
    bd_shift = 0.5 * d * math.log2(0.25)
    h = (0.5 * d - full) / LN2
    h_cond = (0.5 * d - within) / LN2 @ (np.bincount(groups.numpy()) / n)
    out = []
    for k, var in enumerate(variances):
        noise = gaussian_noise_entropy(d, var)
        h_upper, h_lower = h[2 * k], h[2 * k + 1] + bd_shift
        row = {"i_xt_lower": float(h_lower - noise), "i_xt_upper": float(h_upper - noise)}
        if labels is not None:
            row["i_ty_upper"] = float(h_upper - h_cond[2 * k])
            row["i_ty_lower"] = float(h_lower - h_cond[2 * k + 1] - bd_shift)
        out.append(row)
    return out
