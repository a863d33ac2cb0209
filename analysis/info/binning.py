"""Binning estimates of I(X;T) and I(T;Y) for deterministic layers.

A layer's output T = h(X) is discretised unit by unit, and every input pattern gets the
tuple of its units' bins as its code. With X uniform over n distinct patterns and T a
function of X, I(X;T) = H(Bin(T)), the entropy of the codes (Shwartz-Ziv & Tishby 2017,
section 3.2; Goldfeld et al. 2019, section 5 explain why this measures clustering, not
information). I(T;Y) follows through the Markov chain Y -> X -> T:
p(y|t) = mean of p(y|x) over the patterns x in bin t.

Estimates are vectorised over any leading dimensions (members, epochs, ...): codes of a
row are packed into one integer and each group's distinct keys are counted in a hash
table by a compiled kernel (:mod:`analysis.info.code_counts`); for edge bins the binning
happens in the same pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from .code_counts import binned_entropies, count_entropies, row_code_entropies
from .discrete import entropy_bits


class BinScheme(Protocol):
    """Maps activations of shape (..., n, d) to integer bin codes of the same shape."""

    def codes(self, t: torch.Tensor) -> torch.Tensor: ...


def _n_codes(bins: BinScheme) -> int | None:
    """The number of distinct codes a scheme can produce, when it is fixed in advance."""
    return getattr(bins, "n_codes", None)


@dataclass(frozen=True)
class EdgeBins:
    """Bins between sorted edges, with ``np.digitize`` semantics.

    Code i means edges[i-1] <= t < edges[i]; values below the first edge get 0 and values
    at or above the last edge get ``len(edges)``.
    """

    edges: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.edges) < 1 or np.any(np.diff(self.edges) <= 0):
            raise ValueError("edges must be a non-empty, strictly increasing sequence")

    @property
    def n_codes(self) -> int:
        return len(self.edges) + 1

    @property
    def uniform(self) -> bool:
        """Whether the edges are equally spaced (then bins are located by arithmetic)."""
        steps = np.diff(self.edges)
        return len(self.edges) >= 3 and bool(np.allclose(steps, steps[0], rtol=1e-9, atol=0))

    def codes(self, t: torch.Tensor) -> torch.Tensor:
        edges = torch.tensor(self.edges, dtype=torch.float64, device=t.device)
        return torch.bucketize(t.double().contiguous(), edges, right=True)


def original_bins(n_edges: int = 30, low: float = -1.0, high: float = 1.0) -> EdgeBins:
    """The bins of the code of Shwartz-Ziv & Tishby (2017): ``np.linspace(-1, 1, 30)``."""
    return EdgeBins(tuple(np.linspace(low, high, n_edges)))


def tanh_spaced_bins(n_edges: int = 30, extent: float = 50.0) -> EdgeBins:
    """Edges at tanh(linspace(-extent, extent, n_edges)), fine near +-1 (Saxe et al. 2018).

    Spacing the edges like the activation itself undoes saturation: a unit driven further
    into the tail still changes bin. Edges that round to the same float (tanh(x) = 1.0 for
    large x) are merged, so there can be fewer than ``n_edges``.
    """
    return EdgeBins(tuple(np.unique(np.tanh(np.linspace(-extent, extent, n_edges)))))


@dataclass(frozen=True)
class MachinePrecisionBins:
    """Every distinct floating-point value is its own bin, in the tensor's own precision.

    Codes are the values' bit patterns (as int64), equal exactly when the values are
    (+0.0 and -0.0 are one value). The resolution is that of the input's dtype: float64
    activations keep values that float32 would round together (near tanh's +-1 float32
    steps by 6e-8), so pass float64 to approach exact arithmetic. With it a deterministic
    network keeps I(X;T) = log2 n for any injective layer: binning at machine precision
    shows that compression in the plane comes from the bin size, not from the network
    (Saxe et al. 2018; Goldfeld et al. 2019).
    """

    def codes(self, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t)
        if not t.is_floating_point():
            t = t.double()
        t = (t + 0.0).contiguous()                      # + 0.0: -0.0 becomes +0.0
        same_size = {8: torch.int64, 4: torch.int32, 2: torch.int16}[t.element_size()]
        return t.view(same_size).long()


@dataclass(frozen=True)
class FixedWidthBins:
    """Bins of a fixed width: code = floor(t / size), as in the code of Saxe et al. (2018)."""

    size: float

    def __post_init__(self) -> None:
        if not self.size > 0:
            raise ValueError(f"bin size must be > 0, got {self.size}")

    def codes(self, t: torch.Tensor) -> torch.Tensor:
        return torch.floor(t.double() / self.size).long()


@dataclass(frozen=True)
class RangeBins:
    """``n_bins`` equal-width bins between ``low`` and ``high``.

    Saxe et al. (2018) bin unbounded (ReLU) units into 100 bins between the minimum and
    maximum activation over all of training: pass those as ``low`` and ``high``. When
    they are None, each group (each leading index) uses its own minimum and maximum.
    Values outside [low, high] go to the end bins.
    """

    n_bins: int
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {self.n_bins}")
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high, or neither")
        if self.low is not None and not self.high > self.low:
            raise ValueError(f"need high > low, got [{self.low}, {self.high}]")

    def codes(self, t: torch.Tensor) -> torch.Tensor:
        t = t.double()
        if self.low is None:
            flat = t.flatten(-2)
            lo = flat.amin(-1)[..., None, None]
            width = (flat.amax(-1)[..., None, None] - lo).clamp_min(1e-300)
        else:
            lo, width = self.low, self.high - self.low
        return ((t - lo) / width * self.n_bins).floor().clamp(0, self.n_bins - 1).long()


@dataclass(frozen=True)
class QuantileBins:
    """Adaptive bins holding equal numbers of values (equal mass).

    Edges are the quantiles of all of a layer's values (all units, all patterns) in each
    group, so every bin receives about the same share of activations (Chelombiev et al.
    2019; used by Saxe et al. 2018 as a check).
    """

    n_bins: int

    def __post_init__(self) -> None:
        if self.n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {self.n_bins}")

    def codes(self, t: torch.Tensor) -> torch.Tensor:
        t = t.double()
        flat = t.flatten(-2)
        lead = flat.shape[:-1]
        flat = flat.reshape(-1, flat.shape[-1])
        qs = torch.linspace(0, 1, self.n_bins + 1, dtype=t.dtype, device=t.device)[1:-1]
        edges = torch.quantile(flat, qs, dim=1).T.contiguous()
        code = torch.searchsorted(edges, flat.contiguous(), right=True)
        return code.reshape(*lead, *t.shape[-2:])


def _row_keys(codes: torch.Tensor, n_codes: int | None = None) -> torch.Tensor | None:
    """One int64 per row that is equal exactly when the rows' codes are; None if too wide.

    ``n_codes``, when given, promises codes in [0, n_codes) and saves a pass over the data.
    """
    if n_codes is None:
        lo = int(codes.min())
        radix = int(codes.max()) - lo + 1
        codes = codes - lo
    else:
        radix = n_codes
    d = codes.shape[-1]
    if d * math.log2(max(radix, 2)) >= 63:
        return None
    powers = radix ** torch.arange(d, dtype=torch.long, device=codes.device)
    return (codes * powers).sum(-1)


def row_ids(codes: torch.Tensor) -> torch.Tensor:
    """Dense ids (0, 1, ...) of equal rows of codes within each group; shape ``codes.shape[:-1]``.

    Rows too wide to pack into one integer are folded a few units at a time: the running
    id of a row (first its group) is combined with the packed codes of the next units
    and replaced by its rank among all such keys, which stays below groups x rows. Keys
    sort by group first, so every group's ids form one block, shifted to start at 0.
    """
    lead, (n, d) = codes.shape[:-2], codes.shape[-2:]
    flat = codes.reshape(-1, n, d).long()
    flat = flat - flat.amin()
    ids = torch.arange(flat.shape[0], device=flat.device)[:, None].expand(-1, n)
    id_bits = math.ceil(math.log2(flat.shape[0] * n + 1))
    radix = int(flat.amax()) + 1
    if math.log2(max(radix, 2)) > 62 - id_bits:
        flat = torch.stack([torch.unique(flat[..., j], return_inverse=True)[1]
                            for j in range(d)], dim=-1)
        radix = int(flat.amax()) + 1
    per = max(1, int((62 - id_bits) // math.log2(max(radix, 2))))
    for start in range(0, d, per):
        chunk = flat[..., start:start + per]
        powers = radix ** torch.arange(chunk.shape[-1], dtype=torch.long, device=flat.device)
        key = ids * radix ** chunk.shape[-1] + (chunk * powers).sum(-1)
        ids = torch.unique(key, return_inverse=True)[1]
    return (ids - ids.amin(dim=1, keepdim=True)).reshape(*lead, n)


def _label_rows(p_y_given_x: np.ndarray | torch.Tensor, n: int) -> np.ndarray:
    """p(y|x) as contiguous float64, checked to hold one row per input."""
    pyx = np.ascontiguousarray(p_y_given_x, dtype=np.float64)
    if pyx.shape[0] != n:
        raise ValueError(f"p_y_given_x has {pyx.shape[0]} rows for {n} inputs")
    return pyx


def entropy_of_codes(codes: torch.Tensor, p_y_given_x: np.ndarray | torch.Tensor,
                     n_codes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """H(T) and H(Y|T) in bits of discrete codes of equiprobable inputs.

    Parameters
    ----------
    codes : Tensor of int, shape (..., n, d)
        Bin codes of every input's d units.
    p_y_given_x : array, shape (n, n_classes)
        Conditional label distribution of every input.
    n_codes : int, optional
        Codes are known to lie in [0, n_codes).

    Returns
    -------
    h_t, h_y_given_t : ndarray of shape ``codes.shape[:-2]``
    """
    lead, (n, d) = codes.shape[:-2], codes.shape[-2:]
    pyx = _label_rows(p_y_given_x, n)
    keys = _row_keys(codes, n_codes)
    if keys is None:    # rows too wide to pack: hash them and compare them code by code
        rows = np.ascontiguousarray(codes.reshape(-1, n, d).cpu().numpy(), dtype=np.int64)
        h_t, h_y_t = row_code_entropies(rows, pyx)
    else:
        h_t, h_y_t = count_entropies(np.ascontiguousarray(keys.reshape(-1, n).cpu().numpy()),
                                     pyx)
    return h_t.reshape(lead), h_y_t.reshape(lead)


def binned_mutual_information(
    activations: torch.Tensor | np.ndarray,
    p_y_given_x: np.ndarray,
    bins: BinScheme | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """I(X;T) and I(T;Y) in bits of deterministic layers over equiprobable inputs.

    With X uniform over n distinct patterns, I(X;T) = H(Bin(T)); I(T;Y) = H(Y) - H(Y|T)
    with p(y|t) the mean of p(y|x) over the patterns in bin t.

    Parameters
    ----------
    activations : array, shape (..., n, d)
        A layer's output for every one of the n inputs; leading dimensions (members,
        epochs, ...) are estimated independently.
    p_y_given_x : array, shape (n, n_classes)
        The label distribution of every input (one-hot for deterministic labels).
    bins : BinScheme
        How units are discretised; default :func:`original_bins` (30 edges on [-1, 1]).

    Returns
    -------
    i_xt, i_ty : ndarray of shape ``activations.shape[:-2]``

    References
    ----------
    Shwartz-Ziv & Tishby (2017), section 3.2 and their code (``calc_information``);
    Goldfeld et al. (2019), section 5.
    """
    t = torch.as_tensor(activations)
    bins = original_bins() if bins is None else bins
    pyx = _label_rows(p_y_given_x, t.shape[-2])
    if isinstance(bins, EdgeBins) and t.shape[-1] * math.log2(bins.n_codes) < 63:
        lead = t.shape[:-2]
        act = t.detach().cpu().reshape(-1, *t.shape[-2:]).numpy()
        h_t, h_y_t = binned_entropies(act, np.asarray(bins.edges, dtype=np.float64),
                                      bins.uniform, pyx)
        h_t, h_y_t = h_t.reshape(lead), h_y_t.reshape(lead)
    else:
        h_t, h_y_t = entropy_of_codes(bins.codes(t), pyx, _n_codes(bins))
    return h_t, entropy_bits(pyx.mean(axis=0)) - h_y_t


def binned_mutual_information_reference(activations: np.ndarray, p_y_given_x: np.ndarray,
                                        edges: np.ndarray) -> tuple[float, float]:
    """I(X;T) and I(T;Y) of one layer by the original code's algorithm (slow; a reference).

    Digitise, view every row of codes as one void scalar, ``np.unique`` them, and average
    p(y|x) per distinct row: what the code of Shwartz-Ziv & Tishby (2017) does for one
    layer of one network at one epoch. Tests and benchmarks compare
    :func:`binned_mutual_information` against it.

    Parameters
    ----------
    activations : ndarray, shape (n, d)
    p_y_given_x : ndarray, shape (n, n_classes)
    edges : ndarray
        Bin edges, ``np.digitize`` semantics.
    """
    digitized = np.digitize(activations, edges)
    rows = np.ascontiguousarray(digitized).view(
        np.dtype((np.void, digitized.dtype.itemsize * digitized.shape[1])))
    _, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    p_t = counts / len(activations)
    q = np.stack([np.bincount(inverse, weights=p_y_given_x[:, c])
                  for c in range(p_y_given_x.shape[1])], axis=1) / counts[:, None]
    h_y_t = p_t @ entropy_bits(q, axis=1)
    return float(entropy_bits(p_t)), float(entropy_bits(p_y_given_x.mean(0)) - h_y_t)
