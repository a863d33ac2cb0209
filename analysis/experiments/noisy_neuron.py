"""Chapter 11: the sample-propagation estimator, and compression in a single noisy neuron.

Goldfeld et al. (2019), section 4: X is uniform on {-3, -1, 1, 3} and T = tanh(w X + b) + Z
with Z ~ N(0, beta²). I(X;T) = h(T) - h(Z), where T is a mixture of four Gaussians centred
at tanh(w x + b). As w grows from 0 the four centres move apart and I(X;T) rises towards
log2 4 = 2 bits; as tanh saturates, tanh(w) and tanh(3w) (and their negatives) merge
within the noise and I(X;T) falls towards 1 bit: "compression" is the clustering of the
centres at the scale of the noise.

The chapter also puts the SP estimator (:mod:`analysis.info.sp`) to the test of the
paper's section 3: its Monte Carlo error against the draws per sample n_MC (against
quadrature), its error against the sample size n (against the closed-form entropy of a
uniform law on a cube smoothed by the noise, compared with the rate of the paper's
bound), and, for comparison, the KDE bounds and the kNN estimate on the same samples of
a tanh layer.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import integrate
from scipy.special import ndtr

from .. import stats
from ..claims import Claim
from ..info.kde import gaussian_noise_entropy, kde_mutual_information_many
from ..info.knn import knn_entropy
from ..info.sp import mixture_entropy_mc, mixture_entropy_quadrature, sp_mutual_information

SOURCE = "Goldfeld et al. 2019"
INPUTS = (-3.0, -1.0, 1.0, 3.0)
"""The four equiprobable inputs of the single-neuron example."""


def neuron_centres(weights: Sequence[float], bias: float = 0.0,
                   inputs: Sequence[float] = INPUTS) -> np.ndarray:
    """tanh(w x + b) for every weight (rows) and input (columns), float64."""
    return np.tanh(np.outer(np.asarray(weights, dtype=np.float64), inputs) + bias)


def exact_curve(weights: Sequence[float], beta: float, bias: float = 0.0,
                inputs: Sequence[float] = INPUTS) -> np.ndarray:
    """I(X;T) in bits for each weight, by quadrature of h(T) (minus h(Z) in closed form)."""
    noise = gaussian_noise_entropy(1, beta**2)
    return np.array([mixture_entropy_quadrature(c, beta) - noise
                     for c in neuron_centres(weights, bias, inputs)])


def sp_curve(weights: Sequence[float], beta: float, bias: float = 0.0, n_mc: int = 1000,
             seed: int = 0, inputs: Sequence[float] = INPUTS) -> np.ndarray:
    """I(X;T) in bits for each weight by the SP estimator (all weights in one batched call)."""
    centres = torch.as_tensor(neuron_centres(weights, bias, inputs))[..., None]
    h = mixture_entropy_mc(centres, beta, n_mc=n_mc, seed=seed).numpy()
    return h - gaussian_noise_entropy(1, beta**2)


def mc_errors(weight: float, beta: float, n_mcs: Sequence[int], repeats: int = 40,
              bias: float = 0.0, seed: int = 0) -> np.ndarray:
    """Errors (bits) of the SP estimate of I(X;T) at one weight against quadrature.

    Returns an array of shape (repeats, len(n_mcs)): column j holds ``repeats``
    independent estimates with ``n_mcs[j]`` noise draws per centre, minus the exact value.
    """
    exact = exact_curve([weight], beta, bias)[0]
    centres = torch.as_tensor(neuron_centres([weight] * repeats, bias))[..., None]
    noise = gaussian_noise_entropy(1, beta**2)
    return np.stack([mixture_entropy_mc(centres, beta, n_mc=k, seed=seed + j).numpy()
                     - noise - exact for j, k in enumerate(n_mcs)], axis=1)


def rms(errors: np.ndarray) -> np.ndarray:
    """Root mean square over the repeats (axis 0)."""
    return np.sqrt(np.mean(np.square(errors), axis=0))


def log_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def uniform_smoothed_entropy(beta: float) -> float:
    """h(U + Z) in bits for U uniform on [-1, 1] and Z ~ N(0, beta²), by quadrature.

    The density is (Phi((t + 1) / beta) - Phi((t - 1) / beta)) / 2. For U uniform on the
    cube [-1, 1]^d and Z ~ N(0, beta² I) the coordinates are independent, so
    h(U + Z) = d times this value.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")

    def integrand(t: float) -> float:
        g = 0.5 * (ndtr((t + 1.0) / beta) - ndtr((t - 1.0) / beta))
        return -g * math.log2(g) if g > 0 else 0.0

    knots = (-1.0 - 12 * beta, -1.0, 1.0, 1.0 + 12 * beta)
    return float(sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-12)[0]
                     for a, b in zip(knots[:-1], knots[1:])))


