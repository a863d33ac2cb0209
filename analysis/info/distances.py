"""Pairwise squared Euclidean distances by one matrix product.

|a - b|² = |a|² + |b|² - 2 a.b turns a distance matrix into one GEMM plus two rank-one
additions, the form scikit-learn's ``euclidean_distances`` and ``torch.cdist`` use for
large sets. Rounding can make the sum slightly negative for coincident points; it is
clamped at 0. Distances are translation invariant, so both sets are first shifted by
the mean of the second: smaller norms, less cancellation (the absolute error of an entry
is about ``eps * (|a|² + |b|²)``, so centred data of spread s err by ~``eps * s²``).
"""
from __future__ import annotations

import numpy as np
import torch


def squared_distances(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray | None = None
                      ) -> torch.Tensor:
    """|a_i - b_j|² for every pair, batched over leading dimensions.

    Parameters
    ----------
    a : array, shape (..., n, d)
    b : array, shape (..., k, d), optional
        Defaults to ``a``; then the diagonal is exactly 0.

    Returns
    -------
    Tensor, shape (..., n, k), float64 (or the inputs' floating dtype), entries >= 0.

    References
    ----------
    scikit-learn ``sklearn.metrics.pairwise.euclidean_distances`` (same formula, clamping
    and zero diagonal).
    """
    a = _as_float(a)
    same = b is None
    b = a if same else _as_float(b)
    if a.dim() < 2 or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"need sets of shape (..., n, d) and (..., k, d) with the same "
                         f"leading dimensions and d, got {tuple(a.shape)} and {tuple(b.shape)}")
    centre = b.mean(dim=-2, keepdim=True)
    a = a - centre
    b = a if same else b - centre
    lead = a.shape[:-2]
    a3, b3 = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    b_norms = (b3 * b3).sum(-1)
    a_norms = b_norms if same else (a3 * a3).sum(-1)
    sq = torch.baddbmm(b_norms[:, None, :], a3, b3.transpose(1, 2), alpha=-2.0)
    sq = sq.add_(a_norms[:, :, None]).clamp_min_(0.0).reshape(*lead, *sq.shape[-2:])
    if same:
        sq.diagonal(dim1=-2, dim2=-1).zero_()
    return sq


def _as_float(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x if x.is_floating_point() else x.to(torch.float64)
