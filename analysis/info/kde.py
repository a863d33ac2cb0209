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

import numpy as np
import torch

LN2 = math.log(2.0)


def gaussian_noise_entropy(dim: int, var: float) -> float:
    """Differential entropy of N(0, var I_dim) in bits: (d/2) log2(2 pi e var)."""
    return 0.5 * dim * math.log2(2.0 * math.pi * math.e * var)


def _mean_log_density(t: torch.Tensor, var: float, chunk: int) -> float:
    """(1/n) sum_i log( (1/n) sum_j N(t_i; t_j, var I) ) in nats, rows in chunks."""
    n, d = t.shape
    total = 0.0
    for start in range(0, n, chunk):
        sq = torch.cdist(t[start:start + chunk], t).square()
        total += torch.logsumexp(-sq / (2.0 * var), dim=1).sum().item()
    return total / n - math.log(n) - 0.5 * d * math.log(2.0 * math.pi * var)


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
    return (0.5 * t.shape[1] - _mean_log_density(t, var, chunk)) / LN2


def mixture_entropy_bd(t: torch.Tensor | np.ndarray, var: float, chunk: int = 1024) -> float:
    """Lower bound (Bhattacharyya pairwise distances) on the mixture entropy, in bits.

    References
    ----------
    Kolchinsky & Tracey (2017), Eq. 11; Saxe et al. (2018), code ``entropy_estimator_bd``.
    """
    d = torch.as_tensor(t).shape[1]
    return mixture_entropy_kl(t, 4.0 * var, chunk) + 0.5 * d * math.log2(0.25)


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
    """
    t = torch.as_tensor(t, dtype=torch.float64)
    noise = gaussian_noise_entropy(t.shape[1], var)
    h_upper = mixture_entropy_kl(t, var, chunk)
    h_lower = mixture_entropy_bd(t, var, chunk)
    out = {"i_xt_lower": h_lower - noise, "i_xt_upper": h_upper - noise}
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (t.shape[0],):
            raise ValueError(f"need one label per sample ({t.shape[0]}), got {labels.shape}")
        classes, counts = np.unique(labels, return_counts=True)
        p_y = counts / counts.sum()
        cond_upper = sum(p * mixture_entropy_kl(t[torch.as_tensor(labels == c)], var, chunk)
                         for c, p in zip(classes, p_y))
        cond_lower = sum(p * mixture_entropy_bd(t[torch.as_tensor(labels == c)], var, chunk)
                         for c, p in zip(classes, p_y))
        out["i_ty_upper"] = h_upper - cond_upper
        out["i_ty_lower"] = h_lower - cond_lower
    return out
