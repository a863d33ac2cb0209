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
        Rows of the distance matrix computed at once (memory ~ chunk x n).

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


def _mean_log_densities(t: torch.Tensor, variances: list[float], groups: torch.Tensor,
                        chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean log mixture densities at the centres, overall and within each group, in nats.

    One pass over the squared distances serves every variance: for variance v, entry
    ``full[v]`` is (1/n) sum_i log((1/n) sum_j N(t_i; t_j, v I)) and ``within[v, g]`` the
    same over the centres of group g only (their own mixture). Each row's sum contains its
    own centre's term exp(0) = 1, so the sums of exponentials cannot underflow and need no
    log-sum-exp shift; the per-group sums are one product with the group indicator matrix.
    """
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
