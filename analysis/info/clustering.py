"""Measures of how the representations of the inputs cluster (Goldfeld et al. 2019, section 5).

Goldfeld et al. explain the compression of I(X;T) in noisy networks, and the fall of the
binned I(X;T) in deterministic ones, by the clustering of the representations T of
different inputs at the scale of the noise (or of the bins). These functions measure that
clustering for every member of an ensemble: the spread of same-class representations
relative to the distance between classes, the silhouette score of the class labels, the
number of clusters at a given scale, and the entropy of the binned representation.
All take ``t`` of shape (..., n, d): leading dimensions (e.g. ensemble members) are
independent sets of n representations.

The distance-based measures work from one matrix of squared pairwise distances per set,
computed for all sets at once by one batched matrix product
(:mod:`analysis.info.distances`); compiled kernels then take the square roots and sum them
per class, or join the points within a scale. :func:`clustering_measures` shares the
matrix between the three measures.
"""
from __future__ import annotations

import numpy as np
import torch
from numba import njit, prange

from .. import codegen  # noqa: F401  (fixes numba's compile target before any kernel compiles)
from .discrete import entropy_bits
from .distances import squared_distances


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


def clustering_measures(t: torch.Tensor | np.ndarray, labels: np.ndarray, scale: float
                        ) -> dict[str, np.ndarray]:
    """:func:`distance_ratio`, :func:`silhouette` and :func:`clusters_at_scale` from one
    distance matrix per set.

    Returns
    -------
    dict with ``distance_ratio``, ``silhouette`` (float) and ``clusters`` (int), each an
    array of shape (...) (the leading dimensions of ``t``).
    """
    _check_scale(scale)
    sets, lead = _sets(t)
    sets, bounds = _by_class(sets, labels)
    sq = squared_distances(sets)
    sums = _class_sums(sq, bounds)
    return {"distance_ratio": _distance_ratio(sums, bounds).reshape(lead),
            "silhouette": _silhouette(sums, bounds).reshape(lead),
            "clusters": _components(sq, scale).reshape(lead)}


def distance_ratio(t: torch.Tensor | np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean distance between same-class representations over that between classes.

    1 when classes are mixed at random, 0 when every class collapses to a point apart
    from the others. Pairs of a representation with itself are excluded.

    Returns
    -------
    ndarray of shape (...) (the leading dimensions of ``t``).

    References
    ----------
    Goldfeld et al. (2019), section 5: clustering of same-class representations.
    """
    sets, lead = _sets(t)
    sets, bounds = _by_class(sets, labels)
    return _distance_ratio(_class_sums(squared_distances(sets), bounds), bounds).reshape(lead)


def silhouette(t: torch.Tensor | np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Silhouette score of the class labels, per set of representations.

    Near 1 when classes form tight, well-separated clusters, near 0 when they overlap.
    Sets whose points all coincide score 0. The value of scikit-learn's
    ``silhouette_score(t, labels)`` (Euclidean), computed for all sets at once.

    References
    ----------
    Rousseeuw (1987), Eq. 1 (s = (b - a) / max(a, b), 0 for a class of one point);
    Goldfeld et al. (2019), section 5.
    """
    sets, lead = _sets(t)
    sets, bounds = _by_class(sets, labels)
    return _silhouette(_class_sums(squared_distances(sets), bounds), bounds).reshape(lead)


def clusters_at_scale(t: torch.Tensor | np.ndarray, scale: float) -> np.ndarray:
    """Number of clusters: connected components of the graph joining points within ``scale``.

    Representations closer than the noise (or the bin width) cannot be told apart; the
    base-2 logarithm of this count is the information the layer can carry about which
    cluster an input fell in (Goldfeld et al. 2019, section 4).
    """
    _check_scale(scale)
    sets, lead = _sets(t)
    return _components(squared_distances(sets), scale).reshape(lead)


def _check_scale(scale: float) -> None:
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")


def _by_class(sets: torch.Tensor, labels: np.ndarray) -> tuple[torch.Tensor, list[int]]:
    """The points of every set ordered by class (the measures do not depend on the
    order), and the boundaries of the classes' ranges: class c is [bounds[c], bounds[c+1])."""
    labels = _class_index(labels, sets.shape[1])
    codes = np.unique(labels, return_inverse=True)[1].ravel()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(codes.max() + 2)).tolist()
    return sets[:, torch.as_tensor(order)], bounds