def sample_size_errors(dim: int, beta: float, sizes: Sequence[int], repeats: int = 30,
                       n_mc: int = 10, seed: int = 0) -> np.ndarray:
    """Errors (bits) of the SP entropy h(P_n * N) against h(P * N), per sample size n.

    P is uniform on [-1, 1]^dim (a saturating layer's range), P_n the empirical law of n
    independent samples of P, N = N(0, beta² I); the SP estimator evaluates h(P_n * N)
    by Monte Carlo with ``n_mc`` draws per sample (Goldfeld et al. 2019, section 3).
    Returns shape (repeats, len(sizes)): independent samples and noise draws in every
    entry, minus the exact dim * :func:`uniform_smoothed_entropy`.
    """
    exact = dim * uniform_smoothed_entropy(beta)
    rng = np.random.default_rng(seed)
    out = np.empty((repeats, len(sizes)))
    for j, n in enumerate(sizes):
        samples = torch.as_tensor(rng.uniform(-1.0, 1.0, size=(repeats, n, dim)))
        out[:, j] = mixture_entropy_mc(samples, beta, n_mc=n_mc, seed=seed + j).numpy() - exact
    return out


def bound_slope(sizes: Sequence[int], dim: int) -> float:
    """Slope of log((log n)^(dim/4) / sqrt(n)) against log n over ``sizes``: the rate of
    Goldfeld et al.'s bound on the SP estimator's error (section 3) over the
    same range of n. At least as steep a fall meets the bound's rate."""
    n = np.asarray(sizes, dtype=float)
    return log_slope(n, np.log(n) ** (dim / 4) / np.sqrt(n))


def random_tanh_layer(n_inputs: int = 512, n_bits: int = 12, width: int = 3, gain: float = 3.0,
                      seed: int = 0) -> np.ndarray:
    """S = tanh(W x) for ``n_inputs`` distinct random ±1 patterns, W ~ N(0, gain²/n_bits).

    A stand-in for a trained hidden layer: distinct inputs, some of them mapped close
    together by saturation. Shape (n_inputs, width), float64.
    """
    rng = np.random.default_rng(seed)
    codes = rng.choice(2**n_bits, size=n_inputs, replace=False)
    x = 2.0 * ((codes[:, None] >> np.arange(n_bits)) & 1) - 1.0
    w = rng.normal(0.0, gain / np.sqrt(n_bits), size=(n_bits, width))
    return np.tanh(x @ w)


