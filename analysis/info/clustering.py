"""Measures of how the representations of the inputs cluster (Goldfeld et al. 2019, section 5).

Goldfeld et al. explain the compression of I(X;T) in noisy networks, and the fall of the
binned I(X;T) in deterministic ones, by the clustering of the representations T of
different inputs at the scale of the noise (or of the bins). These functions measure that
clustering for every member of an ensemble: the spread of same-class representations
relative to the distance between classes, the silhouette score of the class labels, the
number of clusters at a given scale, and the entropy of the binned representation.
All take ``t`` of shape (..., n, d): leading dimensions (e.g. ensemble members) are
independent sets of n representations.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import silhouette_score

from .discrete import entropy_bits


def _sets(t: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, tuple[int, ...]]:
    t = torch.as_tensor(t, dtype=torch.float64)
    if t.dim() < 2:
        raise ValueError(f"representations must have shape (..., n, d), got {tuple(t.shape)}")
    return t.reshape(-1, *t.shape[-2:]), tuple(t.shape[:-2])


def _class_index(labels: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"need one label per representation ({n}), got shape {labels.shape}")
    if len(np.unique(labels)) < 2:
        raise ValueError("clustering by class needs at least two classes")
    return labels


def distance_ratio(t: torch.Tensor | np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean distance between same-class representations over that between classes.

    1 when classes are mixed at random, 0 when every class collapses to a point apart
    from the others. Pairs of a representation with itself are excluded.

    Returns
    -------
    ndarray of shape (...) (the leading dimensions of ``t``).
    """
    sets, lead = _sets(t)
    labels = _class_index(labels, sets.shape[1])
    y = torch.as_tensor(labels)
    same = y[:, None] == y[None, :]
    same.fill_diagonal_(False)
    other = y[:, None] != y[None, :]
    out = np.empty(len(sets))
    for k, s in enumerate(sets):
        dist = torch.cdist(s, s)
        out[k] = float(dist[same].mean() / dist[other].mean())
    return out.reshape(lead)


def silhouette(t: torch.Tensor | np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Silhouette score of the class labels (scikit-learn), per set of representations.

    Near 1 when classes form tight, well-separated clusters, near 0 when they overlap.
    Sets whose points all coincide score 0.
    """
    sets, lead = _sets(t)
    labels = _class_index(labels, sets.shape[1])
    out = np.zeros(len(sets))
    for k, s in enumerate(sets.numpy()):
        if np.ptp(s, axis=0).max() > 0:
            out[k] = silhouette_score(s, labels)
    return out.reshape(lead)


def clusters_at_scale(t: torch.Tensor | np.ndarray, scale: float) -> np.ndarray:
    """Number of clusters: connected components of the graph joining points within ``scale``.

    Representations closer than the noise (or the bin width) cannot be told apart; the
    base-2 logarithm of this count is the information the layer can carry about which
    cluster an input fell in (Goldfeld et al. 2019, section 4).
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    sets, lead = _sets(t)
    out = np.empty(len(sets), dtype=np.int64)
    for k, s in enumerate(sets):
        adjacency = (torch.cdist(s, s) <= scale).numpy()
        out[k] = connected_components(adjacency, directed=False)[0]
    return out.reshape(lead)


def binned_entropy(t: torch.Tensor | np.ndarray, edges: np.ndarray) -> np.ndarray:
    """H(Bin(T)) in bits, the entropy of the binned representations of equiprobable inputs.

    Each coordinate is binned with ``np.digitize`` semantics and distinct rows are
    counted with ``np.unique``: an independent computation of what the binned I(X;T) of a
    deterministic network must equal (Goldfeld et al. 2019, section 5.2).
    """
    sets, lead = _sets(t)
    out = np.empty(len(sets))
    for k, s in enumerate(sets.numpy()):
        _, counts = np.unique(np.digitize(s, edges), axis=0, return_counts=True)
        out[k] = entropy_bits(counts)
    return out.reshape(lead)
