"""Chapter 11: the sample-propagation estimator, and compression in a single noisy neuron.

Goldfeld et al. (2019), section 4: X is uniform on {-3, -1, 1, 3} and T = tanh(w X + b) + Z
with Z ~ N(0, beta²). I(X;T) = h(T) - h(Z), where T is a mixture of four Gaussians centred
at tanh(w x + b). As w grows from 0 the four centres move apart and I(X;T) rises towards
log2 4 = 2 bits; as tanh saturates, tanh(w) and tanh(3w) (and their negatives) merge
within the noise and I(X;T) falls towards 1 bit: "compression" is the clustering of the
centres at the scale of the noise.

The chapter also validates the SP estimator (:mod:`analysis.info.sp`): against quadrature
along the whole curve, its Monte Carlo error against 1/sqrt(n_MC), and against the KDE
bounds and the kNN estimate on the same samples of a tanh layer.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

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


def mc_error_curve(weight: float, beta: float, n_mcs: Sequence[int], repeats: int = 40,
                   bias: float = 0.0) -> np.ndarray:
    """Root-mean-square error (bits) of the SP estimate at one weight, per n_MC.

    The error is measured against quadrature over ``repeats`` independent seeds.
    """
    exact = exact_curve([weight], beta, bias)[0]
    return np.array([
        np.sqrt(np.mean([(sp_curve([weight], beta, bias, n_mc, seed)[0] - exact) ** 2
                         for seed in range(repeats)]))
        for n_mc in n_mcs])


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


def curve_claims(weights: np.ndarray, exact: dict[float, np.ndarray],
                 sp: dict[float, np.ndarray]) -> list[Claim]:
    """The verdicts on the single neuron: rise to ~2 bits, fall to ~1 bit, SP = quadrature.

    ``exact`` and ``sp`` map beta to the I(X;T) curve over ``weights``.
    """
    rows = []
    for beta, curve in exact.items():
        rows += [
            Claim.test(f"{SOURCE}, section 4",
                       f"beta = {beta:g}: as w grows, I(X;T) first rises to about 2 bits "
                       "(four separated clusters).",
                       f"peak of I(X;T) over w in [{weights[0]:g}, {weights[-1]:g}] (bits)",
                       float(curve.max()), ">=", 1.8),
            Claim.test(f"{SOURCE}, section 4",
                       f"beta = {beta:g}: saturation then merges the clusters in pairs and "
                       "I(X;T) falls to about 1 bit.",
                       f"|I(X;T) at w = {weights[-1]:g} - 1| (bits)",
                       float(abs(curve[-1] - 1.0)), "<=", 0.05),
        ]
    worst = max(float(np.max(np.abs(sp[b] - exact[b]))) for b in exact)
    rows.append(Claim.test(
        f"{SOURCE}, section 3", "The SP estimator recovers I(X;T) of a noisy neuron.",
        "largest |SP - quadrature| over all w and beta (bits)", worst, "<=", 0.05, digits=3))
    return rows


def validation_claims(n_mcs: Sequence[int], rms: np.ndarray,
                      comparison: dict[str, np.ndarray]) -> list[Claim]:
    """The verdicts on the estimator: error ~ 1/sqrt(n_MC), SP between the KDE bounds."""
    slope = float(np.polyfit(np.log(n_mcs), np.log(rms), 1)[0])
    tol = 0.02
    inside = np.mean((comparison["sp"] >= comparison["kde_lower"] - tol)
                     & (comparison["sp"] <= comparison["kde_upper"] + tol))
    return [
        Claim.test(f"{SOURCE}, section 3",
                   "The Monte Carlo error of the SP estimator falls as 1/sqrt(n_MC).",
                   "slope of log RMS error against log n_MC (-0.5 expected)", slope,
                   "<=", -0.35),
        Claim.test(f"{SOURCE}, section 3",
                   "SP estimates lie between the KDE lower and upper bounds on the same mixture.",
                   f"share of noise levels with lower - {tol:g} <= SP <= upper + {tol:g}",
                   float(inside), ">=", 1.0),
    ]