def estimator_comparison(s: np.ndarray, betas: Sequence[float], n_mc: int = 20,
                         knn_draws: int = 8, k: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """I(X;T) in bits for T = S + N(0, beta² I), X uniform over the rows of S, per beta.

    Returns
    -------
    dict with ``sp`` (sample propagation), ``kde_upper`` and ``kde_lower`` (the KL and
    Bhattacharyya bounds of Kolchinsky & Tracey 2017, which bracket the same mixture
    entropy) and ``knn`` (Kraskov k-NN entropy of ``knn_draws`` noisy samples per row,
    minus h(Z)), each of shape (len(betas),).
    """
    s = np.asarray(s, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out = {key: np.zeros(len(betas)) for key in ("sp", "kde_upper", "kde_lower", "knn")}
    kde = kde_mutual_information_many(s, [b**2 for b in betas])
    for i, beta in enumerate(betas):
        out["sp"][i] = sp_mutual_information(torch.as_tensor(s), beta, n_mc=n_mc, seed=seed)
        out["kde_upper"][i] = kde[i]["i_xt_upper"]
        out["kde_lower"][i] = kde[i]["i_xt_lower"]
        t = np.repeat(s, knn_draws, axis=0) + beta * rng.standard_normal(
            (len(s) * knn_draws, s.shape[1]))
        out["knn"][i] = knn_entropy(t, k) - gaussian_noise_entropy(s.shape[1], beta**2)
    return out


MC_SLOPE_TOLERANCE = 0.1
"""|slope + 1/2| of the Monte Carlo error against n_MC for "falls as 1/sqrt(n_MC)"."""
PEAK_BITS = 1.8
"""A peak of at least this many bits is "about 2 bits" (four separated clusters)."""
LIMIT_TOLERANCE = 0.05
"""|I(X;T) - 1| at the largest weight, in bits, for "falls to about 1 bit"."""


def curve_claims(weights: np.ndarray, exact: dict[float, np.ndarray]) -> list[Claim]:
    """The verdicts on the single neuron, per beta: a rise to about 2 bits, compression
    (the book's criterion along the weight), and a limit of 1 bit.

    ``exact`` maps beta to the I(X;T) curve over ``weights`` (quadrature: exact to 1e-9).
    """
    rows = []
    span = f"w in [{weights[0]:g}, {weights[-1]:g}]"
    for beta, curve in exact.items():
        fall = stats.relative_fall(np.asarray(curve)[None, :, None])
        rows += [
            Claim.test(f"{SOURCE}, section 4",
                       f"beta = {beta:g}: as w grows, I(X;T) first rises to about 2 bits "
                       "(four separated clusters).",
                       f"peak of I(X;T) over {span} (bits)",
                       float(np.max(curve)), ">=", PEAK_BITS),
            Claim.test(f"{SOURCE}, section 4",
                       f"beta = {beta:g}: then, as tanh saturates, I(X;T) compresses.",
                       f"fall of I(X;T) from its peak to w = {weights[-1]:g}, share of the peak",
                       float(fall.fall[0]), ">=", stats.COMPRESSION,
                       untestable="I(X;T) peaks at the smallest weight"
                       if fall.at_start[0] else None),
            Claim.test(f"{SOURCE}, section 4",
                       f"beta = {beta:g}: the clusters merge in pairs and I(X;T) falls to "
                       "about 1 bit.",
                       f"|I(X;T) at w = {weights[-1]:g} - 1| (bits)",
                       float(abs(curve[-1] - 1.0)), "<=", LIMIT_TOLERANCE, digits=3),
        ]
    return rows


def validation_claims(n_mcs: Sequence[int], mc_err: np.ndarray, sizes: Sequence[int],
                      size_err: dict[int, np.ndarray], beta: float) -> list[Claim]:
    """The verdicts on the SP estimator: its Monte Carlo error falls as 1/sqrt(n_MC), and
    its error against the sample size n at least at the rate of the paper's bound.

    ``mc_err`` is :func:`mc_errors` (repeats, n_mcs); ``size_err`` maps a dimension to
    :func:`sample_size_errors` (repeats, sizes). Intervals: bootstrap over the repeats
    (the Monte Carlo noise).
    """
    repeats = mc_err.shape[0]

    def mc_gap(e: np.ndarray) -> float:
        return abs(log_slope(n_mcs, rms(e)) + 0.5)

    rows = [Claim.test(
        f"{SOURCE}, section 3",
        "The Monte Carlo error of the SP estimator falls as 1/sqrt(n_MC).",
        "|slope of log RMS error against log n_MC + 1/2|",
        mc_gap(mc_err), "<=", MC_SLOPE_TOLERANCE,
        interval=tuple(map(float, stats.bootstrap(mc_gap, mc_err))),
        over=f"bootstrap over {repeats} Monte Carlo repeats", digits=3)]
    for dim, err in size_err.items():
        def slope(e: np.ndarray) -> float:
            return log_slope(sizes, rms(e))

        rows.append(Claim.test(
            f"{SOURCE}, section 3",
            f"d = {dim}, beta = {beta:g}: the SP estimator's error falls with the sample "
            "size n at the rate (log n)^(d/4) / sqrt(n) or faster.",
            f"slope of log RMS error against log n, n from {min(sizes)} to {max(sizes)} "
            "(threshold: the bound's slope over the same n)",
            slope(err), "<=", round(bound_slope(sizes, dim), 2),
            interval=tuple(map(float, stats.bootstrap(slope, err))),
            over=f"bootstrap over {err.shape[0]} repeats"))
    return rows
