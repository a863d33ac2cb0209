"""The sample-propagation (SP) estimator of information in noisy networks (Goldfeld et al. 2019).

In a noisy network every layer adds Gaussian noise, T = S + Z with Z ~ N(0, beta² I) and
S = f(T_prev) a deterministic function of the previous (noisy) layer. With X uniform over
n inputs, T is the equal-weight Gaussian mixture centred at samples of S, and its
differential entropy

    h(T) = -E log g(T),   g(t) = (1/n) sum_k N(t; s_k, beta² I),

is estimated by Monte Carlo integration: draw ``n_mc`` noise vectors per centre, evaluate
the mixture density at s_i + z_ij with a log-sum-exp over all centres, and average
(Goldfeld et al. 2019, section 3, Eq. 7). The estimate is unbiased for the entropy of the
mixture of the given samples; its Monte Carlo error falls as 1/sqrt(n n_mc). Then

    I(X;T) = h(T) - (1/n) sum_i h(T | X = x_i),

where the conditional mixture of T given x_i is centred at samples of S obtained by
feeding x_i through the noisy network repeatedly; in the first layer S is a function of
X, so h(T|X) = (d/2) log2(2 pi e beta²) exactly. All values are in bits.

The distances are computed in chunks of query points, so memory stays at about
``max_elements`` floats whatever n, and every operation is a torch batched matrix product
that runs on CPU or CUDA.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import integrate

from .kde import gaussian_noise_entropy

LN2 = math.log(2.0)


def mixture_entropy_mc(centres: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                       max_elements: int = 2**24) -> torch.Tensor:
    """Monte Carlo entropy (bits) of equal-weight mixtures of N(c_k, beta² I).

    Parameters
    ----------
    centres : Tensor, shape (..., n, d)
        The centres; leading dimensions index independent mixtures.
    beta : float
        Standard deviation of every component (the noise of the layer).
    n_mc : int
        Noise draws per centre.
    seed : int
        Seed of the noise draws (the estimate is reproducible).
    max_elements : int
        Largest number of distances held at once (over all mixtures).

    Returns
    -------
    Tensor, shape (...), float64, on the centres' device.

    References
    ----------
    Goldfeld et al. (2019), section 3 ("sample propagation" estimator), Eq. 7.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if n_mc < 1:
        raise ValueError(f"n_mc must be >= 1, got {n_mc}")
    c = torch.as_tensor(centres)
    if c.dim() < 2:
        raise ValueError(f"centres must have shape (..., n, d), got {tuple(c.shape)}")
    lead, (n, d) = c.shape[:-2], c.shape[-2:]
    c = c.reshape(-1, n, d).to(torch.float64)
    c = c - c.mean(dim=1, keepdim=True)       # smaller norms: less cancellation below
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(c.shape[0], n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    queries = (c[:, None] + beta * noise).reshape(c.shape[0], n_mc * n, d)
    # -|q - c|²/(2 beta²) = (q.c - |c|²/2)/beta² - |q|²/(2 beta²): one matrix product per
    # chunk, and the last term, constant along the log-sum-exp, is subtracted afterwards
    scaled = c.transpose(1, 2) / beta**2                                   # (G, d, n)
    offset = (-(c * c).sum(-1) / (2.0 * beta**2))[:, None, :]             # (G, 1, n)
    rows = max(1, max_elements // (c.shape[0] * n))
    total = torch.zeros(c.shape[0], dtype=c.dtype, device=c.device)
    for start in range(0, queries.shape[1], rows):
        q = queries[:, start:start + rows]
        a = torch.baddbmm(offset, q, scaled)
        top = a.amax(-1, keepdim=True)
        # terms below e^-60 of the largest change nothing; clamping them spares the slow
        # underflow path of exp (4x faster on CPU)
        log_sum = a.sub_(top).clamp_min_(-60.0).exp_().sum(-1).log_() + top[..., 0]
        total += (log_sum - (q * q).sum(-1) / (2.0 * beta**2)).sum(-1)
    mean_log = total / queries.shape[1] - math.log(n) - 0.5 * d * math.log(2 * math.pi * beta**2)
    return (-mean_log / LN2).reshape(lead)


def sp_mutual_information(t: torch.Tensor, beta: float, conditional: torch.Tensor | None = None,
                          n_mc: int = 10, seed: int = 0, max_elements: int = 2**24) -> float:
    """I(X;T) in bits for a noisy layer T = S + N(0, beta² I) and X uniform over n inputs.

    Parameters
    ----------
    t : Tensor, shape (n, d)
        S for each input: the layer's noiseless output for one pass of every input.
    beta : float
        Noise standard deviation of the layer.
    conditional : Tensor, shape (n, m, d), optional
        For each input, m samples of S from repeated noisy passes through the earlier
        layers. None for the first layer (S is a function of X): h(T|X) is then the
        noise entropy, exactly.
    n_mc, seed, max_elements
        As in :func:`mixture_entropy_mc`; the conditional mixtures use ``seed + 1``.

    References
    ----------
    Goldfeld et al. (2019), section 3, Eqs. 6-7.
    """
    t = torch.as_tensor(t)
    h_t = float(mixture_entropy_mc(t, beta, n_mc, seed, max_elements))
    if conditional is None:
        return h_t - gaussian_noise_entropy(t.shape[-1], beta**2)
    conditional = torch.as_tensor(conditional)
    if conditional.dim() != 3 or conditional.shape[0] != t.shape[0] or \
            conditional.shape[2] != t.shape[1]:
        raise ValueError(f"conditional must have shape (n={t.shape[0]}, m, d={t.shape[1]}), "
                         f"got {tuple(conditional.shape)}")
    h_cond = mixture_entropy_mc(conditional, beta, n_mc, seed + 1, max_elements)
    return h_t - float(h_cond.mean())


def mixture_entropy_quadrature(centres: np.ndarray, beta: float) -> float:
    """Entropy (bits) of a one-dimensional equal-weight mixture of N(c_k, beta²), by quadrature.

    The reference the SP estimator is checked against (Goldfeld et al. 2019, section 4:
    the single noisy neuron, whose I(X;T) is computed by numerical integration).
    ``scipy.integrate.quad`` integrates -g log2 g piecewise between the centres over the
    range where g exceeds 1e-300 (12 standard deviations beyond the outermost centres).
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    c, counts = np.unique(np.asarray(centres, dtype=np.float64).ravel(), return_counts=True)
    if c.size == 0:
        raise ValueError("need at least one centre")
    weights = counts / counts.sum()

    scale = weights / (beta * math.sqrt(2.0 * math.pi))

    def integrand(t: float) -> float:
        g = float(scale @ np.exp(-0.5 * ((t - c) / beta) ** 2))
        return -g * math.log2(g) if g > 0 else 0.0

    knots = np.concatenate([[c[0] - 12 * beta], c, [c[-1] + 12 * beta]])
    return float(sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-10)[0]
                     for a, b in zip(knots[:-1], knots[1:]) if b > a))
