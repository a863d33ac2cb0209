"""Chapter 7 (in progress): why saturation compresses — a single neuron, exactly.

Saxe et al. (2018), section 3: X ~ N(0, 1), h = f(w X), T = Bin(h). Because T is a
deterministic function of X, the binned I(X;T) is H(T), and for a monotone f each bin of
h is an interval of X, so its probability follows from the Gaussian CDF. With tanh and
30 edges on [-1, 1], H(T) first grows with w (the neuron spreads X over more bins) and
then falls towards 1 bit, as saturation pushes almost all mass into the two end bins:
"compression" produced by the nonlinearity and the binning alone. A ReLU never
saturates on the positive side, and H(T) grows without bound.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from ..info.discrete import entropy_bits
from ..nets import ACTIVATIONS


def _below_tanh(e: np.ndarray, w: float) -> np.ndarray:
    inside = np.clip(e, -1.0, 1.0)
    with np.errstate(divide="ignore"):
        z = np.arctanh(inside) / w
    return np.where(e <= -1.0, 0.0, np.where(e > 1.0, 1.0, norm.cdf(z)))


def _below_relu(e: np.ndarray, w: float) -> np.ndarray:
    return np.where(e <= 0.0, 0.0, norm.cdf(e / w))


def _below_linear(e: np.ndarray, w: float) -> np.ndarray:
    return norm.cdf(e / w)


BELOW: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "tanh": _below_tanh, "relu": _below_relu, "linear": _below_linear}
"""P(f(w X) < e) for X ~ N(0, 1) and w > 0, per activation."""


def binned_entropy_exact(w: float, edges: np.ndarray, activation: str = "tanh") -> float:
    """H(Bin(f(w X))) in bits for X ~ N(0, 1), bins with ``np.digitize`` semantics.

    Bin k holds e[k-1] <= f(wX) < e[k], so P(k) = P(f < e[k]) - P(f < e[k-1]), with
    P(f < e[-1]) = 0 and P(f < e[n]) = 1 for the two outer bins. X is symmetric, so the
    sign of w does not matter for tanh and linear units.
    """
    if activation not in BELOW:
        raise ValueError(f"exact single-neuron entropy is available for "
                         f"{', '.join(BELOW)}; got {activation!r}")
    if w == 0:
        return 0.0
    below = BELOW[activation](np.asarray(edges, dtype=np.float64), abs(float(w)))
    p = np.diff(np.concatenate([[0.0], below, [1.0]]))
    return float(entropy_bits(np.clip(p, 0.0, None)))


def binned_entropy_simulated(w: float, edges: np.ndarray, activation: str = "tanh",
                             n: int = 200_000, seed: int = 0) -> float:
    """The same entropy estimated from ``n`` samples of X (a check of the exact value)."""
    import torch

    x = np.random.default_rng(seed).standard_normal(n)
    h = ACTIVATIONS[activation](torch.as_tensor(abs(w) * x, dtype=torch.float64)).numpy()
    counts = np.bincount(np.digitize(h, edges))
    return float(entropy_bits(counts[counts > 0]))
