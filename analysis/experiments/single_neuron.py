"""Chapter 7: why saturation compresses — a single neuron, exactly.

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

from ..claims import Claim
from ..info.binning import original_bins
from ..info.discrete import entropy_bits
from ..nets import ACTIVATIONS

SOURCE = "Saxe et al. 2018"
TANH_EDGES = np.asarray(original_bins(30).edges)
"""The 30 edges on [-1, 1] of the original code."""
BIN_WIDTH = float(TANH_EDGES[1] - TANH_EDGES[0])


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
    if activation == "tanh":
        # tanh(x) < 1 for every real x, but float64 rounds it to 1.0 beyond x ~ 19; put
        # those samples back below the edge at 1, where the exact computation has them
        h = np.minimum(h, np.nextafter(1.0, 0.0))
    counts = np.bincount(np.digitize(h, edges))
    return float(entropy_bits(counts[counts > 0]))


def edges_for(activation: str, w_max: float) -> np.ndarray:
    """Bin edges for a single neuron: the original 30 on [-1, 1] for tanh; for unbounded
    units, bins of the same width (2/29) from the smallest to beyond the largest value that
    ``w_max`` X reaches with non-negligible probability (|X| <= 10)."""
    if activation == "tanh":
        return TANH_EDGES
    top = 10.0 * w_max + BIN_WIDTH
    low = 0.0 if activation == "relu" else -top
    return np.arange(low, top, BIN_WIDTH)


def entropy_curve(ws: np.ndarray, activation: str = "tanh") -> np.ndarray:
    """Exact H(Bin(f(w X))) = I(X; Bin(T)) in bits for each weight in ``ws``."""
    edges = edges_for(activation, float(np.max(np.abs(ws))))
    return np.array([binned_entropy_exact(float(w), edges, activation) for w in ws])


def claims(ws: np.ndarray, tanh: np.ndarray, relu: np.ndarray) -> list[Claim]:
    """Chapter 7 (single neuron): the tanh curve peaks near 4.9 bits at w ~ 0.9 and falls
    towards 1 bit; the ReLU curve never falls and keeps growing.

    The curves are exact (the Gaussian CDF), so the rows have no interval; that they agree
    with simulation is a unit test of this module, not a claim.

    Parameters
    ----------
    ws : ndarray
        Increasing weights; the last one should be large (>= 50) for the tanh limit.
    tanh, relu : ndarray
        :func:`entropy_curve` at ``ws`` for each activation.
    """
    peak = int(np.argmax(tanh))
    return [
        Claim.test(f"{SOURCE}, Fig. 2", "tanh: binned I(X;T) peaks at about 4.9 bits ...",
                   "|peak - 4.9| (bits)", abs(tanh[peak] - 4.9), "<=", 0.1),
        Claim.test(f"{SOURCE}, Fig. 2", "... near w = 0.9 ...",
                   "|log2(w at the peak / 0.9)|", abs(np.log2(ws[peak] / 0.9)), "<=", 0.5),
        Claim.test(f"{SOURCE}, Fig. 2", "... and falls towards 1 bit as the neuron saturates.",
                   f"I(X;T) at w = {ws[-1]:g} (bits)", float(tanh[-1]), "<=", 1.1),
        Claim.test(f"{SOURCE}, Fig. 2", "ReLU: binned I(X;T) never falls as w grows.",
                   "largest fall between consecutive weights (bits)",
                   float(max(0.0, -np.diff(relu).min())), "<=", 0.0),
        Claim.test(f"{SOURCE}, Fig. 2", "ReLU: ... and keeps growing.",
                   f"I(X;T) at w = {ws[-1]:g} minus at w = 1 (bits)",
                   float(relu[-1] - np.interp(1.0, ws, relu)), ">", 2.0),
    ]