def _class_sums(sq: torch.Tensor, bounds: list[int]) -> torch.Tensor:
    """Sum of each point's distances to the points of every class, (sets, n, classes),
    from the squared distances of class-ordered points."""
    sq = np.ascontiguousarray(sq.numpy())
    return torch.from_numpy(_row_class_sums(sq.reshape(-1, sq.shape[-1]),
                                            np.asarray(bounds, dtype=np.int64))
                            ).reshape(*sq.shape[:-1], len(bounds) - 1)


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _row_class_sums(sq: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """sum_(j in class c) sqrt(sq[i, j]) for every row i and class c (the range
    bounds[c]:bounds[c+1] of columns), in one pass over the matrix."""
    rows = sq.shape[0]
    classes = len(bounds) - 1
    out = np.empty((rows, classes))
    for i in prange(rows):
        for c in range(classes):
            acc = 0.0
            for j in range(bounds[c], bounds[c + 1]):
                acc += np.sqrt(sq[i, j])
            out[i, c] = acc
    return out


def _own(sums: torch.Tensor, bounds: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point's class index (n,) and the sizes of the classes, from the boundaries."""
    sizes = torch.as_tensor(np.diff(bounds), dtype=sums.dtype)
    codes = torch.repeat_interleave(torch.arange(len(sizes)), torch.as_tensor(np.diff(bounds)))
    return codes, sizes


def _distance_ratio(sums: torch.Tensor, bounds: list[int]) -> np.ndarray:
    """Mean same-class over mean between-class distance from the class sums."""
    codes, sizes = _own(sums, bounds)
    n = len(codes)
    same = sums.gather(-1, codes.expand(len(sums), n)[..., None])[..., 0].sum(-1)
    other = sums.sum((-1, -2)) - same
    pairs_same = float((sizes * sizes).sum())
    return ((same / (pairs_same - n)) / (other / (n * n - pairs_same))).numpy()


def _silhouette(sums: torch.Tensor, bounds: list[int]) -> np.ndarray:
    """Mean silhouette over the points, as scikit-learn's ``silhouette_samples`` computes
    it: a = mean distance to the rest of the own class, b = least mean distance to
    another class, s = (b - a) / max(a, b), 0 where that is 0/0 (one-point classes,
    coincident points)."""
    codes, sizes = _own(sums, bounds)
    own = codes.expand(len(sums), -1)[..., None]
    intra = sums.gather(-1, own)[..., 0] / (sizes[codes] - 1.0)
    inter = (sums / sizes).scatter_(-1, own, torch.inf).amin(-1)
    s = torch.nan_to_num((inter - intra) / torch.maximum(intra, inter), nan=0.0)
    return s.mean(-1).numpy()


def _components(sq: torch.Tensor, scale: float) -> np.ndarray:
    """Connected components of the graphs joining points at distance <= ``scale``."""
    return _count_components(np.ascontiguousarray(sq.numpy()), scale * scale)


@njit(parallel=True, cache=True)
def _count_components(sq: np.ndarray, threshold: float) -> np.ndarray:
    """Number of connected components of the graph joining i and j where sq[g, i, j] <=
    threshold, for every set g, by union-find with path halving."""
    sets, n, _ = sq.shape
    out = np.empty(sets, dtype=np.int64)
    for g in prange(sets):
        parent = np.arange(n)
        count = n
        for i in range(n):
            for j in range(i + 1, n):
                if sq[g, i, j] <= threshold:
                    a, b = _root(parent, i), _root(parent, j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
                        count -= 1
        out[g] = count
    return out


@njit(cache=True, inline="always")
def _root(parent: np.ndarray, i: int) -> int:
    """The root of i's tree, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


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
