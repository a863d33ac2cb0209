"""The sample-propagation (SP) estimator of information in noisy networks (Goldfeld et al. 2019).

In a noisy network every layer adds Gaussian noise, T = S + Z with Z ~ N(0, beta² I) and
S = f(T_prev) a deterministic function of the previous (noisy) layer. With X uniform over
n inputs, T is the equal-weight Gaussian mixture centred at samples of S, and its
differential entropy

    h(T) = -E log g(T),   g(t) = (1/n) sum_k N(t; s_k, beta² I),

is estimated by Monte Carlo integration: draw ``n_mc`` noise vectors per centre, evaluate
the mixture density at s_i + z_ij with a log-sum-exp over all centres, and average
(Goldfeld et al. 2019, section 3, Eq. 7). The estimate is unbiased for the entropy of the
mixture of the given samples; its Monte Carlo error falls as 1/sqrt(n n_mc), and the
fluctuation of each draw's own noise, which grows with the width d, is removed exactly
(a control variate, see :func:`mixture_entropy_mc`).

I(X;T) itself (:func:`sp_information`) is estimated in one pass as the mean of
log p(t|x) - log p(t), where p(t|x_i) is the mixture centred at m samples of S obtained by
feeding x_i through the noisy network repeatedly (m = 1 in the first layer, where S is a
function of X) and p(t) the mixture of all of them. All values are in bits.

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


def _check(beta: float, n_mc: int) -> None:
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if n_mc < 1:
        raise ValueError(f"n_mc must be >= 1, got {n_mc}")


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

    Notes
    -----
    With q = c_i + beta z a draw from component i,

        h = -E log g(q) = h(N(0, beta² I)) - E[log g(q) - log phi(beta z)],

    where phi is the noise density, whose entropy is known in closed form. Averaging the
    difference rather than log g(q) itself removes the chi-square fluctuation of |z|²,
    whose variance d/2 (nats²) per draw would otherwise dominate the Monte Carlo error in
    wide layers; the estimate keeps the same expectation. For well-separated centres the
    difference is -log n at every draw, and the estimate is exact.

    References
    ----------
    Goldfeld et al. (2019), section 3 ("sample propagation" estimator), Eq. 7.
    """
    _check(beta, n_mc)
    c = torch.as_tensor(centres)
    if c.dim() < 2:
        raise ValueError(f"centres must have shape (..., n, d), got {tuple(c.shape)}")
    lead, (n, d) = c.shape[:-2], c.shape[-2:]
    c = c.reshape(-1, n, d).to(torch.float64)
    c = c - c.mean(dim=1, keepdim=True)       # smaller norms: less cancellation below
    gen = torch.Generator(device=c.device).manual_seed(int(seed))
    noise = torch.randn(c.shape[0], n_mc, n, d, generator=gen, dtype=c.dtype, device=c.device)
    queries = (c[:, None] + beta * noise).reshape(c.shape[0], n_mc * n, d)
    half_z2 = (noise * noise).sum(-1).reshape(c.shape[0], n_mc * n) / 2.0
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
        # log g(q) - log phi(q - c_i): the log-density of the query's own noise, whose
        # mean is known exactly, is taken out (a control variate; see the docstring)
        total += (log_sum - (q * q).sum(-1) / (2.0 * beta**2)
                  + half_z2[:, start:start + rows]).sum(-1)
    excess = total / queries.shape[1] - math.log(n)
    return (gaussian_noise_entropy(d, beta**2) - excess / LN2).reshape(lead)


def sp_information(samples: torch.Tensor, beta: float, n_mc: int = 10, seed: int = 0,
                   max_elements: int = 2**24) -> torch.Tensor:
    """I(X;T) in bits for T = S + N(0, beta² I), X uniform over n inputs, from samples of S.

    Parameters
    ----------
    samples : Tensor, shape (..., n, m, d)
        For each of the n inputs, m samples of S given that input (noisy passes through
        the earlier layers; m = 1 where S is a function of X). Leading dimensions index
        independent estimates.
    beta : float
        Noise standard deviation of the layer.
    n_mc : int
        Noise draws per input; draw j of input i starts from its sample j mod m.
    seed, max_elements
        As in :func:`mixture_entropy_mc`.

    Returns
    -------
    Tensor, shape (...), float64.

    Notes
    -----
    The densities are the Gaussian mixtures of the samples (Goldfeld et al. 2019, section
    3): p(t|x_i) = (1/m) sum_k N(t; s_ik, beta² I) and p(t) = (1/n) sum_i p(t|x_i), the
    mixture of all n m samples. Then

        I(X;T) = E_i E_(t ~ p(.|x_i)) [log p(t|x_i) - log p(t)],

    averaged over draws t = s_ik + beta z. Each draw's value lies in [log n - log(n m)
    + log m, log n] = (-inf, log n]; the Gaussian normalisations and |t|² cancel between
    the two densities, so the estimate carries no chi-square noise however wide the
    layer. Taking p(t) as the mixture of all n m samples keeps the estimate consistent
    with p(t|x): with one sample per input in p(t) and m in p(t|x), well-separated samples
    would give log n - log m instead of log n.
    """
    _check(beta, n_mc)
    c = torch.as_tensor(samples)
    if c.dim() < 3:
        raise ValueError(f"samples must have shape (..., n, m, d), got {tuple(c.shape)}")
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
    scaled = flat.transpose(1, 2) / beta**2                                   # (G, d, N)
    offset = (-(flat * flat).sum(-1) / (2.0 * beta**2))[:, None, :]          # (G, 1, N)
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


def sp_mutual_information(t: torch.Tensor, beta: float, conditional: torch.Tensor | None = None,
                          n_mc: int = 10, seed: int = 0, max_elements: int = 2**24) -> float:
    """I(X;T) in bits for one noisy layer T = S + N(0, beta² I), X uniform over n inputs.

    Parameters
    ----------
    t : Tensor, shape (n, d)
        S for each input, where S is a function of X (the first layer).
    beta : float
        Noise standard deviation of the layer.
    conditional : Tensor, shape (n, m, d), optional
        For a deeper layer, m samples of S per input from repeated noisy passes through
        the earlier layers; they then define both p(t|x) and p(t) (see
        :func:`sp_information`), and ``t`` only fixes the shapes.
    n_mc, seed, max_elements
        As in :func:`sp_information`.

    References
    ----------
    Goldfeld et al. (2019), section 3, Eqs. 6-7.
    """
    t = torch.as_tensor(t)
    if conditional is None:
        return float(sp_information(t[:, None], beta, n_mc, seed, max_elements))
    conditional = torch.as_tensor(conditional)
    if conditional.dim() != 3 or conditional.shape[0] != t.shape[0] or \
            conditional.shape[2] != t.shape[1]:
        raise ValueError(f"conditional must have shape (n={t.shape[0]}, m, d={t.shape[1]}), "
                         f"got {tuple(conditional.shape)}")
    return float(sp_information(conditional, beta, n_mc, seed, max_elements))


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
